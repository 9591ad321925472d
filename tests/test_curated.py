"""What the curated data answers: the questions analysts ask of the real graph, and the facts the
first users found shown wrongly. Code is tested on the invented graph (tests/data/mini); a data edit
that changes one of these answers should change this file, in the same commit."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

import kg
from kg import registry
from kg.query import bindings, named
from tests.conftest import ingested_store

SRC = "https://w3id.org/therapy-kg/source/"
RES = "https://w3id.org/therapy-kg/resource/"
RECORDS = Path(__file__).parent / "data"

AUTOLOGOUS_PRODUCTS = [
    "tisagenlecleucel",
    "axicabtagene-ciloleucel",
    "brexucabtagene-autoleucel",
    "lisocabtagene-maraleucel",
    "idecabtagene-vicleucel",
    "ciltacabtagene-autoleucel",
    "obecabtagene-autoleucel",
]


@pytest.fixture()
def graph(curated_graph: kg.TherapyGraph) -> kg.TherapyGraph:
    return curated_graph


def ask(graph: kg.TherapyGraph, name: str, **params: str) -> list[dict]:
    query = named(name)
    return graph.select(query.text, bindings(graph, query, params))


def _row(description, prop: str):
    return next(row for row in description.properties if row.key == prop)


@pytest.mark.parametrize("product", AUTOLOGOUS_PRODUCTS)
def test_approved_car_t_products_are_autologous_and_never_shown_needing_hla_matching(
    graph: kg.TherapyGraph, product: str
) -> None:
    description = graph.describe(product)
    assert [f.value for f in _row(description, "tkg:cellSource").facts] == ["tkg:Autologous"]
    assert "autologous-car-t" in [ref.id for ref in description.lineage]
    assert True not in [f.value for f in _row(description, "tkg:hlaMatchingRequired").facts]
    assert "tkg:RiskHigh" not in [f.value for f in _row(description, "tkg:gvhdRisk").facts]
    assert True not in [f.value for f in _row(description, "tkg:offTheShelf").facts]


@pytest.mark.parametrize(
    ("product", "prop"), [("kymriah", "tkg:veinToVeinTime"), ("tecartus", "tkg:manufacturingSuccess")]
)
def test_practical_figures_of_different_populations_are_not_a_disagreement(
    graph: kg.TherapyGraph, product: str, prop: str
) -> None:
    """Kymriah's vein-to-vein times (adults with LBCL from leukapheresis; children with ALL from
    enrolment) and Tecartus's manufacturing figures (ZUMA-2, ZUMA-3) count different patients: all
    are shown, none flagged as sources disagreeing."""
    row = _row(graph.describe(product), prop)
    assert len(row.facts) >= 2 and not row.conflict


def test_ucart19_does_not_inherit_the_allogeneic_gvhd_claim(graph: kg.TherapyGraph) -> None:
    """UCART19's donor T cells have their T-cell receptor knocked out to avoid GvHD; its own facts
    (cell source, no HLA matching) come from its primary report."""
    ucart19 = graph.describe("UCART19")
    assert "allogeneic-car-t" in [ref.id for ref in ucart19.lineage]
    assert {f.value for f in _row(ucart19, "tkg:geneEdit").facts} == {"tkg:TracKnockout", "tkg:Cd52Knockout"}
    assert _row(ucart19, "tkg:gvhdRisk").facts == []
    [hla] = _row(ucart19, "tkg:hlaMatchingRequired").facts
    assert hla.value is False and hla.inherited_from is None and hla.sources == ["src:qasim-2017-sci-transl-med"]


# Aucatzyl (obecabtagene autoleucel) never had a REMS, but no source read says so yet
@pytest.mark.parametrize("product", [p for p in AUTOLOGOUS_PRODUCTS if p != "obecabtagene-autoleucel"])
def test_the_car_t_rems_shows_as_eliminated_in_june_2025(graph: kg.TherapyGraph, product: str) -> None:
    [rems] = _row(graph.describe(product), "tkg:remsRequired").facts
    assert rems.value is False and rems.sources == ["src:fda-2025-car-t-rems-elimination"]


# --- named queries on the curated data ----------------------------------------------------


def test_no_hla_matching(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "no-hla-matching")
    car_nk = {r["source"] for r in rows if r["therapy"] == RES + "car-nk"}
    assert {SRC + "lu-2021-front-oncol", SRC + "yilmaz-2020-j-hematol-oncol", SRC + "cancerfax-2020-car-nk"} <= car_nk
    inherited = [r for r in rows if r["therapy"] == RES + "mda-cd19-car-nk"]
    assert inherited and {r["statedFor"] for r in inherited} == {RES + "car-nk"}
    assert not {RES + "car-t", RES + "tisagenlecleucel"} & {r["therapy"] for r in rows}


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


def test_approval_timeline_is_in_date_order(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "approval-timeline")
    dates = [r["date"] for r in rows]
    assert dates == sorted(dates)
    assert any(r["product"] == "Keytruda (pembrolizumab)" and r["date"] == dt.date(2014, 9, 4) for r in rows)


WITHDRAWN_LIST = SRC + "fda-withdrawn-cancer-accelerated-approvals"
WITHDRAWN_LIST_2026 = SRC + "fda-withdrawn-cancer-accelerated-approvals-2026"


def test_withdrawn_indications_give_both_dates_and_the_regulators_list(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "withdrawn-indications")
    found = {(r["product"], r["indication"], r["approved"], r["withdrawn"]) for r in rows}
    assert found == {
        ("Opdivo (nivolumab)", "small cell lung cancer", dt.date(2018, 8, 16), dt.date(2020, 12, 29)),
        ("Imfinzi (durvalumab)", "urothelial carcinoma", dt.date(2017, 5, 1), dt.date(2021, 2, 19)),
        ("Keytruda (pembrolizumab)", "small cell lung cancer", dt.date(2019, 6, 17), dt.date(2021, 3, 30)),
        ("Tecentriq (atezolizumab)", "urothelial carcinoma", dt.date(2016, 5, 18), dt.date(2021, 4, 13)),
        ("Opdivo (nivolumab)", "hepatocellular carcinoma", dt.date(2017, 9, 22), dt.date(2021, 7, 23)),
        ("Tecentriq (atezolizumab)", "triple-negative breast cancer", dt.date(2019, 3, 8), dt.date(2021, 10, 6)),
        (
            "Keytruda (pembrolizumab)",
            "gastric or gastro-oesophageal junction adenocarcinoma",
            dt.date(2017, 9, 22),
            dt.date(2022, 2, 4),
        ),
        # cisplatin-ineligible urothelial carcinoma: on FDA's 2026 list (and its 2024 copy), not the 2021 one
        ("Tecentriq (atezolizumab)", "urothelial carcinoma", dt.date(2017, 4, 17), dt.date(2022, 12, 2)),
    }
    assert [r["withdrawn"] for r in rows] == sorted(r["withdrawn"] for r in rows)
    # every withdrawal is FDA's: the 2026 list states all eight, the 2021 archive copy the five it held
    assert all(WITHDRAWN_LIST_2026 in r["sources"].split() for r in rows)
    assert sum(WITHDRAWN_LIST in r["sources"].split() for r in rows) == 5
    assert {r["pathway"] for r in rows} == {"accelerated approval"}


def test_withdrawn_indications_of_one_class(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "withdrawn-indications", therapy="PD-1 inhibitor")
    assert sorted(r["product"] for r in rows) == [
        "Keytruda (pembrolizumab)",
        "Keytruda (pembrolizumab)",
        "Opdivo (nivolumab)",
        "Opdivo (nivolumab)",
    ]
    assert ask(graph, "withdrawn-indications", therapy="car-t") == []


def test_pending_accelerated_approvals_leave_out_converted_and_withdrawn(graph: kg.TherapyGraph) -> None:
    rows = ask(graph, "accelerated-approvals-pending")
    pending = {(r["product"], r["indication"], r["approved"]) for r in rows}
    assert ("Breyanzi (lisocabtagene maraleucel)", "chronic lymphocytic leukaemia", dt.date(2024, 3, 14)) in pending
    assert not any(  # converted on 20 February 2026, FDA's 2026 verified-benefit list says
        p == "Breyanzi (lisocabtagene maraleucel)" and i == "follicular lymphoma" for p, i, _ in pending
    )
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
    partners = {  # GROUP_CONCAT leaves the order of the parts to the engine
        (r["product"], r["lines"], tuple(sorted((r["givenWith"] or "").split("; "))), r["withdrawn"]) for r in rows
    }
    assert ("Imfinzi (durvalumab)", "first line", ("carboplatin or cisplatin", "etoposide"), None) in partners
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


def test_blood_cancer_approvals_are_relapsed_or_refractory_not_advanced_or_metastatic(graph: kg.TherapyGraph) -> None:
    """Every approved CAR-T use is for relapsed or refractory disease, as each indication says; the
    solid-tumour setting 'advanced or metastatic' is never theirs, and PD-1 inhibitors' Hodgkin
    lymphoma approvals share the haematological setting."""
    car_t = ask(graph, "approvals-by-disease", therapy="car-t")
    assert car_t and all(r["settings"] == "relapsed or refractory" for r in car_t if r["agency"].endswith("(FDA)"))
    hodgkin = ask(graph, "approvals-by-disease", therapy="pd-1-inhibitor", disease="classical-hodgkin-lymphoma")
    assert {r["settings"] for r in hodgkin} == {"relapsed or refractory"}


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


def test_approval_timeline_credits_each_date_to_its_sources_and_notes_known_errors(graph: kg.TherapyGraph) -> None:
    rows = [r for r in ask(graph, "approval-timeline") if r["product"] == "Abecma (idecabtagene vicleucel)"]
    first = rows[0]
    assert first["date"] == dt.date(2021, 3, 26)
    assert set(first["sources"].split()) == {  # the approval summary gives no day
        SRC + "drugs-com-abecma-history",
        SRC + "fda-oncology-approval-notifications-2025",
    }
    assert first["knownErrors"] == SRC + "ons-voice-2021-abecma states 2021-03-27"
    assert dt.date(2021, 3, 27) not in [r["date"] for r in rows]


def test_disagreements_cover_approval_dates_and_mark_known_errors(graph: kg.TherapyGraph) -> None:
    rows = [r for r in ask(graph, "source-disagreements") if r["property"] == "approval date"]
    assert {(r["value"], r["source"], r["knownError"]) for r in rows} == {
        ("2021-03-26", SRC + "drugs-com-abecma-history", None),
        ("2021-03-26", SRC + "fda-oncology-approval-notifications-2025", None),
        ("2021-03-27", SRC + "ons-voice-2021-abecma", RES + "ons-voice-2021-abecma-date-error"),
        ("2022-05-25", SRC + "ema-orphan-carvykti-mm", None),
        ("2022-05-26", SRC + "mm-hub-2022-cilta-cel-ec", RES + "mm-hub-2022-cilta-cel-ec-date-error"),
        # FDA's list of ongoing accelerated approvals dates Breyanzi in CLL a week after the news report
        ("2024-03-14", SRC + "aabb-2024-breyanzi-cll", None),
        ("2024-03-21", SRC + "fda-ongoing-cancer-accelerated-approvals-2026", None),
        # FDA's notification lists date three approvals a day or three after FDA's notices do
        ("2017-07-31", SRC + "fda-2017-nivolumab-colorectal", None),
        ("2017-07-31", SRC + "fda-verified-cancer-accelerated-approvals-2026", None),
        ("2017-08-01", SRC + "fda-hematology-oncology-approvals-2017-2020", None),
        ("2020-03-27", SRC + "fda-2020-durvalumab-es-sclc", None),
        ("2020-03-30", SRC + "fda-hematology-oncology-approvals-2017-2020", None),
        ("2020-03-30", SRC + "fda-oncology-approval-notifications-2025", None),
        ("2021-08-17", SRC + "fda-2021-dostarlimab-dmmr-solid-tumours", None),
        ("2021-08-17", SRC + "fda-ongoing-cancer-accelerated-approvals-2026", None),
        ("2021-08-18", SRC + "fda-oncology-approval-notifications-2025", None),
    }


def test_an_approval_whose_date_sources_disagree_on_says_so_in_show_and_the_timeline(graph: kg.TherapyGraph) -> None:
    """Two dates of one approval read as one approval with a disagreement, not as two approvals."""
    approvals = graph.describe("breyanzi").of_kind("approval")
    assert {item.id: name for item in approvals for name in item.fields if item.disagrees(name)} == {
        "approval-lisocabtagene-maraleucel-fda-2024-cll": "approvalDate"
    }
    rows = {(str(r["date"]), r["product"]): r["otherDates"] for r in ask(graph, "approval-timeline")}
    assert rows[("2024-03-14", "Breyanzi (lisocabtagene maraleucel)")] == "2024-03-21"
    assert rows[("2024-03-21", "Breyanzi (lisocabtagene maraleucel)")] == "2024-03-14"
    assert rows[("2021-03-26", "Abecma (idecabtagene vicleucel)")] is None  # 27 March is a known error


def test_a_combination_arm_is_named_in_the_rate_and_survival_listings(graph: kg.TherapyGraph) -> None:
    """A result of nivolumab with ipilimumab must not read as nivolumab alone."""
    rates = {(r["nct"], r["group"]) for r in ask(graph, "response-rates") if r["product"] == "Opdivo (nivolumab)"}
    assert ("NCT02231749", "Nivolumab + ipilimumab") in rates  # CheckMate 214
    assert ("NCT02060188", "Nivolumab alone") in rates  # CheckMate 142's monotherapy cohort
    survival = ask(graph, "survival-outcomes", therapy="nivolumab")
    assert {r["group"] for r in survival if r["nct"] == "NCT02477826"} == {"Nivolumab + ipilimumab"}  # CheckMate 227
    [rfs] = [r for r in survival if r["endpoint"] == "recurrence-free survival"]
    assert (rfs["nct"], rfs["hazardRatio"], rfs["comparator"]) == (
        "NCT02388906",
        Decimal("0.65"),
        "ipilimumab for up to one year",
    )


@pytest.mark.parametrize("pair", [("car-t", "car-nk"), ("kymriah", "mda-cd19-car-nk")])
def test_golden_comparison(curated_runner, golden, pair: tuple[str, str]) -> None:
    """The whole comparison of the curated data, reviewed on every change (`pytest --update-golden`)."""
    import json

    from kg.cli import app

    result = curated_runner.invoke(app, ["compare", *pair, "--format", "json"])
    assert result.exit_code == 0, result.output
    golden("curated-compare-" + "-vs-".join(pair), json.loads(result.stdout))


NOTEBOOK = Path(__file__).parent.parent / "docs" / "notebook.md"


def test_the_notebook_guide_runs_as_written(curated_env: None) -> None:
    """docs/notebook.md asks the curated data real questions; its code blocks run in order."""
    pytest.importorskip("pandas")
    blocks = re.findall(r"```python\n(.*?)```", NOTEBOOK.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 4
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(NOTEBOOK), "exec"), namespace)
    assert len(namespace["summary"]) >= 2 and len(namespace["first_line"]) >= 3


# --- regulators' files and registry records loaded beside the curated data ---------------------


@pytest.fixture()
def drugsatfda_loaded(curated_env: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingested_store(tmp_path_factory, registry.ingest_drugsatfda, RECORDS / "drugsatfda", 10)


@pytest.fixture()
def ema_loaded(curated_env: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingested_store(
        tmp_path_factory, registry.ingest_ema, RECORDS / "ema" / "medicines-output-2025-02-12.xlsx", 23
    )


def test_the_first_original_fda_approval_meets_the_curated_one(drugsatfda_loaded: Path) -> None:
    """Keytruda's BLA 125514 original approval is the approval curated sources describe: one date,
    now stated by both; Opdivo's later BLA 125527 (a new indication as its own BLA) is not."""
    graph = kg.open_graph(drugsatfda_loaded)
    rows = graph.select(
        "SELECT ?date ?source WHERE { GRAPH ?source { tkgr:approval-pembrolizumab-fda-2014 tkg:approvalDate ?date } }"
    )
    assert {str(r["date"]) for r in rows} == {"2014-09-04"}
    assert {SRC + "fda-2014-pembrolizumab", SRC + "drugsatfda-bla-125514"} <= {r["source"] for r in rows}
    firsts = graph.select("SELECT ?approval WHERE { ?action tkg:application tkgr:bla-125527 ; tkg:approval ?approval }")
    assert firsts == []
    dates = [r for r in graph.select(named("source-disagreements").text) if r["property"] == "approval date"]
    assert {r["subject"] for r in dates} == {  # the curated disagreements only
        "FDA approval of Abecma, 2021",
        "FDA approval of Breyanzi for CLL/SLL, 2024",
        "EU conditional marketing authorisation of Carvykti, 2022",
        "FDA approval of Opdivo for previously treated MSI-H or dMMR metastatic colorectal cancer, 2017",
        "FDA approval of Imfinzi with etoposide and platinum for first-line extensive-stage SCLC, 2020",
        "FDA accelerated approval of Jemperli for dMMR recurrent or advanced solid tumours, 2021",
    }


def test_an_ema_date_that_differs_from_a_curated_source_shows_as_a_disagreement(ema_loaded: Path) -> None:
    """EMA gives Carvykti's authorisation as 25 May 2022 (its table and its orphan designation page);
    a news source dated it 26 May."""
    rows = [
        r
        for r in kg.open_graph(ema_loaded).select(named("source-disagreements").text)
        if r["subject"] == "EU conditional marketing authorisation of Carvykti, 2022"
    ]
    assert {(str(r["value"]), r["source"]) for r in rows} == {
        ("2022-05-25", SRC + "ema-emea-h-c-005095"),
        ("2022-05-25", SRC + "ema-orphan-carvykti-mm"),
        ("2022-05-26", SRC + "mm-hub-2022-cilta-cel-ec"),
    }


def test_coverage_counts_loaded_eu_authorisations_on_the_curated_node(ema_loaded: Path) -> None:
    from kg.coverage import coverage

    graph = kg.open_graph(ema_loaded)
    kymriah = next(p for p in coverage(graph, "kymriah") if p.id == "tisagenlecleucel")
    eu = kymriah.approvals["European Medicines Agency (EMA)"]
    # the loaded first authorisation lands on the curated node: two, the 2018 one and the 2022 extension
    assert (eu.count, str(eu.latest)) == (2, "2022-04-29")
    first = graph.select("SELECT ?g WHERE { GRAPH ?g { tkgr:approval-tisagenlecleucel-ema-2018 tkg:approvalDate ?d } }")
    assert SRC + "ema-emea-h-c-004090" in {r["g"] for r in first}


def test_curated_and_registry_facts_about_one_trial_meet(curated_env: None, tmp_path: Path) -> None:
    store = tmp_path / "store"
    registry.ingest_ctgov(store, [RECORDS / "ctgov" / "NCT03056339.json"])
    graph = kg.open_graph(store)
    sources = {
        r["g"].rsplit("/", 1)[1]
        for r in graph.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { tkgr:NCT03056339 a tkg:ClinicalTrial } }")
    }
    assert {"liu-2020-nejm", "ctgov-NCT03056339"} <= sources
    trials = graph.describe("mda-cd19-car-nk").of_kind("trial")
    assert "NCT03056339" in [t.first("nctId") for t in trials], "curated trials stay listed after ingest"
