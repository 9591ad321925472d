"""`kg ingest drugsatfda` on a real extract of FDA's Drugs@FDA data files (tests/data/drugsatfda)."""

from __future__ import annotations

import csv
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kg
from kg import ingest, registry
from kg.cli import app
from kg.query import bindings, named
from tests.conftest import ingested_store

# Real records name real products: their ingest runs on the curated catalogue (names only, no facts).
pytestmark = pytest.mark.usefixtures("catalogue_env")

FIXTURE = Path(__file__).parent / "data" / "drugsatfda"
RES = "https://w3id.org/therapy-kg/resource/"
SRC = "https://w3id.org/therapy-kg/source/"


def _table(name: str, folder: Path = FIXTURE) -> list[dict[str, str]]:
    with open(folder / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


NIVOLUMAB_BLAS = ("125554", "125527")


def _new_use(submissions: list[dict[str, str]]) -> list[dict[str, str]]:
    """The originals and efficacy supplements (class 2) among Submissions.txt rows: the actions that can approve a new use."""
    return [r for r in submissions if r["SubmissionType"].strip() == "ORIG" or r["SubmissionClassCodeID"] == "2"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingested_store(tmp_path_factory, registry.ingest_drugsatfda, FIXTURE, 10)


def _actions(store: Path, **params: str) -> list[dict]:
    graph = kg.open_graph(store)
    query = named("fda-actions")
    return graph.select(query.text, bindings(graph, query, params))


def test_every_approved_submission_becomes_an_action(loaded: Path) -> None:
    expected = Counter(f"BLA {r['ApplNo']}" for r in _table("Submissions.txt") if r["SubmissionStatus"] == "AP")
    assert Counter(r["application"] for r in _actions(loaded)) == expected
    assert sum(expected.values()) == 119


def test_an_action_carries_date_class_priority_and_fdas_documents(loaded: Path) -> None:
    [original] = [r for r in _actions(loaded, therapy="ipilimumab") if r["submission"] == "original application"]
    assert (str(original["date"]), original["class"], original["priority"]) == (
        "2011-03-25",
        "Type 1 - New Molecular Entity",
        "priority",
    )
    assert (
        "http://www.accessdata.fda.gov/drugsatfda_docs/appletter/2011/125377s000ltr.pdf"
        in original["documents"].split()
    )
    assert original["source"] == SRC + "drugsatfda-bla-125377"


def test_products_are_matched_by_brand_or_ingredient(loaded: Path) -> None:
    """Libtayo's ingredient is `CEMIPLIMAB-RWLC`: FDA's suffix does not hide the product."""
    products = {r["product"] for r in _actions(loaded)}
    assert "Libtayo (cemiplimab)" in products and len(products) == 7
    assert {r["product"] for r in _actions(loaded, therapy="pd-l1-inhibitor")} == {
        "Tecentriq (atezolizumab)",
        "Bavencio (avelumab)",
        "Imfinzi (durvalumab)",
    }


def test_ingesting_the_same_export_again_changes_nothing(loaded: Path) -> None:
    before = ingest.manifest(loaded), ingest.current_set(loaded)
    report = registry.ingest_drugsatfda(loaded, FIXTURE)
    assert (len(report.ingested), len(report.updated), len(report.unchanged)) == (0, 0, 10)
    assert (ingest.manifest(loaded), ingest.current_set(loaded)) == before  # no new set was written


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    shutil.copytree(FIXTURE, folder)
    return folder


def test_a_newer_export_replaces_the_application_it_changes(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    with open(folder / "Submissions.txt", "a", encoding="utf-8", newline="") as handle:
        handle.write("761097\t2\tSUPPL\t99\tAP\t2019-12-20 00:00:00\t\tPRIORITY\r\n")
    store = tmp_path / "store"
    registry.ingest_drugsatfda(store, FIXTURE)
    report = registry.ingest_drugsatfda(store, folder)
    assert (report.updated, len(report.unchanged)) == (["BLA761097"], 9)
    libtayo = _actions(store, therapy="cemiplimab")
    assert [(str(r["date"]), r["number"], r["class"]) for r in libtayo][-1] == ("2019-12-20", 99, "Efficacy")
    assert len(libtayo) == 4


def test_the_zip_fda_distributes_is_read_as_its_folder(tmp_path: Path) -> None:
    archive = tmp_path / "drugsatfda20190702.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in FIXTURE.glob("*.txt"):
            out.write(path, path.name)
    store = tmp_path / "store"
    assert len(registry.ingest_drugsatfda(store, archive).ingested) == 10


def test_applications_of_other_drugs_are_left_out(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    for name, row in [
        ("Applications.txt", "020000\tNDA\t\tACME\r\n"),
        ("Products.txt", "020000\t001\tTABLET\t5MG\t0\tASPIRINA\tASPIRIN\t\r\n"),
        ("Submissions.txt", "020000\t7\tORIG\t1\tAP\t1990-01-01 00:00:00\t\tSTANDARD\r\n"),
    ]:
        with open(folder / name, "a", encoding="utf-8", newline="") as handle:
            handle.write(row)
    report = registry.ingest_drugsatfda(tmp_path / "store", folder)
    assert len(report.ingested) == 10 and "NDA020000" not in report.ingested


def test_a_malformed_application_is_skipped_and_named(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    text = (folder / "Submissions.txt").read_text(encoding="utf-8")
    (folder / "Submissions.txt").write_text(
        text.replace("761097\t7\tORIG\t1\tAP\t2018-09-28", "761097\t7\tORIG\t1\tAP\t2018-13-28"),
        encoding="utf-8",
        newline="",
    )
    result = CliRunner().invoke(app, ["--store", str(tmp_path / "store"), "ingest", "drugsatfda", str(folder)])
    assert result.exit_code == 1, result.output
    assert (
        "9 applications ingested" in result.output and "BLA 761097" in result.output and "2018-13-28" in result.output
    )


@pytest.mark.parametrize("case", ["missing-table", "not-a-zip", "no-such-path", "wrong-columns"])
def test_input_that_is_not_a_drugsatfda_export_is_a_usage_error(tmp_path: Path, case: str) -> None:
    target = _copy(tmp_path)
    if case == "missing-table":
        (target / "Submissions.txt").unlink()
    elif case == "not-a-zip":
        target = tmp_path / "x.zip"
        target.write_text("not a zip")
    elif case == "no-such-path":
        target = tmp_path / "missing"
    else:
        (target / "Products.txt").write_text("a\tb\r\n1\t2\r\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--store", str(tmp_path / "store"), "ingest", "drugsatfda", str(target)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    message = {
        "missing-table": "has no Submissions.txt",
        "not-a-zip": "neither the Drugs@FDA zip",
        "no-such-path": "No such file or directory",
        "wrong-columns": "lacks the column",
    }[case]
    assert message in result.output


def test_coverage_counts_the_loaded_actions(loaded: Path) -> None:
    from kg.coverage import coverage

    nivolumab = next(p for p in coverage(kg.open_graph(loaded), "nivolumab") if p.id == "nivolumab")
    assert nivolumab.fda_actions is not None
    assert (nivolumab.fda_actions.count, str(nivolumab.fda_actions.latest)) == (44, "2019-05-02")
    # the originals and efficacy supplements, counted from the export itself: what curated approvals should match
    rows = [r for r in _table("Submissions.txt") if r["ApplNo"] in NIVOLUMAB_BLAS]
    expected = len(_new_use(rows))
    assert 0 < expected < len(rows) and nivolumab.fda_new_use is not None and nivolumab.fda_new_use.count == expected


def test_actions_no_curated_approval_matches_are_listed_for_curators(
    catalogue_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Originals and efficacy supplements whose date no FDA approval of the product bears: here
    every nivolumab one but the first original (the loader dates that approval itself) and the day
    an invented curated source records an approval."""
    data = tmp_path / "data"
    shutil.copytree(catalogue_dir, data)
    (data / "sources").mkdir()
    (data / "sources" / "chl-notice.ttl").write_text(
        """# Invented FDA notice dated on one of nivolumab's efficacy supplements in the extract.

@prefix tkg: <https://w3id.org/therapy-kg/ontology#> .
@prefix tkgr: <https://w3id.org/therapy-kg/resource/> .
@prefix src: <https://w3id.org/therapy-kg/source/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .

src:chl-notice
    a tkg:RegulatoryDocument ;
    dcterms:bibliographicCitation "Invented notice." ;
    dcterms:title "Invented notice" ;
    tkg:claimKind tkg:RegulatoryClaim ;
    tkg:url "https://example.org/chl-notice"^^xsd:anyURI .

tkgr:approval-nivolumab-fda-2016-chl
    a tkg:Approval ;
    rdfs:label "Invented FDA approval of Opdivo for classical Hodgkin lymphoma, 2016" ;
    tkg:agency tkgr:fda ;
    tkg:approvalDate "2016-05-17"^^xsd:date ;
    tkg:approvedProduct tkgr:nivolumab ;
    tkg:indication tkgr:classical-hodgkin-lymphoma .
""",
        encoding="utf-8",
    )
    monkeypatch.setenv(kg.resources.DATA_ENV, str(data))
    store = tmp_path / "store"
    report = registry.ingest_drugsatfda(store, FIXTURE)
    assert not report.problems

    graph = kg.open_graph(store)
    query = named("fda-actions-without-approval")
    rows = graph.select(query.text, bindings(graph, query, {"therapy": "nivolumab"}))

    nivolumab = [
        r for r in _table("Submissions.txt") if r["ApplNo"] in NIVOLUMAB_BLAS and r["SubmissionStatus"] == "AP"
    ]
    new_use = {r["SubmissionStatusDate"][:10] for r in _new_use(nivolumab)}
    assert {"2014-12-22", "2016-05-17"} <= new_use
    assert {str(r["date"]) for r in rows} == new_use - {"2014-12-22", "2016-05-17"}
