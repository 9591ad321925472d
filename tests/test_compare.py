"""`kg compare`: golden comparisons, the seed's contrasts, inheritance, conflicts, every format, errors."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

import kg
from kg.cli import app
from kg.compare import compare


def _json(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(app, ["compare", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _row(document: dict, prop: str) -> dict:
    return next(r for r in document["rows"] if r["property"] == prop)


def _values(cell: list[dict]) -> set:
    return {v["value"] for v in cell}


def _sources(cell: list[dict]) -> set[str]:
    return {s["id"] for v in cell for s in v["sources"]}


@pytest.mark.parametrize("pair", [("car-t", "car-nk"), ("testagene-autoleucel", "cordnk-19")])
def test_golden_comparison(runner: CliRunner, golden, pair: tuple[str, str]) -> None:
    golden("compare-" + "-vs-".join(pair), _json(runner, *pair))


def test_car_t_vs_car_nk_shows_the_seed_contrasts_with_sources(runner: CliRunner) -> None:
    doc = _json(runner, "car-t", "car-nk")
    assert [t["id"] for t in doc["therapies"]] == ["car-t", "car-nk"]
    expected = {
        "tkg:cellSource": ({"tkg:Autologous", "tkg:Allogeneic"}, {"tkg:Allogeneic"}),
        "tkg:hlaMatchingRequired": ({True}, {False}),
        "tkg:offTheShelf": ({False}, {True}),
        "tkg:crsRisk": ({"tkg:RiskHigh"}, {"tkg:RiskMinimal"}),
    }
    for prop, (car_t, car_nk) in expected.items():
        row = _row(doc, prop)
        assert row["differs"] is True
        assert _values(row["cells"][0]) == car_t and _values(row["cells"][1]) == car_nk
        assert _sources(row["cells"][0]) and _sources(row["cells"][1])
    assert "src:popular-2020" in _sources(_row(doc, "tkg:cellSource")["cells"][1])
    assert "src:review-2021" in _sources(_row(doc, "tkg:crsRisk")["cells"][1])
    # CAR-T as a whole states neither: each value is shown for the sub-modality its source describes
    scopes = {
        prop: [(v["value"], v["applies_to"]) for v in _row(doc, prop)["cells"][0]]
        for prop in ("tkg:cellSource", "tkg:hlaMatchingRequired", "tkg:offTheShelf", "tkg:gvhdRisk")
    }
    assert scopes == {
        "tkg:cellSource": [("tkg:Allogeneic", "allogeneic-car-t"), ("tkg:Autologous", "autologous-car-t")],
        "tkg:hlaMatchingRequired": [(True, "allogeneic-car-t")],
        "tkg:offTheShelf": [(False, "autologous-car-t")],
        "tkg:gvhdRisk": [("tkg:RiskHigh", "allogeneic-car-t")],
    }
    observed = _row(doc, "adverse-event:crs:tkg:AnyGrade")
    assert observed["group"] == "safety"
    nejm = [v for v in observed["cells"][1] if "src:cordnk-trial-2020" in _sources([v])]
    assert [v["value"] for v in nejm] == [
        {
            "numerator": 0,
            "denominator": 11,
            "percentage": None,
            "product": "Cordnk-19 (cord-blood CD19 CAR-NK)",
            "trial": "Cord-blood CD19 CAR-NK cells in B-cell lymphoma (NCT09990001)",
            "context": "patients also counted in cordnk-2024-crs",
            "interval": [0.0, 25.9],
        }
    ]  # Wilson 95 % interval of 0/11


def test_product_vs_product_marks_inherited_values(runner: CliRunner) -> None:
    doc = _json(runner, "testacel", "cordnk-19")
    crs = _row(doc, "tkg:crsRisk")
    assert [v["inherited_from"] for v in crs["cells"][0]] == ["car-t"]
    assert [v["inherited_from"] for v in crs["cells"][1]] == ["car-nk"]
    own = _row(doc, "tkg:cellSource")
    assert [v["inherited_from"] for v in own["cells"][0]] == [None]
    assert _values(own["cells"][0]) == {"tkg:Autologous"} and _values(own["cells"][1]) == {"tkg:Allogeneic"}
    hla = _row(doc, "tkg:hlaMatchingRequired")
    assert _values(hla["cells"][0]) == set() and _values(hla["cells"][1]) == {False}  # autologous: not inherited
    assert _values(_row(doc, "tkg:gvhdRisk")["cells"][0]) == set()
    approvals = _row(doc, "approval:fda")
    assert approvals["cells"][0][0]["value"]["date"] == "2017-08-30"
    assert approvals["cells"][1] == []


def test_a_withdrawn_first_approval_says_so(runner: CliRunner) -> None:
    doc = _json(runner, "samplizumab", "exampumab")
    [samplizumab], [exampumab] = _row(doc, "approval:fda")["cells"]
    assert samplizumab["value"]["withdrawn"] == "2021-02-19" and "withdrawn 2021-02-19" in samplizumab["label"]
    assert exampumab["value"]["withdrawn"] is None and "withdrawn" not in exampumab["label"]


def test_every_approved_indication_with_line_setting_biomarker_and_partners(runner: CliRunner) -> None:
    doc = _json(runner, "samplizumab", "exampumab")
    [samplizumab, exampumab] = _row(doc, "approval:fda:indications")["cells"]
    labels = sorted(v["label"].split(" [")[0] for v in samplizumab)
    assert labels == [
        "2016-05-18, urothelial carcinoma, second line, advanced or metastatic (accelerated approval), withdrawn 2021-02-19",
        "2018-12-06, non-small cell lung cancer, first line, advanced or metastatic, with carboplatin and paclitaxel"
        " (regular approval)",
        "2019-03-08, triple-negative breast cancer, advanced or metastatic, PD-L1-stained immune cells covering at"
        " least 1% of the tumour area, with paclitaxel protein-bound (accelerated approval), withdrawn 2021-10-06",
    ]
    assert len(exampumab) == 5
    rows = [r["property"] for r in doc["rows"]]
    assert rows.index("approval:fda") + 1 == rows.index("approval:fda:indications")


def test_a_converted_accelerated_approval_says_since_when_it_is_regular(runner: CliRunner) -> None:
    [exampumab, _] = _row(_json(runner, "exampumab", "samplizumab"), "approval:fda:indications")["cells"]
    [tnbc] = [v["label"] for v in exampumab if v["label"].startswith("2017-07-31")]
    assert "regular from 2025-04-08" in tnbc


def test_label_safety_actions_in_date_order_with_the_products_they_cover(runner: CliRunner) -> None:
    doc = _json(runner, "testacel", "donorcel")
    [testacel, donorcel] = _row(doc, "label-event:label-events")["cells"]
    assert [(v["value"]["date"], v["value"]["action"]) for v in testacel] == [
        ("2024-04-18", "tkg:BoxedWarningRequired"),
        ("2025-06-27", "tkg:RemsEliminated"),
    ]
    assert all(", for " not in v["label"] for v in testacel)  # about Testacel itself
    assert donorcel == []
    modality = _row(_json(runner, "car-t", "car-nk"), "label-event:label-events")["cells"][0]
    assert modality and all("Testacel (testagene autoleucel)" in v["label"] for v in modality)


def test_conflicting_sources_are_all_shown_and_flagged(graph: kg.TherapyGraph) -> None:
    comparison = compare(graph, ["car-t", "car-nk"])
    gvhd = next(r for r in comparison.rows if r.key == "tkg:gvhdRisk")
    assert gvhd.conflict
    assert {(f.value, tuple(f.sources)) for f in gvhd.cells[1]} == {
        ("tkg:RiskMinimal", ("src:popular-2020",)),
        ("tkg:RiskLow", ("src:review-2021",)),
    }


def test_rows_follow_the_ontology_groups_in_order(graph: kg.TherapyGraph) -> None:
    groups = list(dict.fromkeys(r.group for r in compare(graph, ["car-t", "car-nk"]).rows))
    order = ["manufacturing", "safety", "mechanism", "targets", "regulatory", "evidence", "practical"]
    assert groups == [g for g in order if g in groups]


def test_only_differences_and_group_filters(graph: kg.TherapyGraph) -> None:
    everything = compare(graph, ["testacel", "cordnk-19"])
    assert any(not r.differs for r in everything.rows)
    different = compare(graph, ["testacel", "cordnk-19"], only_differences=True)
    assert different.rows and all(r.differs for r in different.rows)
    assert len(different.rows) < len(everything.rows)
    safety = compare(graph, ["car-t", "car-nk"], group="safety")
    assert {r.group for r in safety.rows} == {"safety"}


def test_three_way_mixed_levels(runner: CliRunner) -> None:
    doc = _json(runner, "car-t", "car-nk", "checkpoint-inhibitor")
    assert [t["level"] for t in doc["therapies"]] == ["modality"] * 3
    assert all(len(r["cells"]) == 3 for r in doc["rows"])
    mixed = _json(runner, "testacel", "car-nk")
    assert [t["level"] for t in mixed["therapies"]] == ["product", "modality"]


def test_a_property_of_another_modality_is_not_applicable_rather_than_missing(
    runner: CliRunner, graph: kg.TherapyGraph
) -> None:
    """A cell therapy's cell source does not describe an antibody, nor an antibody's mechanism of
    action a cell product: those cells say 'not applicable'; a value nobody states says 'no data'."""
    doc = _json(runner, "testacel", "exampumab")
    applicable = {r["property"]: r["applicable"] for r in doc["rows"]}
    assert applicable["tkg:cellSource"] == [True, False]
    assert applicable["tkg:costimulatoryDomain"] == [True, False]
    assert applicable["tkg:mechanismOfAction"] == [False, True]
    assert applicable["tkg:crsRisk"] == [True, True]  # not specific to a modality
    for fmt, marker in (("csv", "not applicable"), ("markdown", "*not applicable*"), ("html", "not applicable")):
        result = runner.invoke(app, ["compare", "testacel", "exampumab", "--format", fmt])
        assert result.exit_code == 0 and marker in result.stdout
    rows = {
        r[1]: r
        for r in csv.reader(io.StringIO(runner.invoke(app, ["compare", "testacel", "exampumab", "-f", "csv"]).stdout))
    }
    assert rows["tkg:cellSource"][5] == "not applicable" and rows["tkg:mechanismOfAction"][4] == "not applicable"
    # a modality above both kinds may show its sub-modalities' values of every property
    assert all(row.applicable for row in graph.describe("immunotherapy").properties)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        self.links += [v for k, v in attrs if k in {"src", "href"} and v]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, ["compare", "car-t", "car-nk", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_csv_parses_with_one_column_per_therapy(runner: CliRunner) -> None:
    rows = list(csv.reader(io.StringIO(_invoke(runner, "--format", "csv"))))
    assert rows[0] == ["group", "property", "label", "differs", "CAR-T cell therapy", "CAR-NK cell therapy"]
    by_property = {r[1]: r for r in rows[1:]}
    assert by_property["tkg:cellSource"][4].startswith(
        "allogeneic (for allogeneic-car-t) [src:review-2021 review 2021-08-06] | autologous (for autologous-car-t) ["
    )
    assert "src:popular-2020" in by_property["tkg:cellSource"][5]
    assert all(len(r) == 6 for r in rows)


def test_markdown_is_a_table_per_group_with_sources(runner: CliRunner) -> None:
    text = _invoke(runner, "--format", "markdown")
    table_lines = [line for line in text.splitlines() if line.startswith("|")]
    assert table_lines and all(line.count("|") - line.count("\\|") == 4 for line in table_lines)
    assert "| **HLA matching required** | yes (for allogeneic-car-t)" in text
    assert "## Sources" in text and "Author D, Author E" in text


def test_html_is_standalone_parsable_and_links_nowhere(runner: CliRunner) -> None:
    page = _invoke(runner, "--format", "html")
    parser = _Collector()
    parser.feed(page)
    assert parser.links == []
    assert "script" not in parser.tags and "link" not in parser.tags
    assert "table" in parser.tags and "allogeneic" in "".join(parser.text)
    assert not re.search(r"(src|href)\s*=", page)


def test_html_escapes_data_text(graph: kg.TherapyGraph) -> None:
    from kg import report

    comparison = compare(graph, ["car-t", "car-nk"])
    comparison.rows[0].cells[0][0].label = "<img src=x onerror=alert(1)>"
    page = report.to_html(comparison)
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_no_sources_drops_citations(runner: CliRunner) -> None:
    assert "Reviewer A, Reviewer B" in _invoke(runner)
    assert "Reviewer A, Reviewer B" not in _invoke(runner, "--no-sources")


def test_table_output_when_piped_has_no_colour_codes(runner: CliRunner) -> None:
    text = _invoke(runner)
    assert "\x1b[" not in text
    assert "CAR-NK cell therapy" in text and "≠" in text


def test_output_file_is_written(runner: CliRunner, tmp_path) -> None:
    target = tmp_path / "view.html"
    result = runner.invoke(app, ["compare", "car-t", "car-nk", "-f", "html", "-o", str(target)])
    assert result.exit_code == 0
    assert target.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["car-t"], "at least two"),
        (["car-t", "CAR T-cell therapy"], "both name"),
        (["car-t", "testacl"], "Did you mean: testagene-autoleucel"),
        (["car-t", "car-nk", "--group", "nope"], "Unknown group"),
    ],
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["compare", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_every_cited_source_carries_its_kind_and_date(runner: CliRunner) -> None:
    doc = _json(runner, "car-t", "car-nk")
    cited = [s for row in doc["rows"] for cell in row["cells"] for value in cell for s in value["sources"]]
    assert cited and all({"id", "citation", "kind", "date"} <= set(s) for s in cited)
    kinds = {s["id"]: s["kind"] for s in cited}
    assert kinds["src:review-2021"] == "review claim" and kinds["src:cordnk-trial-2020"] == "primary evidence"
    assert kinds["src:popular-2020"] == "popular claim"
    assert {s["id"]: s["date"] for s in cited}["src:cordnk-trial-2020"] == "2020-02-06"
    assert all({"kind", "date"} <= set(s) for s in doc["sources"])


def test_table_markdown_and_html_show_kind_and_date_and_weaken_popular_claims(runner: CliRunner) -> None:
    table = _invoke(runner, "--group", "manufacturing")
    assert "[1 review 2021-08-06]" in table and "popular" in table
    markdown = _invoke(runner, "--format", "markdown", "--group", "manufacturing")
    # the seed article alone says CAR-T manufacturing takes weeks: in italics
    weak = next(line for line in markdown.splitlines() if line.startswith("| **manufacturing time**"))
    assert "| *several weeks of patient-specific culture and expansion (for autologous-car-t) [" in weak
    assert "review claim, 2021-08-06. Reviewer A" in markdown
    html = _invoke(runner, "--format", "html", "--group", "manufacturing")
    assert '<span class="weak">several weeks' in html


def test_evidence_option_keeps_values_a_strong_enough_source_states(runner: CliRunner) -> None:
    strict = json.loads(_invoke(runner, "--format", "json", "--evidence", "primary"))
    kinds = {s["id"]: s["kind"] for s in strict["sources"]}
    assert strict["rows"] and set(kinds.values()) <= {
        "primary evidence",
        "regulatory document",
        "registry record",
        "review claim",
        "popular claim",
    }
    for row in strict["rows"]:
        for cell in row["cells"]:
            for value in cell:
                assert any(kinds[s["id"]] == "primary evidence" for s in value["sources"]), (row["property"], value)
    assert "tkg:hlaMatchingRequired" not in {r["property"] for r in strict["rows"]}  # review and popular claims only
    reviews = json.loads(_invoke(runner, "--format", "json", "--evidence", "review"))
    assert "tkg:hlaMatchingRequired" in {r["property"] for r in reviews["rows"]}
    bad = runner.invoke(app, ["compare", "car-t", "car-nk", "--evidence", "strong"])
    assert bad.exit_code == 2 and "primary, regulatory, registry, review, popular" in bad.output


def test_rates_say_what_they_count(runner: CliRunner) -> None:
    """Testacel's 82% and 72% of the same 101 patients are told apart; grading systems are spelled out."""
    doc = json.loads(runner.invoke(app, ["compare", "testacel", "cordnk-19", "--format", "json"]).stdout)
    responses = [v["label"] for v in _row(doc, "outcome:tkg:ObjectiveResponse")["cells"][0]]
    assert any("72% of 101" in r and "assessed by independent review committee" in r for r in responses)
    assert any("82% of 101" in r and "(infused)" in r for r in responses)
    graded = [
        v["label"] for row in doc["rows"] if row["property"].startswith("adverse-event:crs") for v in row["cells"][0]
    ]
    assert len(graded) == 2 and all("Penn grading scale (University of Pennsylvania)" in label for label in graded)
    overlap = [v["label"] for v in _row(doc, "adverse-event:crs:tkg:AnyGrade")["cells"][1] if "0/11" in v["label"]]
    assert overlap and "patients also counted in cordnk-2024-crs" in overlap[0]


def test_show_lists_a_products_label_safety_events(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", "testacel", "--format", "json"])
    events = json.loads(result.stdout)["label_events"]
    assert [e["fields"]["eventDate"][0]["value"] for e in events] == ["2024-04-18", "2025-06-27"]


def test_survival_rows_give_each_estimate_with_its_interval_and_comparator(runner: CliRunner) -> None:
    """One row per endpoint and kind of estimate, after the response rates, in the ontology's order
    of endpoints; an interval open above says so, a hazard ratio names what it was compared with."""
    doc = _json(runner, "exampumab", "testacel", "--group", "evidence")
    keys = [r["property"] for r in doc["rows"]]
    assert keys == [
        "trial:trials",
        "outcome:tkg:ObjectiveResponse",
        "time-to-event:tkg:ProgressionFreeSurvival:median",
        "time-to-event:tkg:ProgressionFreeSurvival:hazard-ratio",
        "time-to-event:tkg:OverallSurvival:median",
        "time-to-event:tkg:OverallSurvival:rate",
    ]
    [hazard] = _row(doc, "time-to-event:tkg:ProgressionFreeSurvival:hazard-ratio")["cells"][0]
    assert hazard["value"]["hazard_ratio"] == 0.55 and hazard["value"]["interval"] == [0.41, 0.73]
    assert hazard["label"].startswith("HR 0.55 (95% CI 0.41–0.73) vs platinum-based chemotherapy · EXAMPLE-024")
    assert "data cut-off 2016-03-14" in hazard["label"] and _sources([hazard]) == {"src:exampumab-trial-2016"}
    [open_above] = _row(doc, "time-to-event:tkg:OverallSurvival:median")["cells"][1]
    assert open_above["value"]["not_reached"] is True and open_above["value"]["interval"] == [12.0, None]
    assert open_above["label"].startswith("median not reached (95% CI 12–not reached)")
    [landmark] = _row(doc, "time-to-event:tkg:OverallSurvival:rate")["cells"][0]
    assert (landmark["value"]["months"], landmark["value"]["percentage"]) == (6.0, 78.5)
    assert landmark["label"].startswith("6-month rate 78.5% · EXAMPLE-024")
    [noted] = _row(doc, "time-to-event:tkg:ProgressionFreeSurvival:median")["cells"][1]
    assert noted["label"].endswith("(infused; among patients infused at the target dose)")  # the curator's note
    [median] = _row(doc, "time-to-event:tkg:ProgressionFreeSurvival:median")["cells"][0]
    assert median["value"]["denominator"] == 154 and "(enrolled (intention to treat)" in median["label"]


def test_a_pooled_rate_is_shown_with_its_population_and_no_trial(tmp_path) -> None:
    from kg import store
    from tests.test_validate import with_pooled_label

    opener, location = store.open_store(tmp_path / "store", data_dir=with_pooled_label(tmp_path))
    graph = kg.TherapyGraph(location=location, opener=opener)
    rows = {r.key: r for r in compare(graph, ["cordnk-19", "testagene-autoleucel"]).rows}
    pooled = [f for f in rows["adverse-event:crs:tkg:AnyGrade"].cells[0] if "src:pooled-label" in f.sources]
    assert [f.label for f in pooled] == ["3/200 (1.5%) (pooled safety population)"]
    assert pooled[0].value["trial"] == ""
    grade = [f.label for f in rows["adverse-event:crs:tkg:Grade3Or4"].cells[0]]
    assert grade == ["0/11 · Cord-blood CD19 CAR-NK cells in B-cell lymphoma (NCT09990001)"]


def test_practicalities_give_conditioning_dose_setting_and_price(runner: CliRunner) -> None:
    doc = _json(runner, "testacel", "cordnk-19", "--group", "practical")
    assert [r["property"] for r in doc["rows"]] == [
        "tkg:lymphodepletion",
        "tkg:dose",
        "tkg:outpatientAdministration",
        "price:list-price",
    ]
    assert [v["label"] for v in _row(doc, "tkg:lymphodepletion")["cells"][0]] == [
        "fludarabine and cyclophosphamide",
        "bendamustine",
    ]
    [price] = _row(doc, "price:list-price")["cells"][0]
    assert price["value"] == {
        "amount": 400000,
        "currency": "USD",
        "date": "2017-08",
        "basis": "US wholesale acquisition cost",
        "product": "testagene-autoleucel",
    }
    assert price["label"] == "USD 400,000 (US wholesale acquisition cost, 2017-08)"
    assert _sources([price]) == {"src:news-2017-testacel"} and _row(doc, "price:list-price")["cells"][1] == []
    manufacturing = _json(runner, "testacel", "cordnk-19", "--group", "manufacturing")
    assert _values(_row(manufacturing, "tkg:geneTransfer")["cells"][1]) == {"tkg:GammaretroviralVector"}
    assert _values(_row(manufacturing, "tkg:veinToVeinTime")["cells"][0]) == {"median 33 days"}


def test_an_observation_names_the_group_its_source_counted(runner: CliRunner) -> None:
    doc = _json(runner, "exampumab", "samplizumab", "--group", "safety")
    [grade3] = _row(doc, "adverse-event:pneumonitis:tkg:Grade3OrHigher")["cells"][0]
    assert grade3["label"] == "4/154 · EXAMPLE-024 (NCT09990003) (group: Exampumab 200 mg)"
