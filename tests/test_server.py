"""`kg serve` as a real SPARQL 1.1 Protocol endpoint, used by SPARQLWrapper and plain HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from SPARQLWrapper import CSV, JSON, TURTLE, SPARQLWrapper

import kg
from kg.query import bindings, named, named_queries
from kg.server import negotiate
from tests.servers import kg_server


@pytest.fixture(scope="module")
def endpoint(graph: kg.TherapyGraph, store_dir: Path) -> Iterator[str]:
    with kg_server(store_dir, "--cors", "*", "--max-rows", "2000") as base:
        yield base + "sparql"


def _http(url: str, *, data: bytes | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _rows(document: dict) -> list[dict]:
    return sorted((json.dumps(b, sort_keys=True) for b in document["results"]["bindings"]))


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_named_queries_give_identical_results_through_sparqlwrapper(endpoint: str, graph: kg.TherapyGraph, name: str) -> None:
    query = named(name)
    params = {p.name: "car-nk" for p in query.parameters if p.required}
    values = bindings(graph, query, params)
    text = query.text + "".join(f"\nVALUES ?{k} {{ {v} }}" for k, v in values.items())
    client = SPARQLWrapper(endpoint)
    client.setQuery(text)
    client.setReturnFormat(JSON)
    remote = client.query().convert()
    local = json.loads(_local_json(graph, query.text, values))
    assert _rows(remote) == _rows(local) and local["results"]["bindings"]


def _local_json(graph: kg.TherapyGraph, text: str, values: dict | None = None) -> bytes:
    from kg import results

    return results.serialize(results.read(graph.query(text, values)), "json")


def test_get_post_and_form_requests(endpoint: str) -> None:
    text = "SELECT (COUNT(*) AS ?n) WHERE { ?s a tkg:Product }"
    got = _http(endpoint + "?" + urllib.parse.urlencode({"query": text}))
    posted = _http(endpoint, data=text.encode(), headers={"Content-Type": "application/sparql-query"})
    form = _http(endpoint, data=urllib.parse.urlencode({"query": text}).encode(),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert got[0] == posted[0] == form[0] == 200
    assert got[2] == posted[2] == form[2]
    assert got[1]["Content-Type"].startswith("application/sparql-results+json")


@pytest.mark.parametrize(
    ("accept", "media", "parse"),
    [
        ("application/sparql-results+xml", "application/sparql-results+xml", ox.QueryResultsFormat.XML),
        ("text/tab-separated-values", "text/tab-separated-values", ox.QueryResultsFormat.TSV),
        ("text/html;q=0.9, application/sparql-results+json", "application/sparql-results+json", ox.QueryResultsFormat.JSON),
    ],
)
def test_content_negotiation_for_select(endpoint: str, accept: str, media: str, parse: ox.QueryResultsFormat) -> None:
    query = urllib.parse.urlencode({"query": "SELECT ?m WHERE { ?m a tkg:Modality }"})
    status, headers, body = _http(f"{endpoint}?{query}", headers={"Accept": accept})
    assert status == 200 and headers["Content-Type"].startswith(media)
    assert len(list(ox.parse_query_results(body, format=parse))) >= 9


def test_csv_over_http_is_w3c_csv(endpoint: str) -> None:
    import csv
    import io

    query = urllib.parse.urlencode({"query": "SELECT ?m ?label WHERE { ?m a tkg:Modality ; rdfs:label ?label }"})
    status, headers, body = _http(f"{endpoint}?{query}", headers={"Accept": "text/csv"})
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert rows[0] == ["m", "label"] and ["https://w3id.org/therapy-kg/resource/car-nk", "CAR-NK cell therapy"] in rows


def test_construct_through_sparqlwrapper_as_turtle(endpoint: str) -> None:
    client = SPARQLWrapper(endpoint)
    client.setQuery("CONSTRUCT { ?s rdfs:label ?l } WHERE { ?s a tkg:Modality ; rdfs:label ?l }")
    client.setReturnFormat(TURTLE)
    turtle = client.query().convert()
    assert len(list(ox.parse(turtle, format=ox.RdfFormat.TURTLE))) >= 9


def test_csv_through_sparqlwrapper(endpoint: str) -> None:
    client = SPARQLWrapper(endpoint)
    client.setQuery("SELECT ?label WHERE { tkgr:car-nk rdfs:label ?label }")
    client.setReturnFormat(CSV)
    assert client.query().convert().decode().splitlines() == ["label", "CAR-NK cell therapy"]


def test_unacceptable_format_is_406(endpoint: str) -> None:
    query = urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1"})
    assert _http(f"{endpoint}?{query}", headers={"Accept": "image/png"})[0] == 406


def test_updates_are_refused(endpoint: str) -> None:
    form = urllib.parse.urlencode({"update": "CLEAR ALL"}).encode()
    assert _http(endpoint, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 403
    direct = _http(endpoint, data=b"CLEAR ALL", headers={"Content-Type": "application/sparql-update"})
    assert direct[0] == 403
    sneaky = _http(endpoint, data=b"DELETE WHERE { ?s ?p ?o }", headers={"Content-Type": "application/sparql-query"})
    assert sneaky[0] == 403
    after = _http(endpoint + "?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}))
    assert json.loads(after[2])["boolean"] is True


def test_service_is_refused(endpoint: str) -> None:
    text = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    status, _, body = _http(endpoint, data=text.encode(), headers={"Content-Type": "application/sparql-query"})
    assert status == 400 and b"SERVICE is refused" in body


def test_syntax_error_names_the_position(endpoint: str) -> None:
    status, _, body = _http(endpoint, data=b"SELECT ?x WHERE { ?x ?y }", headers={"Content-Type": "application/sparql-query"})
    assert status == 400 and b"error at 1:" in body


def test_row_cap(endpoint: str) -> None:
    text = "SELECT * WHERE { ?s ?p ?o }"
    status, _, body = _http(endpoint, data=text.encode(), headers={"Content-Type": "application/sparql-query"})
    assert status == 400 and b"more than 2000 rows" in body


def test_cors_header_when_configured(endpoint: str) -> None:
    status, headers, _ = _http(endpoint + "?" + urllib.parse.urlencode({"query": "ASK {}"}))
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"


def test_front_page_lists_therapies_and_queries(endpoint: str) -> None:
    status, headers, body = _http(endpoint.removesuffix("sparql"))
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "CAR-NK cell therapy" in page and "fact-sources" in page


def test_timeout_stops_a_runaway_query(graph: kg.TherapyGraph, store_dir: Path) -> None:
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    with kg_server(store_dir, "--timeout", "1", "--workers", "1") as base:
        status, _, body = _http(base + "sparql", data=runaway.encode(), headers={"Content-Type": "application/sparql-query"})
        assert status == 503 and b"stopped" in body
        again = _http(base + "sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}))
        assert again[0] == 200, "the endpoint keeps serving after a timeout"


def test_negotiate_rules() -> None:
    assert negotiate("solutions", "", None) == "json"
    assert negotiate("graph", "*/*", None) == "turtle"
    assert negotiate("solutions", "text/csv;q=0.5, application/sparql-results+xml", None) == "xml"
    assert negotiate("solutions", "text/turtle", None) is None
    assert negotiate("graph", "", "ntriples") == "ntriples"
    assert negotiate("solutions", "", "turtle") is None


def test_view_route_serves_the_comparison_graph(endpoint: str) -> None:
    base = endpoint.removesuffix("sparql")
    status, headers, body = _http(base + "view?therapies=car-t,car-nk")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"CAR-NK cell therapy" in body and b"<script src=" not in body
    assert _http(base + "view?therapies=car-t,kymria")[0] == 404
    assert _http(base + "view?therapies=car-t")[0] == 400
