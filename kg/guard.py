"""Decide from a real parse whether an analyst's query may run on the graph.

The graph is read-only and queries never leave it: SPARQL Update and SERVICE are refused. Both are
decided from rdflib's SPARQL 1.1 parser — a query is refused when it does not parse as a query, and
when its parse tree holds a SERVICE pattern anywhere — never by matching keywords in text, so a
variable named `?add` runs and a SERVICE hidden behind a string or comment does not.

Depth is bounded three ways, because the engine crashes on queries thousands of levels deep:
more than `MAX_DEPTH` brackets counted in the text are refused before anything parses; the parser
runs in its own thread under a recursion limit that stops it at about 100 levels of nested
expressions or 150 of nested groups, so even text whose brackets the quick count misreads never
reaches the engine deeper than that; and chains the parser reads flat but the engine nests a level
per link (`1+1+…`, `a||b||…`, `<p>/<p>/…`, UNIONs, FILTERs and BINDs in a group, triple patterns,
projected expressions) may hold at most `MAX_CHAIN` links along any path of the parse tree.
Results are cached by query text, within `CACHE_CHARS` of text: dashboards and endpoints repeat
the same queries.

Most queries need no parse to be safe: text of at most `MAX_PLAIN_LENGTH` characters with no
`service` in any case, no `\\u` escape and at most `MAX_DEPTH` brackets in all cannot hold a
SERVICE keyword, nest deeper than the limit or chain more than `MAX_CHAIN` links (a link takes two
characters at least), however it is read, so `check` passes it straight to the engine (the parse
costs milliseconds, more than the engine takes to answer most queries). The engine cannot run an
update as a query; when it refuses a text, `parse_check` tells the analyst why (an update, or where
the syntax fails).
"""

from __future__ import annotations

import re
import sys
import threading
from collections import OrderedDict
from typing import Any

from kg.errors import QueryError
from kg.sparqltext import nesting_depth

MAX_DEPTH = 64
MAX_CHAIN = 1_000  # the engine runs chains of 1,000 and crashes on 3,000 to 10,000 links
MAX_PLAIN_LENGTH = 2 * MAX_CHAIN  # characters a query may have and still skip the parse
CACHE_CHARS = 16_000_000  # characters of query text the check remembers (about 16 MB)
_STACK_BYTES = 256 * 1024 * 1024
_RECURSION_LIMIT = 4_000  # rdflib then parses ~105 nested (), ~150 nested {} — MAX_DEPTH fits
_FORMS = {"SelectQuery": "select", "AskQuery": "ask", "ConstructQuery": "construct", "DescribeQuery": "describe"}


class UpdateRefused(QueryError):
    """SPARQL Update sent to the read-only graph."""


class ServiceRefused(QueryError):
    """A federated SERVICE call: queries run on this graph only."""


def check(text: str, bound: tuple[str, ...] = ()) -> None:
    """Raise QueryError (UpdateRefused, ServiceRefused) with the reason if the query may not run.
    `bound` names the variables whose values `kg.sparqltext.with_values` put into the text: they
    must open the outermost WHERE group, not have landed anywhere else."""
    if bound or not plainly_safe(text):
        parse_check(text, bound)


def plainly_safe(text: str) -> bool:
    """Whether no reading of the text can find SERVICE, an escape, more than `MAX_DEPTH` levels of
    brackets or a chain of more than `MAX_CHAIN` links in it. The engine also accepts stacked `!`,
    which the grammar does not, and crashes on thousands: short text cannot hold that many.

    >>> plainly_safe("SELECT ?s WHERE { ?s a tkg:Product }"), plainly_safe("SELECT * { SeRvIcE <x> {} }")
    (True, False)
    >>> plainly_safe("ASK { FILTER(" + "!" * 5000 + "true) }")
    False
    """
    lowered = text.lower()
    return (
        len(text) <= MAX_PLAIN_LENGTH
        and "service" not in lowered
        and "\\u" not in lowered
        and sum(map(text.count, "{([")) <= MAX_DEPTH
    )


def parse_check(text: str, bound: tuple[str, ...] = ()) -> str:
    """`check` decided from rdflib's parse tree; returns the query form (`select`, `ask`,
    `construct`, `describe`). Also the explanation of a text the engine refused."""
    global _cached_chars
    key = (text, bound)
    with _CACHE_LOCK:
        if key in _CHECKED:
            _CHECKED.move_to_end(key)
            return _CHECKED[key]
    form = _parse_check(text, bound)
    with _CACHE_LOCK:
        if key not in _CHECKED:
            _CHECKED[key] = form
            _cached_chars += len(text)
        while _cached_chars > CACHE_CHARS:
            (old_text, _), _ = _CHECKED.popitem(last=False)
            _cached_chars -= len(old_text)
    return form


_CHECKED: OrderedDict[tuple[str, tuple[str, ...]], str] = OrderedDict()  # least recently used first
_cached_chars = 0
_CACHE_LOCK = threading.Lock()


def _parse_check(text: str, bound: tuple[str, ...]) -> str:
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise QueryError(f"The query nests {depth} levels of brackets; at most {MAX_DEPTH} are allowed.")
    tree = _parse(text)
    links = longest_chain(tree)
    if links > MAX_CHAIN:
        raise QueryError(
            f"The query chains {links} operations (operators, path steps, patterns, UNIONs or FILTERs"
            f" in one group); at most {MAX_CHAIN} are allowed."
        )
    if _contains(tree, "ServiceGraphPattern"):
        raise ServiceRefused("SERVICE is refused: queries run on this graph only and make no outside requests.")
    if bound and _leading_values(tree[1]) != list(bound):
        raise QueryError("Could not place the parameter values at the start of the query's WHERE clause.")
    return _FORMS[tree[1].name]


def _leading_values(query: Any) -> list[str]:
    """The variables of the VALUES block that opens a query's WHERE group, if any."""
    parts = query["where"].get("part") or []
    first = parts[0] if parts else None
    if first is None or getattr(first, "name", "") != "InlineData":
        return []
    return [str(variable) for variable in first["var"]]


def _parse(text: str) -> Any:
    """rdflib's parse tree of a query; updates and syntax errors become QueryError.

    The tree must show what Oxigraph will run, and rdflib reads text differently in two places
    where a SERVICE could hide: it expands `\\u` escapes everywhere before parsing (SPARQL 1.1
    §19.2), Oxigraph only inside strings and IRIs, so an escaped quote, `>` or `#` would end a token
    for one and not the other (escapes of ASCII characters are refused: none is needed); and its
    comments end at a line feed only, so carriage returns become line feeds."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql import parser

    for escape in parser.expandUnicodeEscapes_re.finditer(text):
        if int(escape.group(1), 16) < 0x80:
            raise QueryError(
                f"Invalid SPARQL: {escape.group()} escapes an ASCII character; write the character itself"
                " (inside strings \\\" \\' \\\\ \\n \\t also work)."
            )
    text = re.sub(r"\r\n?", "\n", text)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["tree"] = parser.parseQuery(text)
        except ParseException as error:
            outcome["error"] = error
            try:
                parser.parseUpdate(text)
                outcome["update"] = True
            except Exception:
                pass
        except RecursionError:
            outcome["deep"] = True
        except Exception as error:
            outcome["other"] = error

    _in_deep_thread(run)
    if "tree" in outcome:
        return outcome["tree"]
    if outcome.get("update"):
        raise UpdateRefused("Updates are refused: the graph is read-only (built from ontology/ and data/ by kg build).")
    if outcome.get("deep"):
        raise QueryError("The query is nested or chained too deeply to check.")
    error = outcome.get("error")
    if error is not None:
        raise QueryError(
            f"Invalid SPARQL at line {error.lineno}, column {error.col}: {error.msg}\n{error.line}"
        ) from None
    raise QueryError(f"Invalid SPARQL: {outcome.get('other')}")


def _in_deep_thread(function: Any) -> None:
    """Run `function` in a thread with a large stack under `_RECURSION_LIMIT` (the parser recurses
    per nesting level), one parse at a time; the process's own limit is restored afterwards."""
    with _PARSE_LOCK:
        limit, stack = sys.getrecursionlimit(), threading.stack_size(_STACK_BYTES)
        sys.setrecursionlimit(_RECURSION_LIMIT)
        try:
            thread = threading.Thread(target=function, name="sparql-parse")
            thread.start()
            thread.join()
        finally:
            threading.stack_size(stack)
            sys.setrecursionlimit(limit)


_PARSE_LOCK = threading.Lock()


def _contains(node: Any, name: str) -> bool:
    """Whether a parse tree holds a node named `name` at any depth (iteratively: trees are deep)."""
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name == name:
                return True
            stack.extend(item.values())
        elif _is_list(item):
            stack.extend(item)
    return False


# Lists in rdflib's parse tree that the engine folds into one tree level per item, with the
# number of items that add no level: an operator's `other` list follows its first operand `expr`.
_CHAINS = {
    ("ConditionalOrExpression", "other"): 0,
    ("ConditionalAndExpression", "other"): 0,
    ("AdditiveExpression", "other"): 0,
    ("MultiplicativeExpression", "other"): 0,
    ("PathAlternative", "part"): 1,
    ("PathSequence", "part"): 1,
    ("GroupGraphPatternSub", "part"): 1,
    ("GroupOrUnionGraphPattern", "graph"): 1,
    ("SelectQuery", "projection"): 1,
    ("SubSelect", "projection"): 1,
    ("HavingClause", "condition"): 1,
}


def longest_chain(tree: Any) -> int:
    """The most chain links along any path of a parse tree: the engine nests one level per link
    where rdflib keeps a flat list. VALUES rows, IN lists and function arguments stay flat.

    >>> from rdflib.plugins.sparql import parser
    >>> longest_chain(parser.parseQuery("ASK { ?s <p>/<p>/<p> ?o FILTER(1 + 2 + 3 > 0 || true) }"))
    3
    """
    from rdflib.plugins.sparql.parserutils import CompValue

    longest, stack = 0, [(tree, 0)]
    while stack:
        item, links = stack.pop()
        longest = max(longest, links)
        if isinstance(item, CompValue):
            for key, value in item.items():
                stack.append((value, links + _links(item.name, key, value)))
        elif _is_list(item):
            stack.extend((child, links) for child in item)
    return longest


def _links(name: str, key: str, value: Any) -> int:
    """How many levels the engine adds for the list `value` under `name[key]`."""
    if name == "TriplesBlock" and key == "triples":
        return sum(len(pattern) for pattern in value) // 3 - 1
    return len(value) - _CHAINS[name, key] if (name, key) in _CHAINS and _is_list(value) else 0


def _is_list(item: Any) -> bool:
    return isinstance(item, (list, tuple)) or type(item).__name__ == "ParseResults"
