"""Decide from a real parse whether an analyst's query may run on the graph.

The graph is read-only and queries never leave it: SPARQL Update and SERVICE are refused. Both are
decided from rdflib's SPARQL 1.1 parser — a query is refused when it does not parse as a query, and
when its parse tree holds a SERVICE pattern anywhere — never by matching keywords in text, so a
variable named `?add` runs and a SERVICE hidden behind a string or comment does not.

Queries nested deeper than `MAX_DEPTH` brackets are refused before any parser or engine recurses
into them (the engine crashes on thousands of nested groups). rdflib's parser is recursive too, so
it runs in a thread with a stack large enough for that depth. Results are cached by query text:
dashboards and endpoints repeat the same queries.
"""

from __future__ import annotations

import sys
import threading
from functools import lru_cache
from typing import Any

from kg.errors import QueryError
from kg.sparqltext import nesting_depth

MAX_DEPTH = 64
_STACK_BYTES = 256 * 1024 * 1024
_RECURSION_LIMIT = 20_000
_FORMS = {"SelectQuery": "select", "AskQuery": "ask", "ConstructQuery": "construct", "DescribeQuery": "describe"}


class UpdateRefused(QueryError):
    """SPARQL Update sent to the read-only graph."""


class ServiceRefused(QueryError):
    """A federated SERVICE call: queries run on this graph only."""


@lru_cache(maxsize=4096)
def check(text: str) -> str:
    """The query form (`select`, `ask`, `construct`, `describe`) of a query that may run; raises
    QueryError (UpdateRefused, ServiceRefused) with the reason otherwise."""
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise QueryError(f"The query nests {depth} levels of brackets; at most {MAX_DEPTH} are allowed.")
    tree = _parse(text)
    if _contains(tree, "ServiceGraphPattern"):
        raise ServiceRefused("SERVICE is refused: queries run on this graph only and make no outside requests.")
    return _FORMS[tree[1].name]


def _parse(text: str) -> Any:
    """rdflib's parse tree of a query; updates and syntax errors become QueryError."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql import parser

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["tree"] = parser.parseQuery(text)
        except ParseException as error:
            outcome["error"] = error
            try:
                parser.parseUpdate(text)
                outcome["update"] = True
            except Exception:  # noqa: BLE001 - not an update either: report the query's syntax error
                pass
        except RecursionError:
            outcome["deep"] = True
        except Exception as error:  # noqa: BLE001 - rdflib raises plain exceptions for some bad input
            outcome["other"] = error

    _in_deep_thread(run)
    if "tree" in outcome:
        return outcome["tree"]
    if outcome.get("update"):
        raise UpdateRefused("Updates are refused: the graph is read-only (built from ontology/ and data/ by kg build).")
    if outcome.get("deep"):
        raise QueryError("The query is nested too deeply to check.")
    error = outcome.get("error")
    if error is not None:
        raise QueryError(f"Invalid SPARQL at line {error.lineno}, column {error.col}: {error.msg}\n{error.line}") from None
    raise QueryError(f"Invalid SPARQL: {outcome.get('other')}")


def _in_deep_thread(function: Any) -> None:
    """Run `function` in a thread with a large stack and recursion limit (the parser recurses per
    nesting level); the limit is raised once, never lowered under another thread's feet."""
    with _STACK_LOCK:
        if sys.getrecursionlimit() < _RECURSION_LIMIT:
            sys.setrecursionlimit(_RECURSION_LIMIT)
        previous = threading.stack_size(_STACK_BYTES)
        try:
            thread = threading.Thread(target=function, name="sparql-parse")
            thread.start()
        finally:
            threading.stack_size(previous)
    thread.join()


_STACK_LOCK = threading.Lock()


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
        elif isinstance(item, (list, tuple)) or type(item).__name__ == "ParseResults":
            stack.extend(item)
    return False
