"""The naive baseline the benchmarks compare against: every input parsed with rdflib into an
in-memory Dataset (default graph = union of the named graphs), queried with rdflib's SPARQL engine
through the same TherapyGraph interface, so the library runs the very same queries on it."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.plugins.sparql import prepareQuery

from kg import derive, vocab
from kg.graph import Answer, TherapyGraph
from kg.sources import input_files


def load_dataset(extra_nquads: Path | None = None, *, derived: bool = True) -> rdflib.Dataset:
    dataset = rdflib.Dataset(default_union=True)
    for file in input_files():
        dataset.graph(rdflib.URIRef(file.graph)).parse(file.path, format="turtle")
    if extra_nquads is not None:
        dataset.parse(extra_nquads, format="nquads")
    if derived:  # what a build derives, in the same order
        graph = dataset.graph(rdflib.URIRef(derive.DERIVED_GRAPH))
        for query, subject, predicate, value in derive.LINKS:
            for row in list(dataset.query(prepareQuery(query, initNs=vocab.PREFIXES))):
                graph.add((row[subject], rdflib.URIRef(predicate.value), row[value]))
        lineages: dict[str, set[str]] = defaultdict(set)
        for therapy, holder in graph.subject_objects(rdflib.URIRef(derive.LINEAGE.value)):
            lineages[str(therapy)].add(str(holder))
        rows = [
            (
                str(row["trial"]),
                str(row["subject"]),
                *(str(row.get(v) or "") for v in ("phase", "status")),
                bool(row.get("record")),
            )
            for row in dataset.query(prepareQuery(derive.ALL_TRIALS, initNs=vocab.PREFIXES))
        ]
        for quad in derive.trial_count_quads(rows, lineages):
            terms = (quad.subject, quad.predicate, quad.object)
            dataset.graph(rdflib.URIRef(quad.graph_name.value)).add(tuple(_rdflib(term) for term in terms))
    return dataset


def _rdflib(term: ox.NamedNode | ox.Literal) -> rdflib.term.Node:
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    plain = term.datatype.value == vocab.PREFIXES["xsd"] + "string"  # rdflib tells "x" and "x"^^xsd:string apart
    return (
        rdflib.Literal(term.value) if plain else rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))
    )


class RdflibStore:
    """A `kg.graph.SparqlStore` over an rdflib Dataset: rdflib's engine answers, and its results
    come back as pyoxigraph solutions, so a TherapyGraph runs the very same queries on it."""

    def __init__(self, dataset: rdflib.Dataset) -> None:
        self.dataset = dataset

    def query(
        self,
        query: str,
        *,
        base_iri: str | None = None,
        prefixes: dict[str, str] | None = None,
        default_graph: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] | None = None,
        named_graphs: list[ox.NamedNode | ox.BlankNode] | None = None,
    ) -> Answer:
        if default_graph is not None or named_graphs is not None:
            raise ValueError("the baseline answers over its whole dataset")
        result = self.dataset.query(query, initNs=prefixes or {}, base=base_iri)
        return ox.parse_query_results(result.serialize(format="json"), format=ox.QueryResultsFormat.JSON)


def rdflib_graph(dataset: rdflib.Dataset) -> TherapyGraph:
    return TherapyGraph(RdflibStore(dataset))
