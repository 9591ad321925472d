"""The W3C SPARQL 1.1 Protocol tests that apply to a read-only query endpoint, against `kg serve`.

Each test is named after the entry of `sparql/sparql11/protocol/manifest.ttl` in
https://github.com/w3c/rdf-tests it mirrors, and sends the same request (method, body, content
type, parameters) to `/sparql`. The suite loads remote documents data1.rdf, data2.rdf and data3.rdf
as graphs named by their URLs, each saying `<its URL> a ?type`; our store has the same shape
built in, so the graphs of three sources stand in for them: each `src:` graph says `<src:X> a
tkg:JournalArticle` and no other graph says it. The dataset tests also check the opposite answer
when the protocol names other graphs, so they fail if the dataset parameters are ignored.

Not applicable, because this endpoint is read-only and refuses every update with 403:
`update_dataset_default_graph`, `update_dataset_default_graphs`, `update_dataset_named_graphs`,
`update_dataset_full` and `update_base_uri` (they change the store, then query it); and
`update_post_form` and `update_post_direct` expect the update to succeed — they are mirrored below
with the opposite expectation (refused, store unchanged). The negative update tests
(`bad_update_*`, `bad_multiple_updates`) apply and pass: every update request gets a 4xx.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

import kg
from tests.servers import kg_server

SRC = "https://w3id.org/therapy-kg/source/"
DATA1, DATA2, DATA3 = SRC + "cordnk-trial-2020", SRC + "testacel-trial-2019", SRC + "donorcel-trial-2017"
BOTH_TYPED = f"ASK {{ <{DATA1}> a ?type . <{DATA2}> a ?type . }}"
BOTH_NAMED = f"ASK {{ GRAPH ?g1 {{ <{DATA1}> a ?type }} GRAPH ?g2 {{ <{DATA2}> a ?type }} }}"
SELECT_MEDIA = {
    "application/sparql-results+xml",
    "application/sparql-results+json",
    "text/csv",
    "text/tab-separated-values",
}
BOOLEAN_MEDIA = {"application/sparql-results+xml", "application/sparql-results+json"}
RDF_MEDIA = {"application/rdf+xml", "text/turtle", "application/n-triples"}


@pytest.fixture(scope="module")
def endpoint(graph: kg.TherapyGraph, store_dir: Path) -> Iterator[str]:
    with kg_server(store_dir) as base:
        yield base + "sparql"


def request(
    endpoint: str,
    method: str,
    params: list[tuple[str, str]] = (),
    body: bytes | None = None,
    content_type: str | None = None,
) -> tuple[int, str, bytes]:
    """One protocol request, with exactly the headers given: (status, media type, body)."""
    url = urllib.parse.urlsplit(endpoint)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(
            method,
            url.path + ("?" + urllib.parse.urlencode(params) if params else ""),
            body=body,
            headers={"Content-Type": content_type} if content_type else {},
        )
        response = connection.getresponse()
        return response.status, response.headers.get_content_type(), response.read()
    finally:
        connection.close()


def boolean(answer: tuple[int, str, bytes]) -> bool:
    """mf:expectedStatus 2xx and mf:expectedFormat "boolean": the ASK answer."""
    status, media, body = answer
    assert 200 <= status < 300 and media in BOOLEAN_MEDIA, (status, media, body[:200])
    parsed = ox.parse_query_results(body, format=ox.QueryResultsFormat.from_media_type(media))
    assert isinstance(parsed, ox.QueryBoolean)
    return bool(parsed)


def _form(*pairs: tuple[str, str]) -> bytes:
    return urllib.parse.urlencode(pairs).encode()


# --- queries ----------------------------------------------------------------------------------


def test_query_post_form(endpoint: str) -> None:
    answer = request(
        endpoint,
        "POST",
        [("default-graph-uri", DATA1)],
        _form(("query", "ASK {}")),
        "application/x-www-form-urlencoded",
    )
    assert boolean(answer) is True


def test_query_dataset_default_graphs_get(endpoint: str) -> None:
    assert boolean(
        request(endpoint, "GET", [("query", BOTH_TYPED), ("default-graph-uri", DATA1), ("default-graph-uri", DATA2)])
    )
    assert not boolean(
        request(endpoint, "GET", [("query", BOTH_TYPED), ("default-graph-uri", DATA1), ("default-graph-uri", DATA3)])
    )


def test_query_dataset_default_graphs_post(endpoint: str) -> None:
    def post(*graphs: str) -> bool:
        return boolean(
            request(
                endpoint,
                "POST",
                [("default-graph-uri", g) for g in graphs],
                BOTH_TYPED.encode(),
                "application/sparql-query",
            )
        )

    assert post(DATA1, DATA2) and not post(DATA1)


def test_query_dataset_named_graphs_post(endpoint: str) -> None:
    def post(*graphs: str) -> bool:
        return boolean(
            request(
                endpoint,
                "POST",
                [("named-graph-uri", g) for g in graphs],
                BOTH_NAMED.encode(),
                "application/sparql-query",
            )
        )

    assert post(DATA1, DATA2) and not post(DATA1, DATA3)


def test_query_dataset_named_graphs_get(endpoint: str) -> None:
    def get(*graphs: str) -> bool:
        return boolean(request(endpoint, "GET", [("query", BOTH_NAMED), *(("named-graph-uri", g) for g in graphs)]))

    assert get(DATA1, DATA2) and not get(DATA2, DATA3)


def test_query_dataset_full(endpoint: str) -> None:
    text = f"""ASK {{
  <{DATA3}> a ?type
  GRAPH ?g1 {{ <{DATA1}> a ?type }}
  GRAPH ?g2 {{ <{DATA2}> a ?type }}
}}"""

    def post(default: str) -> bool:
        params = [("default-graph-uri", default), ("named-graph-uri", DATA1), ("named-graph-uri", DATA2)]
        return boolean(request(endpoint, "POST", params, text.encode(), "application/sparql-query"))

    assert post(DATA3) and not post(DATA1)


def test_query_multiple_dataset(endpoint: str) -> None:
    """The protocol's dataset wins over the query's FROM."""
    text = f"ASK FROM <{DATA3}> {{ GRAPH ?g1 {{ <{DATA1}> a ?type }} GRAPH ?g2 {{ <{DATA2}> a ?type }} }}"
    params = [("named-graph-uri", DATA1), ("named-graph-uri", DATA2)]
    assert boolean(request(endpoint, "POST", params, text.encode(), "application/sparql-query")) is True


def test_query_get(endpoint: str) -> None:
    assert boolean(request(endpoint, "GET", [("query", "ASK {}"), ("default-graph-uri", DATA1)])) is True


def test_query_content_type_select(endpoint: str) -> None:
    status, media, body = request(
        endpoint, "POST", [("default-graph-uri", DATA1)], b"SELECT (1 AS ?value) {}", "application/sparql-query"
    )
    assert status == 200 and media in SELECT_MEDIA
    [solution] = ox.parse_query_results(body, format=ox.QueryResultsFormat.from_media_type(media))
    assert solution["value"] == ox.Literal("1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))


def test_query_content_type_ask(endpoint: str) -> None:
    answer = request(endpoint, "POST", [("default-graph-uri", DATA1)], b"ASK {}", "application/sparql-query")
    assert boolean(answer) is True


@pytest.mark.parametrize(
    "text",
    ["DESCRIBE <http://example.org/>", "CONSTRUCT { <s> <p> 1 } WHERE {}"],
    ids=["query_content_type_describe", "query_content_type_construct"],
)
def test_query_content_type_describe_and_construct(endpoint: str, text: str) -> None:
    status, media, body = request(
        endpoint, "POST", [("default-graph-uri", DATA1)], text.encode(), "application/sparql-query"
    )
    assert status == 200 and media in RDF_MEDIA
    triples = list(ox.parse(body, format=ox.RdfFormat.from_media_type(media)))
    assert len(triples) == (1 if text.startswith("CONSTRUCT") else 0)


def test_query_post_direct(endpoint: str) -> None:
    assert boolean(request(endpoint, "POST", [], b"ASK {}", "application/sparql-query")) is True


# --- bad queries: 4xx -------------------------------------------------------------------------


def test_bad_query_method(endpoint: str) -> None:
    status, _, _ = request(
        endpoint, "PUT", [("query", "ASK {}"), ("default-graph-uri", DATA1)], b"", "application/x-www-form-urlencoded"
    )
    assert status == 405


def test_bad_multiple_queries(endpoint: str) -> None:
    assert request(endpoint, "GET", [("query", "ASK {}"), ("query", "SELECT * {}")])[0] == 400


def test_bad_query_wrong_media_type(endpoint: str) -> None:
    assert request(endpoint, "POST", [], b"ASK {}", "text/plain")[0] == 415


def test_bad_query_missing_form_type(endpoint: str) -> None:
    assert request(endpoint, "POST", [], b"query=ASK%20%7B%7D")[0] == 415


def test_bad_query_missing_direct_type(endpoint: str) -> None:
    assert request(endpoint, "POST", [], b"ASK {}")[0] == 415


def test_bad_query_non_utf8(endpoint: str) -> None:
    assert (
        request(endpoint, "POST", [], "ASK {}".encode("utf-16"), "application/sparql-query; charset=UTF-16")[0] == 415
    )


def test_bad_query_syntax(endpoint: str) -> None:
    status, _, body = request(endpoint, "GET", [("query", "ASK {")])
    assert status == 400 and b"Invalid SPARQL" in body


def test_query_and_update_together(endpoint: str) -> None:
    """Not in the W3C suite: a request with both `query` and `update` is malformed."""
    status, _, body = request(
        endpoint, "POST", [], _form(("query", "ASK {}"), ("update", "CLEAR ALL")), "application/x-www-form-urlencoded"
    )
    assert status == 400 and b"not both" in body


# --- updates: refused on this read-only endpoint ----------------------------------------------


def _unchanged(endpoint: str) -> None:
    status, _, body = request(endpoint, "GET", [("query", f"ASK {{ GRAPH <{DATA1}> {{ <{DATA1}> a ?type }} }}")])
    assert status == 200 and json.loads(body)["boolean"] is True


def test_update_post_form_is_refused(endpoint: str) -> None:
    assert request(endpoint, "POST", [], b"update=CLEAR+ALL", "application/x-www-form-urlencoded")[0] == 403
    _unchanged(endpoint)


def test_update_post_direct_is_refused(endpoint: str) -> None:
    assert request(endpoint, "POST", [], b"CLEAR ALL", "application/sparql-update")[0] == 403
    _unchanged(endpoint)


def test_bad_update_get(endpoint: str) -> None:
    assert request(endpoint, "GET", [("update", "CLEAR ALL")])[0] == 403
    _unchanged(endpoint)


@pytest.mark.parametrize(
    ("params", "body", "content_type", "status"),
    [
        ([], b"update=CLEAR%20NAMED&update=CLEAR%20DEFAULT", "application/x-www-form-urlencoded", 403),
        ([], b"CLEAR NAMED", "text/plain", 415),
        ([], b"update=CLEAR%20NAMED", None, 415),
        ([], "CLEAR NAMED".encode("utf-16"), "application/sparql-update; charset=UTF-16", 415),
        ([], b"update=CLEAR%20XYZ", "application/x-www-form-urlencoded", 403),
        (
            [("using-named-graph-uri", "http://example/people")],
            b"WITH <http://example/addresses> DELETE { ?person <http://xmlns.com/foaf/0.1/givenName> 'Bill' } "
            b"INSERT { ?person <http://xmlns.com/foaf/0.1/givenName> 'William' } WHERE { ?person <http://xmlns.com/foaf/0.1/givenName> 'Bill' }",
            "application/sparql-update",
            403,
        ),
    ],
    ids=[
        "bad_multiple_updates",
        "bad_update_wrong_media_type",
        "bad_update_missing_form_type",
        "bad_update_non_utf8",
        "bad_update_syntax",
        "bad_update_dataset_conflict",
    ],
)
def test_bad_updates(endpoint: str, params: list, body: bytes, content_type: str | None, status: int) -> None:
    assert request(endpoint, "POST", params, body, content_type)[0] == status
    _unchanged(endpoint)
