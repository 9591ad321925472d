"""External SPARQL 1.1 stores: query any endpoint as if it were the embedded store.

`RemoteStore` answers `query()` like a pyoxigraph Store, so the whole library (`kg query`,
`kg compare`, `kg show`, `kg view`) runs unchanged against an endpoint. Prefixes and the base IRI
travel as a prologue; bound values as an inline VALUES block (`kg.sparqltext`), never spliced in as
text; `default_graph`/`named_graphs` as the protocol's `default-graph-uri`/`named-graph-uri`.

A store without a separate default graph (Virtuoso answers every query over all of its graphs, a
bag) holds the merge as the named graph `MERGED_GRAPH` (`kg.push`), and `RemoteStore` then names
the dataset of every query that names none itself: FROM `MERGED_GRAPH` and FROM NAMED each of the
project's other graphs (Virtuoso finds nothing in `GRAPH <iri>` unless the graph is named, though
its `GRAPH ?g` ranges over every graph; as protocol parameters, Virtuoso echoes each one as a
response header, past what HTTP clients accept). The query then grows by one clause per named
graph: fine for the curated graph and a few thousand ingested records, refused by Virtuoso past
about 4,000 named graphs, which the error then says (docs/scaling.md).
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

import pyoxigraph as ox

from kg import vocab
from kg.errors import KgError, QueryError
from kg.graph import Answer, TherapyGraph, solutions
from kg.resources import load_query
from kg.sparqltext import has_dataset_clause, with_dataset, with_values

TIMEOUT = 60.0
NAMED_GRAPHS_ACCEPTED = 4_000
"""Named graphs Virtuoso 7 takes in one query's dataset: 4,000 worked, 8,000 were refused
("Too many arguments for standard built-in function")."""
MERGED_GRAPH = vocab.GRAPH + "merged"
_ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9, text/turtle;q=0.8"


class EndpointError(KgError):
    """The endpoint could not be reached (`status` None) or refused the request."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def request(
    url: str,
    *,
    data: bytes | BinaryIO | None = None,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> tuple[str, bytes]:
    """One HTTP request; returns the response's content type and body. A file as `data` is sent
    as it is read, with the Content-Length the caller gives."""
    prepared = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(prepared, timeout=timeout) as response:
            return response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace").strip()[:500]
        raise EndpointError(f"{url} answered {error.code} {error.reason}: {detail}", error.code) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise EndpointError(f"Cannot reach {url}: {reason}") from None


@dataclass
class RemoteStore:
    """A SPARQL 1.1 Protocol endpoint with the read API of a pyoxigraph Store."""

    endpoint: str
    timeout: float = TIMEOUT  # seconds to wait for an answer
    _dataset: tuple[list[str], list[str]] | None = field(default=None, repr=False)

    def query(
        self,
        query: str,
        *,
        base_iri: str | None = None,
        prefixes: dict[str, str] | None = None,
        default_graph: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] | None = None,
        named_graphs: list[ox.NamedNode | ox.BlankNode] | None = None,
    ) -> Answer:
        sparql = query
        named: list[str] = []
        if default_graph is None and named_graphs is None and not has_dataset_clause(sparql):
            defaults, named = self.dataset()
            if defaults:
                sparql = with_dataset(sparql, defaults, named)
        form: list[tuple[str, str]] = [("query", _prologue(prefixes, base_iri) + sparql)]
        if default_graph is not None or named_graphs is not None:
            form += [("default-graph-uri", g.value) for g in default_graph or [] if isinstance(g, ox.NamedNode)]
            form += [("named-graph-uri", g.value) for g in named_graphs or [] if isinstance(g, ox.NamedNode)]
        try:
            return self._ask(form)
        except QueryError as error:
            if len(named) <= NAMED_GRAPHS_ACCEPTED:
                raise
            raise QueryError(
                f"{error}\nThe query named the store's {len(named):,} graphs (FROM NAMED), as it must on a "
                f"store without a default graph of its own, and Virtuoso refuses more than about "
                f"{NAMED_GRAPHS_ACCEPTED:,}: if that is the cause, query it with your own SPARQL, or use a "
                "store with a default graph (the Oxigraph server); see docs/scaling.md."
            ) from None

    def dataset(self) -> tuple[list[str], list[str]]:
        """The default and named graphs to name in queries: none where the store's default graph
        is the merge; where `kg push` had to keep the merge as a named graph, that graph as
        default and the project's other graphs as named. Asked once per store."""
        if self._dataset is None:
            self._dataset = ([], [])
            if self._ask([("query", _prologue(vocab.PREFIXES) + load_query("has-merged-graph"))]):
                graphs = sorted(self.project_graphs())
                self._dataset = ([MERGED_GRAPH], [g for g in graphs if g != MERGED_GRAPH])
        return self._dataset

    def project_graphs(self, prefix: str = "") -> list[str]:
        """The project's named graphs on the store (those whose IRI's MD5 starts with `prefix`).
        Stores cut answers short without saying so (Virtuoso at its ResultSetMaxRows, 10,000 as
        Debian ships it), so a listing counts only if it holds as many graphs as a count of them
        says; else it is asked again in sixteen parts, by the next hex digit of the MD5."""

        listing = with_values(load_query("project-graphs"), {"prefix": ox.Literal(prefix)})

        def ask(query: str) -> list[ox.QuerySolution]:
            return list(solutions(self._ask([("query", _prologue(vocab.PREFIXES) + query)])))

        count = int(ask(f"SELECT (COUNT(*) AS ?n) WHERE {{\n{listing}\n}}")[0]["n"].value)
        if count == 0:
            return []
        listed = [row["g"].value for row in ask(listing)]
        if len(listed) >= count or len(prefix) == 32:
            return listed
        return [g for digit in "0123456789abcdef" for g in self.project_graphs(prefix + digit)]

    def _ask(self, form: list[tuple[str, str]]) -> Answer:
        try:
            content_type, body = request(
                self.endpoint,
                data=urllib.parse.urlencode(form).encode(),
                method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": _ACCEPT},
                timeout=self.timeout,
            )
        except EndpointError as error:
            if error.status == 400:
                raise QueryError(f"The endpoint rejected the query: {error}") from None
            raise
        results_format = (
            ox.QueryResultsFormat.from_media_type(content_type) if "sparql-results" in content_type else None
        )
        if results_format is not None:
            return ox.parse_query_results(body, format=results_format)
        rdf_format = ox.RdfFormat.from_media_type(content_type)
        if rdf_format is None:
            raise EndpointError(f"{self.endpoint} answered with unsupported content type {content_type}")
        return [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=rdf_format)]


def _prologue(prefixes: dict[str, str] | None, base_iri: str | None = None) -> str:
    """BASE and PREFIX declarations, so a remote endpoint reads the query as the embedded store does."""
    return (f"BASE <{base_iri}>\n" if base_iri else "") + "".join(
        f"PREFIX {p}: <{ns}>\n" for p, ns in (prefixes or {}).items()
    )


def remote_graph(endpoint: str) -> TherapyGraph:
    """A TherapyGraph whose queries go to `endpoint`."""
    return TherapyGraph(RemoteStore(endpoint))
