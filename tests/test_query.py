"""Named queries answer their questions (on the invented graph in tests/data/mini); `kg query` binds,
formats and refuses."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from decimal import Decimal as D

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
# These answer from `kg ingest drugsatfda` (tested in test_drugsatfda.py).
EMPTY_WITHOUT_INGEST = {"fda-actions", "fda-actions-without-approval"}
RES = "https://w3id.org/therapy-kg/resource/"
PATH_OF_ANY_LENGTH = re.compile(r"(?:\b[A-Za-z][\w-]*:[\w-]*|<[^<>\s]*>|\))[+*]")


def ask(graph: kg.TherapyGraph, name: str, **params: str) -> list[dict]:
    query = named(name)
    return graph.select(query.text, bindings(graph, query, params))


def test_library_has_at_least_twelve_documented_queries() -> None:
    queries = named_queries()
    assert len(queries) >= 12
    for query in queries.values():
        assert query.summary, f"{query.name} needs a '# summary:' header"


def test_named_queries_follow_no_paths_of_any_length() -> None:
    """Closures are derived at build time (`tkg:lineage`, `skos:broaderTransitive`): joined to a named
    graph, `skos:broader+` gave no rows on one fresh Virtuoso server in four, and engines disagree
    on the zero-length case of `*`. Named queries are the ones users run on other stores."""
    assert PATH_OF_ANY_LENGTH.search("?e skos:broader+ tkgr:x") and PATH_OF_ANY_LENGTH.search("(a:b|c:d)*")
    assert not PATH_OF_ANY_LENGTH.search("SELECT (COUNT(*) AS ?n) WHERE { ?a tkg:x ?n } ORDER BY ?n + 1")
    for query in named_queries().values():
        code = "\n".join(line.split("#", 1)[0] for line in query.text.splitlines())
        assert not PATH_OF_ANY_LENGTH.search(code), query.name


def test_no_hla_matching_follows_inheritance_and_own_facts(graph: kg.TherapyGraph) -> None:
    rows = {(r["therapy"], r["statedFor"], r["source"]) for r in ask(graph, "no-hla-matching")}
    assert rows == {
        (RES + "car-nk", RES + "car-nk", SRC + "popular-2020"),
        (RES + "car-nk", RES + "car-nk", SRC + "review-2021"),
        (RES + "cordnk-19", RES + "car-nk", SRC + "popular-2020"),
        (RES + "cordnk-19", RES + "car-nk", SRC + "review-2021"),
        (RES + "donorcel", RES + "donorcel", SRC + "donorcel-trial-2017"),  # its own fact, not its modality's
    }


def test_off_the_shelf_without_gvhd_counts_observed_zeros(graph: kg.TherapyGraph) -> None:
    [row] = ask(graph, "off-the-shelf-no-gvhd")
    assert (row["therapy"], row["nct"], row["numerator"], row["denominator"], row["source"]) == (
        RES + "cordnk-19",
        "NCT09990001",
        0,
        11,
        SRC + "cordnk-trial-2020",
    )


def test_products_by_target_with_their_first_fda_approval(graph: kg.TherapyGraph) -> None:
    car_t = {r["product"]: (r["target"], r["firstFdaApproval"]) for r in ask(graph, "car-t-by-target")}
    assert car_t == {
        RES + "donorcel": ("CD19", None),
        RES + "testagene-autoleucel": ("CD19", dt.date(2017, 8, 30)),  # the news item's 31 August is a known error
    }
    checkpoint = {
        r["product"]: (r["target"], r["firstFdaApproval"]) for r in ask(graph, "checkpoint-inhibitors-by-target")
    }
    assert checkpoint == {
        RES + "exampumab": ("PD-1", dt.date(2014, 9, 4)),
        RES + "samplizumab": ("PD-L1", dt.date(2016, 5, 18)),
    }


def test_adverse_event_rates_filtered_by_event(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "adverse-event-rates", event="tkgr:gvhd")
    assert [(r["event"], r["numerator"], r["denominator"], r["grade"], r["nct"], r["source"]) for r in rows] == [
        (RES + "gvhd", 0, 11, "any grade", "NCT09990001", SRC + "cordnk-trial-2020")
    ]


def test_approval_timeline_in_date_order_with_withdrawals_and_known_errors(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "approval-timeline")
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    testacel = [r for r in rows if r["product"] == "Testacel (testagene autoleucel)"]
    assert [(r["date"], r["agency"], r["sources"], r["knownErrors"]) for r in testacel] == [
        (
            dt.date(2017, 8, 30),
            "US Food and Drug Administration (FDA)",
            SRC + "fda-2017-testacel",
            SRC + "news-2017-testacel states 2017-08-31",
        ),
        (dt.date(2018, 8, 23), "European Medicines Agency (EMA)", SRC + "ema-2018-testacel", None),
        (dt.date(2022, 4, 1), "US Food and Drug Administration (FDA)", SRC + "fda-2022-testacel-second-line", None),
    ]
    withdrawn = {(r["indication"], r["withdrawn"]) for r in rows if r["withdrawn"]}
    assert withdrawn == {
        ("urothelial carcinoma", dt.date(2021, 2, 19)),
        ("triple-negative breast cancer", dt.date(2021, 10, 6)),
    }


def test_withdrawn_indications_give_both_dates_and_the_regulators_list(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "withdrawn-indications")
    assert [
        (r["product"], r["indication"], r["approved"], r["withdrawn"], r["pathway"], r["sources"]) for r in rows
    ] == [
        (
            "Samplo (samplizumab)",
            "urothelial carcinoma",
            dt.date(2016, 5, 18),
            dt.date(2021, 2, 19),
            "accelerated approval",
            SRC + "fda-withdrawn-list",
        ),
        (
            "Samplo (samplizumab)",
            "triple-negative breast cancer",
            dt.date(2019, 3, 8),
            dt.date(2021, 10, 6),
            "accelerated approval",
            SRC + "fda-withdrawn-list",
        ),
    ]
    assert len(ask(graph, "withdrawn-indications", therapy="PD-L1 inhibitor")) == 2
    assert ask(graph, "withdrawn-indications", therapy="PD-1 inhibitor") == []


def test_pending_accelerated_approvals_leave_out_converted_and_withdrawn(graph: kg.TherapyGraph) -> None:
    """Exampumab's TNBC approval was converted, Samplizumab's two were withdrawn: one is still pending."""
    rows = ask(graph, "accelerated-approvals-pending")
    assert [(r["product"], r["indication"], r["approved"], r["sources"]) for r in rows] == [
        ("Exampa (exampumab)", "urothelial carcinoma", dt.date(2021, 6, 1), SRC + "fda-exampumab-approvals")
    ]
    assert ask(graph, "accelerated-approvals-pending", therapy="car-t") == []


def test_approvals_by_disease_give_line_setting_biomarker_partners_and_withdrawal(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "approvals-by-disease", disease="NSCLC")
    assert [(r["product"], r["lines"], r["settings"], r["biomarkers"], r["pathway"]) for r in rows] == [
        (
            "Exampa (exampumab)",
            "first line",
            "advanced or metastatic",
            "PD-L1 on at least 50% of tumour cells",
            "regular approval",
        ),
        ("Samplo (samplizumab)", "first line", "advanced or metastatic", None, "regular approval"),
    ]
    assert sorted(rows[1]["givenWith"].split("; ")) == ["carboplatin", "paclitaxel"]
    assert [r["product"] for r in ask(graph, "approvals-by-disease", therapy="PD-L1 inhibitor", disease="NSCLC")] == [
        "Samplo (samplizumab)"
    ]
    tnbc = ask(graph, "approvals-by-disease", disease="triple-negative-breast-cancer")
    assert [(r["product"], r["givenWith"], r["pathway"], r["regularFrom"], r["withdrawn"]) for r in tnbc] == [
        ("Exampa (exampumab)", None, "accelerated approval", dt.date(2025, 4, 8), None),
        ("Samplo (samplizumab)", "paclitaxel protein-bound", "accelerated approval", None, dt.date(2021, 10, 6)),
    ]
    lbcl = ask(graph, "approvals-by-disease", therapy="testacel", disease="LBCL")
    assert [(str(r["date"]), r["agency"], r["lines"]) for r in lbcl] == [  # when did it move to second line?
        ("2017-08-30", "US Food and Drug Administration (FDA)", "third line or later"),
        ("2018-08-23", "European Medicines Agency (EMA)", None),
        ("2022-04-01", "US Food and Drug Administration (FDA)", "second line"),
    ]
    melanoma = ask(graph, "approvals-by-disease", therapy="exampa", disease="melanoma")
    assert [(str(r["date"]), r["settings"]) for r in melanoma] == [
        ("2014-09-04", "advanced or metastatic"),
        ("2019-02-15", "adjuvant"),
    ]


def test_fact_sources_for_a_therapy(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "fact-sources", therapy="CAR-NK")
    hla = {(r["source"], r["kind"]) for r in rows if r["property"] == "HLA matching required" and r["value"] == "false"}
    assert hla == {(SRC + "review-2021", "review claim"), (SRC + "popular-2020", "popular claim")}
    assert {r["therapy"] for r in rows} == {RES + "car-nk"}


def test_single_source_facts(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "single-source-facts")
    assert {
        "therapy": "autologous CAR-T cell therapy",
        "property": "manufacturing time",
        "value": "several weeks of patient-specific culture and expansion",
        "source": SRC + "popular-2020",
    } in rows
    assert not any(r["therapy"] == "CAR-NK cell therapy" and r["property"] == "HLA matching required" for r in rows)


def test_source_disagreements_cover_values_and_approval_dates_and_mark_known_errors(graph: kg.TherapyGraph) -> None:
    rows = {(r["subject"], r["value"], r["source"], r["knownError"]) for r in ask(graph, "source-disagreements")}
    assert rows == {
        ("CAR-NK cell therapy", "low", SRC + "review-2021", None),
        ("CAR-NK cell therapy", "minimal or not observed", SRC + "popular-2020", None),
        ("FDA approval of Testacel, 2017", "2017-08-30", SRC + "fda-2017-testacel", None),
        (
            "FDA approval of Testacel, 2017",
            "2017-08-31",
            SRC + "news-2017-testacel",
            RES + "news-2017-testacel-date-error",
        ),
    }


def test_trials_by_modality_and_phase_count_each_trial_once_per_level(graph: kg.TherapyGraph) -> None:
    rows = {(r["modality"], r["phase"]): r["trials"] for r in ask(graph, "trials-by-modality-and-phase")}
    assert rows[("CAR-NK cell therapy", "phase 1")] == rows[("CAR-NK cell therapy", "phase 2")] == 1
    assert rows[("CAR-T cell therapy", "phase 2")] == 1
    assert rows[("cellular immunotherapy", "phase 2")] == 2  # the CAR-NK and the CAR-T trial
    assert rows[("immune checkpoint inhibitor", "phase 3")] == 1


def test_response_rates(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "response-rates")
    assert {
        (r["product"], r["measure"], r["numerator"], r["denominator"], r["percentage"], r["source"].removeprefix(SRC))
        for r in rows
    } == {
        ("Cordnk-19 (cord-blood CD19 CAR-NK)", "complete response", 7, 11, None, "cordnk-trial-2020"),
        ("Cordnk-19 (cord-blood CD19 CAR-NK)", "complete response", 18, 37, None, "cordnk-trial-2024"),
        ("Cordnk-19 (cord-blood CD19 CAR-NK)", "complete response", 6, 11, None, "cordnk-trial-2024"),
        ("Cordnk-19 (cord-blood CD19 CAR-NK)", "objective response", 8, 11, 73, "cordnk-trial-2020"),
        ("Testacel (testagene autoleucel)", "objective response", None, 101, 82, "testacel-trial-2019"),
        ("Testacel (testagene autoleucel)", "objective response", None, 101, 72, "testacel-trial-2019"),
    }


def test_survival_outcomes_give_each_estimate_its_interval(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "survival-outcomes", therapy="car-t")
    assert [
        (
            r["product"],
            r["endpoint"],
            r["medianMonths"],
            r["medianNotReached"],
            r["lower"],
            r["upper"],
            r["upperNotReached"],
        )
        for r in rows
    ] == [
        ("Testacel (testagene autoleucel)", "progression-free survival", D("5.9"), None, D("3.2"), D("15.8"), None),
        ("Testacel (testagene autoleucel)", "overall survival", None, "not reached", D("12"), None, "not reached"),
    ]
    exampumab = ask(graph, "survival-outcomes", therapy="exampumab")
    assert [(r["endpoint"], r["medianMonths"], r["hazardRatio"], r["landmarkMonths"]) for r in exampumab] == [
        ("progression-free survival", D("9.7"), None, None),
        ("progression-free survival", None, D("0.55"), None),
        ("overall survival", None, None, D("6")),
    ]
    assert exampumab[1]["comparator"] == "platinum-based chemotherapy" and exampumab[2]["percentage"] == D("78.5")


def test_immune_related_adverse_event_rates_at_grade_3_or_more(graph: kg.TherapyGraph) -> None:
    """Immune-related events, any of them or one under the parent term, at grade 3 or higher or grade
    3 or 4; any grade left out."""
    rows = ask(graph, "immune-related-adverse-event-rates", therapy="pd-1-inhibitor")
    assert [(r["product"], r["event"], r["grade"], r["numerator"], r["denominator"], r["nct"]) for r in rows] == [
        ("Exampa (exampumab)", "colitis", "grade 3 or 4", 2, 154, "NCT09990003"),
        ("Exampa (exampumab)", "immune-related adverse event (irAE)", "grade 3 or higher", 9, 154, "NCT09990003"),
        ("Exampa (exampumab)", "pneumonitis", "grade 3 or higher", 4, 154, "NCT09990003"),
    ]
    assert ask(graph, "immune-related-adverse-event-rates", therapy="car-t") == []


def test_programmes_by_target_give_origin_engineering_and_trials_by_phase(graph: kg.TherapyGraph) -> None:
    [cordnk] = ask(graph, "programmes-by-target", therapy="car-nk")
    assert (cordnk["target"], cordnk["product"], cordnk["developer"], cordnk["cellOrigin"]) == (
        "CD19",
        "Cordnk-19 (cord-blood CD19 CAR-NK)",
        "Example Therapeutics",
        "umbilical cord blood",
    )
    assert set(cordnk["engineering"].split("; ")) == {"interleukin-15 (IL-15)", "inducible caspase 9 (iC9)"}
    assert set(cordnk["trialsByPhase"].split("; ")) == {"phase 1: 1", "phase 2: 1"}  # one phase 1/2 trial
    car_t = ask(graph, "programmes-by-target", therapy="car-t")
    assert [(r["product"], r["trialsByPhase"]) for r in car_t] == [
        ("Donorcel", "phase 1: 1"),
        ("Testacel (testagene autoleucel)", "phase 2: 1"),
    ]


def test_products_by_modality(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "products-by-modality")
    assert [(r["modality"], r["brand"], r["generic"], r["codes"]) for r in rows] == [
        ("CAR-NK cell therapy", None, None, "CNK-19"),
        ("PD-1 inhibitor", "Exampa", "exampumab", "EX-1"),
        ("PD-L1 inhibitor", "Samplo", "samplizumab", None),
        ("allogeneic CAR-T cell therapy", None, None, "DNR-19"),
        ("autologous CAR-T cell therapy", "Testacel", "testagene autoleucel", "TST-019"),
    ]


def test_claims_vs_evidence(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "claims-vs-evidence", therapy="car-nk")
    crs = {
        (r["claim"], r["claimSource"], r["observed"], r["evidenceSource"])
        for r in rows
        if r["event"].startswith("cytokine")
    }
    assert crs == {
        (claim, SRC + claimed, observed, SRC + measured)
        for claimed in ("review-2021", "popular-2020")
        for observed, measured in (("0/11 (any grade)", "cordnk-trial-2020"), ("1/37 (any grade)", "cordnk-trial-2024"))
        for claim in ("minimal or not observed",)
    }
    [icans] = [r for r in rows if r["event"] == "neurotoxicity (ICANS)"]
    assert icans["claim"] is None and icans["observed"] is None  # neither claimed nor measured: still a row


def test_sources_by_kind(graph: kg.TherapyGraph) -> None:
    rows = {r["source"].removeprefix(SRC): r["kind"] for r in ask(graph, "sources-by-kind")}
    assert rows["cordnk-trial-2020"] == "primary evidence"
    assert rows["review-2021"] == "review claim"
    assert rows["popular-2020"] == "popular claim"
    assert rows["fda-2017-testacel"] == "regulatory document"
    assert rows["registry-nct09990003"] == "registry record"


def test_awards(graph: kg.TherapyGraph) -> None:
    [award] = ask(graph, "awards")
    assert set(award["laureates"].split(", ")) == {"Laureate One", "Laureate Two"}
    assert (award["award"], award["modality"]) == ("Example Prize 2018", "immune checkpoint inhibitor")


def test_trials_of_a_therapy_by_status(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "trials-by-status", therapy="cellular-immunotherapy")
    assert [(r["status"], r["nct"], r["evaluates"], r["start"], r["completion"], r["countries"]) for r in rows] == [
        (
            "COMPLETED",
            "NCT09990001",
            "Cordnk-19 (cord-blood CD19 CAR-NK)",
            dt.date(2017, 6, 21),
            "2022-11",
            "United States",
        )
    ]
    assert sorted(rows[0]["phases"].split(", ")) == ["phase 1", "phase 2"]
    assert rows[0]["statusAsOf"] is None  # its source does not date the registry version it read
    [recruiting] = ask(graph, "trials-by-status", therapy="pd-1-inhibitor")
    assert (
        recruiting["status"],
        recruiting["statusAsOf"],
        recruiting["nct"],
        sorted(recruiting["countries"].split(", ")),
    ) == ("RECRUITING", dt.date(2024, 3, 15), "NCT09990003", ["Canada", "United States"])
    assert ask(graph, "trials-by-status", therapy="car-t") == []  # no registry record gives their status


def test_recruiting_trials_by_modality_and_phase(graph: kg.TherapyGraph) -> None:
    rows = {(r["modality"], r["phase"]): r["trials"] for r in ask(graph, "recruiting-trials-by-modality-and-phase")}
    assert rows == {
        ("PD-1 inhibitor", "phase 3"): 1,
        ("immune checkpoint inhibitor", "phase 3"): 1,
        ("cancer immunotherapy", "phase 3"): 1,
    }  # the completed CAR-NK trial is not counted


def test_trial_counts_count_each_trial_once_per_therapy_phase_and_status() -> None:
    """The counts the build stores for the trial queries: a trial named by a product and by its
    modality, or stated by two sources, counts once; a phase 1/2 trial counts in both phases."""
    from kg.derive import count_triples

    lineages = {"urn:p": {"urn:p", "urn:m"}, "urn:m": {"urn:m"}}
    rows = [
        ("urn:t1", "urn:p", "urn:phase1", "RECRUITING"),
        ("urn:t1", "urn:p", "urn:phase2", "RECRUITING"),
        ("urn:t1", "urn:m", "urn:phase1", "RECRUITING"),  # the same trial evaluates the modality too
        ("urn:t2", "urn:m", "urn:phase1", ""),
        ("urn:t2", "urn:m", "urn:phase1", ""),  # stated twice
    ]
    nodes: dict[str, dict[str, str]] = {}
    for triple in count_triples(rows, lineages, "urn:c", "TrialCount"):
        nodes.setdefault(triple.subject.value, {})[triple.predicate.value.rsplit("#", 1)[-1]] = triple.object.value
    counts = {
        (n["countOf"], n.get("countedPhase"), n.get("countedStatus")): int(n["trialCount"]) for n in nodes.values()
    }
    assert counts == {
        ("urn:m", "urn:phase1", None): 2,
        ("urn:m", "urn:phase1", "RECRUITING"): 1,
        ("urn:m", "urn:phase2", None): 1,
        ("urn:m", "urn:phase2", "RECRUITING"): 1,
        ("urn:p", "urn:phase1", None): 1,
        ("urn:p", "urn:phase1", "RECRUITING"): 1,
        ("urn:p", "urn:phase2", None): 1,
        ("urn:p", "urn:phase2", "RECRUITING"): 1,
    }


def test_measurement_disagreements_compare_like_with_like(graph: kg.TherapyGraph) -> None:
    """Two reports give 7/11 and 6/11 complete responses for the same first 11 patients: they disagree.
    Testacel's 82% (infused) and 72% (independent review) measure different things: they do not."""
    rows = ask(graph, "measurement-disagreements")
    assert {(r["nct"], r["measure"], r["grade"], r["numerator"], r["denominator"], r["source"]) for r in rows} == {
        ("NCT09990001", "complete response", None, 7, 11, SRC + "cordnk-trial-2020"),
        ("NCT09990001", "complete response", None, 6, 11, SRC + "cordnk-trial-2024"),
    }


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_every_named_query_runs_in_every_results_format(graph: kg.TherapyGraph, name: str) -> None:
    query = named(name)
    params = {p.name: "car-nk" for p in query.parameters if p.required}
    result = results.read(graph.query(query.text, bindings(graph, query, params)))
    assert bool(result.rows) != (name in EMPTY_WITHOUT_INGEST), f"{name}: {len(result.rows)} rows on the test graph"
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
    assert len(json.loads(result.stdout)["results"]["bindings"]) == 9
    query = tmp_path / "q.rq"
    query.write_text("CONSTRUCT { ?s rdfs:label ?l } WHERE { GRAPH src:cordnk-trial-2020 { ?s rdfs:label ?l } }")
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


def test_facts_stated_by_several_sources_appear_once(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "off-the-shelf-no-gvhd")
    assert len(rows) == len({tuple(sorted(r.items())) for r in rows})


# --- the reproductions: answers that looked right and were not -------------------------

CD19_COUNTS = (
    "SELECT (COUNT(?p) AS ?n) (COUNT(DISTINCT ?p) AS ?d) WHERE { ?p a tkg:Product ; tkg:targetAntigen tkgr:cd19 }"
)


def test_default_graph_is_the_merge_a_fact_counts_once(graph: kg.TherapyGraph, runner: CliRunner) -> None:
    [counts] = graph.select(CD19_COUNTS)
    assert counts["n"] == counts["d"] == 3
    cli = json.loads(_run(runner, CD19_COUNTS, "--format", "json").stdout)["results"]["bindings"][0]
    assert int(cli["n"]["value"]) == int(cli["d"]["value"]) == counts["n"]
    # the README's first query: each product and target once, though several sources state them
    rows = graph.select(
        "SELECT ?product ?target WHERE { ?p a tkg:Product ; rdfs:label ?product ;"
        " tkg:targetAntigen/rdfs:label ?target }"
    )
    assert rows.count({"product": "Testacel (testagene autoleucel)", "target": "CD19"}) == 1  # stated by two sources


def test_every_triple_of_every_named_graph_is_in_the_default_graph_once(graph: kg.TherapyGraph) -> None:
    [row] = graph.select("SELECT (COUNT(*) AS ?all) (COUNT(DISTINCT ?s) AS ?subjects) WHERE { ?s ?p ?o }")
    [named] = graph.select(
        "SELECT (COUNT(*) AS ?distinct) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }"
    )
    assert row["all"] == named["distinct"]


def test_provenance_still_names_every_source(graph: kg.TherapyGraph) -> None:
    rows = graph.select("SELECT ?g WHERE { GRAPH ?g { tkgr:car-nk tkg:hlaMatchingRequired false } }")
    assert {r["g"] for r in rows} == {SRC + "review-2021", SRC + "popular-2020"}


def test_bound_variables_need_not_be_projected(graph: kg.TherapyGraph, runner: CliRunner) -> None:
    rows = graph.select("SELECT ?v WHERE { ?t tkg:cellSource ?v }", {"t": kg.graph.iri("tkgr:car-nk")})
    assert rows == [{"v": "https://w3id.org/therapy-kg/ontology#Allogeneic"}]
    result = _run(runner, "SELECT ?v WHERE { ?t tkg:cellSource ?v }", "--param", "t=tkgr:car-nk", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["v", "https://w3id.org/therapy-kg/ontology#Allogeneic"]


def test_bound_values_reach_filters_and_optionals(graph: kg.TherapyGraph) -> None:
    text = "SELECT ?l WHERE { ?t rdfs:label ?l . FILTER(?t = ?wanted) OPTIONAL { ?t tkg:brandName ?b } }"
    assert graph.select(text, {"wanted": kg.graph.iri("tkgr:testagene-autoleucel")}) == [
        {"l": "Testacel (testagene autoleucel)"}
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
    [liu] = graph.select("SELECT (COUNT(*) AS ?n) FROM src:cordnk-trial-2020 WHERE { ?s ?p ?o }")
    [direct] = graph.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH src:cordnk-trial-2020 { ?s ?p ?o } }")
    assert 0 < liu["n"] == direct["n"] < everything["n"]
    [named] = graph.select(
        "SELECT (COUNT(DISTINCT ?g) AS ?n) FROM NAMED src:cordnk-trial-2020 WHERE { GRAPH ?g { ?s ?p ?o } }"
    )
    assert named["n"] == 1


def test_protocol_dataset_overrides_and_follows_sparql(graph: kg.TherapyGraph) -> None:
    liu = "https://w3id.org/therapy-kg/source/cordnk-trial-2020"
    [only] = graph.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graphs=[liu])
    [direct] = graph.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH src:cordnk-trial-2020 { ?s ?p ?o } }")
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


def test_disagreeing_measurements_of_the_same_patients_are_found(graph: kg.TherapyGraph) -> None:
    """Two sources giving different counts for the same trial, therapy, event, grade, population and
    cut-off disagree; another population does not."""
    import pyoxigraph as ox

    from kg import derive, sources, vocab

    store = ox.Store()
    store.extend(q for qs in sources.parse_all(sources.input_files()).values() for q in qs)
    store.load(
        input=f"""
        @prefix tkg: <{vocab.TKG}> . @prefix tkgr: <{vocab.RESOURCE}> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        tkgr:other-crs a tkg:AdverseEventObservation ; tkg:adverseEvent tkgr:crs ; tkg:gradeThreshold tkg:AnyGrade ;
            tkg:numerator "1"^^xsd:nonNegativeInteger ; tkg:denominator "11"^^xsd:nonNegativeInteger ;
            tkg:therapy tkgr:cordnk-19 ; tkg:trial tkgr:NCT09990001 .
        tkgr:other-gvhd a tkg:AdverseEventObservation ; tkg:adverseEvent tkgr:gvhd ; tkg:gradeThreshold tkg:AnyGrade ;
            tkg:numerator "1"^^xsd:nonNegativeInteger ; tkg:denominator "11"^^xsd:nonNegativeInteger ;
            tkg:analysisPopulation tkg:SafetyPopulation ; tkg:therapy tkgr:cordnk-19 ; tkg:trial tkgr:NCT09990001 .
        """,
        format=ox.RdfFormat.TURTLE,
        to_graph=ox.NamedNode(SRC + "review-2021"),
    )
    derive.merge_into_default_graph(store)
    derive.complete(store)
    rows = ask(kg.TherapyGraph(store), "measurement-disagreements")
    assert {(r["measure"], r["grade"], r["numerator"], r["source"]) for r in rows if r["grade"]} == {
        ("cytokine release syndrome (CRS)", "any grade", 1, SRC + "review-2021"),
        ("cytokine release syndrome (CRS)", "any grade", 0, SRC + "cordnk-trial-2020"),
    }


def test_adverse_event_rates_include_pooled_populations_without_a_trial(tmp_path) -> None:
    from kg import store
    from tests.test_validate import with_pooled_label

    opener, location = store.open_store(tmp_path / "store", data_dir=with_pooled_label(tmp_path))
    rows = ask(kg.TherapyGraph(location=location, opener=opener), "adverse-event-rates", event="tkgr:crs")
    pooled = [r for r in rows if r["source"] == SRC + "pooled-label"]
    assert [(r["numerator"], r["denominator"], r["grade"], r.get("nct")) for r in pooled] == [
        (3, 200, "any grade", None),
        (0, 11, "grade 3 or 4", "NCT09990001"),
    ]
