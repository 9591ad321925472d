"""External stores: push to a real Oxigraph server and a real Virtuoso, then query, compare, show
and view through them; every named query must give the same rows there as on the embedded store."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

import kg
from kg import results
from kg.cli import app
from kg.errors import KgError
from kg.query import bindings, named, named_queries
from kg.remote import MERGED_GRAPH, graph_store_url, push, remote_graph
from tests.servers import free_port, oxigraph_server, virtuoso_server
from tests.test_query import EMPTY_WITHOUT_INGEST

CD19_COUNTS = (
    "SELECT (COUNT(?p) AS ?n) (COUNT(DISTINCT ?p) AS ?d) WHERE { ?p a tkg:Product ; tkg:targetAntigen tkgr:cd19 }"
)


@dataclass(frozen=True)
class Store:
    query: str  # SPARQL 1.1 Protocol query URL
    graph_store: str  # the URL `kg push` is given


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory, graph: kg.TherapyGraph) -> Iterator[Store]:
    """An Oxigraph server (no union default graph) that `push` filled through its bare address."""
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph")) as base:
        assert push(graph.location, base).default_graph == "default"
        yield Store(base + "/query", base)


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory, graph: kg.TherapyGraph) -> Iterator[Store]:
    """A Virtuoso that `push` filled (it has no separate default graph: the merge is a named graph)."""
    with virtuoso_server(tmp_path_factory.mktemp("virtuoso")) as base:
        assert push(graph.location, base + "/sparql-graph-crud").default_graph == MERGED_GRAPH
        yield Store(base + "/sparql", base + "/sparql-graph-crud")


@pytest.fixture(params=["oxigraph", "virtuoso"])
def store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue(request.param)


SOURCE_TRIPLES = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), STR(src:))) }"


def test_push_is_idempotent_and_complete(store: Store, graph: kg.TherapyGraph) -> None:
    local = graph.select(SOURCE_TRIPLES)
    assert remote_graph(store.query).select(SOURCE_TRIPLES) == local
    again = push(graph.location, store.graph_store)
    assert (again.graphs, again.triples) == (graph.stats()["named_graphs"], graph.stats()["triples"])
    assert remote_graph(store.query).select(SOURCE_TRIPLES) == local


def test_default_graph_is_a_set_on_every_store(store: Store, graph: kg.TherapyGraph) -> None:
    local = graph.select(CD19_COUNTS)[0]
    assert local["n"] == local["d"] == 3
    assert remote_graph(store.query).select(CD19_COUNTS) == [local]


def test_from_clause_names_the_default_graph(store: Store, graph: kg.TherapyGraph) -> None:
    query = "SELECT (COUNT(*) AS ?n) FROM src:cordnk-trial-2020 WHERE { ?s ?p ?o }"
    local = graph.select(query)[0]["n"]
    everything = graph.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"]
    assert 0 < local < everything
    assert remote_graph(store.query).select(query)[0]["n"] == local


def test_named_graphs_survive_the_push(store: Store) -> None:
    rows = remote_graph(store.query).select(
        "SELECT ?source WHERE { GRAPH ?source { tkgr:car-nk tkg:hlaMatchingRequired false } } ORDER BY ?source"
    )
    assert [r["source"].rsplit("/", 1)[1] for r in rows if "/source/" in r["source"]] == ["popular-2020", "review-2021"]


CONCATENATED = re.compile(r'separator\s*=\s*"([^"]*)".*?\bAS\s+\?(\w+)', re.I | re.S)
"""(separator, variable) of each GROUP_CONCAT in a query: SPARQL leaves the order of its parts open."""


def _comparable(query_text: str, result: results.Result) -> list[tuple]:
    """Rows in a form engines must agree on: numbers by value (`1E2` = `100`), and GROUP_CONCAT
    values as sorted parts — SPARQL 1.1 leaves the order of concatenation to the engine, and an
    aggregate over only unbound values is unbound on Oxigraph and "" on Virtuoso."""
    separators = {name: sep for sep, name in CONCATENATED.findall(query_text)}

    def term(name: str, value: ox.NamedNode | ox.Literal | ox.BlankNode | None) -> object:
        if isinstance(value, ox.Literal):
            if value.datatype.value.endswith(("integer", "decimal", "double", "float", "int", "long")):
                return Decimal(value.value).normalize()
            if value.datatype.value.endswith("#boolean"):  # "1" and "true" are one value (Virtuoso writes 1)
                return value.value in ("true", "1")
            if name in separators:
                return tuple(sorted(value.value.split(separators[name]))) if value.value else None
            return value.value
        return None if value is None else str(value)

    return sorted(
        (tuple(term(n, v) for n, v in zip(result.variables, row, strict=True)) for row in result.rows), key=repr
    )


# Parameter values the query has rows for, where CAR-NK and CRS give none (CAR-NK has no approvals,
# survival estimates or immune-related events).
_SAMPLES = {
    "withdrawn-indications": {"therapy": "checkpoint-inhibitor"},
    "accelerated-approvals-pending": {"therapy": "checkpoint-inhibitor"},
    "approvals-by-disease": {"therapy": "checkpoint-inhibitor", "iri": "non-small-cell-lung-cancer"},
    "immune-related-adverse-event-rates": {"therapy": "checkpoint-inhibitor"},
    "survival-outcomes": {"therapy": "car-t"},
}


def _parameter_sets(query: kg.query.NamedQuery) -> list[dict[str, str]]:
    """Required parameters only, then every parameter given: both paths must agree."""
    sample = {"therapy": "car-nk", "iri": "crs"} | _SAMPLES.get(query.name, {})
    required = {p.name: sample[p.kind] for p in query.parameters if p.required}
    everything = {p.name: sample[p.kind] for p in query.parameters}
    return [required] if everything == required else [required, everything]


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_named_queries_identical_on_every_store(store: Store, graph: kg.TherapyGraph, name: str) -> None:
    query = named(name)
    remote = remote_graph(store.query)
    for params in _parameter_sets(query):
        local_rows = _comparable(query.text, results.read(graph.query(query.text, bindings(graph, query, params))))
        remote_rows = _comparable(query.text, results.read(remote.query(query.text, bindings(remote, query, params))))
        # a comparison of empty answers would prove nothing: only the queries known to find nothing
        # in the curated data (they are tested on data made to disagree in test_query.py) may be empty
        assert bool(local_rows) != (name in EMPTY_WITHOUT_INGEST), f"{name} {params}: {len(local_rows)} rows locally"
        assert remote_rows == local_rows, f"{name} {params}"


def test_cli_query_compare_show_and_view_through_the_endpoint(store: Store, runner: CliRunner, tmp_path: Path) -> None:
    endpoint = store.query
    remote = runner.invoke(app, ["query", "--named", "car-t-by-target", "--format", "json", "--endpoint", endpoint])
    local = runner.invoke(app, ["query", "--named", "car-t-by-target", "--format", "json"])
    assert remote.exit_code == 0, remote.output
    assert json.loads(remote.stdout) == json.loads(local.stdout)
    for command in (["compare", "car-t", "car-nk", "--format", "json"], ["show", "testacel", "--format", "json"]):
        remote = runner.invoke(app, [*command, "--endpoint", endpoint])
        assert remote.exit_code == 0, remote.output
        assert json.loads(remote.stdout) == json.loads(runner.invoke(app, command).stdout)
    view = runner.invoke(app, ["view", "car-t", "car-nk", "-o", str(tmp_path / "v.html"), "--endpoint", endpoint])
    assert view.exit_code == 0, view.output
    assert "Testacel" in (tmp_path / "v.html").read_text(encoding="utf-8")


def test_cli_push(tmp_path: Path, runner: CliRunner) -> None:
    with oxigraph_server(tmp_path / "oxigraph") as base:
        result = runner.invoke(app, ["push", "--endpoint", base])
    assert result.exit_code == 0, result.output
    assert "named graphs" in result.stdout and graph_store_url(base) in result.stdout
    assert "the default graph" in result.stdout


def test_unreachable_endpoint_is_a_clear_error(runner: CliRunner) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/query"
    for command in (["query", "ASK {}"], ["compare", "car-t", "car-nk"], ["show", "car-nk"]):
        result = runner.invoke(app, [*command, "--endpoint", endpoint])
        assert result.exit_code == 1 and "Cannot reach" in result.output and "Traceback" not in result.output
    with pytest.raises(KgError):
        remote_graph(endpoint).select("SELECT * WHERE { ?s ?p ?o } LIMIT 1")


def test_graph_store_url_is_taken_as_given_unless_bare() -> None:
    assert graph_store_url("http://h:7878") == "http://h:7878/store"
    assert graph_store_url("http://h:7878/") == "http://h:7878/store"
    for given in (
        "http://h:7878/store",
        "http://h:3030/ds/data",
        "http://h:3030/ds/",
        "http://h:8890/sparql-graph-crud",
        "http://h:7200/repositories/kg/rdf-graphs/service",
    ):
        assert graph_store_url(given) == given
