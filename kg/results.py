"""SPARQL results in the W3C formats, with optional caps on the number of rows and on the size.

SELECT and ASK results are written as SPARQL 1.1 JSON, XML, CSV or TSV; CONSTRUCT and DESCRIBE
results as Turtle, N-Triples, JSON-LD or RDF/XML. `FORMATS` is the one table of formats: their
names, media types and the other spellings clients use for them (`format=xml`, `json-ld`, `n3`,
`TEXT/CSV` ...), which the endpoint and `serialize` read. Solutions are serialised here
rather than with pyoxigraph's own writer so that the endpoint can stop reading at a cap and still
return a well-formed document; the tests check the output parses back with pyoxigraph's W3C parsers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyoxigraph as ox

from kg.errors import QueryError
from kg.graph import Term

SOLUTIONS = "solutions"  # SELECT and ASK results (ASK: kind "boolean", same formats)
GRAPH = "graph"  # CONSTRUCT and DESCRIBE results
W3C_FORMATS = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class ResultFormat:
    """A result format: `name` (canonical, what `serialize` takes), the kind of result it writes,
    its media type, other spellings meaning it (lower case: `format=` values and media types), the
    pyoxigraph writer for graphs, and its W3C format IRI (`http://www.w3.org/ns/formats/...`)."""

    name: str
    kind: str
    media_type: str
    spellings: tuple[str, ...]
    w3c: str
    rdf: ox.RdfFormat | None = None


FORMATS: tuple[ResultFormat, ...] = (
    # The first format of each kind is its default.
    ResultFormat(
        "json",
        SOLUTIONS,
        "application/sparql-results+json",
        ("application/json", "text/javascript", "application/javascript"),
        "SPARQL_Results_JSON",
    ),
    ResultFormat(
        "xml", SOLUTIONS, "application/sparql-results+xml", ("application/xml", "text/xml"), "SPARQL_Results_XML"
    ),
    ResultFormat("csv", SOLUTIONS, "text/csv", (), "SPARQL_Results_CSV"),
    ResultFormat("tsv", SOLUTIONS, "text/tab-separated-values", (), "SPARQL_Results_TSV"),
    ResultFormat(
        "turtle",
        GRAPH,
        "text/turtle",
        ("ttl", "n3", "application/turtle", "application/x-turtle", "text/n3", "text/rdf+n3", "application/n3"),
        "Turtle",
        ox.RdfFormat.TURTLE,
    ),  # Turtle is N3 without N3's extensions
    ResultFormat("ntriples", GRAPH, "application/n-triples", ("nt", "n-triples"), "N-Triples", ox.RdfFormat.N_TRIPLES),
    ResultFormat(
        "jsonld",
        GRAPH,
        "application/ld+json",
        ("json-ld", "json", "application/json", "application/x-json+ld"),
        "JSON-LD",
        ox.RdfFormat.JSON_LD,
    ),
    ResultFormat(
        "rdfxml",
        GRAPH,
        "application/rdf+xml",
        ("rdf+xml", "rdf", "xml", "application/xml", "text/xml"),
        "RDF_XML",
        ox.RdfFormat.RDF_XML,
    ),
)
BY_NAME = {f.name: f for f in FORMATS}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


class TooManyResults(QueryError):
    """The result is larger than a cap (rows or bytes); the caller should add LIMIT."""


@dataclass
class Result:
    """A query result read into memory: solutions (variables + rows), a boolean, or triples."""

    kind: str  # "solutions", "boolean" or "graph"
    variables: list[str]
    rows: list[list[Term | None]]
    boolean: bool | None = None
    triples: list[ox.Triple] | None = None


def _term_size(term: Term | None) -> int:
    if term is None:
        return 0
    return len(str(term)) if isinstance(term, ox.Triple) else len(term.value)


def read(answer: object, max_rows: int | None = None, max_bytes: int | None = None) -> Result:
    """Read a pyoxigraph answer (or a list of triples from a remote store), stopping at a cap:
    more than `max_rows` rows, or term text adding up to more than `max_bytes`."""

    def capped(items: Iterable[Any], size_of: Callable[[Any], int]) -> list[Any]:
        taken: list[Any] = []
        size = 0
        for item in items:
            if max_rows is not None and len(taken) >= max_rows:
                raise TooManyResults(f"The result has more than {max_rows} rows; add a LIMIT to the query.")
            if max_bytes is not None:
                size += size_of(item)
                if size > max_bytes:
                    raise _too_large(max_bytes)
            taken.append(item)
        return taken

    if isinstance(answer, ox.QueryBoolean):
        return Result("boolean", [], [], boolean=bool(answer))
    if isinstance(answer, ox.QuerySolutions):
        variables = [v.value for v in answer.variables]
        rows = capped(([solution[name] for name in variables] for solution in answer), _row_size)
        return Result("solutions", variables, rows)
    assert isinstance(answer, (ox.QueryTriples, list))  # or a list of Triple from a remote store
    return Result("graph", [], [], triples=capped(answer, _triple_size))


def _row_size(row: list[Term | None]) -> int:
    return sum(_term_size(term) for term in row)


def _triple_size(triple: ox.Triple) -> int:
    return _term_size(triple.subject) + _term_size(triple.predicate) + _term_size(triple.object)


def _too_large(max_bytes: int) -> TooManyResults:
    return TooManyResults(
        f"The result is larger than {max_bytes:,} bytes; add a LIMIT to the query or select fewer or shorter values."
    )


def _kind_of(kind: str) -> str:
    return GRAPH if kind == GRAPH else SOLUTIONS


def formats_for(kind: str) -> list[str]:
    """Names of the formats a result of `kind` can be written in, the default first."""
    return [f.name for f in FORMATS if f.kind == _kind_of(kind)]


@lru_cache(maxsize=256)
def resolve(kind: str, spelling: str) -> str | None:
    """The format a client means by `spelling` (a name, another spelling or a media type, in any
    case) for a result of `kind`; None if it names no format of that kind.

    >>> resolve("solutions", "TEXT/CSV"), resolve("graph", "xml"), resolve("graph", "n3"), resolve("graph", "csv")
    ('csv', 'rdfxml', 'turtle', None)
    """
    wanted = spelling.strip().lower()
    for f in FORMATS:
        if f.kind == _kind_of(kind) and (wanted in (f.name, f.media_type) or wanted in f.spellings):
            return f.name
    return None


def serialize(result: Result, fmt: str, max_bytes: int | None = None) -> bytes:
    """The result in the format `fmt` names (any spelling `resolve` knows), at most `max_bytes` long."""
    name = resolve(result.kind, fmt)
    if name is None:
        kinds = "CONSTRUCT/DESCRIBE" if result.kind == GRAPH else "SELECT/ASK"
        raise QueryError(
            f"Format '{fmt}' does not fit a {kinds} result; use one of: {', '.join(formats_for(result.kind))}."
        )
    if result.kind == GRAPH:
        try:
            body = ox.serialize(result.triples or [], format=BY_NAME[name].rdf) or b""
        except (ValueError, OSError) as error:
            raise QueryError(f"The result cannot be written as {name}: {error}; ask for Turtle or N-Triples.") from None
    else:
        body = {"json": _json, "xml": _xml, "csv": _csv, "tsv": _tsv}[name](result)
    if max_bytes is not None and len(body) > max_bytes:
        raise _too_large(max_bytes)
    return body


def _json_term(term: Term) -> dict[str, object]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {
            "type": "triple",
            "value": {k: _json_term(getattr(term, k)) for k in ("subject", "predicate", "object")},
        }
    out: dict[str, object] = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != _XSD_STRING:
        out["datatype"] = term.datatype.value
    return out


def _json(result: Result) -> bytes:
    if result.kind == "boolean":
        document: dict[str, object] = {"head": {}, "boolean": result.boolean}
    else:
        bindings = [
            {name: _json_term(term) for name, term in zip(result.variables, row, strict=True) if term is not None}
            for row in result.rows
        ]
        document = {"head": {"vars": result.variables}, "results": {"bindings": bindings}}
    return json.dumps(document, ensure_ascii=False).encode()


def _xml_term(term: Term) -> str:
    from xml.sax.saxutils import escape, quoteattr  # imported when XML is written: it loads urllib.request, 12 ms

    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        parts = "".join(f"<{k}>{_xml_term(getattr(term, k))}</{k}>" for k in ("subject", "predicate", "object"))
        return f"<triple>{parts}</triple>"
    if term.language:
        return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
    if term.datatype.value != _XSD_STRING:
        return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
    return f"<literal>{escape(term.value)}</literal>"


def _xml(result: Result) -> bytes:
    from xml.sax.saxutils import quoteattr

    out = ['<?xml version="1.0"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">', "<head>"]
    out += [f"<variable name={quoteattr(name)}/>" for name in result.variables]
    out.append("</head>")
    if result.kind == "boolean":
        out.append(f"<boolean>{'true' if result.boolean else 'false'}</boolean>")
    else:
        out.append("<results>")
        for row in result.rows:
            cells = [
                f"<binding name={quoteattr(name)}>{_xml_term(term)}</binding>"
                for name, term in zip(result.variables, row, strict=True)
                if term is not None
            ]
            out.append("<result>" + "".join(cells) + "</result>")
        out.append("</results>")
    out.append("</sparql>")
    return "\n".join(out).encode()


def _csv(result: Result) -> bytes:
    """W3C CSV: plain values, no datatypes; blank nodes as _:id."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if result.kind == "boolean":
        writer.writerows([["boolean"], ["true" if result.boolean else "false"]])
        return out.getvalue().encode()
    writer.writerow(result.variables)
    for row in result.rows:
        writer.writerow(
            ["" if t is None else (f"_:{t.value}" if isinstance(t, ox.BlankNode) else _plain(t)) for t in row]
        )
    return out.getvalue().encode()


def _plain(term: Term) -> str:
    return str(term) if isinstance(term, ox.Triple) else term.value


def _tsv(result: Result) -> bytes:
    """W3C TSV: terms in Turtle/N-Triples syntax."""
    if result.kind == "boolean":
        return b"?boolean\ntrue\n" if result.boolean else b"?boolean\nfalse\n"
    lines = ["\t".join(f"?{name}" for name in result.variables)]
    lines += ["\t".join("" if t is None else str(t) for t in row) for row in result.rows]
    return ("\n".join(lines) + "\n").encode()


def table_rows(result: Result, shorten: object = None) -> tuple[Sequence[str], list[list[str]]]:
    """Header and text cells for a terminal table; `shorten` maps IRIs to compact names."""

    def text(term: Term | None) -> str:
        if term is None:
            return ""
        if isinstance(term, ox.NamedNode):
            return shorten(term.value) if callable(shorten) else term.value
        return term.value if isinstance(term, ox.Literal) else str(term)

    if result.kind == "boolean":
        return ["boolean"], [["true" if result.boolean else "false"]]
    return result.variables, [[text(t) for t in row] for row in result.rows]
