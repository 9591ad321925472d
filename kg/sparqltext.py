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


def _tokens(text: str) -> Iterator[tuple[str, str, int, int]]:
    """(kind, text, end offset, depth) for every word and character outside strings, IRIs and
    comments; `depth` counts the brackets open before the token (an opening bracket is outside
    itself, a closing one inside)."""
    depth = 0
    for match in _TOKEN.finditer(text):
        kind, token = match.lastgroup or "char", match.group()
        if kind == "skip":
            continue
        if kind == "char" and token in _CLOSE:
            depth = max(depth - 1, 0)
        yield kind, token, match.end(), depth
        if kind == "char" and token in _OPEN:
            depth += 1


def nesting_depth(text: str) -> int:
    """The deepest nesting of `{ ( [` outside strings, IRIs and comments.

    >>> nesting_depth("SELECT * WHERE { { ?s ?p '}}}' } FILTER((1)) }")
    3
    """
    return max((depth + 1 for kind, token, _, depth in _tokens(text) if kind == "char" and token in _OPEN), default=0)


def where_offset(text: str) -> int:
    """The offset just after the `{` that opens the query's outermost WHERE group.

    >>> q = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    >>> q[:where_offset(q)]
    'CONSTRUCT { ?s ?p ?o } WHERE {'
    """
    form, after_where, groups = "", False, 0
    for kind, token, end, depth in _tokens(text):
        word = token.upper() if kind == "word" and depth == 0 else ""
        if word in _FORMS and not form:
            form = word
        elif word == "WHERE":
            after_where = True
        elif token == "{" and kind == "char" and depth == 0 and form:
            groups += 1
            if form != "CONSTRUCT" or groups == 2:  # a CONSTRUCT's first group is its template
                return end
            if after_where:
                raise QueryError("Bound values need the long form CONSTRUCT { … } WHERE { … }.")
    raise QueryError("Bound values need a query with a WHERE clause.")


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
    return any(kind == "word" and depth == 0 and token.upper() == "FROM" for kind, token, _, depth in _tokens(text))
