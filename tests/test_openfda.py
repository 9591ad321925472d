"""`kg ingest openfda-label` on real openFDA label replies (tests/data/openfda: their openings)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kg
from kg import ingest, registry
from kg.cli import app
from kg.openfda import boxed_warning_risks
from tests.conftest import ingested_store

# Real records name real products: their ingest runs on the curated catalogue (names only, no facts).
pytestmark = pytest.mark.usefixtures("catalogue_env")

FIXTURE = Path(__file__).parent / "data" / "openfda"
RES = "https://w3id.org/therapy-kg/resource/"
SRC = "https://w3id.org/therapy-kg/source/"

BOXED = """SELECT ?event WHERE {
  GRAPH ?label { ?product tkg:boxedWarning ?event }
  ?label tkg:prescribingInformationOf ?product
} ORDER BY ?event"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingested_store(
        tmp_path_factory, lambda store, path: registry.ingest_openfda_labels(store, [path]), FIXTURE, 4
    )


def _boxed(store: Path, product: str) -> list[str]:
    graph = kg.open_graph(store)
    rows = graph.select(BOXED.replace("?product", f"tkgr:{product}"))
    return [row["event"].removeprefix(RES) for row in rows]


def test_the_boxed_warning_heading_names_the_catalogues_adverse_events(loaded: Path) -> None:
    """Plural headings ("NEUROLOGIC TOXICITIES") and FDA's names (HLH/MAS) meet the catalogue's terms."""
    assert _boxed(loaded, "brexucabtagene-autoleucel") == ["crs", "neurotoxicity", "secondary-hematological-malignancy"]
    assert _boxed(loaded, "axicabtagene-ciloleucel") == ["crs", "neurotoxicity", "secondary-hematological-malignancy"]
    assert _boxed(loaded, "ciltacabtagene-autoleucel") == [
        "crs",
        "hlh-mas",
        "neurotoxicity",
        "prolonged-cytopenia",
        "secondary-hematological-malignancy",
    ]


def test_a_reply_without_a_boxed_warning_states_none(loaded: Path) -> None:
    """Kymriah's reply was read only to its recent major changes: no boxed warning is stated, not "none"."""
    assert _boxed(loaded, "tisagenlecleucel") == []
    graph = kg.open_graph(loaded)
    [row] = graph.select(
        "SELECT ?kind ?modified ?issued ?product WHERE { src:openfda-label-tisagenlecleucel tkg:claimKind ?kind ;"
        " dcterms:modified ?modified ; tkg:prescribingInformationOf ?product"
        " OPTIONAL { src:openfda-label-tisagenlecleucel dcterms:issued ?issued } }"
    )
    assert (row["kind"], str(row["modified"]), row["issued"], row["product"]) == (
        "https://w3id.org/therapy-kg/ontology#RegulatoryClaim",
        "2026-06-09",
        None,  # the label's effective time lies beyond the part read
        RES + "tisagenlecleucel",
    )


@pytest.mark.parametrize(
    ("heading", "risks"),
    [
        (  # Carvykti, 2026: "and" inside one risk, and before the last one
            "WARNING: CYTOKINE RELEASE SYNDROME, NEUROLOGIC TOXICITIES, HLH/MAS, PROLONGED and RECURRENT CYTOPENIA,"
            " and SECONDARY HEMATOLOGICAL MALIGNANCIES Cytokine Release Syndrome (CRS), including fatal",
            [
                "CYTOKINE RELEASE SYNDROME",
                "NEUROLOGIC TOXICITIES",
                "HLH/MAS",
                "PROLONGED and RECURRENT CYTOPENIA",
                "SECONDARY HEMATOLOGICAL MALIGNANCIES",
            ],
        ),
        (  # Yescarta, 2026: no comma before the last risk
            "WARNING: CYTOKINE RELEASE SYNDROME, NEUROLOGIC TOXICITIES and SECONDARY HEMATOLOGICAL MALIGNANCIES"
            " Cytokine Release Syndrome (CRS), including",
            ["CYTOKINE RELEASE SYNDROME", "NEUROLOGIC TOXICITIES", "SECONDARY HEMATOLOGICAL MALIGNANCIES"],
        ),
        (  # Blincyto, 2026: "including" names a narrower risk
            "WARNING: CYTOKINE RELEASE SYNDROME and NEUROLOGICAL TOXICITIES including IMMUNE EFFECTOR"
            " CELL-ASSOCIATED NEUROTOXICITY SYNDROME Cytokine Release Syndrome (CRS), which may be",
            [
                "CYTOKINE RELEASE SYNDROME",
                "NEUROLOGICAL TOXICITIES",
                "IMMUNE EFFECTOR CELL-ASSOCIATED NEUROTOXICITY SYNDROME",
            ],
        ),
        ("Cytokine release syndrome occurred in patients", []),  # no heading
    ],
)
def test_boxed_warning_risks_are_read_from_the_heading(heading: str, risks: list[str]) -> None:
    assert boxed_warning_risks(heading) == risks


def test_ingesting_the_same_replies_again_changes_nothing(loaded: Path) -> None:
    before = ingest.manifest(loaded), ingest.current_set(loaded)
    report = registry.ingest_openfda_labels(loaded, [FIXTURE])
    assert (len(report.ingested), len(report.updated), len(report.unchanged)) == (0, 0, 4)
    assert (ingest.manifest(loaded), ingest.current_set(loaded)) == before


def _full_record(tmp_path: Path) -> Path:
    """Kymriah's real opening with the identity fields a whole record ends with, set by hand, as
    downloaded later (constructed: the stored copy does not reach them)."""
    reply = json.loads((FIXTURE / "kymriah.json").read_text(encoding="utf-8"))
    reply["meta"]["last_updated"] = "2026-10-01"
    reply["results"][0].update(effective_time="20260515", set_id="00000000-0000-0000-0000-000000000000", version="9")
    reply["results"][0]["openfda"] = {"brand_name": ["KYMRIAH"], "generic_name": ["TISAGENLECLEUCEL"]}
    path = tmp_path / "kymriah-whole.json"
    path.write_text(json.dumps(reply), encoding="utf-8")
    return path


def test_a_whole_record_is_dated_by_its_effective_time_and_replaces_the_older_one(tmp_path: Path) -> None:
    store = tmp_path / "store"
    registry.ingest_openfda_labels(store, [FIXTURE / "kymriah.json"])
    report = registry.ingest_openfda_labels(store, [_full_record(tmp_path)])
    assert report.updated == ["openfda-label:tisagenlecleucel"]
    graph = kg.open_graph(store)
    [row] = graph.select(
        "SELECT ?issued ?citation ?url WHERE { src:openfda-label-tisagenlecleucel dcterms:issued ?issued ;"
        " dcterms:bibliographicCitation ?citation ; tkg:url ?url }"
    )
    assert str(row["issued"]) == "2026-05-15"
    assert "set id 00000000-0000-0000-0000-000000000000, version 9, effective 2026-05-15" in row["citation"]
    assert row["url"] == "https://api.fda.gov/drug/label.json?search=set_id:00000000-0000-0000-0000-000000000000"
    from kg.coverage import coverage

    [kymriah] = [p for p in coverage(graph, "tisagenlecleucel") if p.id == "tisagenlecleucel"]
    assert kymriah.labels is not None and (kymriah.labels.count, str(kymriah.labels.latest)) == (1, "2026-05-15")


def test_a_bulk_download_zip_is_read(tmp_path: Path) -> None:
    archive = tmp_path / "drug-label-0001-of-0001.json.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.write(FIXTURE / "carvykti.json", "drug-label-0001-of-0001.json")
    report = registry.ingest_openfda_labels(tmp_path / "store", [archive])
    assert report.ingested == ["openfda-label:ciltacabtagene-autoleucel"] and not report.problems


def test_labels_of_other_products_are_left_out(tmp_path: Path) -> None:
    reply = json.loads((FIXTURE / "tecartus.json").read_text(encoding="utf-8"))
    reply["results"][0]["spl_product_data_elements"] = ["ASPIRIN aspirin ASPIRIN"]
    path = tmp_path / "aspirin.json"
    path.write_text(json.dumps(reply), encoding="utf-8")
    report = registry.ingest_openfda_labels(tmp_path / "store", [path, FIXTURE / "yescarta.json"])
    assert report.ingested == ["openfda-label:axicabtagene-ciloleucel"] and not report.problems


def test_a_file_that_is_not_a_label_reply_is_skipped_and_named(tmp_path: Path) -> None:
    folder = tmp_path / "replies"
    shutil.copytree(FIXTURE, folder)
    (folder / "broken.json").write_text('{"results": [', encoding="utf-8")
    (folder / "other.json").write_text('{"studies": []}', encoding="utf-8")
    result = CliRunner().invoke(app, ["--store", str(tmp_path / "store"), "ingest", "openfda-label", str(folder)])
    assert result.exit_code == 1, result.output
    assert "4 labels ingested" in result.output and "Traceback" not in result.output
    assert "broken.json: not JSON" in result.output and "other.json: not an openFDA label reply" in result.output


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["--store", str(tmp_path / "store"), "ingest", "openfda-label", str(tmp_path / "missing.json")]
    )
    assert result.exit_code == 2 and "No such file or directory" in result.output and "Traceback" not in result.output


def test_a_risk_the_catalogue_lacks_is_kept_as_text_and_reported(tmp_path: Path) -> None:
    """Constructed: Tecartus' real reply with one heading risk renamed to one the catalogue lacks."""
    reply = json.loads((FIXTURE / "tecartus.json").read_text(encoding="utf-8"))
    warning = reply["results"][0]["boxed_warning"]
    warning[0] = warning[0].replace("SECONDARY HEMATOLOGICAL MALIGNANCIES", "SERIOUS INFECTIONS")
    path = tmp_path / "tecartus.json"
    path.write_text(json.dumps(reply), encoding="utf-8")
    store = tmp_path / "store"
    result = CliRunner().invoke(app, ["--store", str(store), "ingest", "openfda-label", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        "Boxed-warning risks not in the catalogue (noted on the label as text): SERIOUS INFECTIONS (1)" in result.output
    )
    assert _boxed(store, "brexucabtagene-autoleucel") == ["crs", "neurotoxicity"]
    [row] = kg.open_graph(store).select(
        "SELECT ?note WHERE { src:openfda-label-brexucabtagene-autoleucel rdfs:comment ?note }"
    )
    assert row["note"] == "The boxed warning also names: SERIOUS INFECTIONS."
