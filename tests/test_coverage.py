"""`kg coverage`: what the graph records per product, so users know how complete it is."""

from __future__ import annotations

import datetime as dt
import json

from typer.testing import CliRunner

import kg
from kg import coverage as coverage_module
from kg.cli import app
from kg.coverage import OFFICIAL_KINDS, coverage, official_sources
from kg.query import named
from tests.conftest import MINI

FDA = "US Food and Drug Administration (FDA)"


def _by_id(graph: kg.TherapyGraph, therapy: str | None = None) -> dict:
    return {p.id: p for p in coverage(graph, therapy)}


def test_every_product_is_listed_with_its_approvals_and_withdrawals(graph: kg.TherapyGraph) -> None:
    products = _by_id(graph)
    assert set(products) == {ref.id for ref in graph.therapies.all("product")}
    samplizumab = products["samplizumab"]
    timeline = graph.select(named("approval-timeline").text)
    dates = {r["date"] for r in timeline if r["product"] == "Samplo (samplizumab)" and r["agency"] == FDA}
    assert (samplizumab.approvals[FDA].count, samplizumab.approvals[FDA].latest) == (3, max(dates))
    assert (samplizumab.withdrawn[FDA].count, samplizumab.withdrawn[FDA].latest) == (2, dt.date(2021, 10, 6))
    assert products["exampumab"].withdrawn == {}
    assert products["cordnk-19"].approvals == {} and products["cordnk-19"].sources


def test_approvals_stating_their_pivotal_trial_line_and_setting(graph: kg.TherapyGraph, runner: CliRunner) -> None:
    """Exampa's five FDA approvals: one names its trial, three a line of therapy, all five a setting."""
    products = _by_id(graph)
    assert products["exampumab"].approvals[FDA].count == 5
    assert products["exampumab"].indication_fields == {FDA: {"pivotal-trial": 1, "line": 3, "setting": 5}}
    assert products["testagene-autoleucel"].indication_fields == {FDA: {"pivotal-trial": 1, "line": 2, "setting": 2}}
    assert products["cordnk-19"].indication_fields == {}
    document = json.loads(runner.invoke(app, ["coverage", "checkpoint-inhibitor", "--format", "json"]).output)
    exampa = next(p for p in document["products"] if p["id"] == "exampumab")
    assert exampa["indication_fields"] == {FDA: {"pivotal-trial": 1, "line": 3, "setting": 5}}
    assert (
        f"{FDA}: of 10 approvals, 2 state their pivotal trial, 7 the line of therapy and 10 the setting."
        in " ".join(runner.invoke(app, ["coverage"]).output.split())
    )


def test_a_date_known_to_be_an_error_is_not_counted(graph: kg.TherapyGraph) -> None:
    """Testacel's first FDA approval is 2017-08-30; a news item's 2017-08-31 is a recorded error."""
    assert _by_id(graph)["testagene-autoleucel"].approvals[FDA] == coverage_module.Count(2, dt.date(2022, 4, 1))


def test_sources_by_kind_and_the_official_share(graph: kg.TherapyGraph) -> None:
    exampumab = _by_id(graph)["exampumab"]
    assert exampumab.sources == {"regulatory document": 2, "registry record": 1, "primary evidence": 1}
    total = sum(exampumab.sources.values())
    assert exampumab.official_share == sum(exampumab.sources.get(k, 0) for k in OFFICIAL_KINDS) / total == 1
    rows = graph.select_named("sources")
    assert official_sources(graph) == (sum(r["kind"] in OFFICIAL_KINDS for r in rows), len(rows))
    assert len(rows) == len(list((MINI / "sources").glob("*.ttl")))  # one row per source, however many copies


def test_the_newest_label_version_read(graph: kg.TherapyGraph) -> None:
    """A product's prescribing information (`tkg:prescribingInformationOf`) gives the label date coverage reports."""
    products = _by_id(graph)
    assert products["exampumab"].labels == coverage_module.Count(1, "2025-03-02")
    assert products["cordnk-19"].labels is None
    assert [p.id for p in products.values() if p.labels] == ["exampumab"]


def test_coverage_of_the_products_under_a_therapy(graph: kg.TherapyGraph) -> None:
    assert set(_by_id(graph, "pd-l1-inhibitor")) == {"samplizumab"}
    assert set(_by_id(graph, "checkpoint-inhibitor")) == {"exampumab", "samplizumab"}
    assert set(_by_id(graph, "car-t")) == {"testagene-autoleucel", "donorcel"}


def test_cli_table_json_and_unknown_therapy(runner: CliRunner) -> None:
    table = runner.invoke(app, ["coverage", "car-t"])
    assert table.exit_code == 0 and "Testacel (testagene autoleucel)" in table.output and "Exampa" not in table.output
    assert "sources (bulk-ingested registry records aside)" in table.output
    document = json.loads(runner.invoke(app, ["coverage", "--format", "json"]).output)
    assert document["sources"] == {"official_or_primary": 17, "all": 20} and len(document["products"]) == 5
    testacel = next(p for p in document["products"] if p["id"] == "testagene-autoleucel")
    assert testacel["approvals"][FDA] == {"count": 2, "latest": "2022-04-01"}
    assert testacel["official_share"] == 6 / 7  # the news item with the launch price is its one popular claim
    exampumab = next(p for p in document["products"] if p["id"] == "exampumab")
    assert exampumab["labels"] == {"count": 1, "latest": "2025-03-02"}
    assert "Label read" in runner.invoke(app, ["coverage"]).output
    unknown = runner.invoke(app, ["coverage", "car-q"])
    assert unknown.exit_code == 2 and "Traceback" not in unknown.output
