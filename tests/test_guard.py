"""The read-only check (`kg.guard`) and the query-text helpers it relies on (`kg.sparqltext`).

The check is a security boundary decided from rdflib's parser, so it is held to the W3C SPARQL 1.1
syntax suites (tests/data/w3c): every valid query runs, every update and every invalid text is
refused. The reproductions from the issue follow: keyword-named variables, the SERVICE bypasses,
deep nesting; then where bound values go.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.collection import Collection
from rdflib.namespace import RDF

from kg import guard
from kg.errors import QueryError
from kg.graph import TherapyGraph
from kg.guard import MAX_CHAIN, MAX_DEPTH, ServiceRefused, UpdateRefused, check, parse_check, plainly_safe
from kg.query import run
from kg.sparqltext import nesting_depth, values_block, where_offset, with_dataset, with_values

W3C = Path(__file__).parent / "data" / "w3c"
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
FORMS = {"select", "ask", "construct", "describe"}

# W3C negative tests that rdflib's parser accepts: it checks the grammar, not the rules the spec
# states beside it (variable scope, grouping, VALUES arity, codepoint ranges). Oxigraph, which runs
# the queries, rejects every one (test_known_gaps_never_run).
KNOWN_PARSER_GAPS = {
    "syntax-query/syn-bad-01.rq": "SELECT * with GROUP BY: rdflib's parser does not check the projection",
    "syntax-query/syn-bad-02.rq": "projects ?o, not grouped: rdflib's parser does not check the projection",
    "syntax-query/syn-bad-03.rq": "?X bound twice in the SELECT clause: rdflib's parser does not check it",
    "syntax-query/syntax-BINDscope6.rq": "BIND to a variable in scope: rdflib's parser does not check scope",
    "syntax-query/syntax-BINDscope7.rq": "BIND to a variable in scope: rdflib's parser does not check scope",
    "syntax-query/syntax-BINDscope8.rq": "BIND to a variable in scope: rdflib's parser does not check scope",
    "syntax-query/syntax-SELECTscope2.rq": "SELECT AS a variable the subquery binds: rdflib does not check scope",
    "syntax-query/syn-bad-values-too-few.rq": "VALUES row shorter than its variables: rdflib does not check arity",
    "syntax-query/syn-bad-values-too-many.rq": "VALUES row longer than its variables: rdflib does not check arity",
    "syntax-query/syn-invalid-codepoint-escaped-bad-01.rq": "\\uD800 (half a surrogate pair): rdflib decodes it",
}


@dataclass(frozen=True)
class SyntaxTest:
    """One manifest entry: `name` is suite/action (syntax-query/syn-bad-01.rq), `kind` its type."""

    name: str
    kind: str
    action: Path

    @property
    def outcomes(self) -> tuple[type[QueryError], ...]:
        """The exception types `check` may raise; none means the query must be accepted."""
        if self.kind == "PositiveSyntaxTest11":
            return (ServiceRefused,) if self.name.startswith("syntax-fed/") else ()
        return {
            "NegativeSyntaxTest11": (QueryError,),
            "PositiveUpdateSyntaxTest11": (UpdateRefused,),
            "NegativeUpdateSyntaxTest11": (QueryError, UpdateRefused),  # rdflib's update parser is lenient
        }[self.kind]


def syntax_tests() -> list[SyntaxTest]:
    """Every entry of the copied manifests, in manifest order (actions sit beside their manifest)."""
    tests = []
    for manifest in sorted(W3C.glob("*/manifest.ttl")):
        graph = rdflib.Graph().parse(manifest, format="turtle")
        (root,) = graph.subjects(RDF.type, MF.Manifest)
        for entry in Collection(graph, graph.value(root, MF.entries)):
            action = manifest.parent / unquote(str(graph.value(entry, MF.action)).rsplit("/", 1)[1])
            kind = str(graph.value(entry, RDF.type)).removeprefix(str(MF))
            tests.append(SyntaxTest(f"{manifest.parent.name}/{action.name}", kind, action))
    return tests


SYNTAX_TESTS = syntax_tests()


def w3c_params() -> list[object]:
    """One case per entry; the known parser gaps must keep failing (strict), or leave the list."""
    return [
        pytest.param(test, id=test.name, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_PARSER_GAPS[test.name])])
        if test.name in KNOWN_PARSER_GAPS
        else pytest.param(test, id=test.name)
        for test in SYNTAX_TESTS
    ]


def test_the_w3c_suites_are_all_there() -> None:
    """A manifest that failed to parse or lost its entries would silently shrink the suite."""
    assert Counter(test.kind for test in SYNTAX_TESTS) == {
        "PositiveSyntaxTest11": 66,
        "NegativeSyntaxTest11": 31,
        "PositiveUpdateSyntaxTest11": 42,
        "NegativeUpdateSyntaxTest11": 13,
    }
    assert all(test.action.is_file() for test in SYNTAX_TESTS)
    assert set(KNOWN_PARSER_GAPS) <= {test.name for test in SYNTAX_TESTS}


@pytest.mark.parametrize("test", w3c_params())
def test_w3c_syntax(test: SyntaxTest) -> None:
    text = test.action.read_text(encoding="utf-8")
    if not test.outcomes:
        assert parse_check(text) in FORMS
        return
    with pytest.raises(QueryError) as refused:
        parse_check(text)
    assert type(refused.value) in test.outcomes, refused.value


@pytest.mark.parametrize("name", sorted(KNOWN_PARSER_GAPS))
def test_known_gaps_never_run(name: str) -> None:
    """What the check lets through here, the engine refuses to parse: nothing of it runs."""
    text = (W3C / name).read_text(encoding="utf-8")
    with pytest.raises(SyntaxError):
        ox.Store().query(text)


@pytest.fixture(scope="module")
def empty_graph() -> TherapyGraph:
    return TherapyGraph(ox.Store())


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?add WHERE { ?s ?p ?add }",
        "SELECT ?copy WHERE { ?s ?p ?copy }",
        "SELECT ?insert WHERE { ?s ?p ?insert }",
        "SELECT ?service WHERE { ?s ?p ?service }",
        "SELECT ?load ?clear WHERE { ?load ?p ?clear }",
        "SELECT * WHERE { ?s tkg:load ?o }",
        "SELECT * WHERE { ?s ?p 'INSERT DATA { }' }",
        "SELECT * WHERE { <a> <b> ?c }",
        'SELECT * WHERE { ?s ?p "caf\\u00E9" }',
    ],
)
def test_read_queries_run(empty_graph: TherapyGraph, text: str) -> None:
    """Keyword-named variables, keywords in strings, relative IRIs, escapes of non-ASCII characters:
    checked and answered through `kg.query.run`."""
    assert list(run(empty_graph, text)) == []


# Texts Oxigraph reads a SERVICE in. The last two hid it from rdflib, which reads them differently:
# its comments end at a line feed only, and it expands \u escapes before parsing, not inside strings.
SERVICE_BYPASSES = {
    "string-after-less-than": "SELECT * WHERE { FILTER(1<'>' || true) SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } # '\n}",
    "comment-ended-by-cr": "SELECT * WHERE { ?s ?p ?o # a note\rSERVICE <http://127.0.0.1:9/x> { ?s ?p ?o }\n}",
    "escaped-quote": 'SELECT * WHERE { ?s ?p ?o FILTER(?o != "\\u0022") SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } # """ )\n}',
}


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        pytest.param("INSERT DATA { <a> <b> <c> }", UpdateRefused, id="insert-data"),
        pytest.param("delete where { ?s ?p ?o }", UpdateRefused, id="delete-where-lower-case"),
        pytest.param("LOAD <http://example.org/x>", UpdateRefused, id="load"),
        pytest.param("CLEAR ALL", UpdateRefused, id="clear-all"),
        pytest.param(
            "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", ServiceRefused, id="service"
        ),
        pytest.param(
            "SELECT * WHERE {\n  # federated\n  { ?s ?p ?o SERVICE SILENT <http://example.org/sparql> {} }\n}",
            ServiceRefused,
            id="service-silent-nested-after-comment",
        ),
        pytest.param(
            "ASK { FILTER NOT EXISTS { service <http://example.org/sparql> { ?s ?p ?o } } }",
            ServiceRefused,
            id="service-in-filter",
        ),
        pytest.param(SERVICE_BYPASSES["string-after-less-than"], ServiceRefused, id="string-after-less-than"),
        pytest.param(SERVICE_BYPASSES["comment-ended-by-cr"], ServiceRefused, id="comment-ended-by-cr"),
        pytest.param(SERVICE_BYPASSES["escaped-quote"], QueryError, id="escaped-quote"),  # refused as an ASCII escape
    ],
)
def test_refused(empty_graph: TherapyGraph, text: str, refusal: type[QueryError]) -> None:
    """Through `kg.query.run`: SERVICE is refused by the check, an update by the engine, which
    cannot run one as a query, and then explained by the parser."""
    with pytest.raises(QueryError) as refused:
        run(empty_graph, text)
    assert type(refused.value) is refusal, refused.value
    if refusal is ServiceRefused:
        assert not plainly_safe(text)


@pytest.mark.parametrize("text", SERVICE_BYPASSES.values(), ids=list(SERVICE_BYPASSES))
def test_the_engine_would_call_out_for_the_bypasses(text: str) -> None:
    """Why they must be refused: Oxigraph tries the SERVICE (port 9 fails at once, nothing is sent)."""
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://a"), ox.NamedNode("http://b"), ox.Literal("c")))
    with pytest.raises(OSError):
        list(store.query(text))


def nested(depth: int, bracket: str) -> str:
    """A valid query whose brackets nest `depth` deep: groups, parentheses or blank-node lists."""
    inner = depth - 1
    return {
        "{": "SELECT * WHERE " + "{" * depth + "}" * depth,
        "(": "ASK { FILTER" + "(" * inner + "true" + ")" * inner + " }",
        "[": "ASK { ?s ?p " + "[ ?p " * inner + "?o" + " ]" * inner + " }",
    }[bracket]


@pytest.mark.parametrize("bracket", ["{", "(", "["])
def test_nesting_up_to_max_depth_runs(bracket: str) -> None:
    text = nested(MAX_DEPTH, bracket)
    assert nesting_depth(text) == MAX_DEPTH
    assert parse_check(text) in FORMS


@pytest.mark.parametrize("bracket", ["{", "(", "["])
def test_nesting_beyond_max_depth_is_refused(bracket: str) -> None:
    text = nested(MAX_DEPTH + 1, bracket)
    assert nesting_depth(text) == MAX_DEPTH + 1
    with pytest.raises(QueryError, match=f"nests {MAX_DEPTH + 1} levels"):
        check(text)


def test_thousands_of_groups_are_refused_quickly() -> None:
    """The engine crashes on these; the check must refuse them before anything recurses."""
    text = "SELECT * WHERE " + "{" * 5000 + "}" * 5000
    start = time.perf_counter()
    with pytest.raises(QueryError, match="nests 5000 levels"):
        check(text)
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * WHERE { sErViCe <http://x/> { ?s ?p ?o } }",
        'SELECT * WHERE { ?s ?p "\\u00E9" }',
        "SELECT * WHERE { ?s ?p ?o } # \\U0001F600",
        "ASK { ?s ?p ?o " + "{}" * MAX_DEPTH + "FILTER(true) }",  # brackets counted in all, nested or not
        "ASK { ?s ?p '" + "(" * MAX_DEPTH + "' }",  # even inside strings
        "ASK { FILTER(" + "!" * 5000 + "true) }",  # the engine accepts stacked ! and crashes on thousands
        "ASK { FILTER(" + "+".join(["1"] * (MAX_CHAIN + 1)) + " > 0) }",  # long enough to hold a chain
        "ASK { ?s a " + ", ".join(f"?o{i}" for i in range(MAX_CHAIN // 2)) + " }",  # long: a pattern chain
    ],
)
def test_only_text_that_cannot_hide_service_or_depth_skips_the_parse(text: str) -> None:
    assert not plainly_safe(text)


def test_stacked_negations_never_reach_the_engine(empty_graph: TherapyGraph) -> None:
    """Thousands of `!` crash the engine (exit 139); through `run` they are refused by the parser."""
    with pytest.raises(QueryError):
        run(empty_graph, "ASK { FILTER(" + "!" * 10000 + "true) }")


CHAINS = {
    "sum": lambda n: "ASK { FILTER(" + "+".join(["1"] * n) + " > 0) }",
    "product": lambda n: "ASK { FILTER(" + "*".join(["1"] * n) + " > 0) }",
    "or": lambda n: "ASK { FILTER(" + "||".join(["true"] * n) + ") }",
    "and": lambda n: "ASK { FILTER(" + "&&".join(["true"] * n) + ") }",
    "path-sequence": lambda n: "ASK { ?s " + "/".join(["<http://x/p>"] * n) + " ?o }",
    "path-alternative": lambda n: "ASK { ?s " + "|".join(["<http://x/p>"] * n) + " ?o }",
    "union": lambda n: "ASK { " + " UNION ".join(["{}"] * n) + " }",
    "filters": lambda n: "ASK { " + "FILTER(true) " * n + "}",
    "binds": lambda n: "ASK { " + " ".join(f"BIND(1 AS ?b{i})" for i in range(n)) + " }",
    "optionals": lambda n: "ASK { " + " ".join(f"OPTIONAL {{ ?s a ?o{i} }}" for i in range(n)) + " }",
    "object-list": lambda n: "ASK { ?s a " + ", ".join(f"?o{i}" for i in range(n)) + " }",
    "projection": lambda n: "SELECT " + " ".join(f"(1 AS ?v{i})" for i in range(n)) + " {}",
    "having": lambda n: "SELECT ?x {} GROUP BY ?x HAVING " + "(true) " * n,
}


@pytest.mark.parametrize("kind", CHAINS)
def test_chains_beyond_the_limit_are_refused(empty_graph: TherapyGraph, kind: str) -> None:
    """rdflib reads these flat and parses them; the engine nests a level per link."""
    with pytest.raises(QueryError, match=f"chains {MAX_CHAIN + 1} operations") as refused:
        run(empty_graph, CHAINS[kind](MAX_CHAIN + 2))
    assert type(refused.value) is QueryError


@pytest.mark.parametrize("kind", CHAINS)
def test_chains_up_to_the_limit_pass(kind: str) -> None:
    assert parse_check(CHAINS[kind](MAX_CHAIN + 1)) in FORMS


def test_a_chain_that_crashes_the_engine_never_reaches_it(empty_graph: TherapyGraph) -> None:
    """Measured: 10,000 links make the engine exit 139 (sums, ||, &&, UNIONs, FILTERs, object
    lists; paths, BINDs, OPTIONALs and projections at 3,000), taking `kg query` or a worker down."""
    with pytest.raises(QueryError, match="chains 9999 operations"):
        run(empty_graph, CHAINS["product"](10_000))


def test_a_long_group_of_triple_patterns_is_refused_by_the_parser(empty_graph: TherapyGraph) -> None:
    """rdflib's grammar recurses per `.`-separated pattern: a few hundred reach its limit."""
    with pytest.raises(QueryError, match="too deeply"):
        run(empty_graph, "ASK { " + " ".join(f"?s a ?o{i} ." for i in range(10_000)) + " }")


def test_flat_lists_are_not_chains(empty_graph: TherapyGraph) -> None:
    """VALUES rows, IN lists and function arguments stay flat in the engine: thousands run."""
    many = 2 * MAX_CHAIN
    run(empty_graph, "ASK { VALUES ?x {" + " 1" * many + " } FILTER(?x IN (" + ",".join(["1"] * many) + ")) }")
    run(empty_graph, "ASK { FILTER(COALESCE(" + ",".join(["1"] * many) + ")) }")


def test_the_check_remembers_a_bounded_amount_of_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers keep running for days: the cache of checked texts is bounded by size, not count."""
    monkeypatch.setattr(guard, "CACHE_CHARS", 1_000)
    monkeypatch.setattr(guard, "_CHECKED", type(guard._CHECKED)())
    monkeypatch.setattr(guard, "_cached_chars", 0)
    texts = [f"ASK {{ ?s ?p {i} }} # " + "x" * 300 for i in range(10)]
    for text in texts:
        assert parse_check(text) == "ask"
    assert sum(len(text) for text, _ in guard._CHECKED) == guard._cached_chars <= 1_000
    assert [text for text, _ in guard._CHECKED] == texts[-len(guard._CHECKED) :]


def test_plain_queries_skip_the_parse() -> None:
    assert plainly_safe(SERVICE_BYPASSES["string-after-less-than"].replace("SERVICE", "GRAPH"))
    assert plainly_safe("CLEAR ALL")  # the engine refuses it: see test_refused


def test_brackets_in_strings_iris_and_comments_do_not_nest() -> None:
    text = "SELECT * WHERE { ?s <http://x/((((> '" + "{" * 100 + "' } # " + "(" * 100
    assert nesting_depth(text) == 1
    assert parse_check(text) == "select"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_syntax_errors_name_line_and_column(empty_graph: TherapyGraph, newline: str) -> None:
    text = newline.join(["SELECT * WHERE {", "  ?s ?p ?o .", "  FILTER(?o > ) }"])
    with pytest.raises(QueryError, match="at line 3, column 3") as refused:
        run(empty_graph, text)
    assert type(refused.value) is QueryError


IRI = ox.NamedNode("https://w3id.org/therapy-kg/resource/car-nk")
BLOCK = values_block({"s": IRI})


@pytest.mark.parametrize(
    ("text", "opening", "form"),
    [
        ("SELECT ?o WHERE { ?s ?p ?o }", "WHERE {", "select"),
        ("PREFIX ex: <http://x/> SELECT ?o { ?s ?p ?o }", "?o {", "select"),
        ("ASK { ?s ?p ?o }", "ASK {", "ask"),
        ("DESCRIBE ?s WHERE { ?s ?p ?o }", "WHERE {", "describe"),
        ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "WHERE {", "construct"),
        ("SELECT ?o WHERE { { SELECT ?s ?o WHERE { ?s ?p ?o } } }", "WHERE {", "select"),
        (
            "# WHERE { in a comment\nSELECT ?o ('}{' AS ?b) FROM <http://x/g> WHERE { ?s <http://x/p(1)> ?o }",
            "FROM <http://x/g> WHERE {",
            "select",
        ),
    ],
)
def test_values_join_the_outermost_where_group(text: str, opening: str, form: str) -> None:
    offset = text.index(opening) + len(opening)
    assert where_offset(text) == offset
    bound = with_values(text, {"s": IRI})
    assert bound == text[:offset] + BLOCK + text[offset:]
    assert parse_check(bound, ("s",)) == form


def test_values_placed_anywhere_but_the_start_are_caught() -> None:
    """The text is checked after binding: values the tokenizer put elsewhere are refused."""
    misplaced = "SELECT ?o WHERE { ?s ?p ?o { VALUES (?s) { (<http://x/a>) } } }"
    with pytest.raises(QueryError, match="Could not place"):
        check(misplaced, ("s",))
    assert parse_check(misplaced) == "select"


def test_dataset_clauses_go_before_the_where_clause() -> None:
    for text, expected in [
        ("SELECT ?o WHERE { ?s ?p ?o }", "SELECT ?o FROM <urn:d> FROM NAMED <urn:n> WHERE { ?s ?p ?o }"),
        ("CONSTRUCT { ?s ?p ?o } { ?s ?p ?o }", "CONSTRUCT { ?s ?p ?o } FROM <urn:d> FROM NAMED <urn:n> { ?s ?p ?o }"),
        ("CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT FROM <urn:d> FROM NAMED <urn:n> WHERE { ?s ?p ?o }"),
    ]:
        assert with_dataset(text, ["urn:d"], ["urn:n"]) == expected
        assert parse_check(expected) in FORMS
    assert with_dataset("DESCRIBE <urn:x>", ["urn:d"], []) == "DESCRIBE <urn:x>"


@pytest.mark.parametrize("text", ["CONSTRUCT WHERE { ?s ?p ?o }", "DESCRIBE <http://x/a>", "SELECT ?s ?p ?o", "ASK"])
def test_values_need_a_where_group(text: str) -> None:
    with pytest.raises(QueryError, match="Bound values need"):
        with_values(text, {"s": IRI})


def test_values_bind_unprojected_variables() -> None:
    store = ox.Store()
    for subject in ("a", "b"):
        store.add(ox.Quad(ox.NamedNode(f"http://x/{subject}"), ox.NamedNode("http://x/p"), ox.Literal(subject)))
    text = with_values("SELECT ?o WHERE { ?s ?p ?o }", {"s": ox.NamedNode("http://x/b")})
    assert [solution["o"] for solution in store.query(text)] == [ox.Literal("b")]


def test_no_values_leave_the_text_alone() -> None:
    assert with_values("CONSTRUCT WHERE { ?s ?p ?o }", {}) == "CONSTRUCT WHERE { ?s ?p ?o }"


@pytest.mark.parametrize("name", ["", "a b", "?s", "s)", "s}"])
def test_values_need_variable_names(name: str) -> None:
    with pytest.raises(QueryError, match="not a SPARQL variable name"):
        values_block({name: IRI})


def test_values_are_iris_or_literals() -> None:
    with pytest.raises(QueryError, match="only be bound to an IRI or a literal"):
        values_block({"s": ox.BlankNode()})  # type: ignore[dict-item]
