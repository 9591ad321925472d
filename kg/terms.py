"""RDF terms and Python values: how query answers become Python values and Python values become
terms to bind. The lowest layer: every module that reads query answers uses it, none of it queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pyoxigraph as ox

from kg import vocab
from kg.errors import QueryError

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
Binding = ox.NamedNode | ox.Literal | str | int | float | bool | Decimal | dt.date
Row = dict[str, Any]

_XSD = vocab.PREFIXES["xsd"]
_CONVERTERS: dict[str, Callable[[str], Any]] = {
    _XSD + "integer": int,
    _XSD + "nonNegativeInteger": int,
    _XSD + "int": int,
    _XSD + "long": int,
    _XSD + "decimal": Decimal,
    _XSD + "double": float,
    _XSD + "float": float,
    _XSD + "boolean": lambda v: v == "true" or v == "1",
    _XSD + "date": dt.date.fromisoformat,
}


class IRI(str):
    """An IRI in query results, kept distinct from plain string literals."""


def iri(value: str) -> ox.NamedNode:
    """A NamedNode from a full IRI or a project-prefixed name such as `tkgr:car-t`."""
    return ox.NamedNode(vocab.expand(value))


def to_term(value: Binding) -> ox.NamedNode | ox.Literal:
    """Turn a Python value into an RDF term for binding; strings become literals, not IRIs."""
    if isinstance(value, (ox.NamedNode, ox.Literal)):
        return value
    if isinstance(value, (ox.BlankNode, ox.Triple)):
        raise QueryError("Only IRIs and literals can be bound to a query's variables.")
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false", datatype=ox.NamedNode(_XSD + "boolean"))
    if isinstance(value, int):
        return ox.Literal(str(value), datatype=ox.NamedNode(_XSD + "integer"))
    if isinstance(value, (float, Decimal)):
        return ox.Literal(str(value), datatype=ox.NamedNode(_XSD + "decimal"))
    if isinstance(value, dt.date):
        return ox.Literal(value.isoformat(), datatype=ox.NamedNode(_XSD + "date"))
    return ox.Literal(str(value))


def to_python(term: Term | None) -> Any:
    """An RDF term as a plain Python value: IRIs as strings, typed literals as int/Decimal/date/bool."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        convert = _CONVERTERS.get(term.datatype.value)
        if convert is not None:
            try:
                return convert(term.value)
            except ValueError:
                return term.value
        return term.value
    if isinstance(term, ox.NamedNode):
        return IRI(term.value)
    return str(term)


def solutions(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples | list[ox.Triple]) -> ox.QuerySolutions:
    """The solutions of a SELECT query (pyoxigraph answers any query with solutions, a boolean or triples)."""
    if not isinstance(result, ox.QuerySolutions):
        raise QueryError("Expected a SELECT query.")
    return result
