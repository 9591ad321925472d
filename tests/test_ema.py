"""`kg ingest ema` on real rows of EMA's medicines table (tests/data/ema)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kg
from kg import registry
from kg.cli import app
from tests.conftest import ingested_store

# Real records name real products: their ingest runs on the curated catalogue (names only, no facts).
pytestmark = pytest.mark.usefixtures("catalogue_env")

FIXTURE = Path(__file__).parent / "data" / "ema"
XLSX, CSV = FIXTURE / "medicines-output-2025-02-12.xlsx", FIXTURE / "medicines-output-2025-02-12.csv"
SRC = "https://w3id.org/therapy-kg/source/"
MEDICINES = """
SELECT ?number ?product ?status ?orphan ?approval ?date ?pathway WHERE {
  ?medicine tkg:applicationNumber ?number ; tkg:applicationFor ?product ; tkg:authorisationStatus ?status .
  OPTIONAL { ?medicine tkg:orphanMedicine ?orphan }
  OPTIONAL { ?medicine tkg:approval ?approval . ?approval tkg:approvalDate ?date ; tkg:agency tkgr:ema .
             GRAPH ?source { ?approval tkg:approvalDate ?date } FILTER(STRSTARTS(STR(?source), STR(src:ema-)))
             OPTIONAL { ?approval tkg:approvalPathway ?pathway } }
}"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingested_store(tmp_path_factory, registry.ingest_ema, XLSX, 23)


def _medicines(store: Path) -> dict[str, dict]:
    return {row["number"]: row for row in kg.open_graph(store).select(MEDICINES)}


def test_every_medicine_of_a_known_product_is_loaded_and_matched(loaded: Path) -> None:
    medicines = _medicines(loaded)
    assert len(medicines) == 23
    product = {number: row["product"].rsplit("/", 1)[-1] for number, row in medicines.items()}
    assert product["EMEA/H/C/003820"] == "pembrolizumab"
    assert product["EMEA/H/C/005481"] == "nivolumab-relatlimab"  # Opdualag, INN "relatlimab / nivolumab"
    assert product["EMEA/H/C/005102"] == "brexucabtagene-autoleucel"  # substance is a long description
    assert product["EMEA/H/C/003840"] == product["EMEA/H/C/003985"] == "nivolumab"  # Nivolumab BMS and Opdivo


def test_the_first_eu_authorisation_meets_the_curated_node(loaded: Path) -> None:
    medicines = _medicines(loaded)
    opdivo, duplicate = medicines["EMEA/H/C/003985"], medicines["EMEA/H/C/003840"]
    assert (opdivo["approval"].rsplit("/", 1)[-1], str(opdivo["date"])) == ("approval-nivolumab-ema-2015", "2015-06-19")
    assert duplicate["approval"].endswith("ema-emea-h-c-003840-authorisation") and duplicate["status"] == "Withdrawn"
    carvykti = medicines["EMEA/H/C/005095"]
    assert carvykti["approval"].endswith("approval-ciltacabtagene-autoleucel-ema-2022")
    assert carvykti["pathway"].endswith("ConditionalApproval") and carvykti["orphan"] is True
    assert medicines["EMEA/H/C/003820"]["pathway"] is None  # not conditional today: the first one may have been


def test_a_withdrawn_application_has_no_authorisation(loaded: Path) -> None:
    zynyz = _medicines(loaded)["EMEA/H/C/005632"]
    assert (zynyz["status"], zynyz["approval"]) == ("Application withdrawn", None)


def test_the_same_table_as_csv_gives_the_same_graph(loaded: Path, tmp_path: Path) -> None:
    registry.ingest_ema(tmp_path / "store", CSV)
    assert _medicines(tmp_path / "store") == _medicines(loaded)


def test_again_changes_nothing_and_a_later_update_replaces_one(loaded: Path, tmp_path: Path) -> None:
    report = registry.ingest_ema(loaded, XLSX)
    assert (len(report.ingested), len(report.updated), len(report.unchanged)) == (0, 0, 23)
    rows = list(csv.DictReader(CSV.open(encoding="utf-8", newline="")))
    changed = tmp_path / "later.csv"
    for row in rows:
        if row["EMA product number"] == "EMEA/H/C/003820":
            row["Last updated date"] = "20/03/2025"
    with changed.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    store = tmp_path / "store"
    shutil.copytree(loaded, store)
    report = registry.ingest_ema(store, changed)
    assert (report.updated, len(report.unchanged)) == (["EMEA/H/C/003820"], 22)


def test_a_malformed_date_is_skipped_and_named(tmp_path: Path) -> None:
    text = CSV.read_text(encoding="utf-8").replace("17/07/2015", "31/02/2015", 1)
    broken = tmp_path / "broken.csv"
    broken.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["--store", str(tmp_path / "store"), "ingest", "ema", str(broken)])
    assert result.exit_code == 1, result.output
    assert "22 medicines ingested" in result.output and "Keytruda" in result.output and "31/02/2015" in result.output


@pytest.mark.parametrize("case", ["missing", "no-header", "old-layout", "not-xlsx"])
def test_a_file_that_is_not_emas_table_is_a_usage_error(tmp_path: Path, case: str) -> None:
    target = tmp_path / ("table.xlsx" if case == "not-xlsx" else "table.csv")
    if case == "no-header":
        target.write_text("a,b\n1,2\n", encoding="utf-8")
    elif case == "old-layout":  # EMA's tables before 2025 name the columns differently
        target.write_text("Category,Medicine name,Product number\nHuman,Keytruda,EMEA/H/C/003820\n", encoding="utf-8")
    elif case == "not-xlsx":
        target.write_text("not a workbook", encoding="utf-8")
    result = CliRunner().invoke(app, ["--store", str(tmp_path / "store"), "ingest", "ema", str(target)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    message = {
        "missing": "No such file",
        "no-header": "no header row",
        "old-layout": "lacks the column",
        "not-xlsx": "cannot be read as an xlsx",
    }[case]
    assert message in result.output
