"""`kg ingest`: read a registry's files, keep their good records beside the store (`kg.ingest`)
and rebuild the store, all or nothing and one run at a time: the new set of records becomes current
only once the store is built from it, so a failed rebuild (a full disk) or a killed run leaves the
last good records and build in use."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kg import ctgov, drugsatfda, ema, ingest, openfda, store
from kg.ctgov import InterventionMatcher
from kg.errors import BuildError, UsageError
from kg.graph import TherapyGraph
from kg.ingest import IngestReport, Problem, Record
from kg.therapy import normalise

Waiting = Callable[[], None] | None
"""Called when another `kg ingest` holds the store's ingest lock, before waiting for it."""


@dataclass(frozen=True)
class Known:
    """What the graph knows that records are linked by: therapies' names, the products among them,
    and the catalogue's adverse events by normalised name."""

    matcher: InterventionMatcher
    products: set[str]
    adverse_events: dict[str, str]


def ingest_ctgov(
    store_root: Path, paths: list[Path], *, progress: Callable[[int], None] | None = None, waiting: Waiting = None
) -> IngestReport:
    """Read ClinicalTrials.gov API v2 records, merge them into the ingested set, rebuild the store.
    Interventions are linked to therapies by the names the graph knows."""
    _check_inputs(paths)
    return _ingest(store_root, lambda known: ctgov.records(paths, known.matcher), progress, waiting)


def ingest_drugsatfda(
    store_root: Path, path: Path, *, progress: Callable[[int], None] | None = None, waiting: Waiting = None
) -> IngestReport:
    """Read a Drugs@FDA zip or folder, keep the applications of the graph's products (`kg.drugsatfda`),
    merge them into the ingested set and rebuild the store."""
    _check_inputs([path])
    return _ingest(
        store_root, lambda known: drugsatfda.read_records(path, known.matcher, known.products), progress, waiting
    )


def ingest_ema(
    store_root: Path, path: Path, *, progress: Callable[[int], None] | None = None, waiting: Waiting = None
) -> IngestReport:
    """Read EMA's medicines table (xlsx or CSV), keep the graph's products' EU medicines (`kg.ema`),
    merge them into the ingested set and rebuild the store."""
    _check_inputs([path])
    return _ingest(store_root, lambda known: ema.read_records(path, known.matcher, known.products), progress, waiting)


def ingest_openfda_labels(
    store_root: Path, paths: list[Path], *, progress: Callable[[int], None] | None = None, waiting: Waiting = None
) -> IngestReport:
    """Read openFDA drug label replies or bulk files, keep the newest label of each of the graph's
    products (`kg.openfda`), merge them into the ingested set and rebuild the store."""
    _check_inputs(paths)
    return _ingest(
        store_root,
        lambda known: openfda.read_records(paths, known.matcher, known.products, known.adverse_events),
        progress,
        waiting,
    )


def ingested_trials(store_root: Path) -> list[str]:
    """The NCT numbers of the ClinicalTrials.gov records ingested so far (what `--refresh` fetches again)."""
    return sorted(key for key in ingest.manifest(store_root) if ctgov.NCT_ID.fullmatch(key))


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
    read: Callable[[Known], Iterable[Record | Problem]],
    progress: Callable[[int], None] | None,
    waiting: Waiting,
) -> IngestReport:
    """Under the store's ingest lock: open the graph (built if needed) for the names it knows, write
    what `read(Known)` yields as a new set, build the store from it, make it current."""
    with ingest.exclusive(store_root, waiting):
        built = store.build(store_root)
        with TherapyGraph(store.open_build(built.location), built.location) as graph:
            known = Known(
                InterventionMatcher.from_graph(graph),
                {ref.iri for ref in graph.therapies.all("product")},
                {normalise(row["name"]): row["event"] for row in graph.select_named("adverse-event-names")},
            )
        try:
            report = ingest.store_records(store_root, read(known), progress=progress)
            if report.written is not None:
                try:
                    store.build(store_root, ingested=report.written)
                except BaseException:
                    ingest.discard(report.written)
                    raise
                ingest.make_current(store_root, report.written)
        except OSError as error:
            raise BuildError(
                f"Nothing was ingested ({error.strerror or error}); the ingested records and the store are as they were."
            ) from None
    return report
