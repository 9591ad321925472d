"""Answers in a form every SPARQL engine must agree on: for the parity tests, the endpoint tests
and the scaling benchmark, which compare one query's rows across stores."""

from __future__ import annotations

import re
from decimal import Decimal

import pyoxigraph as ox

from kg import results

CONCATENATED = re.compile(r'separator\s*=\s*"([^"]*)".*?\bAS\s+\?(\w+)', re.I | re.S)
"""(separator, variable) of each GROUP_CONCAT in a query: SPARQL leaves the order of its parts open."""


def comparable_rows(query_text: str, result: results.Result) -> list[tuple]:
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
