"""What the loaders of ingested records share: the quads of a record's graph, and for regulators'
data files (`kg.drugsatfda`, `kg.ema`) records, sources and first approvals.

Each loader (`kg.drugsatfda`, `kg.ema`) turns one application or medicine into a `Record`: the quads
of its own named graph, which describes itself as a regulatory document and states what the file
says. A product's earliest marketing authorisation by a regulator is stated on the approval node
curated sources use for it (`approval-<product>-<agency>-<year>`), so loaded and curated facts meet
and a different date shows as a disagreement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import pyoxigraph as ox

from kg.graph import iri

if TYPE_CHECKING:
    from kg.ctgov import InterventionMatcher

term = cache(iri)  # vocabulary terms, the same few dozen for every record (not the records' own IRIs)
DATE = term("xsd:date")
COUNT = term("xsd:nonNegativeInteger")


@dataclass(frozen=True)
class Record:
    """One application's or medicine's graph, ready for `kg.ingest.store_records`."""

    key: str  # "BLA125514", "EMEA/H/C/003820"
    last_update: str  # YYYY-MM-DD: a record with a later one replaces this one
    graph: str
    quads: list[ox.Quad]
    unmatched: list[str] = field(default_factory=list)
    unattributed: list[str] = field(default_factory=list)  # results groups left out (registry records only)


class Quads:
    """The quads of one record's graph: strings become plain literals, whole numbers counts, and
    None states nothing."""

    __slots__ = ("graph", "quads")

    def __init__(self, graph: ox.NamedNode) -> None:
        self.graph, self.quads = graph, list[ox.Quad]()

    def add(self, subject: ox.NamedNode, predicate: str, value: ox.NamedNode | ox.Literal | str | int | None) -> None:
        if value is None:
            return
        if isinstance(value, str):
            value = ox.Literal(value)
        elif isinstance(value, int):
            value = ox.Literal(str(value), datatype=COUNT)
        self.quads.append(ox.Quad(subject, term(predicate), value, self.graph))

    def describe_source(self, title: str, citation: str, url: str, modified: str) -> None:
        """The record as a source: a regulatory document, modified on the date it was last updated."""
        source = self.graph
        self.add(source, "rdf:type", term("tkg:RegulatoryDocument"))
        self.add(source, "dcterms:title", title)
        self.add(source, "dcterms:bibliographicCitation", citation)
        self.add(source, "dcterms:modified", ox.Literal(modified, datatype=DATE))
        self.add(source, "tkg:url", ox.Literal(url, datatype=term("xsd:anyURI")))
        self.add(source, "tkg:claimKind", term("tkg:RegulatoryClaim"))

    def record(self, key: str, last_update: str) -> Record:
        return Record(key, last_update, self.graph.value, self.quads)


def match_product(names: Iterable[str], matcher: InterventionMatcher, products: set[str]) -> str | None:
    """The graph's product the first of `names` that names one refers to."""
    for name in names:
        therapy = matcher.match(name) if name else None
        if therapy in products:
            return therapy
    return None


def first_authorisations(candidates: Iterable[tuple[str, str, str]]) -> dict[str, tuple[str, str]]:
    """Product -> (record key, date) of its earliest authorisation among (product, key, date)."""
    first: dict[str, tuple[str, str]] = {}
    for product, key, date in candidates:
        if product not in first or date < first[product][1]:
            first[product] = (key, date)
    return first


def approval_node(product: str, agency: str, date: str) -> ox.NamedNode:
    """The node curated sources use for a product's first approval by `agency` (`fda`, `ema`)."""
    return iri(f"tkgr:approval-{product.rsplit('/', 1)[-1]}-{agency}-{date[:4]}")


def iso_date(text: str, formats: Sequence[str] = ("%Y-%m-%d",)) -> str:
    """`text` as YYYY-MM-DD, read with the first format that fits; ValueError naming it otherwise."""
    for form in formats:
        try:
            return dt.datetime.strptime(text, form).date().isoformat()
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r}")
