"""SPARQL results in the W3C formats, with an optional cap on the number of rows.

SELECT and ASK results are written as SPARQL 1.1 JSON, XML, CSV or TSV; CONSTRUCT and DESCRIBE
results as Turtle, N-Triples or JSON-LD. Solutions are serialised here rather than with
pyoxigraph's own writer so that the endpoint can stop reading at the row cap and still return a
well-formed document; the tests check the output parses back with pyoxigraph's W3C parsers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Union
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from kg.errors import QueryError

Term = Union[ox.NamedNode, ox.BlankNode, ox.Literal, ox.Triple]

SOLUTION_FORMATS = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
GRAPH_FORMATS = {
    "turtle": ("text/turtle", ox.RdfFormat.TURTLE),
    "ntriples": ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    "jsonld": ("application/ld+json", ox.RdfFormat.JSON_LD),
}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


class TooManyResults(QueryError):
    """The result is larger than the cap; the caller should add LIMIT."""


@dataclass
class Result:
    """A query result read into memory: solutions (variables + rows), a boolean, or triples."""

    kind: str  # "solutions", "boolean" or "graph"
    variables: list[str]
    rows: list[list[Term | None]]
    boolean: bool | None = None
    triples: list[ox.Triple] | None = None


def read(answer: object, max_rows: int | None = None) -> Result:
    """Read a pyoxigraph answer (or a list of triples from a remote store), stopping at the cap."""

    def capped(items: Iterable) -> list:
        taken = []
        for item in items:
            if max_rows is not None and len(taken) >= max_rows:
                raise TooManyResults(f"The result has more than {max_rows} rows; add a LIMIT to the query.")
            taken.append(item)
        return taken

    if isinstance(answer, ox.QueryBoolean):
        return Result("boolean", [], [], boolean=bool(answer))
    if isinstance(answer, ox.QuerySolutions):
        variables = [v.value for v in answer.variables]
        rows = capped([solution[name] for name in variables] for solution in answer)
        return Result("solutions", variables, rows)
    return Result("graph", [], [], triples=capped(answer))  # QueryTriples or a list of Triple


def media_type(result: Result, fmt: str) -> str:
    if result.kind == "graph":
        return GRAPH_FORMATS[fmt][0]
    return SOLUTION_FORMATS[fmt]


def formats_for(kind: str) -> list[str]:
    return list(GRAPH_FORMATS if kind == "graph" else SOLUTION_FORMATS)


def serialize(result: Result, fmt: str) -> bytes:
    """The result in a W3C format named by `fmt` (see SOLUTION_FORMATS and GRAPH_FORMATS)."""
    if fmt not in formats_for(result.kind):
        kinds = "CONSTRUCT/DESCRIBE" if result.kind == "graph" else "SELECT/ASK"
        raise QueryError(f"Format '{fmt}' does not fit a {kinds} result; use one of: {', '.join(formats_for(result.kind))}.")
    if result.kind == "graph":
        return ox.serialize(result.triples or [], format=GRAPH_FORMATS[fmt][1]) or b""
    return {"json": _json, "xml": _xml, "csv": _csv, "tsv": _tsv}[fmt](result)


def _json_term(term: Term) -> dict[str, object]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {k: _json_term(getattr(term, k)) for k in ("subject", "predicate", "object")}}
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
            {name: _json_term(term) for name, term in zip(result.variables, row) if term is not None}
            for row in result.rows
        ]
        document = {"head": {"vars": result.variables}, "results": {"bindings": bindings}}
    return json.dumps(document, ensure_ascii=False).encode()


def _xml_term(term: Term) -> str:
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
                for name, term in zip(result.variables, row)
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
        writer.writerow(["" if t is None else (f"_:{t.value}" if isinstance(t, ox.BlankNode) else _plain(t)) for t in row])
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
