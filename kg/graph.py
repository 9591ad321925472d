"""A therapy graph: the read-only store plus safe, typed SPARQL access.

Every query runs with the project prefixes predeclared and `BASE_IRI` as its base. The default
graph is the RDF merge of the named graphs (a set, written by the build), so FROM, FROM NAMED and
the protocol's dataset parameters mean what SPARQL 1.1 says. Values from users are bound as an
inline VALUES block of RDF terms (`kg.sparqltext.with_values`), never spliced into query text as
text, and mean the same on every engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pyoxigraph as ox

from kg import vocab
from kg.errors import QueryError
from kg.memo import Memo
from kg.resources import load_query
from kg.sparqltext import with_values
from kg.terms import IRI, Binding, Row, Term, iri, solutions, to_python, to_term
from kg.therapy import Therapies

__all__ = ["IRI", "Binding", "Row", "Term", "TherapyGraph", "iri", "solutions", "to_python", "to_term"]

if TYPE_CHECKING:
    import pandas


def _rows(solutions: ox.QuerySolutions) -> list[Row]:
    names = [variable.value for variable in solutions.variables]
    return [dict(zip(names, map(to_python, solution), strict=True)) for solution in solutions]


BASE_IRI = vocab.RESOURCE
"""Relative IRIs in queries resolve against the resource namespace: `<car-nk>` is `tkgr:car-nk`."""


def dataset_options(default_graphs: list[str] | None, named_graphs: list[str] | None) -> dict[str, Any]:
    """pyoxigraph's dataset options for SPARQL 1.1 protocol `default-graph-uri`/`named-graph-uri`:
    when either is given, the dataset is exactly what they name (an empty list means no graph)."""
    if default_graphs is None and named_graphs is None:
        return {}
    return {
        "default_graph": [ox.NamedNode(g) for g in default_graphs or []],
        "named_graphs": [ox.NamedNode(g) for g in named_graphs or []],
    }


Answer = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples | list[ox.Triple]
"""What a store answers: solutions, a boolean, or triples (a remote endpoint's as a list)."""


class SparqlStore(Protocol):
    """What a TherapyGraph asks of its store: pyoxigraph's `Store.query`. The embedded store, a
    remote endpoint (`kg.remote.RemoteStore`) and the benchmarks' rdflib baseline answer it."""

    def query(
        self,
        query: str,
        *,
        base_iri: str | None = None,
        prefixes: dict[str, str] | None = None,
        default_graph: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] | None = None,
        named_graphs: list[ox.NamedNode | ox.BlankNode] | None = None,
    ) -> Answer: ...


class TherapyGraph:
    """The built knowledge graph, opened read-only (or any other `SparqlStore`)."""

    def __init__(
        self,
        store: SparqlStore | None = None,
        location: Path | None = None,
        *,
        opener: Callable[[], SparqlStore] | None = None,
    ) -> None:
        """`store`, or an `opener` that loads it when a query first needs it; a build's `location`
        keeps the answers to internal queries (kg.memo), so most commands never load the store."""
        self._store = store
        self._opener = opener
        self.location = location
        self.memo = Memo(location / "memo") if location is not None else None
        self._therapies: Therapies | None = None

    @property
    def store(self) -> SparqlStore:
        if self._store is None:
            if self._opener is None:
                raise QueryError("This graph has no store to query.")
            self._store = self._opener()
        return self._store

    def __enter__(self) -> TherapyGraph:
        return self

    def __exit__(self, *exc: object) -> None:
        """Drop the therapy caches, which refer back to the graph: without that cycle the store is
        closed as soon as the graph is freed, not at the next garbage collection."""
        self._therapies = None

    @property
    def therapies(self) -> Therapies:
        """Name resolution and descriptions (`kg.therapy.Therapies`), created on first use."""
        if self._therapies is None:
            self._therapies = Therapies(self)
        return self._therapies

    def resolve(self, name: str) -> Any:
        """The therapy (`TherapyRef`) a user's name refers to; raises UnknownTherapy with suggestions."""
        return self.therapies.resolve(name)

    def describe(self, name: str) -> Any:
        """Everything known about one therapy (`Description`)."""
        return self.therapies.describe(name)

    def catalogue(self, kind: str | None = None) -> list[Row]:
        """Modalities, products, trials, approvals, awards and sources as `{type, id, label}` rows."""
        items = [
            {"type": r["type"], "id": vocab.short_id(r["item"]), "label": r["label"]}
            for r in self.select_named("catalogue")
        ]
        items += [{"type": "source", "id": s.id, "label": s.citation} for s in self.therapies.sources().values()]
        return [item for item in items if kind in (None, item["type"])]

    def stats(self) -> dict[str, Any]:
        """Counts by class, by named graph, and in total."""
        classes = {r["label"]: r["count"] for r in self.select_named("stats-classes")}
        graphs = {vocab.compact(r["graph"]): r["triples"] for r in self.select_named("stats-graphs")}
        return {
            "triples": sum(graphs.values()),
            "named_graphs": len(graphs),
            "sources": sum(1 for g in graphs if g.startswith("src:")),
            "classes": classes,
            "graphs": graphs,
        }

    def query(
        self,
        sparql: str,
        bindings: Mapping[str, Binding] | None = None,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> Any:
        """Run any read query; returns pyoxigraph's solutions, boolean or triples.

        `bindings` join the query's outermost WHERE group as values (projected or not);
        `default_graphs`/`named_graphs` are the protocol's dataset, overriding FROM clauses."""
        text = with_values(sparql, {name: to_term(value) for name, value in (bindings or {}).items()})
        try:
            return self.store.query(
                text, prefixes=vocab.PREFIXES, base_iri=BASE_IRI, **dataset_options(default_graphs, named_graphs)
            )
        except SyntaxError as error:
            raise QueryError(f"Invalid SPARQL: {error}") from None
        except (RuntimeError, ValueError) as error:
            raise QueryError(f"Query failed: {error}") from None

    def select(
        self,
        sparql: str,
        bindings: Mapping[str, Binding] | None = None,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> list[Row]:
        """Run a SELECT query and return rows of plain Python values (unbound variables are None)."""
        return _rows(self._solutions(sparql, bindings, default_graphs=default_graphs, named_graphs=named_graphs))

    def _solutions(
        self, sparql: str, bindings: Mapping[str, Binding] | None = None, **dataset: Any
    ) -> ox.QuerySolutions:
        return solutions(self.query(sparql, bindings, **dataset))

    def select_df(self, sparql: str, bindings: Mapping[str, Binding] | None = None) -> pandas.DataFrame:
        """Run a SELECT query into a DataFrame with typed columns (kg.frames.results_frame): numbers as
        numbers, dates as dates, IRIs compacted (`tkgr:car-t`). Needs the `pandas` extra."""
        from kg.frames import results_frame

        solutions = self._solutions(sparql, bindings)
        return results_frame([v.value for v in solutions.variables], _rows(solutions))

    def select_named(self, name: str, bindings: Mapping[str, Binding] | None = None) -> list[Row]:
        """Run one of the internal queries in `kg/sparql/`, answered from the build's memo when it
        has been asked before."""
        text = load_query(name)
        if self.memo is None:
            return self.select(text, bindings)
        key = Memo.key(text, {k: str(to_term(v)) for k, v in (bindings or {}).items()}, vocab.PREFIXES, BASE_IRI)
        tsv = self.memo.get(key)
        if tsv is None:
            tsv = self._solutions(text, bindings).serialize(format=ox.QueryResultsFormat.TSV) or b""
            self.memo.put(key, tsv)
        solutions = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
        assert isinstance(solutions, ox.QuerySolutions)
        return _rows(solutions)
