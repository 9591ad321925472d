"""Registry records added to the graph by `kg ingest`: where they are kept and how they are replaced.

Ingested records live beside the store, in `<store root>/ingested/`:

    records.nq       every ingested record as N-Quads, one named graph per record
    MANIFEST.json    {key: last_update} for every record in records.nq (an NCT number, or an
                     FDA application such as BLA125514)

Both are rewritten atomically (write, then rename): a newer version of a record replaces its
graph, an older or identical one is skipped, so ingesting the same files twice changes nothing.
`kg.registry` then rebuilds the store from the curated data plus `records.nq` in one bulk load,
and puts both files back if that fails (a full disk). The curated
data are validated with SHACL on every build; registry records are checked record by record
while they are read (see `kg.ctgov`), because SHACL over millions of triples would take minutes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pyoxigraph as ox

from kg import vocab
from kg.atomic import replacing, write_text
from kg.errors import BuildError
from kg.graph import solutions
from kg.resources import load_query

if TYPE_CHECKING:
    pass

RECORDS = "records.nq"
MANIFEST = "MANIFEST.json"


def ingested_dir(store_root: Path) -> Path:
    return store_root / "ingested"


def manifest(store_root: Path) -> dict[str, str]:
    """Record key (NCT number, FDA application) -> last update date of every ingested record."""
    path = ingested_dir(store_root) / MANIFEST
    if not path.exists():
        return {}
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        known = error
    if not isinstance(known, dict):
        raise BuildError(
            f"The list of ingested records {path} is damaged ({known}); {RECORDS} beside it is untouched. "
            f"Move the folder {path.parent} aside and ingest the files again to rebuild both."
        )
    return known


def records_file(store_root: Path) -> Path | None:
    path = ingested_dir(store_root) / RECORDS
    return path if path.exists() else None


SUMMARY_GRAPH = vocab.GRAPH + "registry-summary"


def summary_quads(store: ox.Store) -> Iterator[ox.Quad]:
    """Counts of registered trials per therapy (its own and its products' and sub-modalities')
    and phase, as triples in the registry-summary graph; needs the lineages in the store
    (kg.derive). Computed once per build: counting the subtree of a therapy at query time took
    seconds at 10^5 records."""
    lineages: dict[str, set[str]] = defaultdict(set)
    for row in solutions(store.query(load_query("stored-lineages"), prefixes=vocab.PREFIXES)):
        lineages[row["therapy"].value].add(row["holder"].value)
    trials: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in solutions(
        store.query(load_query("ingested-trials"), prefixes=vocab.PREFIXES, use_default_graph_as_union=True)
    ):
        subject = row["subject"].value
        phase = row["phase"].value if row["phase"] is not None else ""
        for therapy in lineages.get(subject) or {subject}:
            trials[(therapy, phase)].add(row["trial"].value)
    graph = ox.NamedNode(SUMMARY_GRAPH)
    tkg = vocab.TKG
    for number, ((therapy, phase), found) in enumerate(sorted(trials.items())):
        node = ox.NamedNode(f"{SUMMARY_GRAPH}/{number}")
        yield ox.Quad(
            node, ox.NamedNode(vocab.PREFIXES["rdf"] + "type"), ox.NamedNode(tkg + "RegisteredTrialCount"), graph
        )
        yield ox.Quad(node, ox.NamedNode(tkg + "countOf"), ox.NamedNode(therapy), graph)
        yield ox.Quad(
            node,
            ox.NamedNode(tkg + "trialCount"),
            ox.Literal(str(len(found)), datatype=ox.NamedNode(vocab.PREFIXES["xsd"] + "nonNegativeInteger")),
            graph,
        )
        if phase:
            yield ox.Quad(node, ox.NamedNode(tkg + "countedPhase"), ox.NamedNode(phase), graph)


def fingerprint_part(store_root: Path) -> bytes:
    """What the store fingerprint needs to know about ingested records: the manifest's bytes."""
    path = ingested_dir(store_root) / MANIFEST
    return path.read_bytes() if path.exists() else b""


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
    def unmatched(self) -> list[str]: ...  # intervention names not linked to a known therapy


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
    problems: list[Problem] = field(default_factory=list)
    unmatched: dict[str, int] = field(default_factory=dict)
    triples: int = 0


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
    """Merge good records into records.nq (replacing older versions) and report on all of them.

    `records` yields `kg.ctgov.Problem` objects and records with a `key`, a `last_update` date, a
    `graph` and its `quads`, and the names left `unmatched` (`kg.ctgov.TrialRecord`,
    `kg.regdata.Record`).
    """
    known = manifest(store_root)
    report = IngestReport()
    fresh: dict[str, _Pending] = {}
    for count, record in enumerate(records, start=1):
        if progress:
            progress(count)
        if isinstance(record, Problem):
            report.problems.append(record)
            continue
        for name in record.unmatched:
            report.unmatched[name] = report.unmatched.get(name, 0) + 1
        previous = fresh.get(record.key)
        baseline = previous.last_update if previous is not None else known.get(record.key)
        if not _newer(record.last_update, baseline):
            if previous is None:
                report.unchanged.append(record.key)
            continue
        nquads = ox.serialize(record.quads, format=ox.RdfFormat.N_QUADS) or b""
        fresh[record.key] = _Pending(record.last_update, record.graph, nquads, len(record.quads))
    if not fresh:
        return report

    directory = ingested_dir(store_root)
    directory.mkdir(parents=True, exist_ok=True)
    replaced = {ox.NamedNode(r.graph) for key, r in fresh.items() if key in known}
    old = records_file(store_root)
    with replacing(directory / RECORDS, "wb") as out:  # on any error the old file stays as it was
        if old is not None:
            kept = (q for q in ox.parse(path=str(old), format=ox.RdfFormat.N_QUADS) if q.graph_name not in replaced)
            try:
                ox.serialize(kept, out, format=ox.RdfFormat.N_QUADS)
            except SyntaxError as error:
                raise BuildError(
                    f"The ingested records {old} are damaged ({error}); nothing was changed. Move the "
                    f"folder {directory} aside and ingest the files again."
                ) from None
        for pending in fresh.values():
            out.write(pending.nquads)
            report.triples += pending.triples
    for key, pending in fresh.items():
        (report.updated if key in known else report.ingested).append(key)
        known[key] = pending.last_update
    write_text(directory / MANIFEST, json.dumps(dict(sorted(known.items())), indent=0))
    return report
