"""`kg serve` as a real SPARQL 1.1 Protocol endpoint: real clients (SPARQLWrapper, rdflib's
SPARQLStore, plain HTTP and raw sockets) against a `kg serve` subprocess on loopback."""

from __future__ import annotations

import csv
import gc
import http.client
import io
import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox
import pytest
from SPARQLWrapper import CSV, JSON, JSONLD, N3, TURTLE, XML, SPARQLWrapper
from typer.testing import CliRunner

import kg
from kg import results
from kg import server as kg_serve
from kg import store as stores
from kg.cli import app
from kg.graph import BASE_IRI
from kg.query import bindings, named, named_queries
from kg.registry import ingest_ctgov
from kg.server import SOCKET_TIMEOUT, Limits, ServerConfig, Worker, negotiate, render_pages
from tests.parity import CONCATENATED
from tests.servers import KgServer, kg_server
from tests.test_query import EMPTY_WITHOUT_INGEST

DATA = Path(__file__).parent / "data"
SD = "http://www.w3.org/ns/sparql-service-description#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
PREFIXES = "PREFIX tkg: <https://w3id.org/therapy-kg/ontology#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
CONSTRUCT = PREFIXES + "CONSTRUCT { ?s rdfs:label ?l } WHERE { ?s a tkg:Modality ; rdfs:label ?l }"
SELECT = PREFIXES + "SELECT ?s ?l WHERE { ?s a tkg:Modality ; rdfs:label ?l }"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # minutes: a triple cross join


@pytest.fixture(scope="module")
def server(graph: kg.TherapyGraph, store_dir: Path) -> Iterator[KgServer]:
    with kg_server(store_dir, "--cors", "*", "--max-rows", "2000") as base:
        yield base


@pytest.fixture(scope="module")
def endpoint(server: KgServer) -> str:
    return server + "sparql"


def _http(
    url: str, *, data: bytes | None = None, headers: dict | None = None, method: str | None = None, timeout: float = 30
) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _get(endpoint: str, query: str, **params: str) -> tuple[int, dict, bytes]:
    return _http(endpoint + "?" + urllib.parse.urlencode({"query": query, **params}))


def _raw(base: str, request: bytes, timeout: float = 30) -> bytes:
    """Send raw bytes on a new connection and read until the server closes it."""
    parts = urllib.parse.urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        return _read_all(sock)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _rows(document: dict, query_text: str = "") -> list[str]:
    """Rows as sorted JSON; GROUP_CONCAT values with their parts sorted (SPARQL leaves their order
    to the engine, and where the VALUES of a binding sit changes it)."""
    separators = {name: separator for separator, name in CONCATENATED.findall(query_text)}
    for binding in document["results"]["bindings"]:
        for name, separator in separators.items():
            if name in binding:
                binding[name]["value"] = separator.join(sorted(binding[name]["value"].split(separator)))
    return sorted(json.dumps(b, sort_keys=True) for b in document["results"]["bindings"])


# --- queries and formats ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_named_queries_give_identical_results_through_sparqlwrapper(
    endpoint: str, graph: kg.TherapyGraph, name: str
) -> None:
    query = named(name)
    params = {p.name: "car-nk" for p in query.parameters if p.required}
    values = bindings(graph, query, params)
    text = query.text + "".join(f"\nVALUES ?{k} {{ {v} }}" for k, v in values.items())
    client = SPARQLWrapper(endpoint)
    client.setQuery(text)
    client.setReturnFormat(JSON)
    remote = client.query().convert()
    local = json.loads(results.serialize(results.read(graph.query(query.text, values)), "json"))
    assert _rows(remote, query.text) == _rows(local, query.text)
    assert local["results"]["bindings"] or name in EMPTY_WITHOUT_INGEST


def test_get_post_and_form_requests(endpoint: str) -> None:
    text = "SELECT (COUNT(*) AS ?n) WHERE { ?s a tkg:Product }"
    got = _get(endpoint, text)
    posted = _http(endpoint, data=text.encode(), headers={"Content-Type": "application/sparql-query"})
    form = _http(
        endpoint,
        data=urllib.parse.urlencode({"query": text}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert got[0] == posted[0] == form[0] == 200
    assert got[2] == posted[2] == form[2]
    assert got[1]["Content-Type"].startswith("application/sparql-results+json")


@pytest.mark.parametrize(
    ("accept", "media", "parse"),
    [
        ("application/sparql-results+xml", "application/sparql-results+xml", ox.QueryResultsFormat.XML),
        ("text/tab-separated-values", "text/tab-separated-values", ox.QueryResultsFormat.TSV),
        (
            "text/html;q=0.9, application/sparql-results+json",
            "application/sparql-results+json",
            ox.QueryResultsFormat.JSON,
        ),
        ("APPLICATION/SPARQL-RESULTS+XML", "application/sparql-results+xml", ox.QueryResultsFormat.XML),
    ],
)
def test_content_negotiation_for_select(endpoint: str, accept: str, media: str, parse: ox.QueryResultsFormat) -> None:
    query = urllib.parse.urlencode({"query": "SELECT ?m WHERE { ?m a tkg:Modality }"})
    status, headers, body = _http(f"{endpoint}?{query}", headers={"Accept": accept})
    assert status == 200 and headers["Content-Type"].startswith(media)
    assert len(list(ox.parse_query_results(body, format=parse))) >= 9


def test_csv_over_http_is_w3c_csv_whatever_the_case_of_the_media_type(endpoint: str) -> None:
    query = urllib.parse.urlencode({"query": "SELECT ?m ?label WHERE { ?m a tkg:Modality ; rdfs:label ?label }"})
    status, headers, body = _http(f"{endpoint}?{query}", headers={"Accept": "TEXT/CSV"})
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert rows[0] == ["m", "label"] and ["https://w3id.org/therapy-kg/resource/car-nk", "CAR-NK cell therapy"] in rows


def _spellings() -> list[tuple[str, str, str]]:
    """(query kind, a `format=` spelling, the media type it must give), from the one format table,
    in lower and upper case."""
    cases = []
    for f in results.FORMATS:
        for spelling in (f.name, f.media_type, *f.spellings):
            cases += [(f.kind, spelling, f.media_type), (f.kind, spelling.upper(), f.media_type)]
    return cases


@pytest.mark.parametrize(("kind", "spelling", "media"), _spellings())
def test_every_format_spelling_in_the_url(endpoint: str, kind: str, spelling: str, media: str) -> None:
    query = CONSTRUCT if kind == results.GRAPH else SELECT
    status, headers, body = _get(endpoint, query, format=spelling)
    assert status == 200 and headers["Content-Type"].split(";")[0] == media, body[:200]


def test_format_table_doctests() -> None:
    import doctest

    outcome = doctest.testmod(results)
    assert outcome.attempted and not outcome.failed


def test_rdf_xml_is_offered_for_graphs(endpoint: str) -> None:
    status, headers, body = _http(
        endpoint + "?" + urllib.parse.urlencode({"query": CONSTRUCT}), headers={"Accept": "application/rdf+xml"}
    )
    assert status == 200 and headers["Content-Type"] == "application/rdf+xml"
    assert len(list(ox.parse(body, format=ox.RdfFormat.RDF_XML))) >= 9


@pytest.mark.filterwarnings("error::RuntimeWarning")  # SPARQLWrapper warns when the answer is not what it asked for
@pytest.mark.parametrize(
    ("query", "fmt"),
    [
        (CONSTRUCT, XML),
        (CONSTRUCT, JSONLD),
        (CONSTRUCT, TURTLE),
        (CONSTRUCT, N3),
        (CONSTRUCT, None),
        (SELECT, JSON),
        (SELECT, XML),
        (SELECT, CSV),
        (SELECT, None),
    ],
)
def test_sparqlwrapper_in_every_format_it_asks_for(endpoint: str, query: str, fmt: str | None) -> None:
    import rdflib

    client = SPARQLWrapper(endpoint)
    client.setQuery(query)
    if fmt is not None:  # None: SPARQLWrapper's default (XML; RDF/XML for CONSTRUCT)
        client.setReturnFormat(fmt)
    answer = client.query().convert()
    if isinstance(answer, rdflib.Graph):  # RDF/XML and JSON-LD, parsed by SPARQLWrapper
        assert len(answer) >= 9
    elif isinstance(answer, bytes) and query is CONSTRUCT:  # Turtle and N3, left to the caller
        assert len(list(ox.parse(answer, format=ox.RdfFormat.TURTLE))) >= 9
    elif isinstance(answer, bytes):  # CSV
        assert len(answer.decode().splitlines()) >= 10
    elif isinstance(answer, dict):  # JSON
        assert len(answer["results"]["bindings"]) >= 9
    else:  # XML results as a DOM
        assert len(answer.getElementsByTagName("result")) >= 9


def test_rdflib_sparqlstore_at_its_defaults(endpoint: str) -> None:
    from rdflib import Graph
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = Graph(store=SPARQLStore(endpoint))
    assert len(graph.query(CONSTRUCT).graph) >= 9
    assert ("CAR-NK cell therapy",) in {(str(row.l),) for row in graph.query(SELECT)}


def test_unacceptable_format_is_406(endpoint: str) -> None:
    query = urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1"})
    for _ in range(2):  # the second answer comes from what the server remembers of the query
        status, _, body = _http(f"{endpoint}?{query}", headers={"Accept": "image/png"})
        assert status == 406 and b"application/sparql-results+json" in body
    assert _get(endpoint, CONSTRUCT, format="csv")[0] == 406


def test_updates_are_refused(endpoint: str) -> None:
    form = urllib.parse.urlencode({"update": "CLEAR ALL"}).encode()
    assert _http(endpoint, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 403
    direct = _http(endpoint, data=b"CLEAR ALL", headers={"Content-Type": "application/sparql-update"})
    assert direct[0] == 403
    sneaky = _http(endpoint, data=b"DELETE WHERE { ?s ?p ?o }", headers={"Content-Type": "application/sparql-query"})
    assert sneaky[0] == 403
    after = _get(endpoint, "ASK { ?s ?p ?o }")
    assert json.loads(after[2])["boolean"] is True


def test_service_is_refused(endpoint: str) -> None:
    text = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    status, _, body = _http(endpoint, data=text.encode(), headers={"Content-Type": "application/sparql-query"})
    assert status == 400 and b"SERVICE is refused" in body


def test_syntax_error_names_the_position(endpoint: str) -> None:
    status, _, body = _http(
        endpoint, data=b"SELECT ?x WHERE { ?x ?y }", headers={"Content-Type": "application/sparql-query"}
    )
    assert status == 400 and b"line 1, column 19" in body


def test_empty_query_is_a_400(endpoint: str) -> None:
    status, _, body = _get(endpoint, " \n")
    assert status == 400 and body == b"The query is empty.\n"


def test_row_cap(endpoint: str) -> None:
    text = "SELECT * WHERE { ?s ?p ?o VALUES ?copy { 1 2 } }"  # more than 3,000 rows
    status, _, body = _http(endpoint, data=text.encode(), headers={"Content-Type": "application/sparql-query"})
    assert status == 400 and b"more than 2000 rows" in body


def test_cors_header_when_configured(endpoint: str) -> None:
    status, headers, _ = _get(endpoint, "ASK {}")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    status, headers, _ = _http(endpoint, method="OPTIONS")
    assert status == 204 and "POST" in headers["Access-Control-Allow-Methods"]


def test_front_page_lists_therapies_queries_dataset_and_limits(endpoint: str) -> None:
    status, headers, body = _http(endpoint.removesuffix("sparql"))
    page = " ".join(body.decode().split())
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "CAR-NK cell therapy" in page and "fact-sources" in page
    assert "The default graph is the RDF merge of the named graphs: a set" in page and BASE_IRI in page
    assert all(limit in page for limit in ("at most 10 s", "1024 MB", "2,000 rows", "50,000,000 bytes"))


def test_negotiate_rules() -> None:
    assert negotiate("solutions", "") == "json"
    assert negotiate("graph", "*/*") == "turtle"
    assert negotiate("solutions", "text/csv;q=0.5, application/sparql-results+xml") == "xml"
    assert negotiate("solutions", "text/turtle") is None
    assert negotiate("graph", "", ["ntriples"]) == "ntriples"
    assert negotiate("solutions", "", ["turtle"]) is None
    assert (
        negotiate("graph", "", ["json-ld", "application/ld+json,application/x-json+ld"]) == "jsonld"
    )  # as SPARQLWrapper sends
    assert negotiate("graph", "text/*") == "turtle" and negotiate("solutions", "text/*;q=1") == "csv"


def test_response_cache_is_bounded_by_bytes_and_holds_one_build() -> None:
    from kg.server import Reply, ResponseCache

    cache = ResponseCache(capacity=8000)
    reply = Reply(200, "text/csv", b"x" * 900)
    for n in range(10):
        cache.put((Path("build-1"), f"q{n}", "csv"), reply)
    assert cache.get((Path("build-1"), "q0", "csv")) is None, "the least recently used went first"
    assert cache.get((Path("build-1"), "q9", "csv")) == reply
    cache.put((Path("build-1"), "huge", "csv"), Reply(200, "text/csv", b"x" * 1001))
    assert cache.get((Path("build-1"), "huge", "csv")) is None, "an answer over an eighth of the capacity is not kept"
    cache.put((Path("build-2"), "q0", "csv"), reply)
    assert cache.get((Path("build-1"), "q9", "csv")) is None and cache.get((Path("build-2"), "q0", "csv")) == reply


def test_view_route_serves_the_comparison_graph(endpoint: str) -> None:
    base = endpoint.removesuffix("sparql")
    status, headers, body = _http(base + "view?therapies=car-t,car-nk")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"CAR-NK cell therapy" in body and b"<script src=" not in body
    assert _http(base + "view?therapies=car-t,kymria")[0] == 404
    assert _http(base + "view?therapies=car-t")[0] == 400


def test_keep_alive_serves_several_requests_on_one_connection(endpoint: str) -> None:
    parts = urllib.parse.urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        for text in ("ASK {}", "ASK { ?s ?p ?o }", "ASK {}"):
            connection.request("GET", parts.path + "?" + urllib.parse.urlencode({"query": text}))
            response = connection.getresponse()
            assert response.status == 200 and json.loads(response.read())["boolean"] is True
            assert response.version == 11 and not response.will_close
    finally:
        connection.close()


# --- service description, methods, bodies ---------------------------------------------------


def _description(endpoint: str, accept: str | None, fmt: ox.RdfFormat) -> list[ox.Triple]:
    status, _, body = _http(endpoint, headers={"Accept": accept} if accept else {})
    assert status == 200, body
    return [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=fmt)]


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        (None, ox.RdfFormat.TURTLE),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
    ],
)
def test_get_without_a_query_is_the_service_description(endpoint: str, accept: str | None, fmt: ox.RdfFormat) -> None:
    triples = _description(endpoint, accept, fmt)
    service = ox.NamedNode(endpoint)

    def objects(subject: ox.NamedNode | ox.BlankNode, predicate: str) -> list:
        return [t.object for t in triples if t.subject == subject and t.predicate == ox.NamedNode(SD + predicate)]

    assert ox.Triple(service, RDF_TYPE, ox.NamedNode(SD + "Service")) in triples
    assert objects(service, "endpoint") == [service]
    assert objects(service, "supportedLanguage") == [ox.NamedNode(SD + "SPARQL11Query")]
    assert ox.NamedNode(SD + "UnionDefaultGraph") in objects(service, "feature")
    formats = {o.value.rsplit("/", 1)[1] for o in objects(service, "resultFormat")}
    assert {
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "Turtle",
        "RDF_XML",
        "JSON-LD",
    } <= formats
    [dataset] = objects(service, "defaultDataset")
    [default] = objects(dataset, "defaultGraph")
    assert "merge of the named graphs" in next(
        t.object.value for t in triples if t.subject == default and "comment" in t.predicate.value
    )
    names = {o for node in objects(dataset, "namedGraph") for o in objects(node, "name")}
    assert ox.NamedNode("https://w3id.org/therapy-kg/source/cordnk-trial-2020") in names and len(names) > 18


def _endpoint_named(answer: bytes) -> str:
    """The sd:endpoint of a service description sent as N-Triples in a raw answer."""
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    triples = ox.parse(answer.split(b"\r\n\r\n", 1)[1], format=ox.RdfFormat.N_TRIPLES)
    [endpoint] = {t.object.value for t in triples if t.predicate == ox.NamedNode(SD + "endpoint")}
    return endpoint


@pytest.mark.parametrize("host", [None, "", "a b", "x/y@z", "[::1", "h:port"])
def test_the_description_of_a_request_without_a_usable_host_names_the_listener(endpoint: str, host: str | None) -> None:
    header = "" if host is None else f"Host: {host}\r\n"
    answer = _raw(
        endpoint, f"GET /sparql HTTP/1.1\r\n{header}Accept: application/n-triples\r\nConnection: close\r\n\r\n".encode()
    )
    assert _endpoint_named(answer) == endpoint


def test_the_description_names_the_host_the_client_asked_for(endpoint: str) -> None:
    answer = _raw(
        endpoint,
        b"GET /sparql HTTP/1.1\r\nHost: kg.example.org:8080\r\nAccept: application/n-triples\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert _endpoint_named(answer) == "http://kg.example.org:8080/sparql"


def test_an_ipv6_listener_describes_itself_in_brackets(store_dir: Path) -> None:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    with kg_server(store_dir, "--host", "::1") as base:
        assert base.startswith("http://[::1]:")
        answer = _raw(
            base + "sparql",
            b"GET /sparql HTTP/1.1\r\nHost: a b\r\nAccept: application/n-triples\r\nConnection: close\r\n\r\n",
        )
        assert _endpoint_named(answer) == base + "sparql"


def test_head_answers_headers_only(endpoint: str) -> None:
    get = _http(endpoint)
    head = _http(endpoint, method="HEAD")
    assert head[0] == 200 and head[2] == b"" and head[1]["Content-Length"] == str(len(get[2]))
    query = endpoint + "?" + urllib.parse.urlencode({"query": "ASK {}"})
    assert _http(query, method="HEAD")[1]["Content-Type"] == "application/sparql-results+json"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "TRACE"])
def test_other_methods_are_not_allowed(endpoint: str, method: str) -> None:
    status, headers, body = _http(endpoint + "?query=ASK%7B%7D", data=b"x", method=method)
    assert status == 405 and headers["Allow"] == "GET, HEAD, POST, OPTIONS" and b"read-only" in body


def test_chunked_post_body_is_read(endpoint: str) -> None:
    parts = urllib.parse.urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(
            "POST",
            parts.path,
            body=iter([b"ASK { ?s a ", b"tkg:Modality }"]),
            headers={"Content-Type": "application/sparql-query"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["boolean"] is True
    finally:
        connection.close()


def test_a_client_waiting_for_100_continue_is_told_to_send_the_body(endpoint: str) -> None:
    parts = urllib.parse.urlsplit(endpoint)
    body = b"ASK { ?s a tkg:Modality }"
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(
            f"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nExpect: 100-continue\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # at once, not after a client-side delay
        sock.sendall(body)
        assert _read_all(sock).startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "+5", "5, 5"])
def test_bad_content_length_is_a_400_with_a_message(endpoint: str, length: str) -> None:
    answer = _raw(
        endpoint,
        f"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
        f"Content-Length: {length}\r\n\r\nASK {{}}".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 400 ") and b"Content-Length must be a whole number" in answer
    assert b"Traceback" not in answer


SMUGGLED = b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(f"X-Pad: a\nContent-Length: {len(SMUGGLED)}", id="bare-lf-in-a-value"),
        pytest.param(f"X-Pad: a\rContent-Length: {len(SMUGGLED)}", id="bare-cr-in-a-value"),
        pytest.param("X-Pad: a\0b", id="nul-in-a-value"),
        pytest.param("X Pad: a", id="space-in-a-name"),
        pytest.param(f"Transfer-Encoding: chunked\r\nContent-Length: {len(SMUGGLED)}", id="chunked-and-length"),
    ],
)
def test_ambiguous_framing_is_refused_and_the_connection_closed(endpoint: str, head: str) -> None:
    """A request a proxy could read one way and the server another is how requests are smuggled
    (RFC 9112 §6.1, RFC 9110 §5.5): one 400, and nothing after it is read as a request."""
    answer = _raw(endpoint, f"POST /sparql HTTP/1.1\r\nHost: x\r\n{head}\r\n\r\n".encode() + SMUGGLED)
    assert answer.startswith(b"HTTP/1.1 400 ") and b"Connection: close" in answer
    assert answer.count(b"HTTP/1.1 ") == 1


def test_transfer_encoding_in_http_1_0_is_refused(endpoint: str) -> None:
    answer = _raw(
        endpoint,
        b"POST /sparql HTTP/1.0\r\nContent-Type: application/sparql-query\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n7\r\nASK {}\n\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400 ") and b"HTTP/1.0" in answer


def test_bare_lf_in_the_request_line_is_refused(endpoint: str) -> None:
    assert _raw(endpoint, b"GET /sparql\nX HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 400 ")


def test_silent_connections_and_short_bodies_are_cut_after_the_socket_timeout(endpoint: str) -> None:
    parts = urllib.parse.urlsplit(endpoint)
    silent = socket.create_connection((parts.hostname, parts.port), timeout=SOCKET_TIMEOUT + 10)
    short = socket.create_connection((parts.hostname, parts.port), timeout=SOCKET_TIMEOUT + 10)
    try:
        short.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: 100\r\n\r\nASK {}"
        )
        start = time.monotonic()
        assert _get(endpoint, "ASK { ?x ?y ?z }")[0] == 200, "open connections hold nothing up"
        assert _read_all(silent) == b""
        answer = _read_all(short)
        assert answer.startswith(b"HTTP/1.1 408 ") and b"not complete" in answer
        assert time.monotonic() - start < SOCKET_TIMEOUT + 5
    finally:
        silent.close()
        short.close()


def test_many_concurrent_clients_new_connection_each_without_errors(endpoint: str) -> None:
    texts = [f"ASK {{ ?s ?p {n} }}" for n in range(20)]

    def client(index: int) -> list[int]:
        return [_get(endpoint, texts[(index + n) % len(texts)])[0] for n in range(60)]

    with ThreadPoolExecutor(32) as pool:
        statuses = [s for answer in pool.map(client, range(32)) for s in answer]
    assert statuses == [200] * 32 * 60


def test_connections_are_bounded(server: KgServer) -> None:
    from kg.server import MAX_CONNECTIONS

    parts = urllib.parse.urlsplit(server)
    before = _fds(server)
    sockets = [socket.create_connection((parts.hostname, parts.port), timeout=30) for _ in range(MAX_CONNECTIONS + 40)]
    try:
        time.sleep(0.5)
        assert _fds(server) <= before + MAX_CONNECTIONS + 2, "connections past the bound wait in the backlog"
    finally:
        for sock in sockets:
            sock.close()
    assert _get(server + "sparql", "ASK { ?s ?p ?o }")[0] == 200


def _fds(server: KgServer) -> int:
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


# --- timeouts, memory, byte cap, shutdown -----------------------------------------------------


def _post(endpoint: str, text: str) -> tuple[int, dict, bytes]:
    return _http(endpoint, data=text.encode(), headers={"Content-Type": "application/sparql-query"}, timeout=120)


def test_a_timeout_fails_only_the_query_that_ran_too_long(store_dir: Path) -> None:
    with kg_server(store_dir, "--timeout", "3", "--workers", "2") as base:
        endpoint = base + "sparql"
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(_post, endpoint, SLOW)
            time.sleep(0.3)
            others = []  # back to back, so one is running when the slow one is stopped
            while not slow.done() and len(others) < 200:  # distinct texts: each runs in the other worker
                others.append(_post(endpoint, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?a a ?c }} # {len(others)}")[0])
            status, _, body = slow.result()
        assert status == 503 and b"ran longer than 3 s" in body
        assert len(others) >= 3 and others == [200] * len(others)
        assert _post(endpoint, "ASK { ?s ?p 'right after' }")[0] == 200


def test_a_query_sent_while_the_only_worker_restarts_is_answered(store_dir: Path) -> None:
    with kg_server(store_dir, "--timeout", "1", "--workers", "1") as base:
        endpoint = base + "sparql"
        with ThreadPoolExecutor(2) as pool:
            slow = pool.submit(_post, endpoint, SLOW)
            time.sleep(0.3)
            queued = pool.submit(_post, endpoint, "ASK { ?s a tkg:Modality }")  # waits behind the slow one
            assert slow.result()[0] == 503
            status, _, body = queued.result()
        assert status == 200 and json.loads(body)["boolean"] is True


def test_timeouts_leak_no_file_descriptors(store_dir: Path) -> None:
    with kg_server(store_dir, "--timeout", "0.5", "--workers", "1") as base:
        endpoint = base + "sparql"

        def timeout_then_answer(n: int) -> None:
            assert _post(endpoint, SLOW)[0] == 503
            assert _post(endpoint, f"ASK {{ ?s ?p {n} }}")[0] == 200  # served by the replacement

        timeout_then_answer(0)  # the first replacement may open what later ones reuse
        before = _fds(base)
        for n in range(1, 6):
            timeout_then_answer(n)
        assert _fds(base) <= before + 2


def test_memory_cap_and_byte_cap(store_dir: Path) -> None:
    with kg_server(
        store_dir,
        "--timeout",
        "60",
        "--workers",
        "1",
        "--max-memory",
        "400",
        "--max-rows",
        "5",
        "--max-bytes",
        "100000",
    ) as base:
        endpoint = base + "sparql"
        start = time.monotonic()
        hungry = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i LIMIT 1"  # sorts 10^9 rows
        status, _, body = _post(endpoint, hungry)
        assert status == 503 and b"more than 400 MB of memory" in body and time.monotonic() - start < 50
        longest = "SELECT (GROUP_CONCAT(STR(?p)) AS ?all) WHERE { ?s ?p ?o VALUES ?copy { 1 2 3 } }"
        status, _, body = _post(endpoint, longest)  # one long row
        assert status == 400 and b"larger than 100,000 bytes" in body and b"LIMIT" in body
        assert _post(endpoint, "SELECT ?s WHERE { ?s a tkg:Modality } LIMIT 5")[0] == 200


def test_sigterm_stops_workers_cleanly(store_dir: Path) -> None:
    with kg_server(store_dir, "--workers", "2") as base:
        assert _get(base + "sparql", "ASK {}")[0] == 200
        children = _children(base.process.pid)
        assert len(children) >= 2
        base.process.send_signal(signal.SIGTERM)
        assert base.process.wait(20) == 0
        time.sleep(0.5)  # let the stderr reader catch the last lines
        assert not [pid for pid in children if os.path.exists(f"/proc/{pid}") and _state(pid) != "Z"]
        assert not any("leaked" in line or "Traceback" in line for line in base.stderr), base.stderr


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as children:
            found += [int(c) for c in children.read().split()]
    return found


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


@pytest.mark.parametrize("option", ["--timeout", "--max-rows", "--max-bytes", "--max-memory", "--workers"])
@pytest.mark.parametrize("value", ["0", "-1"])
def test_non_positive_limits_are_usage_errors(runner: CliRunner, option: str, value: str) -> None:
    result = runner.invoke(app, ["serve", option, value])
    assert result.exit_code == 2 and "must be greater than 0" in result.output


# --- rebuilds while serving -------------------------------------------------------------------

_TRIALS = "SELECT (COUNT(DISTINCT ?t) AS ?n) WHERE { ?t tkg:registryRecord ?r }"


def _trials(endpoint: str, suffix: str = "") -> tuple[int, int | None]:
    status, _, body = _get(endpoint, _TRIALS + suffix)
    return status, int(json.loads(body)["results"]["bindings"][0]["n"]["value"]) if status == 200 else None


def test_a_running_server_keeps_answering_across_rebuilds(tmp_path: Path) -> None:
    root = tmp_path / "store"
    first = stores.build(root).location
    with kg_server(root, "--workers", "2") as base:
        endpoint = base + "sparql"
        assert _trials(endpoint) == (200, 0)
        statuses: list[int] = []
        stop = threading.Event()

        def client() -> None:
            n = 0
            while not stop.is_set() and n < 5000:  # cached and uncached texts, alternately
                statuses.append(_trials(endpoint, f" # {n % 2 and n}")[0])
                n += 1

        thread = threading.Thread(target=client)
        thread.start()
        try:
            ingest_ctgov(root, [DATA / "ctgov" / "NCT03056339.json"])
            second = stores.current_build(root)
            assert _trials(endpoint) == (200, 1), "the first request after the rebuild sees it"
            deadline = time.monotonic() + 10
            while stores.is_leased(first) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not stores.is_leased(first), "the old build's lease is released once its workers stop"
            ingest_ctgov(root, [DATA / "ctgov" / "page.json"])
            assert _trials(endpoint) == (200, 3)
            assert not first.exists(), "the released build was removed by the next rebuild"
            assert second is not None and stores.current_build(root) != second
        finally:
            stop.set()
            thread.join(60)
        assert len(statuses) >= 10 and statuses == [200] * len(statuses)
        assert not [line for line in base.stderr if "still serving" in line or "Traceback" in line]


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_rendering_a_builds_pages_leaves_no_store_open(graph: kg.TherapyGraph, store_dir: Path) -> None:
    """pyoxigraph has no close: the store closes when freed, which a reference cycle would put
    off to the next garbage collection (the old build's files stayed open after a switch)."""
    build = stores.current_build(store_dir)
    assert build is not None
    gc.disable()
    try:
        before = _open_descriptors()
        pages = render_pages(build, ServerConfig())
        assert _open_descriptors() == before
    finally:
        gc.enable()
    assert pages.default_triples > 0 and pages.named_graphs


def test_a_worker_that_cannot_start_leaves_no_pipe(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Refused:
        def __init__(self, **_: object) -> None:
            pass

        def start(self) -> None:
            raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(kg_serve._CONTEXT, "Process", Refused)
    before = _open_descriptors()
    with pytest.raises(OSError):
        Worker(store_dir, Limits(10, 1000))
    assert _open_descriptors() == before


def test_current_naming_a_broken_build_is_survived(tmp_path: Path) -> None:
    root = tmp_path / "store"
    build = stores.build(root).location
    with kg_server(root, "--workers", "1") as base:
        assert _trials(base + "sparql") == (200, 0)
        broken = root / ("0" * 16)
        broken.mkdir()
        (root / "CURRENT").write_text(broken.name + "\n")
        assert _trials(base + "sparql") == (200, 0), "the build in use goes on answering"
        deadline = time.monotonic() + 10  # stderr is read by a thread: the line may land just after the reply
        while not any("still serving" in line for line in base.stderr) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any("still serving" in line for line in base.stderr)
        assert not stores.is_leased(broken)
        (root / "CURRENT").write_text(build.name + "\n")


def test_a_lease_on_a_build_that_is_not_there_leaves_no_file(tmp_path: Path) -> None:
    missing = tmp_path / ("0" * 16)
    stores.lease(missing)
    stores.release(missing)
    assert list(tmp_path.iterdir()) == []
