"""External SPARQL 1.1 stores: query any endpoint, and push the built graph to one.

`RemoteStore` answers `query()` like a pyoxigraph Store, so the whole library (`kg query`,
`kg compare`, `kg show`) runs unchanged against an endpoint. Bound values travel as a trailing
VALUES block of serialised RDF terms — the SPARQL 1.1 way to pass values to a remote engine —
never spliced into the query body. The endpoint must expose the union of its named graphs as the
default graph (Oxigraph: `serve --union-default-graph`; Fuseki: `tdb:unionDefaultGraph`).

`push` uploads each named graph with the SPARQL 1.1 Graph Store Protocol (`PUT ?graph=IRI`),
which replaces the graph, so pushing twice leaves the same data.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.errors import KgError, QueryError
from kg.graph import TherapyGraph

TIMEOUT = 60.0
_ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9, text/turtle;q=0.8"


class EndpointError(KgError):
    """The endpoint could not be reached or refused the request."""


def _request(url: str, *, data: bytes | None = None, method: str = "GET", headers: Mapping[str, str] | None = None) -> tuple[str, bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - user-chosen endpoint
            return response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace").strip()[:500]
        if error.code == 400:
            raise QueryError(f"The endpoint rejected the query: {detail}") from None
        raise EndpointError(f"{url} answered {error.code} {error.reason}: {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise EndpointError(f"Cannot reach {url}: {reason}") from None


@dataclass
class RemoteStore:
    """A SPARQL 1.1 Protocol endpoint with the read API of a pyoxigraph Store."""

    endpoint: str

    def query(
        self,
        sparql: str,
        *,
        prefixes: Mapping[str, str] | None = None,
        use_default_graph_as_union: bool = True,
        substitutions: Mapping[ox.Variable, Any] | None = None,
    ) -> Any:
        prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in (prefixes or {}).items())
        text = prologue + sparql
        if substitutions:
            names = " ".join(f"?{v.value}" for v in substitutions)
            terms = " ".join(str(t) for t in substitutions.values())
            text += f"\nVALUES ({names}) {{ ({terms}) }}\n"
        content_type, body = _request(
            self.endpoint,
            data=urllib.parse.urlencode({"query": text}).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": _ACCEPT},
        )
        results_format = ox.QueryResultsFormat.from_media_type(content_type) if "sparql-results" in content_type else None
        if results_format is not None:
            return ox.parse_query_results(body, format=results_format)
        rdf_format = ox.RdfFormat.from_media_type(content_type)
        if rdf_format is None:
            raise EndpointError(f"{self.endpoint} answered with unsupported content type {content_type}")
        return [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=rdf_format)]


def remote_graph(endpoint: str) -> TherapyGraph:
    """A TherapyGraph whose queries go to `endpoint`."""
    return TherapyGraph(RemoteStore(endpoint))  # type: ignore[arg-type]


def graph_store_url(endpoint: str) -> str:
    """The Graph Store Protocol URL for a server base URL (Oxigraph: /store) or a GSP URL as given."""
    path = urllib.parse.urlparse(endpoint).path.rstrip("/")
    if path.endswith(("/store", "/data")):
        return endpoint
    return endpoint.rstrip("/") + "/store"


@dataclass(frozen=True)
class PushResult:
    endpoint: str
    graphs: int
    triples: int


def push(location: Path, endpoint: str) -> PushResult:
    """PUT every named graph of the built store to the endpoint's Graph Store; idempotent."""
    store = ox.Store.read_only(str(location))
    target = graph_store_url(endpoint)
    graphs = sorted(store.named_graphs(), key=lambda g: g.value)
    total = 0
    for graph in graphs:
        triples = [ox.Triple(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, graph)]
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
        url = f"{target}?{urllib.parse.urlencode({'graph': graph.value})}"
        _request(url, data=body, method="PUT", headers={"Content-Type": "application/n-triples"})
        total += len(triples)
    return PushResult(target, len(graphs), total)

