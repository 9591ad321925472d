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
from kg.resources import DATA_DIR

FDA = "US Food and Drug Administration (FDA)"


def _by_id(graph: kg.TherapyGraph, therapy: str | None = None) -> dict:
    return {p.id: p for p in coverage(graph, therapy)}


def test_every_product_is_listed_with_its_approvals_and_withdrawals(graph: kg.TherapyGraph) -> None:
    products = _by_id(graph)
    assert set(products) == {ref.id for ref in graph.therapies.all("product")}
    durvalumab = products["durvalumab"]
    timeline = graph.select(named("approval-timeline").text)
    dates = {r["date"] for r in timeline if r["product"] == "Imfinzi (durvalumab)" and r["agency"] == FDA}
    assert (durvalumab.approvals[FDA].count, durvalumab.approvals[FDA].latest) == (len(dates), max(dates))
    assert (durvalumab.withdrawn[FDA].count, durvalumab.withdrawn[FDA].latest) == (1, dt.date(2021, 2, 19))
    assert products["nivolumab"].withdrawn[FDA].count == 2
    assert products["ft596"].approvals == {} and products["ft596"].sources


def test_a_date_known_to_be_an_error_is_not_the_latest(graph: kg.TherapyGraph) -> None:
    """Abecma's FDA approval is dated 2021-03-26; one source's 2021-03-27 is a recorded error."""
    assert _by_id(graph)["idecabtagene-vicleucel"].approvals[FDA].latest == dt.date(2021, 3, 26)


def test_sources_by_kind_and_the_official_share(graph: kg.TherapyGraph) -> None:
    atezolizumab = _by_id(graph)["atezolizumab"]
    assert atezolizumab.sources["regulatory document"] >= 1
    total = sum(atezolizumab.sources.values())
    assert atezolizumab.official_share == sum(atezolizumab.sources.get(k, 0) for k in OFFICIAL_KINDS) / total
    rows = graph.select_named("sources")
    assert official_sources(graph) == (sum(r["kind"] in OFFICIAL_KINDS for r in rows), len(rows))
    assert len(rows) == len(list((DATA_DIR / "sources").glob("*.ttl")))  # one row per source, however many copies


def test_the_newest_label_version_read(graph: kg.TherapyGraph) -> None:
    """A product's prescribing information (`tkg:prescribingInformationOf`) gives the label date coverage reports."""
    products = _by_id(graph)
    assert products["axicabtagene-ciloleucel"].labels == coverage_module.Count(1, "2026-07-23")
    assert products["ft596"].labels is None
    rows = graph.select(
        "SELECT ?p (MAX(STR(?d)) AS ?latest) WHERE { ?s tkg:prescribingInformationOf ?p ; dcterms:issued ?d }"
        " GROUP BY ?p"
    )
    assert {str(r["p"]).rsplit("/", 1)[1]: r["latest"] for r in rows} == {
        p.id: p.labels.latest for p in products.values() if p.labels
    }


def test_coverage_of_the_products_under_a_therapy(graph: kg.TherapyGraph) -> None:
    assert set(_by_id(graph, "pd-l1-inhibitor")) == {
        "atezolizumab",
        "atezolizumab-hyaluronidase",
        "avelumab",
        "cosibelimab",
        "durvalumab",
    }


def test_cli_table_json_and_unknown_therapy(runner: CliRunner) -> None:
    table = runner.invoke(app, ["coverage", "car-t"])
    assert table.exit_code == 0 and "Kymriah (tisagenlecleucel)" in table.output and "Opdivo" not in table.output
    assert "sources (bulk-ingested registry records aside)" in table.output
    document = json.loads(runner.invoke(app, ["coverage", "--format", "json"]).output)
    assert document["sources"]["all"] > 100 and len(document["products"]) > 30
    kymriah = next(p for p in document["products"] if p["id"] == "tisagenlecleucel")
    assert kymriah["approvals"][FDA]["count"] >= 3 and 0 < kymriah["official_share"] <= 1
    yescarta = next(p for p in document["products"] if p["id"] == "axicabtagene-ciloleucel")
    assert yescarta["labels"] == {"count": 1, "latest": "2026-07-23"} and "Label read" in table.output
    unknown = runner.invoke(app, ["coverage", "car-q"])
    assert unknown.exit_code == 2 and "Traceback" not in unknown.output
