"""Analysts' queries: the named-query library, parameters bound as values, and read-only checks.

A named query is a `.rq` file in `kg/queries/` whose header comments give a summary and its
parameters:

    # summary: Therapies that need no HLA matching, with the sources that say so.
    # param therapy (therapy, optional): limit to one therapy and what it inherits from

A parameter of kind `therapy` is resolved by name (`car-nk`, `Kymriah`, ...); `iri` takes a full
or prefixed IRI, a resource id (`crs`) or a label (`CRS`); `string`, `integer`, `decimal` and
`date` become typed literals. Values are bound as RDF terms in an inline VALUES block
(`kg.sparqltext`), the same on every engine, and need not be projected.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg import vocab
from kg.errors import QueryError, UsageError
from kg.graph import TherapyGraph, iri, to_term
from kg.guard import check, parse_check
from kg.resources import QUERIES_DIR
from kg.sparqltext import with_values

_PARAM = re.compile(r"#\s*param\s+(\w+)\s*\((\w+)(?:,\s*(optional))?\)\s*:\s*(.+)")
_XSD = vocab.PREFIXES["xsd"]
_KINDS = {"therapy", "iri", "string", "integer", "decimal", "date"}


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str
    required: bool
    description: str


@dataclass(frozen=True)
class NamedQuery:
    name: str
    summary: str
    text: str
    parameters: list[Parameter] = field(default_factory=list)


def _parse(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    summary, parameters = "", []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# summary:"):
            summary = line.split(":", 1)[1].strip()
        elif match := _PARAM.match(line):
            name, kind, optional, description = match.groups()
            if kind not in _KINDS:
                raise ValueError(f"{path}: unknown parameter kind '{kind}'")
            parameters.append(Parameter(name, kind, optional is None, description.strip()))
    return NamedQuery(path.stem, summary, text, parameters)


@cache
def named_queries() -> dict[str, NamedQuery]:
    """Every named query shipped with the package, by name."""
    return {q.name: q for q in map(_parse, sorted(QUERIES_DIR.glob("*.rq")))}


def named(name: str) -> NamedQuery:
    queries = named_queries()
    if name in queries:
        return queries[name]
    close = difflib.get_close_matches(name, list(queries), n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UsageError(f"No named query '{name}'.{hint} Run 'kg queries' to list them.")


def parse_params(pairs: list[str]) -> dict[str, str]:
    """`["therapy=car-nk", ...]` -> `{"therapy": "car-nk"}`."""
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"Parameters are NAME=VALUE, got '{pair}'.")
        params[name.strip()] = value
    return params


def bindings(
    graph: TherapyGraph, query: NamedQuery | None, params: dict[str, str]
) -> dict[str, ox.NamedNode | ox.Literal]:
    """Typed values for the query's variables; declared parameters are checked and converted."""
    declared = {p.name: p for p in query.parameters} if query else {}
    if query:
        unknown = sorted(set(params) - set(declared))
        if unknown:
            names = ", ".join(declared) or "none"
            raise UsageError(f"Query '{query.name}' has no parameter {', '.join(unknown)} (parameters: {names}).")
        missing = [p.name for p in query.parameters if p.required and p.name not in params]
        if missing:
            raise UsageError(f"Query '{query.name}' needs --param {missing[0]}=VALUE.")
    return {name: _term(graph, declared.get(name), value) for name, value in params.items()}


def _term(graph: TherapyGraph, parameter: Parameter | None, value: str) -> ox.NamedNode | ox.Literal:
    kind = parameter.kind if parameter else _guess_kind(value)
    try:
        if kind == "therapy":
            return iri(graph.resolve(value).iri)
        if kind == "iri":
            return _resource(graph, value)
        if kind in {"integer", "decimal"}:
            float(value)
            return ox.Literal(value, datatype=ox.NamedNode(_XSD + kind))
        if kind == "date":
            import datetime as dt

            dt.date.fromisoformat(value)
            return ox.Literal(value, datatype=ox.NamedNode(_XSD + "date"))
    except ValueError as error:
        raise UsageError(f"Parameter value '{value}' is not a valid {kind}: {error}") from None
    return ox.Literal(value)


def _resource(graph: TherapyGraph, value: str) -> ox.NamedNode:
    """An IRI parameter: `<full IRI>`, a prefixed name, or a resource's id or label (`crs`, `CRS`)."""
    if value.startswith("<") and value.endswith(">"):
        return iri(value[1:-1])
    if _guess_kind(value) == "iri" or "://" in value:
        return iri(value)
    name = value.strip()
    values = {"name": name} | ({"id": iri("tkgr:" + name)} if re.fullmatch(r"[\w.-]+", name) else {})
    rows = graph.select_named("resource-by-name", values)
    found = sorted({row["resource"] for row in rows})
    if len(found) == 1:
        return iri(found[0])
    if found:
        raise UsageError(f"'{value}' is ambiguous: it names {', '.join(vocab.compact(f) for f in found)}.")
    raise UsageError(f"'{value}' names no resource: give an id (crs), a label (CRS) or an IRI (tkgr:crs).")


def _guess_kind(value: str) -> str:
    """For ad-hoc queries: <...> and project-prefixed names are IRIs, everything else a string."""
    if value.startswith("<") and value.endswith(">"):
        return "iri"
    prefix = value.partition(":")[0]
    return "iri" if prefix in vocab.PREFIXES and ":" in value else "string"


def run(
    graph: TherapyGraph,
    text: str,
    values: dict[str, Any] | None = None,
    *,
    default_graphs: list[str] | None = None,
    named_graphs: list[str] | None = None,
) -> Any:
    """Bind, check (`kg.guard`: the text that runs is the text checked), then run a read query on
    the dataset given (see `TherapyGraph.query`); returns pyoxigraph's answer (solutions, boolean or
    triples). A text the engine refuses is explained by the parser (an update, a syntax error)."""
    terms = {name: to_term(value) for name, value in (values or {}).items()}
    final = with_values(text, terms)
    check(final, tuple(terms))
    try:
        return graph.query(final, default_graphs=default_graphs, named_graphs=named_graphs)
    except QueryError:
        parse_check(final)
        raise
