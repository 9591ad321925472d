"""What changed in the data between two versions: facts added, removed and changed, by source and
by the therapy (or other resource) they are about.

Either side is a data folder (`data/` of a checkout or of an unpacked release: its `catalogue/` and
`sources/`) or a store folder (`--store` of some build). The facts compared are the curated ones:
the catalogue and each source's named graph; what a build derives (lineages, the merged default
graph) and bulk-ingested registry records are left out, since they follow from the rest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox

from kg import ingest, sources, vocab
from kg.errors import UsageError
from kg.resources import ONTOLOGY_FILE
from kg.store import current_build, open_build

Fact = tuple[str, str, str, str]  # graph, subject, predicate, object (compact, as text)
_NUMBERS = {
    "integer",
    "nonNegativeInteger",
    "positiveInteger",
    "negativeInteger",
    "nonPositiveInteger",
    "int",
    "long",
    "short",
    "byte",
    "unsignedInt",
    "unsignedLong",
    "unsignedShort",
    "unsignedByte",
    "decimal",
    "double",
    "float",
}


@dataclass
class Change:
    """One fact that differs, in one source's graph: added, removed, or changed (same subject and
    predicate, other values)."""

    kind: str
    source: str
    subject: str
    predicate: str
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)


@dataclass
class DataDiff:
    old: str
    new: str
    changes: list[Change]

    def counts(self) -> dict[str, int]:
        totals = dict.fromkeys(("added", "removed", "changed"), 0)
        for change in self.changes:
            totals[change.kind] += 1
        return totals


def diff(old: Path, new: Path) -> DataDiff:
    """The curated facts of `new` against those of `old`, grouped per source and subject."""
    before, after = _facts(old), _facts(new)
    keys: dict[tuple[str, str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for graph, subject, predicate, value in before - after:
        keys[(graph, subject, predicate)][0].add(value)
    for graph, subject, predicate, value in after - before:
        keys[(graph, subject, predicate)][1].add(value)
    kept = {(g, s, p) for g, s, p, _ in before & after}
    changes = []
    for (graph, subject, predicate), (gone, came) in sorted(keys.items()):
        if gone and came and len(gone) == len(came) == 1 and (graph, subject, predicate) not in kept:
            changes.append(Change("changed", graph, subject, predicate, sorted(gone), sorted(came)))
            continue
        changes += [Change("removed", graph, subject, predicate, old=[value]) for value in sorted(gone)]
        changes += [Change("added", graph, subject, predicate, new=[value]) for value in sorted(came)]
    return DataDiff(str(old), str(new), changes)


def _facts(location: Path) -> set[Fact]:
    """The curated facts of a data folder or a store folder."""
    if (location / "sources").is_dir() and (location / "catalogue").is_dir():
        parsed = sources.parse_all(sources.input_files(location, ONTOLOGY_FILE))
        quads = (q for file, qs in parsed.items() if file.kind != "ontology" for q in qs)
    elif (location / "CURRENT").is_file():
        build = current_build(location)
        if build is None:
            raise UsageError(f"The store {location} has no build to compare.")
        records = ingest.records_file(location)
        ingested = (
            {q.graph_name for q in ox.parse(path=str(records), format=ox.RdfFormat.N_QUADS)} if records else set()
        )
        store = open_build(build)
        quads = (
            q
            for q in store.quads_for_pattern(None, None, None, None)
            if _curated(q.graph_name) and q.graph_name not in ingested
        )
    else:
        raise UsageError(f"{location} is neither a data folder (catalogue/ and sources/) nor a store folder (CURRENT).")
    return {(_text(q.graph_name), _text(q.subject), _text(q.predicate), _text(q.object)) for q in quads}


def _curated(graph: object) -> bool:
    return isinstance(graph, ox.NamedNode) and (
        graph.value == vocab.CATALOGUE_GRAPH or graph.value.startswith(vocab.SOURCE)
    )


def _text(term: object) -> str:
    """A term as people read it in a diff: compact IRIs, literals with their datatype when not text."""
    if isinstance(term, ox.NamedNode):
        return vocab.compact(term.value)
    if isinstance(term, ox.Literal):
        kind = term.datatype.value.rsplit("#", 1)[-1]
        if kind in _NUMBERS:  # a store keeps 269 and 53 where the Turtle said "269"^^nonNegativeInteger, 53.0
            return format(Decimal(term.value).normalize(), "f")
        return f'"{term.value}"' + (
            "" if kind in ("string", "langString") else f"^^{vocab.compact(term.datatype.value)}"
        )
    if isinstance(term, ox.BlankNode):
        return "_:b"  # blank nodes have no identity across versions; sources here use none
    return str(term)
