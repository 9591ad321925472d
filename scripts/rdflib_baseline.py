"""The naive baseline the benchmarks compare against: every input parsed with rdflib into an
in-memory Dataset (default graph = union of the named graphs), queried with rdflib's SPARQL engine
through the same TherapyGraph interface, so the library runs the very same queries on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rdflib
from rdflib.plugins.sparql import prepareQuery

from kg import derive, vocab
from kg.graph import IRI, TherapyGraph
from kg.sources import input_files


def load_dataset(extra_nquads: Path | None = None, *, derived: bool = True) -> rdflib.Dataset:
    dataset = rdflib.Dataset(default_union=True)
    for file in input_files():
        dataset.graph(rdflib.URIRef(file.graph)).parse(file.path, format="turtle")
    if extra_nquads is not None:
        dataset.parse(extra_nquads, format="nquads")
    if derived:  # what a build derives, in the same order
        graph = dataset.graph(rdflib.URIRef(derive.DERIVED_GRAPH))
        for query, subject, predicate, value in (
            (derive.LINEAGES, "therapy", "lineage", "holder"),
            (derive.EVIDENCE, "node", "evidenceOf", "therapy"),
        ):
            for row in list(dataset.query(prepareQuery(query, initNs=vocab.PREFIXES))):
                graph.add((row[subject], rdflib.URIRef(vocab.TKG + predicate), row[value]))
    return dataset


def _python(term: Any) -> Any:
    if term is None:
        return None
    if isinstance(term, rdflib.URIRef):
        return IRI(str(term))
    return term.toPython() if isinstance(term, rdflib.Literal) else str(term)


class RdflibGraph(TherapyGraph):
    """A TherapyGraph whose SELECT queries run on rdflib."""

    def __init__(self, dataset: rdflib.Dataset) -> None:
        super().__init__()
        self.dataset = dataset

    def select(self, sparql: str, bindings: Any = None) -> list[dict[str, Any]]:
        query = prepareQuery(sparql, initNs=vocab.PREFIXES)
        init = {k: rdflib.URIRef(v.value) for k, v in (bindings or {}).items()}
        result = self.dataset.query(query, initBindings=init)
        return [{str(var): _python(row[var]) for var in result.vars} for row in result]
