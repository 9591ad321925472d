"""Token-level facts about SPARQL text: how deeply it nests, and where its WHERE clause opens.

Neither is a security decision (those come from a real parse, `kg.guard`): the depth is a resource
limit checked before any parser recurses, and the WHERE position is where bound values go as an
inline VALUES block — the one way of passing values that every SPARQL 1.1 engine honours
(Virtuoso ignores a trailing VALUES block in a query with BIND; Oxigraph's substitutions need the
variable in the SELECT clause).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pyoxigraph as ox

from kg.errors import QueryError

# One token per match: long and short strings (with escapes), IRIs, comments, variables, words
# (keywords, prefixed names, numbers) and single characters. Whitespace is skipped.
_TOKEN = re.compile(
    r'(?P<skip>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n\r]|\\.)*"|\'(?:[^\'\\\n\r]|\\.)*\'|<[^<>"{}|^`\\\x00-\x20]*>|#[^\n\r]*|[?$]\w+)'
    r"|(?P<word>[A-Za-z_][\w.:-]*)"
    r"|(?P<char>\S)",
    re.DOTALL,
)
_OPEN, _CLOSE = "{([", "})]"
_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}


def _tokens(text: str) -> Iterator[tuple[str, str, int, int, int]]:
    """(kind, text, start, end, depth) for every word and character outside strings, IRIs and
    comments; `depth` counts the brackets open before the token (an opening bracket is outside
    itself, a closing one inside)."""
    depth = 0
    for match in _TOKEN.finditer(text):
        kind, token = match.lastgroup or "char", match.group()
        if kind == "skip":
            continue
        if kind == "char" and token in _CLOSE:
            depth = max(depth - 1, 0)
        yield kind, token, match.start(), match.end(), depth
        if kind == "char" and token in _OPEN:
            depth += 1


def nesting_depth(text: str) -> int:
    """The deepest nesting of `{ ( [` outside strings, IRIs and comments.

    >>> nesting_depth("SELECT * WHERE { { ?s ?p '}}}' } FILTER((1)) }")
    3
    """
    return max(
        (depth + 1 for kind, token, _, _, depth in _tokens(text) if kind == "char" and token in _OPEN), default=0
    )


@dataclass(frozen=True)
class _Where:
    start: int  # where the WHERE keyword (or, without it, the group's `{`) begins
    inside: int  # just after the group's `{`
    short_construct: bool  # CONSTRUCT WHERE { … }: the group is also the template


def _outermost_where(text: str) -> _Where | None:
    """Where the query's outermost WHERE group is, or None for a query without one (DESCRIBE <x>)."""
    form, keyword = "", None
    groups = 0
    for kind, token, start, end, depth in _tokens(text):
        word = token.upper() if kind == "word" and depth == 0 else ""
        if word in _FORMS and not form:
            form = word
        elif word == "WHERE":
            keyword = start
        elif token == "{" and kind == "char" and depth == 0 and form:
            groups += 1
            if form != "CONSTRUCT" or groups == 2 or keyword is not None:  # a CONSTRUCT's first group is its template
                return _Where(start if keyword is None else keyword, end, form == "CONSTRUCT" and groups == 1)
    return None


def where_offset(text: str) -> int:
    """The offset just after the `{` that opens the query's outermost WHERE group.

    >>> q = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    >>> q[:where_offset(q)]
    'CONSTRUCT { ?s ?p ?o } WHERE {'
    """
    where = _outermost_where(text)
    if where is None:
        raise QueryError("Bound values need a query with a WHERE clause.")
    if where.short_construct:
        raise QueryError("Bound values need the long form CONSTRUCT { … } WHERE { … }.")
    return where.inside


def values_block(bindings: Mapping[str, ox.NamedNode | ox.Literal]) -> str:
    """`VALUES (?a ?b) { (<x> "y") }` from RDF terms, serialised by pyoxigraph (always valid syntax).

    >>> values_block({"t": ox.NamedNode("https://w3id.org/therapy-kg/resource/car-nk")})
    ' VALUES (?t) { (<https://w3id.org/therapy-kg/resource/car-nk>) } '
    """
    for name, term in bindings.items():
        if not re.fullmatch(r"\w+", name):
            raise QueryError(f"'{name}' is not a SPARQL variable name.")
        if not isinstance(term, (ox.NamedNode, ox.Literal)):
            raise QueryError(f"?{name} can only be bound to an IRI or a literal.")
    names = " ".join(f"?{name}" for name in bindings)
    terms = " ".join(str(term) for term in bindings.values())
    return f" VALUES ({names}) {{ ({terms}) }} "


def with_values(text: str, bindings: Mapping[str, ox.NamedNode | ox.Literal]) -> str:
    """The query with `bindings` joined first in its outermost WHERE group: the same meaning as
    binding the variables up front, on every engine, whether or not they are projected."""
    if not bindings:
        return text
    offset = where_offset(text)
    return text[:offset] + values_block(bindings) + text[offset:]


def has_dataset_clause(text: str) -> bool:
    """Whether the query names its own dataset (FROM or FROM NAMED before its WHERE group).

    >>> has_dataset_clause("SELECT * FROM <g> WHERE { ?s ?p ?o }"), has_dataset_clause("SELECT ?from { ?s ?p ?from }")
    (True, False)
    """
    return any(kind == "word" and depth == 0 and token.upper() == "FROM" for kind, token, _, _, depth in _tokens(text))


def with_dataset(text: str, default_graphs: list[str], named_graphs: list[str]) -> str:
    """The query with FROM / FROM NAMED clauses for the given graph IRIs, placed before its WHERE
    clause; a query without one (DESCRIBE <x>) is returned as it is.

    >>> with_dataset("SELECT * { GRAPH ?g { ?s ?p ?o } }", ["urn:d"], ["urn:n"])
    'SELECT * FROM <urn:d> FROM NAMED <urn:n> { GRAPH ?g { ?s ?p ?o } }'
    """
    where = _outermost_where(text)
    if where is None:
        return text
    clauses = [f"FROM {ox.NamedNode(g)}" for g in default_graphs]
    clauses += [f"FROM NAMED {ox.NamedNode(g)}" for g in named_graphs]
    return text[: where.start] + " ".join(clauses) + " " + text[where.start :]
