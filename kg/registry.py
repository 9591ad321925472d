"""`kg ingest`: read a registry's files, keep their good records beside the store (`kg.ingest`)
and rebuild the store, all or nothing: if the rebuild fails (a full disk), the ingested records are
put back as they were, so later commands keep using the last good build."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kg import ctgov, drugsatfda, ema, store
from kg.ctgov import InterventionMatcher
from kg.errors import BuildError, UsageError
from kg.graph import TherapyGraph
from kg.ingest import MANIFEST, RECORDS, IngestReport, Problem, Record, ingested_dir, store_records


def ingest_ctgov(store_root: Path, paths: list[Path], *, progress: Callable[[int], None] | None = None) -> IngestReport:
    """Read ClinicalTrials.gov API v2 records, merge them into the ingested set, rebuild the store.
    Interventions are linked to therapies by the names the graph knows."""
    _check_inputs(paths)
    return _ingest(store_root, lambda matcher, _: ctgov.records(paths, matcher), progress)


def ingest_drugsatfda(store_root: Path, path: Path, *, progress: Callable[[int], None] | None = None) -> IngestReport:
    """Read a Drugs@FDA zip or folder, keep the applications of the graph's products (`kg.drugsatfda`),
    merge them into the ingested set and rebuild the store."""
    _check_inputs([path])
    return _ingest(store_root, lambda matcher, products: drugsatfda.read_records(path, matcher, products), progress)


def ingest_ema(store_root: Path, path: Path, *, progress: Callable[[int], None] | None = None) -> IngestReport:
    """Read EMA's medicines table (xlsx or CSV), keep the graph's products' EU medicines (`kg.ema`),
    merge them into the ingested set and rebuild the store."""
    _check_inputs([path])
    return _ingest(store_root, lambda matcher, products: ema.read_records(path, matcher, products), progress)


def _check_inputs(paths: Iterable[Path]) -> None:
    """Every input exists, and one at least is a regular file or folder: a device or pipe
    (/dev/zero) would be read forever, so the readers skip one with a problem reported."""
    paths = list(paths)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"No such file or directory: {', '.join(missing)}")
    if not any(p.is_file() or p.is_dir() for p in paths):
        raise UsageError(f"Not a regular file or a folder: {', '.join(map(str, paths))}")


def _ingest(
    store_root: Path,
    read: Callable[[InterventionMatcher, set[str]], Iterable[Record | Problem]],
    progress: Callable[[int], None] | None,
) -> IngestReport:
    """Open the graph (built if needed) for the names it knows, store what `read(matcher, product
    IRIs)` yields, rebuild."""
    built = store.build(store_root)
    with TherapyGraph(store.open_build(built.location), built.location) as graph:
        matcher = InterventionMatcher.from_graph(graph)
        products = {ref.iri for ref in graph.therapies.all("product")}
    with _rolled_back_on_failure(ingested_dir(store_root)):
        report = store_records(store_root, read(matcher, products), progress=progress)
        store.build(store_root)
    return report


@contextmanager
def _rolled_back_on_failure(directory: Path) -> Iterator[None]:
    """Put the ingested set back as it was if the block fails (a full disk while the store is
    rebuilt): the records then still match the last good build, so every later command opens that
    build instead of retrying one that cannot be written. Hard links keep the old versions for free."""
    kept: dict[Path, Path | None] = {}
    for name in (RECORDS, MANIFEST):
        path, backup = directory / name, directory / f".{name}.previous"
        backup.unlink(missing_ok=True)
        if path.exists():
            os.link(path, backup)
            kept[path] = backup
        else:
            kept[path] = None
    try:
        yield
    except BaseException as error:
        for path, previous in kept.items():
            if previous is None:
                path.unlink(missing_ok=True)
            else:
                os.replace(previous, path)
        if isinstance(error, OSError):
            raise BuildError(
                f"Nothing was ingested ({error.strerror or error}); the ingested records and the store "
                "are as they were."
            ) from None
        raise
    finally:
        for previous in kept.values():
            if previous is not None:
                previous.unlink(missing_ok=True)
