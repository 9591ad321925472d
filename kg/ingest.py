"""Registry records added to the graph by `kg ingest`: where they are kept and how they are replaced.

Ingested records live beside the store, in `<store root>/ingested/`:

    CURRENT              name of the set in use, replaced atomically (write, then rename)
    v<N>/records.nq      every ingested record as N-Quads, one named graph per record
    v<N>/MANIFEST.json   {key: last_update} for every record in records.nq (an NCT number, or an
                         FDA application such as BLA125514)
    .lock                held (flock) by the `kg ingest` that is writing: concurrent runs wait
    .tmp-v<N>-<pid>/     a set being written; never read

A set is written whole into a folder of its own and never changed after, so its records and
manifest always agree. `kg.registry` builds the store from a new set and only then makes it
current: a failed build (a full disk) or a killed process leaves the previous set current and the
store built from it. A newer version of a record replaces its graph, an older or identical one is
skipped, so ingesting the same files twice changes nothing. (A store written before sets had
folders keeps records.nq and MANIFEST.json directly in ingested/; it is read as its current set.)

The curated data are validated with SHACL on every build; registry records are checked record by
record while they are read (see `kg.ctgov`), because SHACL over millions of triples would take
minutes.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox

from kg.atomic import write_text
from kg.errors import BuildError

RECORDS = "records.nq"
MANIFEST = "MANIFEST.json"
CURRENT = "CURRENT"
LOCK = ".lock"
_SET_NAME = re.compile(r"v(?P<number>[0-9]+)")


def ingested_dir(store_root: Path) -> Path:
    return store_root / "ingested"


@dataclass(frozen=True)
class IngestedSet:
    """One set of ingested records: records.nq and the MANIFEST.json that lists them, together in
    one folder that is never changed once written."""

    folder: Path

    @property
    def records(self) -> Path:
        return self.folder / RECORDS

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST


def current_set(store_root: Path) -> IngestedSet | None:
    """The set in use (read once, so a build takes its records and its fingerprint from one set)."""
    directory = ingested_dir(store_root)
    try:
        name = (directory / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return IngestedSet(directory) if (directory / MANIFEST).exists() else None  # before sets had folders
    return IngestedSet(directory / name)


def manifest(store_root: Path) -> dict[str, str]:
    """Record key (NCT number, FDA application) -> last update date of every ingested record."""
    current = current_set(store_root)
    return _read_manifest(current, store_root) if current is not None else {}


def _read_manifest(ingested: IngestedSet, store_root: Path) -> dict[str, str]:
    path = ingested.manifest
    if not path.exists():
        return {}
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        known = error
    if not isinstance(known, dict):
        raise BuildError(
            f"The list of ingested records {path} is damaged ({known}); {RECORDS} beside it is untouched. "
            f"Move the folder {ingested_dir(store_root)} aside and ingest the files again to rebuild both."
        )
    return known


def records_file(store_root: Path) -> Path | None:
    current = current_set(store_root)
    return current.records if current is not None and current.records.exists() else None


@contextmanager
def exclusive(store_root: Path, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the ingest lock of a store: a second `kg ingest` waits (calling `waiting` first), so
    concurrent runs take turns and none loses the other's records."""
    directory = ingested_dir(store_root)
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def make_current(store_root: Path, ingested: IngestedSet) -> None:
    """Point CURRENT at a set (the store has been built from it), then remove the sets and
    unfinished folders no reader needs: all but this one and the one it replaces."""
    directory = ingested_dir(store_root)
    previous = current_set(store_root)
    write_text(directory / CURRENT, ingested.folder.name + "\n")
    keep = {ingested.folder, previous.folder if previous is not None else ingested.folder}
    for path in directory.iterdir():
        if path.is_dir() and path not in keep and (_SET_NAME.fullmatch(path.name) or path.name.startswith(".tmp-v")):
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(f".{CURRENT}."):  # a copy a killed run never renamed (the lock is ours)
            path.unlink(missing_ok=True)
    if previous is not None and previous.folder == directory:  # the files of the layout before sets had folders
        for name in (RECORDS, MANIFEST):
            (directory / name).unlink(missing_ok=True)


def discard(ingested: IngestedSet) -> None:
    """Remove a set that never became current (its store could not be built)."""
    shutil.rmtree(ingested.folder, ignore_errors=True)


def fingerprint_part(ingested: IngestedSet | None) -> bytes:
    """What the store fingerprint needs to know about ingested records: the manifest's bytes."""
    return ingested.manifest.read_bytes() if ingested is not None and ingested.manifest.exists() else b""


class Record(Protocol):
    """A good record as the loaders yield it (`kg.ctgov.TrialRecord`, `kg.regdata.Record`)."""

    @property
    def key(self) -> str: ...  # an NCT number, or an FDA or EU application
    @property
    def last_update(self) -> str: ...  # YYYY-MM-DD or YYYY-MM: a later one replaces the record
    @property
    def graph(self) -> str: ...
    @property
    def quads(self) -> list[ox.Quad]: ...
    @property
    def unmatched(self) -> list[str]: ...  # names not linked to the graph: interventions, boxed-warning risks
    @property
    def unattributed(self) -> list[str]: ...  # results groups whose events were left out: no arm or therapy told


@dataclass(frozen=True)
class Problem:
    """A bad record: skipped, nothing written for it."""

    where: str  # "path", "path:line" (JSON Lines) or "path#studies[3]"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class IngestReport:
    """What one `kg ingest` run did."""

    ingested: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    older: list[str] = field(default_factory=list)  # an older version than the one kept (stored, or read in this run)
    problems: list[Problem] = field(default_factory=list)
    unmatched: dict[str, int] = field(default_factory=dict)  # name not linked to the graph -> records naming it
    unattributed: dict[str, list[str]] = field(default_factory=dict)  # record key -> results groups left out
    triples: int = 0
    written: IngestedSet | None = None  # the new set, made current once the store is built from it


@dataclass(frozen=True)
class _Pending:
    """A record to write, held as N-Quads bytes: a tenth of the memory of its Quad objects."""

    last_update: str
    graph: str
    nquads: bytes
    triples: int


def _newer(candidate: str, current: str | None) -> bool:
    """Registry dates are ISO strings (YYYY-MM-DD or YYYY-MM), so string order is date order."""
    return current is None or candidate > current


def store_records(
    store_root: Path, records: Iterable[Record | Problem], *, progress: Callable[[int], None] | None = None
) -> IngestReport:
    """Merge good records with the current set (replacing older versions) into a new set, written
    whole into its own folder but not made current (`make_current`), and report on all of them.

    `records` yields `kg.ctgov.Problem` objects and records with a `key`, a `last_update` date, a
    `graph` and its `quads`, and the names left `unmatched` (`kg.ctgov.TrialRecord`,
    `kg.regdata.Record`).
    """
    current = current_set(store_root)
    known = _read_manifest(current, store_root) if current is not None else {}
    report = IngestReport()
    fresh: dict[str, _Pending] = {}
    naming: dict[str, set[str]] = defaultdict(set)  # unmatched name -> the records naming it
    for count, record in enumerate(records, start=1):
        if progress:
            progress(count)
        if isinstance(record, Problem):
            report.problems.append(record)
            continue
        for name in record.unmatched:
            naming[name].add(record.key)
        if record.unattributed:
            report.unattributed[record.key] = record.unattributed
        previous = fresh.get(record.key)
        baseline = previous.last_update if previous is not None else known.get(record.key)
        if not _newer(record.last_update, baseline):  # every record read is counted once
            (report.unchanged if record.last_update == baseline else report.older).append(record.key)
            continue
        if previous is not None:  # a newer version later in the same run: the earlier one is the older
            report.older.append(record.key)
        nquads = ox.serialize(record.quads, format=ox.RdfFormat.N_QUADS) or b""
        fresh[record.key] = _Pending(record.last_update, record.graph, nquads, len(record.quads))
    report.unmatched = {name: len(keys) for name, keys in naming.items()}
    if not fresh:
        return report

    directory = ingested_dir(store_root)
    name = (
        f"v{max((int(m['number']) for p in directory.iterdir() if (m := _SET_NAME.fullmatch(p.name))), default=0) + 1}"
    )
    tmp = directory / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _write_set(tmp, current, known, fresh, report)
        tmp.rename(directory / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.written = IngestedSet(directory / name)
    return report


def _write_set(
    folder: Path, current: IngestedSet | None, known: dict[str, str], fresh: dict[str, _Pending], report: IngestReport
) -> None:
    """The records of the current set that stay, then the fresh ones; then the manifest of both."""
    replaced = {ox.NamedNode(r.graph) for key, r in fresh.items() if key in known}
    with open(folder / RECORDS, "wb") as out:
        if current is not None and current.records.exists():
            kept = (
                q
                for q in ox.parse(path=str(current.records), format=ox.RdfFormat.N_QUADS)
                if q.graph_name not in replaced
            )
            try:
                ox.serialize(kept, out, format=ox.RdfFormat.N_QUADS)
            except SyntaxError as error:
                raise BuildError(
                    f"The ingested records {current.records} are damaged ({error}); nothing was changed. Move "
                    f"the folder {folder.parent} aside and ingest the files again."
                ) from None
        for pending in fresh.values():
            out.write(pending.nquads)
            report.triples += pending.triples
    known = dict(known)
    for key, pending in fresh.items():
        (report.updated if key in known else report.ingested).append(key)
        known[key] = pending.last_update
    write_text(folder / MANIFEST, json.dumps(dict(sorted(known.items())), indent=0))
