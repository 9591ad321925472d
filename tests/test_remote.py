"""External stores: push to a real Oxigraph server and a real Virtuoso, then query, compare, show
and view through them; every named query must give the same rows there as on the embedded store."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

import kg
from kg import results, vocab
from kg import store as kg_store
from kg.cli import app
from kg.errors import KgError
from kg.graph import solutions
from kg.push import Endpoints, PushError, push
from kg.query import bindings, named, named_queries
from kg.remote import MERGED_GRAPH, RemoteStore, remote_graph, request
from kg.resources import load_query
from tests.conftest import MINI
from tests.parity import comparable_rows
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
    """Oxigraph holding only the project's graphs takes the whole build in one dataset PUT;
    Virtuoso takes batched SPARQL updates. Either way every graph's count is checked."""
    local = graph.select(SOURCE_TRIPLES)
    assert remote_graph(store.query).select(SOURCE_TRIPLES) == local
    again = push(graph.location, store.graph_store)
    assert (again.graphs, again.triples) == (graph.stats()["named_graphs"], graph.stats()["triples"])
    assert again.checked and remote_graph(store.query).select(SOURCE_TRIPLES) == local
    if store.graph_store.endswith("/sparql-graph-crud"):
        assert again.method == "update" and 1 < again.requests < again.graphs
    else:
        assert (again.method, again.requests) == ("dataset", 2)  # DELETE /store, then one bulk POST


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
        local_rows = comparable_rows(query.text, results.read(graph.query(query.text, bindings(graph, query, params))))
        remote_rows = comparable_rows(
            query.text, results.read(remote.query(query.text, bindings(remote, query, params)))
        )
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


GRAPHS_WITH_FACTS = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


def test_a_store_that_cuts_answers_short_still_gets_every_graph_named(tmp_path: Path, graph: kg.TherapyGraph) -> None:
    """Virtuoso returns at most ResultSetMaxRows rows (10,000 as Debian ships it) and says
    nothing: with a cap of 10 rows and twice as many graphs, the FROM NAMED list of every query must
    still hold all of them, or answers lose the facts of the graphs left out."""
    with virtuoso_server(tmp_path / "virtuoso") as base:
        push(graph.location, base + "/sparql-graph-crud")
    with virtuoso_server(tmp_path / "virtuoso", max_rows=10) as base:  # the same database, capped
        remote = RemoteStore(base + "/sparql")
        capped = remote.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", default_graph=[], named_graphs=[])
        assert len(list(solutions(capped))) == 10
        defaults, named_graphs = remote.dataset()
        expected = {g.value for g in graph.store.named_graphs() if isinstance(g, ox.NamedNode)}
        assert len(expected) > 20 and (defaults, set(named_graphs)) == ([MERGED_GRAPH], expected)
        answer = remote_graph(base + "/sparql").select(GRAPHS_WITH_FACTS)
    assert answer == graph.select(GRAPHS_WITH_FACTS) and answer[0]["n"] == len(expected)


def test_too_many_graphs_for_virtuoso_is_said_plainly(
    tmp_path: Path, graph: kg.TherapyGraph, runner: CliRunner
) -> None:
    """Virtuoso's SPARQL compiler refuses a dataset of some thousands of named graphs; past that
    (8,000 ingested records, here stand-ins of one triple each) a command says why and exits 1."""
    with virtuoso_server(tmp_path / "virtuoso") as base:
        push(graph.location, base + "/sparql-graph-crud")
        for start in range(0, 8_000, 250):
            blocks = " ".join(
                f"GRAPH <{vocab.SOURCE}ctgov-NCT9{n:07d}> {{ <{vocab.RESOURCE}NCT9{n:07d}> a tkg:Trial }}"
                for n in range(start, start + 250)
            )
            request(
                base + "/sparql",
                data=f"PREFIX tkg: <{vocab.TKG}> INSERT DATA {{ {blocks} }}".encode(),
                method="POST",
                headers={"Content-Type": "application/sparql-update"},
            )
        result = runner.invoke(app, ["compare", "car-t", "car-nk", "--endpoint", base + "/sparql"])
    assert result.exit_code == 1, result.output
    assert "Too many arguments" in result.output and "docs/scaling.md" in result.output
    assert re.search(r"named the store's 8,0\d\d graphs", result.output)


def test_cli_push(tmp_path: Path, runner: CliRunner) -> None:
    with oxigraph_server(tmp_path / "oxigraph") as base:
        result = runner.invoke(app, ["push", "--endpoint", base])
    assert result.exit_code == 0, result.output
    assert "named graphs" in result.stdout and f"{base}/store (dataset, 2 requests)" in result.stdout
    assert "the default graph; every graph holds as many triples as in the build" in result.stdout


def test_read_only_replicas_after_a_push(tmp_path: Path, runner: CliRunner) -> None:
    """docs/scaling.md's Oxigraph recipe: push into a writable server, stop it, and serve the
    directory read-only from several processes at once, each answering as the embedded store."""
    location = tmp_path / "oxigraph"
    with oxigraph_server(location) as writer:
        assert runner.invoke(app, ["push", "--endpoint", writer]).exit_code == 0
    local = runner.invoke(app, ["query", "--named", "products-by-modality", "--format", "json"])
    assert local.exit_code == 0 and json.loads(local.stdout)["results"]["bindings"], local.output
    with oxigraph_server(location, read_only=True) as one, oxigraph_server(location, read_only=True) as other:
        for replica in (one, other):
            remote = runner.invoke(
                app, ["query", "--named", "products-by-modality", "--format", "json", "--endpoint", replica + "/query"]
            )
            assert remote.exit_code == 0, remote.output
            assert json.loads(remote.stdout) == json.loads(local.stdout)
        refused = runner.invoke(app, ["push", "--endpoint", one])
    assert refused.exit_code == 1 and "read-only" in refused.output


def _build_without(source: str, tmp_path: Path) -> Path:
    """A build of the test graph with one source file left out."""
    data = tmp_path / "data"
    shutil.copytree(MINI, data)
    (data / "sources" / f"{source}.ttl").unlink()
    return kg_store.build(tmp_path / "store", data_dir=data).location


def _graphs_on(query_url: str) -> set[str]:
    """Every named graph a store holds, asked with an empty dataset (Virtuoso's GRAPH ?g then
    ranges over all of them)."""
    answer = RemoteStore(query_url).query(load_query("graph-counts"), default_graph=[], named_graphs=[])
    return {row["g"].value for row in solutions(answer)}


def test_a_push_drops_graphs_the_build_no_longer_has(tmp_path: Path, graph: kg.TherapyGraph) -> None:
    smaller = _build_without("popular-2020", tmp_path)
    dropped = vocab.SOURCE + "popular-2020"
    with oxigraph_server(tmp_path / "oxigraph") as base:
        push(graph.location, base)
        assert dropped in _graphs_on(base + "/query")
        assert push(smaller, base).method == "dataset"
        assert dropped not in _graphs_on(base + "/query")
    with virtuoso_server(tmp_path / "virtuoso") as base:
        push(graph.location, base + "/sparql-graph-crud")
        assert dropped in _graphs_on(base + "/sparql")
        assert push(smaller, base + "/sparql-graph-crud").method == "update"
        assert dropped not in _graphs_on(base + "/sparql")


def test_graphs_that_are_not_the_projects_survive_a_push(tmp_path: Path, graph: kg.TherapyGraph) -> None:
    """Beside others' data, the push replaces the project's graphs by batched updates, not the dataset."""
    other = "http://example.org/someone-elses"
    with oxigraph_server(tmp_path / "oxigraph") as base:
        request(
            f"{base}/store?graph={other}",
            data=b'<http://example.org/a> <http://example.org/b> "1" .\n',
            method="PUT",
            headers={"Content-Type": "application/n-triples"},
        )
        result = push(graph.location, base)
        assert result.method == "update" and result.checked
        assert other in _graphs_on(base + "/query")


def test_a_graph_store_url_alone_is_pushed_graph_by_graph_unchecked(tmp_path: Path, graph: kg.TherapyGraph) -> None:
    with oxigraph_server(tmp_path / "oxigraph") as base:
        result = push(graph.location, base + "/store")
        assert (result.method, result.checked, result.requests) == ("graph store", False, result.graphs + 2)
        assert remote_graph(base + "/query").select(SOURCE_TRIPLES) == graph.select(SOURCE_TRIPLES)


def test_a_store_that_does_not_hold_the_build_after_a_push_is_an_error(tmp_path: Path, runner: CliRunner) -> None:
    """The check counts on the query URL given: an empty store there shows every graph as missing."""
    with oxigraph_server(tmp_path / "one") as one, oxigraph_server(tmp_path / "other") as other:
        result = runner.invoke(app, ["push", "--endpoint", one + "/store", "--query", other + "/query"])
    assert result.exit_code == 1 and "graph(s) differ after the push" in result.output
    assert "in the build, 0 on the store" in result.output and "Traceback" not in result.output


def test_unreachable_endpoint_is_a_clear_error(runner: CliRunner) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/query"
    for command in (["query", "ASK {}"], ["compare", "car-t", "car-nk"], ["show", "car-nk"]):
        result = runner.invoke(app, [*command, "--endpoint", endpoint])
        assert result.exit_code == 1 and "Cannot reach" in result.output and "Traceback" not in result.output
    with pytest.raises(KgError):
        remote_graph(endpoint).select("SELECT * WHERE { ?s ?p ?o } LIMIT 1")


def test_graph_store_url_is_taken_as_given_unless_bare() -> None:
    assert Endpoints.of("http://h:7878").graph_store == "http://h:7878/store"
    assert Endpoints.of("http://h:7878/") == Endpoints.of("http://h:7878")
    for given in (
        "http://h:7878/store",
        "http://h:3030/ds/data",
        "http://h:3030/ds/",
        "http://h:8890/sparql-graph-crud",
        "http://h:7200/repositories/kg/rdf-graphs/service",
    ):
        assert Endpoints.of(given).graph_store == given
    assert Endpoints.of("http://h:3030/ds/data", "http://h:3030/ds/query").query == "http://h:3030/ds/query"
    assert Endpoints.of("http://h:8890/sparql-graph-crud").query == "http://h:8890/sparql"


def test_the_check_names_the_one_graph_that_differs(tmp_path: Path, graph: kg.TherapyGraph) -> None:
    """Graphs are compared in 256 buckets by MD5 (stores cap answers: Virtuoso returned 100,000 of
    100,328 graphs and sorts at most 10,000), then listed in the buckets that differ."""
    source = vocab.SOURCE + "popular-2020"
    with oxigraph_server(tmp_path / "one") as one, oxigraph_server(tmp_path / "other") as other:
        push(graph.location, one)
        request(
            one + "/update",
            data=f"DELETE WHERE {{ GRAPH <{source}> {{ <{vocab.RESOURCE}car-nk> ?p ?o }} }}".encode(),
            method="POST",
            headers={"Content-Type": "application/sparql-update"},
        )
        with pytest.raises(PushError) as error:  # pushed to the other store, checked against the first
            push(graph.location, other + "/store", query=one + "/query")
    assert str(error.value).startswith(f"1 graph(s) differ after the push: {source}: ")


def test_push_doctests() -> None:
    import doctest

    import kg.push

    outcome = doctest.testmod(kg.push)
    assert outcome.attempted >= 3 and outcome.failed == 0
