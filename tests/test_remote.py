"""External stores: push to a real Oxigraph server, then query, compare and show through it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kg
from kg import results
from kg.cli import app
from kg.errors import KgError
from kg.query import bindings, named, named_queries
from kg.remote import graph_store_url, push, remote_graph
from tests.servers import free_port, oxigraph_server


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory, graph: kg.TherapyGraph) -> Iterator[str]:
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph")) as base:
        push(graph.location, base)
        yield base


def _count(endpoint: str) -> int:
    rows = remote_graph(endpoint).select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    return rows[0]["n"]


def test_push_is_idempotent_and_complete(oxigraph: str, graph: kg.TherapyGraph) -> None:
    local = graph.stats()
    assert _count(oxigraph + "/query") == local["triples"]
    result = push(graph.location, oxigraph)
    assert (result.graphs, result.triples) == (local["named_graphs"], local["triples"])
    assert _count(oxigraph + "/query") == local["triples"]


def test_named_graphs_survive_the_push(oxigraph: str) -> None:
    rows = remote_graph(oxigraph + "/query").select(
        "SELECT ?source WHERE { GRAPH ?source { tkgr:car-nk tkg:hlaMatchingRequired false } } ORDER BY ?source")
    assert [r["source"].rsplit("/", 1)[1] for r in rows] == [
        "cancerfax-2020-car-nk", "lu-2021-front-oncol", "yilmaz-2020-j-hematol-oncol"]


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_named_queries_identical_on_the_external_store(oxigraph: str, graph: kg.TherapyGraph, name: str) -> None:
    query = named(name)
    params = {p.name: "car-nk" for p in query.parameters if p.required}
    remote = remote_graph(oxigraph + "/query")
    local_rows = results.read(graph.query(query.text, bindings(graph, query, params))).rows
    remote_rows = results.read(remote.query(query.text, bindings(remote, query, params))).rows
    assert sorted(map(str, remote_rows)) == sorted(map(str, local_rows))


def test_cli_query_and_compare_through_the_endpoint(oxigraph: str, runner: CliRunner) -> None:
    endpoint = oxigraph + "/query"
    remote = runner.invoke(app, ["query", "--named", "car-t-by-target", "--format", "json", "--endpoint", endpoint])
    local = runner.invoke(app, ["query", "--named", "car-t-by-target", "--format", "json"])
    assert remote.exit_code == 0, remote.output
    assert json.loads(remote.stdout) == json.loads(local.stdout)
    from kg.compare import compare
    from kg.report import to_json

    assert to_json(compare(remote_graph(endpoint), ["car-t", "car-nk"])) == to_json(
        compare(kg.open_graph(Path(local_store(runner))), ["car-t", "car-nk"]))


def local_store(runner: CliRunner) -> str:
    import os

    return os.environ["THERAPY_KG_STORE"]


def test_cli_push(oxigraph: str, runner: CliRunner) -> None:
    result = runner.invoke(app, ["push", "--endpoint", oxigraph])
    assert result.exit_code == 0, result.output
    assert "named graphs" in result.stdout and graph_store_url(oxigraph) in result.stdout


def test_unreachable_endpoint_is_a_clear_error(runner: CliRunner) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/query"
    result = runner.invoke(app, ["query", "ASK {}", "--endpoint", endpoint])
    assert result.exit_code == 1 and "Cannot reach" in result.output and "Traceback" not in result.output
    with pytest.raises(KgError):
        remote_graph(endpoint).select("SELECT * WHERE { ?s ?p ?o } LIMIT 1")


def test_graph_store_url() -> None:
    assert graph_store_url("http://h:7878") == "http://h:7878/store"
    assert graph_store_url("http://h:7878/store") == "http://h:7878/store"
    assert graph_store_url("http://h:3030/ds/data") == "http://h:3030/ds/data"
