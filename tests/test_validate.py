"""Validation: the curated data and the test graph pass; each invalid fixture, added to the test
graph, fails with the expected report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg import store
from kg.canonical import out_of_form
from kg.resources import DATA_DIR
from tests.conftest import MINI

INVALID = sorted((Path(__file__).parent / "data" / "invalid").glob("*.ttl"))


def _header(path: Path) -> dict[str, str]:
    fields = {}
    for line in path.read_text().splitlines():
        if line.startswith("# ") and ":" in line:
            key, _, value = line[2:].partition(":")
            fields[key.strip()] = value.strip()
    return fields


def test_curated_data_and_the_test_graph_conform() -> None:
    assert store.validate_inputs(DATA_DIR) == []
    assert store.validate_inputs(MINI) == []
    assert out_of_form(MINI) == []  # kept canonical like data/: python scripts/format_data.py --data tests/data/mini


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_is_reported(fixture: Path, tmp_path: Path) -> None:
    expected = _header(fixture)
    data = tmp_path / "data"
    shutil.copytree(MINI, data)
    target = data / expected["into"] / fixture.name
    shutil.copy(fixture, target)

    findings = store.validate_inputs(data_dir=data)

    matching = [
        f
        for f in findings
        if f.focus == expected["expect-focus"]
        and f.path == expected["expect-path"]
        and expected["expect-message"] in f.message
    ]
    assert matching, "\n".join(map(str, findings)) or "no findings"
    assert all(f"{expected['into']}/{fixture.name}" in str(f) for f in matching)


PREFIXES = """@prefix tkg: <https://w3id.org/therapy-kg/ontology#> .
@prefix tkgr: <https://w3id.org/therapy-kg/resource/> .
@prefix src: <https://w3id.org/therapy-kg/source/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
"""
"""The prefixes of the invented source files below."""


def with_source(tmp_path: Path, name: str, turtle: str) -> Path:
    """The test graph plus one invented source file `sources/NAME.ttl`, in a new data folder."""
    data = tmp_path / "data"
    shutil.copytree(MINI, data)
    (data / "sources" / f"{name}.ttl").write_text(turtle, encoding="utf-8")
    return data


POOLED_LABEL = (
    """# Invented prescribing information whose warnings count a pooled safety population.

"""
    + PREFIXES
    + """
src:pooled-label
    a tkg:RegulatoryDocument ;
    dcterms:bibliographicCitation "Example Therapeutics. Pooled warnings (invented)." ;
    dcterms:title "Pooled warnings" ;
    tkg:claimKind tkg:RegulatoryClaim ;
    tkg:url "https://example.org/labels/pooled"^^xsd:anyURI .

tkgr:pooled-label-crs
    a tkg:AdverseEventObservation ;
    tkg:adverseEvent tkgr:crs ;
    tkg:analysisPopulation tkg:PooledSafetyPopulation ;
    tkg:denominator "200"^^xsd:nonNegativeInteger ;
    tkg:gradeThreshold tkg:AnyGrade ;
    tkg:numerator "3"^^xsd:nonNegativeInteger ;
    tkg:percentage 1.5 ;
    tkg:therapy tkgr:cordnk-19 .

tkgr:pooled-label-crs-grade3or4
    a tkg:AdverseEventObservation ;
    tkg:adverseEvent tkgr:crs ;
    tkg:denominator "11"^^xsd:nonNegativeInteger ;
    tkg:gradeThreshold tkg:Grade3Or4 ;
    tkg:numerator "0"^^xsd:nonNegativeInteger ;
    tkg:therapy tkgr:cordnk-19 ;
    tkg:trial tkgr:NCT09990001 .
"""
)
"""A label's pooled population names no single trial; a trial's 'grade 3 or 4' column is its own threshold."""


def with_pooled_label(tmp_path: Path) -> Path:
    """The test graph plus POOLED_LABEL, in a new data folder."""
    return with_source(tmp_path, "pooled-label", POOLED_LABEL)


def test_a_pooled_safety_population_needs_no_trial_and_grade_3_or_4_is_a_threshold(tmp_path: Path) -> None:
    assert store.validate_inputs(data_dir=with_pooled_label(tmp_path)) == []


ADJUVANT_TRIAL = (
    """# Invented report of an adjuvant and a neoadjuvant trial.

"""
    + PREFIXES
    + """
src:adjuvant-report
    a tkg:JournalArticle ;
    dcterms:bibliographicCitation "Example A. Exampumab after and before surgery (invented)." ;
    dcterms:title "Exampumab after and before surgery" ;
    tkg:claimKind tkg:PrimaryEvidence ;
    tkg:doi "10.9999/invented.adjuvant" .

tkgr:adjuvant-report-rfs-hr
    a tkg:TimeToEventOutcome ;
    tkg:comparatorArm "placebo" ;
    tkg:confidenceLower 0.43 ;
    tkg:confidenceUpper 0.74 ;
    tkg:hazardRatio 0.57 ;
    tkg:outcomeMeasure tkg:RecurrenceFreeSurvival ;
    tkg:therapy tkgr:exampumab ;
    tkg:trial tkgr:NCT09990003 .

tkgr:adjuvant-report-dfs-median
    a tkg:TimeToEventOutcome ;
    tkg:medianNotReached true ;
    tkg:outcomeMeasure tkg:DiseaseFreeSurvival ;
    tkg:therapy tkgr:exampumab ;
    tkg:trial tkgr:NCT09990003 .

tkgr:adjuvant-report-pcr
    a tkg:TrialOutcome ;
    tkg:denominator "100"^^xsd:nonNegativeInteger ;
    tkg:numerator "64"^^xsd:nonNegativeInteger ;
    tkg:outcomeMeasure tkg:PathologicCompleteResponse ;
    tkg:therapy tkgr:exampumab ;
    tkg:trial tkgr:NCT09990003 .
"""
)
"""Adjuvant trials report recurrence- or disease-free survival, neoadjuvant ones pathologic complete response."""


def test_adjuvant_and_neoadjuvant_endpoints_are_valid_and_only_in_their_kind(tmp_path: Path) -> None:
    data = with_source(tmp_path, "adjuvant-report", ADJUVANT_TRIAL)
    assert store.validate_inputs(data_dir=data) == []

    report = data / "sources" / "adjuvant-report.ttl"
    report.write_text(ADJUVANT_TRIAL.replace("tkg:PathologicCompleteResponse", "tkg:RecurrenceFreeSurvival"), "utf-8")
    [finding] = store.validate_inputs(data_dir=data)  # a survival endpoint is not a count of patients
    assert finding.focus == "tkgr:adjuvant-report-pcr" and finding.path == "tkg:outcomeMeasure"
