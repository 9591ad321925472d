"""Named queries answer their questions on the curated data; `kg query` binds, formats and refuses."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

import kg
from kg import results
from kg.cli import app
from kg.errors import QueryError, UsageError
from kg.guard import parse_check
from kg.query import bindings, named, named_queries, run

SRC = "https://w3id.org/therapy-kg/source/"
# Named queries that rightly find nothing in the curated data; tests give them data that disagrees.
EMPTY_ON_CURATED_DATA = {"measurement-disagreements", "fda-actions"}  # fda-actions: after kg ingest drugsatfda
RES = "https://w3id.org/therapy-kg/resource/"


def ask(graph: kg.TherapyGraph, name: str, **params: str) -> list[dict]:
    query = named(name)
    return graph.select(query.text, bindings(graph, query, params))


def test_library_has_at_least_twelve_documented_queries() -> None:
    queries = named_queries()
    assert len(queries) >= 12
    for query in queries.values():
        assert query.summary, f"{query.name} needs a '# summary:' header"


def test_no_hla_matching(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "no-hla-matching")
    car_nk = {r["source"] for r in rows if r["therapy"] == RES + "car-nk"}
    assert {SRC + "lu-2021-front-oncol", SRC + "yilmaz-2020-j-hematol-oncol", SRC + "cancerfax-2020-car-nk"} <= car_nk
    inherited = [r for r in rows if r["therapy"] == RES + "mda-cd19-car-nk"]
    assert inherited and {r["statedFor"] for r in inherited} == {RES + "car-nk"}
    assert not {RES + "car-t", RES + "tisagenlecleucel"} & {r["therapy"] for r in rows}


def test_off_the_shelf_without_gvhd(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "off-the-shelf-no-gvhd")
    assert {"nct": "NCT03056339", "numerator": 0, "denominator": 11, "source": SRC + "liu-2020-nejm"}.items() <= next(
        r for r in rows if r["source"] == SRC + "liu-2020-nejm"
    ).items()
    assert all(r["numerator"] == 0 for r in rows)


def test_car_t_products_by_target(graph: kg.TherapyGraph) -> None:
    rows = {r["product"]: r for r in ask(graph, "car-t-by-target")}
    assert rows[RES + "tisagenlecleucel"]["target"] == "CD19"
    assert rows[RES + "tisagenlecleucel"]["firstFdaApproval"] == dt.date(2017, 8, 30)
    assert rows[RES + "axicabtagene-ciloleucel"]["firstFdaApproval"] == dt.date(2017, 10, 18)


def test_checkpoint_inhibitors_by_target(graph: kg.TherapyGraph) -> None:
    rows = {r["product"]: r for r in ask(graph, "checkpoint-inhibitors-by-target")}
    assert (rows[RES + "pembrolizumab"]["target"], rows[RES + "pembrolizumab"]["firstFdaApproval"]) == (
        "PD-1",
        dt.date(2014, 9, 4),
    )
    assert (rows[RES + "atezolizumab"]["target"], rows[RES + "atezolizumab"]["firstFdaApproval"]) == (
        "PD-L1",
        dt.date(2016, 5, 18),
    )
    assert rows[RES + "ipilimumab"]["target"] == "CTLA-4"


def test_adverse_event_rates_filtered_by_event(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "adverse-event-rates", event="tkgr:gvhd")
    assert rows and {r["event"] for r in rows} == {RES + "gvhd"}
    liu = next(r for r in rows if r["source"] == SRC + "liu-2020-nejm")
    assert (liu["numerator"], liu["denominator"], liu["grade"], liu["nct"]) == (0, 11, "any grade", "NCT03056339")


def test_approval_timeline_is_in_date_order(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "approval-timeline")
    dates = [r["date"] for r in rows]
    assert dates == sorted(dates)
    assert any(r["product"] == "Keytruda (pembrolizumab)" and r["date"] == dt.date(2014, 9, 4) for r in rows)


WITHDRAWN_LIST = SRC + "fda-withdrawn-cancer-accelerated-approvals"


def test_withdrawn_indications_give_both_dates_and_the_regulators_list(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "withdrawn-indications")
    found = {(r["product"], r["indication"], r["approved"], r["withdrawn"]) for r in rows}
    assert found == {
        ("Opdivo (nivolumab)", "small cell lung cancer", dt.date(2018, 8, 16), dt.date(2020, 12, 29)),
        ("Imfinzi (durvalumab)", "urothelial carcinoma", dt.date(2017, 5, 1), dt.date(2021, 2, 19)),
        ("Keytruda (pembrolizumab)", "small cell lung cancer", dt.date(2019, 6, 17), dt.date(2021, 3, 30)),
        ("Opdivo (nivolumab)", "hepatocellular carcinoma", dt.date(2017, 9, 22), dt.date(2021, 7, 23)),
        ("Tecentriq (atezolizumab)", "triple-negative breast cancer", dt.date(2019, 3, 8), dt.date(2021, 10, 6)),
    }
    assert [r["withdrawn"] for r in rows] == sorted(r["withdrawn"] for r in rows)
    assert {r["sources"] for r in rows} == {WITHDRAWN_LIST} and {r["pathway"] for r in rows} == {"accelerated approval"}


def test_withdrawn_indications_of_one_class(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "withdrawn-indications", therapy="PD-1 inhibitor")
    assert sorted(r["product"] for r in rows) == [
        "Keytruda (pembrolizumab)",
        "Opdivo (nivolumab)",
        "Opdivo (nivolumab)",
    ]
    assert ask(graph, "withdrawn-indications", therapy="car-t") == []


def test_pending_accelerated_approvals_leave_out_converted_and_withdrawn(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "accelerated-approvals-pending")
    pending = {(r["product"], r["indication"], r["approved"]) for r in rows}
    assert ("Breyanzi (lisocabtagene maraleucel)", "follicular lymphoma", dt.date(2024, 5, 15)) in pending
    assert (
        "Keytruda (pembrolizumab)",
        "triple-negative breast cancer",
        dt.date(2020, 11, 13),
    ) not in pending  # converted 2021
    assert not any(p == "Opdivo (nivolumab)" and i == "small cell lung cancer" for p, i, _ in pending)  # withdrawn 2020
    assert [r["approved"] for r in rows] == sorted(r["approved"] for r in rows)
    car_t = ask(graph, "accelerated-approvals-pending", therapy="car-t")
    assert car_t and {r["product"] for r in car_t} < {r["product"] for r in rows}
    assert all(r["sources"] for r in rows)


def test_approvals_by_disease_give_line_setting_and_withdrawal(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "approvals-by-disease", disease="SCLC")
    assert [(r["product"], r["lines"], r["settings"], r["withdrawn"]) for r in rows if r["withdrawn"]] == [
        ("Opdivo (nivolumab)", "third line or later", "advanced or metastatic", dt.date(2020, 12, 29)),
        ("Keytruda (pembrolizumab)", "third line or later", "advanced or metastatic", dt.date(2021, 3, 30)),
    ]
    assert ("Imfinzi (durvalumab)", "first line", "etoposide; carboplatin or cisplatin", None) in {
        (r["product"], r["lines"], r["givenWith"], r["withdrawn"]) for r in rows
    }
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    pd_l1 = ask(graph, "approvals-by-disease", disease="SCLC", therapy="pd-l1-inhibitor")
    assert {r["product"] for r in pd_l1} == {
        "Imfinzi (durvalumab)",
        "Tecentriq (atezolizumab)",
        "Tecentriq Hybreza (atezolizumab and hyaluronidase)",
    }
    tnbc = ask(graph, "approvals-by-disease", disease="triple-negative-breast-cancer", therapy="atezolizumab")
    assert [(r["givenWith"], r["pathway"]) for r in tnbc] == [("paclitaxel protein-bound", "accelerated approval")]


def test_which_pd1_inhibitors_are_approved_for_nsclc_and_for_whom(graph: kg.TherapyGraph) -> None:
    """The question the regulatory-history issue opens with; before, only the two subcutaneous forms answered."""
    rows = ask(graph, "approvals-by-disease", therapy="PD-1 inhibitor", disease="NSCLC")
    assert {"Keytruda (pembrolizumab)", "Opdivo (nivolumab)", "Libtayo (cemiplimab)"} <= {r["product"] for r in rows}
    first_line_alone = {
        (r["product"], str(r["date"]), r["biomarkers"])
        for r in rows
        if r["lines"] == "first line" and not r["givenWith"]
    }
    assert ("Keytruda (pembrolizumab)", "2016-10-24", "PD-L1 on at least 50% of tumour cells") in first_line_alone
    assert any(p == "Libtayo (cemiplimab)" and "at least 50%" in b for p, _, b in first_line_alone)
    around_surgery = {
        (r["product"], r["settings"]) for r in rows if r["settings"] in ("adjuvant", "neoadjuvant", "perioperative")
    }
    assert {("Keytruda (pembrolizumab)", "adjuvant"), ("Opdivo (nivolumab)", "neoadjuvant")} <= around_surgery
    assert {r["product"] for r in ask(graph, "approvals-by-disease", therapy="PD-L1 inhibitor", disease="NSCLC")} >= {
        "Tecentriq (atezolizumab)",
        "Imfinzi (durvalumab)",
    }


def test_carvykti_moved_from_fifth_line_to_second_line(graph: kg.TherapyGraph) -> None:
    """'When did Carvykti move to second line?' — the issue's second question."""
    rows = ask(graph, "approvals-by-disease", therapy="carvykti", disease="multiple-myeloma")
    fda = [(str(r["date"]), r["lines"]) for r in rows if r["agency"] == "US Food and Drug Administration (FDA)"]
    assert fda == [("2022-02-28", "third line or later"), ("2024-04-05", "second line")]


def test_accelerated_approvals_converted_to_regular_say_when(graph: kg.TherapyGraph) -> None:
    converted = {
        (r["product"], r["diseaseLabel"], str(r["date"]), str(r["regularFrom"]))
        for r in ask(graph, "approvals-by-disease")
        if r["regularFrom"]
    }
    assert {
        ("Keytruda (pembrolizumab)", "cervical cancer", "2018-06-12", "2021-10-13"),
        ("Keytruda (pembrolizumab)", "triple-negative breast cancer", "2020-11-13", "2021-07-26"),
        ("Opdivo (nivolumab)", "colorectal cancer", "2017-07-31", "2025-04-08"),
    } <= converted


def test_the_timeline_reaches_december_2025(graph: kg.TherapyGraph) -> None:
    rows = [r for r in ask(graph, "approval-timeline") if r["product"] == "Breyanzi (lisocabtagene maraleucel)"]
    assert ("marginal zone lymphoma", dt.date(2025, 12, 4)) in {(r["indication"], r["date"]) for r in rows}


def test_the_timeline_marks_withdrawn_indications(graph: kg.TherapyGraph) -> None:
    rows = [r for r in ask(graph, "approval-timeline") if r["product"] == "Imfinzi (durvalumab)"]
    first = [r for r in rows if r["date"] == dt.date(2017, 5, 1)]
    assert first and {(r["indication"], r["withdrawn"]) for r in first} == {
        ("urothelial carcinoma", dt.date(2021, 2, 19))
    }
    assert all(r["withdrawn"] is None for r in rows if r["date"] != dt.date(2017, 5, 1))


def test_fact_sources_for_a_therapy(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "fact-sources", therapy="CAR-NK")
    hla = {r["source"] for r in rows if r["property"] == "HLA matching required" and r["value"] == "false"}
    assert {SRC + "lu-2021-front-oncol", SRC + "yilmaz-2020-j-hematol-oncol", SRC + "cancerfax-2020-car-nk"} <= hla
    assert {r["therapy"] for r in rows} == {RES + "car-nk"}


def test_single_source_facts(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "single-source-facts")
    assert {
        "therapy": "autologous CAR-T cell therapy",
        "property": "manufacturing time",
        "value": "several weeks of patient-specific culture and expansion",
        "source": SRC + "cancerfax-2020-car-nk",
    } in rows
    assert not any(r["therapy"] == "CAR-NK cell therapy" and r["property"] == "HLA matching required" for r in rows)


def test_source_disagreements(graph: kg.TherapyGraph) -> None:
    rows = [r for r in ask(graph, "source-disagreements") if r["subject"] == "CAR-NK cell therapy"]
    assert {(r["value"], r["source"]) for r in rows if r["property"].startswith("graft-versus-host")} == {
        ("low", SRC + "lu-2021-front-oncol"),
        ("minimal or not observed", SRC + "cancerfax-2020-car-nk"),
    }


def test_trials_by_modality_and_phase(graph: kg.TherapyGraph) -> None:
    rows = {(r["modality"], r["phase"]): r["trials"] for r in ask(graph, "trials-by-modality-and-phase")}
    assert rows[("CAR-NK cell therapy", "phase 1")] >= 1
    assert rows[("CAR-T cell therapy", "phase 2")] >= 2


def test_response_rates(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "response-rates")
    assert {
        "product": "MD Anderson CD19 CAR-NK (iC9/CAR.19/IL-15)",
        "measure": "objective response",
        "numerator": 8,
        "denominator": 11,
        "nct": "NCT03056339",
        "source": SRC + "liu-2020-nejm",
    }.items() <= next(
        r for r in rows if r["source"] == SRC + "liu-2020-nejm" and r["measure"] == "objective response"
    ).items()


def test_products_by_modality(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "products-by-modality")
    kymriah = next(r for r in rows if r["brand"] == "Kymriah")
    assert (kymriah["modality"], kymriah["generic"], kymriah["codes"]) == (
        "autologous CAR-T cell therapy",
        "tisagenlecleucel",
        "CTL019",
    )


def test_claims_vs_evidence(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "claims-vs-evidence", therapy="car-nk")
    crs = [r for r in rows if r["event"] == "cytokine release syndrome (CRS)"]
    assert any(r["claim"] == "minimal or not observed" and r["claimSource"] == SRC + "lu-2021-front-oncol" for r in crs)
    assert any(r["observed"] == "0/11 (any grade)" and r["evidenceSource"] == SRC + "liu-2020-nejm" for r in crs)


def test_sources_by_kind(graph: kg.TherapyGraph) -> None:
    rows = {r["source"]: r for r in ask(graph, "sources-by-kind")}
    assert rows[SRC + "liu-2020-nejm"]["kind"] == "primary evidence"
    assert rows[SRC + "lu-2021-front-oncol"]["kind"] == "review claim"
    assert rows[SRC + "cancerfax-2020-car-nk"]["kind"] == "popular claim"


def test_awards(graph: kg.TherapyGraph) -> None:
    [nobel] = ask(graph, "awards")
    assert set(nobel["laureates"].split(", ")) == {"James P. Allison", "Tasuku Honjo"}
    assert nobel["modality"] == "immune checkpoint inhibitor"


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_every_named_query_runs_in_every_results_format(graph: kg.TherapyGraph, name: str) -> None:
    query = named(name)
    params = {p.name: "car-nk" for p in query.parameters if p.required}
    result = results.read(graph.query(query.text, bindings(graph, query, params)))
    assert bool(result.rows) != (name in EMPTY_ON_CURATED_DATA), f"{name}: {len(result.rows)} rows on the curated data"
    for fmt, parser_format in [
        ("json", ox.QueryResultsFormat.JSON),
        ("xml", ox.QueryResultsFormat.XML),
        ("tsv", ox.QueryResultsFormat.TSV),
    ]:
        parsed = ox.parse_query_results(results.serialize(result, fmt), format=parser_format)
        assert [[s[v] for v in result.variables] for s in parsed] == result.rows, fmt
    csv_lines = results.serialize(result, "csv").decode().splitlines()
    assert len(csv_lines) >= len(result.rows) + 1


def test_parameters_are_checked() -> None:
    query = named("fact-sources")
    with pytest.raises(UsageError, match="needs --param therapy"):
        bindings(None, query, {})  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="has no parameter"):
        bindings(None, query, {"nope": "x"})  # type: ignore[arg-type]


def test_parameter_values_are_bound_not_spliced(graph: kg.TherapyGraph) -> None:
    hostile = '" } } DROP ALL ; SELECT * WHERE { ?s ?p ?o . FILTER("'
    rows = graph.select("SELECT ?label ?x WHERE { ?t rdfs:label ?label . FILTER(?label = ?x) }", {"x": hostile})
    assert rows == []


@pytest.mark.parametrize(
    "text",
    [
        "INSERT DATA { tkgr:a tkgr:b tkgr:c }",
        "DELETE WHERE { ?s ?p ?o }",
        "LOAD <http://example.org/x>",
        "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    ],
)
def test_updates_and_service_are_refused(graph: kg.TherapyGraph, text: str) -> None:
    with pytest.raises(QueryError):
        run(graph, text)


def test_keywords_inside_strings_and_iris_are_allowed() -> None:
    parse_check('SELECT * WHERE { ?s rdfs:label "DELETE this SERVICE" . ?s ?p <http://x/INSERT> } # LOAD')


def _run(runner: CliRunner, *args: str):
    return runner.invoke(app, ["query", *args])


def test_cli_named_query_with_param_as_csv(runner: CliRunner) -> None:
    result = _run(runner, "--named", "fact-sources", "--param", "therapy=car-nk", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "therapy,property,value,source,kind,citation"


def test_cli_inline_query_as_json_and_construct_as_turtle(runner: CliRunner, tmp_path) -> None:
    result = _run(runner, "SELECT ?m WHERE { ?m a tkg:Modality }", "--format", "json")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["results"]["bindings"]) >= 9
    query = tmp_path / "q.rq"
    query.write_text("CONSTRUCT { ?s rdfs:label ?l } WHERE { GRAPH src:liu-2020-nejm { ?s rdfs:label ?l } }")
    turtle = _run(runner, "--file", str(query), "--format", "turtle")
    assert turtle.exit_code == 0
    assert len(list(ox.parse(turtle.stdout_bytes, format=ox.RdfFormat.TURTLE))) >= 1


def test_cli_errors(runner: CliRunner) -> None:
    bad = _run(runner, "SELECT ?x WHERE { ?x ?y }")
    assert bad.exit_code == 1 and "Invalid SPARQL at line 1, column" in bad.output
    update = _run(runner, "CLEAR ALL")
    assert update.exit_code == 1 and "refused" in update.output
    assert _run(runner, "--named", "no-such-query").exit_code == 2
    assert _run(runner).exit_code == 2
    wrong = _run(runner, "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "--format", "turtle")
    assert wrong.exit_code == 1 and "does not fit" in wrong.output


def test_cli_query_file_that_is_not_text_is_a_usage_error(runner: CliRunner, tmp_path) -> None:
    binary = tmp_path / "program"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\xd0\xff\xfe")
    result = _run(runner, "--file", str(binary))
    assert result.exit_code == 2 and "is not UTF-8 text" in result.output
    assert isinstance(result.exception, SystemExit)  # a usage error, not a traceback
    missing = _run(runner, "--file", str(tmp_path / "missing.rq"))
    assert missing.exit_code == 2 and "Cannot read" in missing.output


def test_cli_lists_queries_and_prefixes(runner: CliRunner) -> None:
    listed = json.loads(runner.invoke(app, ["queries", "--format", "json"]).stdout)
    assert {"name", "summary", "parameters"} <= set(listed[0])
    assert any(q["name"] == "fact-sources" and q["parameters"][0]["name"] == "therapy" for q in listed)
    prefixes = runner.invoke(app, ["prefixes"]).stdout
    assert "PREFIX tkg: <https://w3id.org/therapy-kg/ontology#>" in prefixes


def test_source_disagreements_include_approval_dates(graph: kg.TherapyGraph) -> None:
    rows = [r for r in ask(graph, "source-disagreements") if r["subject"] == "FDA approval of Abecma, 2021"]
    assert {(r["value"], r["source"].rsplit("/", 1)[1]) for r in rows} == {
        ("2021-03-26", "drugs-com-abecma-history"),
        ("2021-03-27", "ons-voice-2021-abecma"),
    }


def test_facts_stated_by_several_sources_appear_once(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "off-the-shelf-no-gvhd")
    assert len(rows) == len({tuple(sorted(r.items())) for r in rows})


# --- the reproductions: answers that looked right and were not -------------------------

CD19_COUNTS = (
    "SELECT (COUNT(?p) AS ?n) (COUNT(DISTINCT ?p) AS ?d) WHERE { ?p a tkg:Product ; tkg:targetAntigen tkgr:cd19 }"
)


def test_default_graph_is_the_merge_a_fact_counts_once(graph: kg.TherapyGraph, runner: CliRunner) -> None:
    [counts] = graph.select(CD19_COUNTS)
    assert counts["n"] == counts["d"] >= 5
    cli = json.loads(_run(runner, CD19_COUNTS, "--format", "json").stdout)["results"]["bindings"][0]
    assert int(cli["n"]["value"]) == int(cli["d"]["value"]) == counts["n"]
    # the README's first query: each product and target once, though several sources state them
    rows = graph.select(
        "SELECT ?product ?target WHERE { ?p a tkg:Product ; rdfs:label ?product ;"
        " tkg:targetAntigen/rdfs:label ?target }"
    )
    assert rows.count({"product": "Kymriah (tisagenlecleucel)", "target": "CD19"}) == 1


def test_every_triple_of_every_named_graph_is_in_the_default_graph_once(graph: kg.TherapyGraph) -> None:
    [row] = graph.select("SELECT (COUNT(*) AS ?all) (COUNT(DISTINCT ?s) AS ?subjects) WHERE { ?s ?p ?o }")
    [named] = graph.select(
        "SELECT (COUNT(*) AS ?distinct) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }"
    )
    assert row["all"] == named["distinct"]


def test_provenance_still_names_every_source(graph: kg.TherapyGraph) -> None:
    rows = graph.select("SELECT ?g WHERE { GRAPH ?g { tkgr:car-nk tkg:hlaMatchingRequired false } }")
    assert {r["g"] for r in rows} == {
        SRC + "lu-2021-front-oncol",
        SRC + "yilmaz-2020-j-hematol-oncol",
        SRC + "cancerfax-2020-car-nk",
    }


def test_bound_variables_need_not_be_projected(graph: kg.TherapyGraph, runner: CliRunner) -> None:
    rows = graph.select("SELECT ?v WHERE { ?t tkg:cellSource ?v }", {"t": kg.graph.iri("tkgr:car-nk")})
    assert rows == [{"v": "https://w3id.org/therapy-kg/ontology#Allogeneic"}]
    result = _run(runner, "SELECT ?v WHERE { ?t tkg:cellSource ?v }", "--param", "t=tkgr:car-nk", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["v", "https://w3id.org/therapy-kg/ontology#Allogeneic"]


def test_bound_values_reach_filters_and_optionals(graph: kg.TherapyGraph) -> None:
    text = "SELECT ?l WHERE { ?t rdfs:label ?l . FILTER(?t = ?wanted) OPTIONAL { ?t tkg:brandName ?b } }"
    assert graph.select(text, {"wanted": kg.graph.iri("tkgr:tisagenlecleucel")}) == [
        {"l": "Kymriah (tisagenlecleucel)"}
    ]


@pytest.mark.parametrize(
    "value", ["CRS", "crs", "tkgr:crs", "<https://w3id.org/therapy-kg/resource/crs>", "cytokine release syndrome (CRS)"]
)
def test_iri_parameters_take_ids_and_labels(graph: kg.TherapyGraph, value: str) -> None:
    rows = ask(graph, "adverse-event-rates", event=value)
    assert rows and {r["event"] for r in rows} == {RES + "crs"}


def test_unknown_iri_parameter_is_a_usage_error(runner: CliRunner) -> None:
    result = _run(runner, "--named", "adverse-event-rates", "--param", "event=no-such-event")
    assert result.exit_code == 2 and "names no resource" in result.output and "Traceback" not in result.output


def test_from_names_the_default_graph(graph: kg.TherapyGraph) -> None:
    [everything] = graph.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    [liu] = graph.select("SELECT (COUNT(*) AS ?n) FROM src:liu-2020-nejm WHERE { ?s ?p ?o }")
    [direct] = graph.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH src:liu-2020-nejm { ?s ?p ?o } }")
    assert 0 < liu["n"] == direct["n"] < everything["n"]
    [named] = graph.select(
        "SELECT (COUNT(DISTINCT ?g) AS ?n) FROM NAMED src:liu-2020-nejm WHERE { GRAPH ?g { ?s ?p ?o } }"
    )
    assert named["n"] == 1


def test_protocol_dataset_overrides_and_follows_sparql(graph: kg.TherapyGraph) -> None:
    liu = "https://w3id.org/therapy-kg/source/liu-2020-nejm"
    [only] = graph.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graphs=[liu])
    [direct] = graph.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH src:liu-2020-nejm { ?s ?p ?o } }")
    assert only == direct
    # a default graph given without named graphs leaves no named graph to match
    assert graph.select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", default_graphs=[liu]) == []


def test_relative_iris_resolve_against_the_documented_base(graph: kg.TherapyGraph, runner: CliRunner) -> None:
    assert kg.graph.BASE_IRI == RES
    rows = graph.select("SELECT ?label WHERE { <car-nk> rdfs:label ?label }")
    assert rows == [{"label": "CAR-NK cell therapy"}]
    assert _run(runner, "SELECT * WHERE { <a> <b> ?c }").exit_code == 0


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?add WHERE { ?s rdfs:label ?add } LIMIT 1",
        "SELECT ?copy ?insert ?service WHERE { ?service rdfs:label ?copy . BIND(1 AS ?insert) } LIMIT 1",
        "SELECT ?load ?clear WHERE { ?load rdfs:label ?clear } LIMIT 1",
        "SELECT * WHERE { ?s tkg:load ?o }",
    ],
)
def test_keyword_named_variables_run(runner: CliRunner, text: str) -> None:
    result = _run(runner, text, "--format", "csv")
    assert result.exit_code == 0, result.output


@pytest.fixture()
def unvisited_port() -> Iterator[int]:
    """A listening loopback port that must see no connection: a SERVICE that ran would call it."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.3)
        yield listener.getsockname()[1]
        with pytest.raises(TimeoutError):
            listener.accept()


def test_service_hidden_behind_a_string_is_refused_before_any_request(runner: CliRunner, unvisited_port: int) -> None:
    text = (
        f"SELECT * WHERE {{ FILTER(1<'>' || true) SERVICE <http://127.0.0.1:{unvisited_port}/x> {{ ?s ?p ?o }} # '\n}}"
    )
    result = _run(runner, text)
    assert result.exit_code == 1 and "SERVICE is refused" in result.output


def test_deeply_nested_query_is_refused_not_crashed(runner: CliRunner) -> None:
    result = _run(runner, "SELECT * WHERE " + "{" * 5000 + "}" * 5000)
    assert result.exit_code == 1 and "nests 5000 levels" in result.output


def test_bound_values_cannot_become_query_code(runner: CliRunner, unvisited_port: int) -> None:
    """A `<` that reads like an IRI's start misplaces the values inside a string: the text that
    would run is the text checked, so nothing runs and the user is told why."""
    text = """SELECT (1<'>'&&"')"="{" AS ?a) WHERE { ?s ?p ?o }"""
    value = f'" || EXISTS {{ SERVICE <http://127.0.0.1:{unvisited_port}/x> {{ }} }} && "'
    result = _run(runner, text, "--param", f"x={value}")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert any(reason in result.output for reason in ("SERVICE is refused", "Could not place", "Invalid SPARQL"))


def test_approval_timeline_credits_each_date_to_its_sources_and_notes_known_errors(graph: kg.TherapyGraph) -> None:
    rows = [r for r in ask(graph, "approval-timeline") if r["product"] == "Abecma (idecabtagene vicleucel)"]
    first = rows[0]
    assert first["date"] == dt.date(2021, 3, 26)
    assert first["sources"] == SRC + "drugs-com-abecma-history"  # the approval summary gives no day
    assert first["knownErrors"] == SRC + "ons-voice-2021-abecma states 2021-03-27"
    assert dt.date(2021, 3, 27) not in [r["date"] for r in rows]


def test_disagreements_cover_approval_dates_and_mark_known_errors(graph: kg.TherapyGraph) -> None:
    rows = [r for r in ask(graph, "source-disagreements") if r["property"] == "approval date"]
    assert {(r["value"], r["source"], r["knownError"]) for r in rows} == {
        ("2021-03-26", SRC + "drugs-com-abecma-history", None),
        ("2021-03-27", SRC + "ons-voice-2021-abecma", RES + "ons-voice-2021-abecma-date-error"),
        ("2022-05-25", SRC + "ema-orphan-carvykti-mm", None),
        ("2022-05-26", SRC + "mm-hub-2022-cilta-cel-ec", RES + "mm-hub-2022-cilta-cel-ec-date-error"),
    }


def test_disagreeing_measurements_of_the_same_patients_are_found(graph: kg.TherapyGraph) -> None:
    """Two sources giving different counts for the same trial, therapy, event, grade, population and
    cut-off disagree; another population does not."""
    import pyoxigraph as ox

    from kg import derive, sources, vocab
    from kg.resources import DATA_DIR, ONTOLOGY_FILE

    store = ox.Store()
    store.extend(q for qs in sources.parse_all(sources.input_files(DATA_DIR, ONTOLOGY_FILE)).values() for q in qs)
    store.load(
        input=f"""
        @prefix tkg: <{vocab.TKG}> . @prefix tkgr: <{vocab.RESOURCE}> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        tkgr:other-crs a tkg:AdverseEventObservation ; tkg:adverseEvent tkgr:crs ; tkg:gradeThreshold tkg:AnyGrade ;
            tkg:numerator "1"^^xsd:nonNegativeInteger ; tkg:denominator "11"^^xsd:nonNegativeInteger ;
            tkg:therapy tkgr:mda-cd19-car-nk ; tkg:trial tkgr:NCT03056339 .
        tkgr:other-gvhd a tkg:AdverseEventObservation ; tkg:adverseEvent tkgr:gvhd ; tkg:gradeThreshold tkg:AnyGrade ;
            tkg:numerator "1"^^xsd:nonNegativeInteger ; tkg:denominator "11"^^xsd:nonNegativeInteger ;
            tkg:analysisPopulation tkg:SafetyPopulation ; tkg:therapy tkgr:mda-cd19-car-nk ; tkg:trial tkgr:NCT03056339 .
        """,
        format=ox.RdfFormat.TURTLE,
        to_graph=ox.NamedNode(SRC + "lu-2021-front-oncol"),
    )
    store.extend(list(derive.lineage_quads(store)))
    derive.merge_into_default_graph(store)
    assert ask(graph, "measurement-disagreements") == []  # nothing disagrees in the curated data
    rows = ask(kg.TherapyGraph(store), "measurement-disagreements")
    assert {(r["nct"], r["measure"], r["grade"], r["numerator"], r["source"]) for r in rows} == {
        ("NCT03056339", "cytokine release syndrome (CRS)", "any grade", 1, SRC + "lu-2021-front-oncol"),
        ("NCT03056339", "cytokine release syndrome (CRS)", "any grade", 0, SRC + "liu-2020-nejm"),
    }
