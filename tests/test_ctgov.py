"""ClinicalTrials.gov records: reading files and pages, converting studies, matching interventions,
adverse events per results group, and bad records becoming problems rather than errors."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

import kg
from kg import vocab
from kg.ctgov import InterventionMatcher, RawStudy, TrialRecord, read_records, records, to_record
from kg.graph import iri
from kg.ingest import Problem
from kg.therapy import normalise

# Real records name real products: their ingest runs on the curated catalogue (names only, no facts).
pytestmark = pytest.mark.usefixtures("catalogue_env")

DATA = Path(__file__).parent / "data" / "ctgov"
SCRIPT = Path(__file__).parents[1] / "scripts" / "generate_ctgov.py"
XSD = vocab.PREFIXES["xsd"]
CAR_NK_TITLE = "Umbilical & Cord Blood (CB) Derived CAR-Engineered NK Cells for B Lymphoid Malignancies"


@pytest.fixture(scope="module")
def matcher(catalogue_graph: kg.TherapyGraph) -> InterventionMatcher:
    return InterventionMatcher.from_graph(catalogue_graph)


def study(name: str) -> RawStudy:
    [item] = read_records([DATA / name])
    assert isinstance(item, RawStudy)
    return item


def convert(data: dict[str, Any], matcher: InterventionMatcher) -> TrialRecord:
    record = to_record(data, matcher, "test")
    assert isinstance(record, TrialRecord), record
    return record


def values(record: TrialRecord, subject: str, predicate: str) -> set[ox.NamedNode | ox.Literal]:
    s, p = iri(subject), iri(predicate)
    return {q.object for q in record.quads if q.subject == s and q.predicate == p}


def text(*strings: str) -> set[ox.Literal]:
    return {ox.Literal(s) for s in strings}


def typed(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(XSD + datatype))


def observations(record: TrialRecord) -> dict[str, dict[str, Any]]:
    """Adverse-event observations as {node: {property local name: value}}."""
    found: dict[str, dict[str, Any]] = {}
    kind = iri("tkg:AdverseEventObservation")
    for node in {q.subject for q in record.quads if q.object == kind}:
        fields = {q.predicate.value.rsplit("#", 1)[-1]: q.object for q in record.quads if q.subject == node}
        found[vocab.short_id(node.value)] = {
            name: vocab.short_id(v.value) if isinstance(v, ox.NamedNode) else v.value for name, v in fields.items()
        }
    return found


# --- Reading -------------------------------------------------------------------------------------


def test_reads_a_file_with_one_study() -> None:
    item = study("NCT03056339.json")
    assert item.where == str(DATA / "NCT03056339.json")
    assert item.data["protocolSection"]["identificationModule"]["nctId"] == "NCT03056339"


def test_reads_an_api_page_naming_each_study_by_position() -> None:
    items = list(read_records([DATA / "page.json"]))
    assert [i.where for i in items] == [f"{DATA / 'page.json'}#studies[0]", f"{DATA / 'page.json'}#studies[1]"]
    assert all(isinstance(i, RawStudy) for i in items)


def test_reads_json_lines_naming_each_study_by_line() -> None:
    items = list(read_records([DATA / "studies.jsonl"]))
    assert [i.where for i in items] == [f"{DATA / 'studies.jsonl'}:1", f"{DATA / 'studies.jsonl'}:2"]


def test_reads_directories_recursively() -> None:
    found = list(records([DATA], InterventionMatcher({}, ())))
    good = sorted(r.key for r in found if isinstance(r, TrialRecord))
    assert good == sorted(
        [
            "NCT03056339",
            "NCT02435849",
            "NCT02435849",
            "NCT01866319",
            "NCT09000001",
            "NCT01844505",
            "NCT05020678",
            "NCT09000002",
        ]
    )
    assert len([r for r in found if isinstance(r, Problem)]) == 6


def test_problems_name_the_file_and_the_line() -> None:
    path = DATA / "invalid" / "mixed.ndjson"
    found = list(records([path], InterventionMatcher({}, ())))
    assert [type(r).__name__ for r in found] == ["TrialRecord", "Problem", "Problem", "Problem"]
    assert found[1] == Problem(f"{path}:3", "invalid JSON: Expecting value (column 46)")
    assert str(found[2]) == f"{path}:4: expected a study object, found a string"
    assert found[3] == Problem(
        f"{path}:5",
        "protocolSection.identificationModule.nctId: an NCT number is 'NCT' and eight digits, found 'NCT123'",
    )


def test_invalid_json_names_the_file_line_and_column() -> None:
    [problem] = read_records([DATA / "invalid" / "broken.json"])
    assert isinstance(problem, Problem)
    assert problem.where == str(DATA / "invalid" / "broken.json")
    assert problem.message.startswith("invalid JSON: ") and "(line 54, column 1)" in problem.message


def test_pages_and_files_of_the_wrong_shape_are_problems(tmp_path: Path) -> None:
    (tmp_path / "page.json").write_text(json.dumps({"studies": [{"protocolSection": {}}, 42]}))
    (tmp_path / "not-a-page.json").write_text(json.dumps({"studies": "none"}))
    (tmp_path / "latin1.jsonl").write_bytes(b'{"a": "\xe9"}\n')
    (tmp_path / "empty").mkdir()
    found = {str(p.where): p for p in read_records([tmp_path, tmp_path / "missing.json", tmp_path / "empty"])}
    assert found[str(tmp_path / "empty")].message == "no .json, .jsonl, .ndjson files in this directory"
    assert found[f"{tmp_path / 'page.json'}#studies[1]"].message == "expected a study object, found a number"
    assert isinstance(found[f"{tmp_path / 'page.json'}#studies[0]"], RawStudy)
    assert found[str(tmp_path / "not-a-page.json")].message == "'studies' must be a list, found a string"
    assert found[str(tmp_path / "latin1.jsonl")].message.startswith("cannot read: ")
    assert found[str(tmp_path / "missing.json")].message == "cannot read: No such file or directory"


def test_hostile_files_are_problems_not_tracebacks(tmp_path: Path) -> None:
    """JSON nested thousands deep, a number longer than Python parses, a pipe among the files: each
    is reported and skipped, and the good file beside them is read."""
    import os

    (tmp_path / "deep.json").write_text("[" * 5000 + "]" * 5000)
    (tmp_path / "long-number.jsonl").write_text('{"n": ' + "9" * 5000 + "}\n")
    os.mkfifo(tmp_path / "pipe.json")
    shutil.copy(DATA / "NCT03056339.json", tmp_path / "good.json")
    found = {str(p.where): p for p in read_records([tmp_path, tmp_path / "pipe.json"])}
    assert found[str(tmp_path / "deep.json")].message == "JSON nested too deeply to be a study record"
    assert found[f"{tmp_path / 'long-number.jsonl'}:1"].message.startswith("a JSON number too long to read")
    assert found[str(tmp_path / "pipe.json")].message == "not a regular file (a pipe or a device)"
    assert isinstance(found[str(tmp_path / "good.json")], RawStudy)


def test_files_of_other_registry_formats_say_what_they_are(tmp_path: Path) -> None:
    """Classic XML, API v1 responses and v1 study records are named, with the format that is needed."""
    (tmp_path / "NCT03056339.xml").write_text('<?xml version="1.0"?>\n<clinical_study><id_info/></clinical_study>\n')
    (tmp_path / "v1-page.json").write_text(json.dumps({"FullStudiesResponse": {"FullStudies": [{"Rank": 1}]}}))
    (tmp_path / "v1-study.json").write_text(json.dumps({"ProtocolSection": {"IdentificationModule": {}}}))
    (tmp_path / "xml-named-json.json").write_text("<clinical_study/>")
    found = {Path(p.where).name: p.message for p in read_records([tmp_path])}
    assert found["NCT03056339.xml"] == found["xml-named-json.json"]
    assert found["NCT03056339.xml"].startswith("ClinicalTrials.gov's classic XML; API v2 JSON is needed")
    assert found["v1-page.json"].startswith("a response of the retired API v1 (FullStudiesResponse); API v2 JSON")
    assert found["v1-study.json"].startswith("a study record of the retired API v1 (ProtocolSection); API v2 JSON")


def test_an_nct_number_has_ascii_digits_only(matcher: InterventionMatcher) -> None:
    item = study("NCT03056339.json")
    arabic_indic = "NCT" + "".join(chr(0x0660 + int(d)) for d in "03056339")
    problem = to_record(_set(item.data, "protocolSection.identificationModule.nctId", arabic_indic), matcher, "x")
    assert isinstance(problem, Problem) and "eight digits" in problem.message


# --- Bad records ---------------------------------------------------------------------------------


def test_missing_nct_id_is_a_problem_at_the_record(matcher: InterventionMatcher) -> None:
    item = study("invalid/missing-nct.json")
    assert to_record(item.data, matcher, item.where) == Problem(
        item.where, "missing protocolSection.identificationModule.nctId"
    )


def test_phases_as_a_string_is_a_problem(matcher: InterventionMatcher) -> None:
    item = study("invalid/phases-string.json")
    problem = to_record(item.data, matcher, item.where)
    assert problem == Problem(item.where, "protocolSection.designModule.phases: expected a list, found a string")


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    target = data
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return data


ID, STATUS, DESIGN = (
    "protocolSection.identificationModule",
    "protocolSection.statusModule",
    "protocolSection.designModule",
)
EVENTS = "resultsSection.adverseEventsModule"


def test_a_record_without_its_last_update_date_is_kept_with_a_fallback_version(matcher: InterventionMatcher) -> None:
    """Pages fetched with `fields=` may leave out the last-update date: the submit date, then the
    verification date, order versions; with none the version is "" (older than any dated one)."""
    posted = study("NCT03056339.json").data
    without = _set(posted, f"{STATUS}.lastUpdatePostDateStruct", None)
    assert convert(_set(without, f"{STATUS}.lastUpdateSubmitDate", "2023-06-20"), matcher).last_update == "2023-06-20"
    verified = _set(_set(without, f"{STATUS}.lastUpdateSubmitDate", None), f"{STATUS}.statusVerifiedDate", "2023-05")
    assert convert(verified, matcher).last_update == "2023-05"
    bare = convert(_set(verified, f"{STATUS}.statusVerifiedDate", None), matcher)
    assert bare.last_update == "" and "no update date in the record read" in str(bare.quads)
    assert "modified" not in str(bare.quads)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (f"{ID}.nctId", 3056339, f"{ID}.nctId: expected a string, found a number"),
        (f"{ID}.nctId", "nct03056339", "an NCT number is 'NCT' and eight digits, found 'nct03056339'"),
        (f"{ID}.briefTitle", " ", f"missing {ID}.briefTitle"),
        (
            f"{STATUS}.startDateStruct.date",
            "2017-13",
            f"{STATUS}.startDateStruct.date: expected a date (YYYY-MM-DD or YYYY-MM), found '2017-13'",
        ),
        (f"{STATUS}.startDateStruct.date", "June 2017", "expected a date"),
        (f"{DESIGN}.phases", ["PHASE5"], f"{DESIGN}.phases[0]: unknown phase 'PHASE5'"),
        (
            f"{DESIGN}.enrollmentInfo.count",
            "11",
            f"{DESIGN}.enrollmentInfo.count: expected a non-negative whole number, found '11'",
        ),
        (f"{DESIGN}.enrollmentInfo.count", True, "expected a non-negative whole number, found True"),
        (f"{DESIGN}.enrollmentInfo", [11], f"{DESIGN}.enrollmentInfo: expected an object, found a list"),
        (
            "protocolSection.armsInterventionsModule.interventions.2.name",
            None,
            "missing protocolSection.armsInterventionsModule.interventions[2].name",
        ),
        ("protocolSection.conditionsModule.conditions", [["CLL"]], "conditions[0]: expected a string, found a list"),
        (f"{ID}.officialTitle", "\ud800", f"{ID}.officialTitle: not valid Unicode text"),
        (
            f"{EVENTS}.otherEvents.0.stats.1.numAffected",
            3,
            f"{EVENTS}.otherEvents[0].stats[1]: numAffected 3 is more than numAtRisk 2",
        ),
        (f"{EVENTS}.otherEvents.0.stats.1.groupId", "EG009", "no event group 'EG009' in eventGroups"),
        ("resultsSection", "none", "resultsSection: expected an object, found a string"),
    ],
)
def test_wrong_types_and_values_are_problems_never_errors(
    matcher: InterventionMatcher, path: str, value: Any, message: str
) -> None:
    data = _set(study("NCT03056339.json").data, path, value)
    problem = to_record(data, matcher, "somewhere.json")
    assert isinstance(problem, Problem) and problem.where == "somewhere.json"
    assert message in problem.message


@pytest.mark.parametrize("data", [[], "study", None, {"protocolSection": []}])
def test_records_that_are_not_objects_are_problems(matcher: InterventionMatcher, data: Any) -> None:
    assert isinstance(to_record(data, matcher, "x"), Problem)


# --- Converting ----------------------------------------------------------------------------------


def test_record_graph_describes_its_own_source(matcher: InterventionMatcher) -> None:
    record = convert(study("NCT03056339.json").data, matcher)
    source = "src:ctgov-NCT03056339"
    assert (record.key, record.last_update, record.graph) == (
        "NCT03056339",
        "2023-06-22",
        vocab.SOURCE + "ctgov-NCT03056339",
    )
    assert {q.graph_name for q in record.quads} == {ox.NamedNode(record.graph)}
    assert len(record.quads) == len(set(record.quads))
    assert values(record, source, "rdf:type") == {iri("tkg:IngestedRecord")}
    assert values(record, source, "dcterms:title") == text(CAR_NK_TITLE)
    assert values(record, source, "dcterms:bibliographicCitation") == text(
        "ClinicalTrials.gov record NCT03056339, last updated 2023-06-22."
    )
    assert values(record, source, "tkg:nctId") == text("NCT03056339")
    assert values(record, source, "tkg:url") == {typed("https://clinicaltrials.gov/study/NCT03056339", "anyURI")}
    assert values(record, source, "dcterms:modified") == {typed("2023-06-22", "date")}
    assert values(record, source, "tkg:claimKind") == {iri("tkg:RegistryClaim")}
    assert values(record, source, "dcterms:isPartOf") == {iri("src:clinicaltrials-gov")}


def test_trial_facts_from_the_record(matcher: InterventionMatcher) -> None:
    record = convert(study("NCT03056339.json").data, matcher)
    trial = "tkgr:NCT03056339"

    def one(predicate: str) -> ox.NamedNode | ox.Literal:
        [value] = values(record, trial, predicate)
        return value

    assert values(record, trial, "rdf:type") == {iri("tkg:ClinicalTrial")}
    assert one("rdfs:label") == ox.Literal(CAR_NK_TITLE)
    assert one("tkg:nctId") == ox.Literal("NCT03056339")
    assert one("tkg:officialTitle").value.startswith("Phase I/II Study of CAR.CD19")
    assert one("tkg:overallStatus") == ox.Literal("COMPLETED")
    assert one("tkg:studyType") == ox.Literal("INTERVENTIONAL")
    assert values(record, trial, "tkg:trialPhase") == {iri("tkg:Phase1"), iri("tkg:Phase2")}
    assert one("tkg:enrollment") == typed("11", "nonNegativeInteger")
    assert one("tkg:enrollmentType") == ox.Literal("ACTUAL")
    assert one("tkg:startDate") == typed("2017-06-21", "date")
    assert one("tkg:completionDate") == typed("2022-12-31", "date")
    assert one("tkg:leadSponsorName") == ox.Literal("M.D. Anderson Cancer Center")
    assert one("tkg:collaboratorName") == ox.Literal("National Cancer Institute (NCI)")
    assert values(record, trial, "tkg:conditionName") == text(
        "B-Cell Non-Hodgkin Lymphoma", "Chronic Lymphocytic Leukemia", "Recurrent Acute Lymphoblastic Leukemia"
    )
    assert values(record, trial, "tkg:armLabel") == text("Phase I (dose escalation)", "Phase II (expansion)")
    assert values(record, trial, "tkg:interventionName") == text(
        "Cyclophosphamide", "Fludarabine Phosphate", "iC9/CAR.19/IL15-Transduced CB-NK Cells", "Mesna"
    )
    assert values(record, trial, "tkg:evaluates") == {iri("tkgr:mda-cd19-car-nk")}
    assert record.unmatched == ["Cyclophosphamide", "Fludarabine Phosphate", "Mesna"]
    assert one("tkg:locationCountry") == ox.Literal("United States")


def test_countries_are_listed_once(matcher: InterventionMatcher) -> None:
    record = convert(study("NCT02435849.json").data, matcher)
    assert values(record, "tkgr:NCT02435849", "tkg:locationCountry") == text("United States", "Canada", "France")
    assert len(record.quads) == len(set(record.quads))


def test_year_month_dates_and_early_phase(matcher: InterventionMatcher) -> None:
    [_, academic] = read_records([DATA / "page.json"])
    assert isinstance(academic, RawStudy)
    record = convert(academic.data, matcher)
    trial = "tkgr:NCT09000001"
    assert record.last_update == "2022-01"
    assert values(record, "src:ctgov-NCT09000001", "dcterms:modified") == {typed("2022-01", "gYearMonth")}
    assert values(record, trial, "tkg:startDate") == {typed("2019-03", "gYearMonth")}
    assert values(record, trial, "tkg:completionDate") == {typed("2023-12", "gYearMonth")}
    assert values(record, trial, "tkg:trialPhase") == {iri("tkg:EarlyPhase1")}
    assert values(record, trial, "tkg:evaluates") == {iri("tkgr:car-t")}
    assert record.unmatched == ["Fludarabine", "Cyclophosphamide"]


def test_a_newer_version_of_a_record_keeps_its_graph(matcher: InterventionMatcher) -> None:
    old = convert(study("NCT02435849.json").data, matcher)
    new = convert(study("updated/NCT02435849.json").data, matcher)
    assert (old.key, old.graph) == (new.key, new.graph)
    assert new.last_update > old.last_update
    assert values(new, "tkgr:NCT02435849", "tkg:overallStatus") == text("COMPLETED")
    assert ox.Literal("Norway") in values(new, "tkgr:NCT02435849", "tkg:locationCountry")


# --- Matching interventions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "other_names", "expected"),
    [
        ("Tisagenlecleucel", [], "tisagenlecleucel"),
        ("Experimental CAR T cells", ["CTL019", "Kymriah"], "tisagenlecleucel"),
        ("Pembrolizumab", ["MK-3475", "KEYTRUDA®"], "pembrolizumab"),
        ("iC9/CAR.19/IL15-Transduced CB-NK Cells", ["CD19 CAR-NK"], "mda-cd19-car-nk"),
        ("NKX019", [], "nkx019"),
        ("CD19 CAR-T cells", [], "car-t"),
        ("anti-CD19 CAR T-cells", [], "car-t"),
        ("CD19 CAR T-cell therapy", [], "car-t"),
        ("CAR-NK", [], "car-nk"),
        ("Anti-CD33 CAR-NK cells", [], "car-nk"),
        ("Anti-PD-1 monoclonal antibody", [], "pd-1-inhibitor"),
        ("cartilage", [], None),
        ("Cartilage-derived matrix", [], None),
        ("Placebo", [], None),
        ("Fludarabine", ["Fludara"], None),
        ("Pembrolizumab + Carboplatin + Pemetrexed", [], "pembrolizumab"),
        ("Pembrolizumab 200 mg IV every 3 weeks", [], "pembrolizumab"),
        ("Allogeneic CD19 CAR-NK cells from a cell line", [], "car-nk"),  # a descriptive synonym, not a product
        ("Nivolumab or Pembrolizumab (dependent upon approved indication)", [], None),  # two: no one therapy
    ],
)
def test_interventions_match_products_then_modality_phrases(
    matcher: InterventionMatcher, name: str, other_names: list[str], expected: str | None
) -> None:
    found = matcher.match(name, other_names)
    assert (vocab.short_id(found) if found else None) == expected


def test_products_named_inside_longer_intervention_names_are_all_linked(matcher: InterventionMatcher) -> None:
    either = matcher.match_all("Nivolumab or Pembrolizumab (dependent upon approved indication)")
    assert [vocab.short_id(t) for t in either] == ["nivolumab", "pembrolizumab"]
    item = study("NCT03056339.json")
    renamed = _set(
        item.data,
        "protocolSection.armsInterventionsModule.interventions.0.name",
        "Nivolumab or Pembrolizumab (dependent upon approved indication)",
    )
    record = convert(renamed, matcher)
    evaluates = {q.object.value for q in record.quads if q.predicate.value.endswith("#evaluates")}
    assert {vocab.RESOURCE + "nivolumab", vocab.RESOURCE + "pembrolizumab"} <= evaluates


def test_products_are_matched_by_whole_names_only() -> None:
    names = {
        normalise("CD19 CAR-NK"): "product",
        normalise("CAR-NK"): "modality",
        normalise("CAR-NK cell therapy"): "modality",
        normalise("cell therapy"): "broader",
    }
    matcher = InterventionMatcher(names, {"modality", "broader"})
    assert matcher.match("CD19 CAR-NK") == "product"
    assert matcher.match("Anti-CD19 CAR-NK cells") == "modality"
    assert matcher.match("Anti-CD19 CAR-NK cell therapy") == "modality"  # the longest phrase wins
    assert matcher.match("Adoptive cell therapy") == "broader"
    assert InterventionMatcher({"": "product"}, ()).match("-", ["®"]) is None


# --- Adverse events ------------------------------------------------------------------------------


def test_adverse_events_of_interest_per_results_group(matcher: InterventionMatcher) -> None:
    found = observations(convert(study("NCT03056339.json").data, matcher))
    summary = sorted(
        (o["adverseEvent"], o["eventCategory"], o["groupTitle"], o["numerator"], o["denominator"])
        for o in found.values()
    )
    assert summary == [
        ("crs", "tkg:OtherAdverseEvents", "Phase I (Dose Escalation)", "0", "9"),
        ("crs", "tkg:OtherAdverseEvents", "Phase II (Expansion)", "0", "2"),
        ("gvhd", "tkg:SeriousAdverseEvents", "Phase I (Dose Escalation)", "0", "9"),
        ("gvhd", "tkg:SeriousAdverseEvents", "Phase II (Expansion)", "0", "2"),
        ("neurotoxicity", "tkg:OtherAdverseEvents", "Phase I (Dose Escalation)", "0", "9"),
        ("neurotoxicity", "tkg:OtherAdverseEvents", "Phase II (Expansion)", "0", "2"),
    ]
    assert found["NCT03056339-other-event-1-group-0"] == {
        "type": "tkg:AdverseEventObservation",
        "trial": "NCT03056339",
        "therapy": "mda-cd19-car-nk",
        "adverseEvent": "neurotoxicity",
        "eventCategory": "tkg:OtherAdverseEvents",
        "eventTerm": "Immune effector cell-associated neurotoxicity syndrome",
        "groupTitle": "Phase I (Dose Escalation)",
        "numerator": "0",
        "denominator": "9",
    }


def test_groups_titled_unlike_their_arms_are_matched_by_description_and_the_rest_reported(
    matcher: InterventionMatcher,
) -> None:
    """Results groups titled in shorthand ("PEM 200 (SS)") are tied to the arm their description
    names; a group tied to no arm and naming no therapy is reported, not silently dropped."""
    data = copy.deepcopy(study("NCT03056339.json").data)
    data["protocolSection"]["armsInterventionsModule"] = {
        "armGroups": [{"label": "Pembrolizumab 200 mg Q3W"}, {"label": "Placebo"}],
        "interventions": [
            {"type": "DRUG", "name": "Pembrolizumab", "armGroupLabels": ["Pembrolizumab 200 mg Q3W"]},
            {"type": "DRUG", "name": "Placebo", "armGroupLabels": ["Placebo"]},
        ],
    }
    groups = [
        ("EG000", "PEM 200 (SS)", "Participants received Pembrolizumab 200 mg Q3W (safety set)."),
        ("EG001", "PBO (SS)", "Participants received Placebo (safety set)."),
        ("EG002", "Open-label extension (SS)", "All participants who continued."),
    ]
    data["resultsSection"] = {
        "adverseEventsModule": {
            "eventGroups": [{"id": i, "title": t, "description": d} for i, t, d in groups],
            "seriousEvents": [
                {
                    "term": "Cytokine release syndrome",
                    "stats": [
                        {"groupId": i, "numAffected": n, "numAtRisk": 40}
                        for (i, _, _), n in zip(groups, (3, 1, 2), strict=True)
                    ],
                }
            ],
        }
    }
    record = convert(data, matcher)
    assert [(o["therapy"], o["groupTitle"], o["numerator"]) for o in observations(record).values()] == [
        ("pembrolizumab", "PEM 200 (SS)", "3")
    ]
    assert record.unattributed == ["Open-label extension (SS)"]  # the placebo group is a control, not a loss


def test_when_every_arm_received_the_same_every_group_did(matcher: InterventionMatcher) -> None:
    data = copy.deepcopy(study("NCT03056339.json").data)
    for group in data["resultsSection"]["adverseEventsModule"]["eventGroups"]:
        group["title"], group["description"] = f"Cohort {group['id']}", "All participants"
    record = convert(data, matcher)
    assert record.unattributed == [] and observations(record)
    assert {o["therapy"] for o in observations(record).values()} == {"mda-cd19-car-nk"}


def test_serious_and_other_counts_stay_apart(matcher: InterventionMatcher) -> None:
    found = observations(convert(study("NCT02435849.json").data, matcher))
    assert sorted((o["eventCategory"], o["therapy"], o["numerator"], o["denominator"]) for o in found.values()) == [
        ("tkg:OtherAdverseEvents", "tisagenlecleucel", "24", "79"),
        ("tkg:SeriousAdverseEvents", "tisagenlecleucel", "37", "79"),
    ]


def _with_crs(data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    groups = data["resultsSection"]["adverseEventsModule"]["eventGroups"]
    data["resultsSection"]["adverseEventsModule"]["seriousEvents"] = [
        {
            "term": "Cytokine Release Syndrome",
            "stats": [{"groupId": g["id"], "numAffected": 1, "numAtRisk": 10} for g in groups],
        }
    ]
    return data


def test_each_group_is_attributed_to_the_therapy_its_arm_received(matcher: InterventionMatcher) -> None:
    [keynote, _] = read_records([DATA / "page.json"])
    assert isinstance(keynote, RawStudy)
    found = observations(convert(_with_crs(keynote.data), matcher))
    assert sorted((o["groupTitle"], o["therapy"]) for o in found.values()) == [
        ("Ipilimumab", "ipilimumab"),
        ("Pembrolizumab 10 mg/kg Q2W", "pembrolizumab"),
        ("Pembrolizumab 10 mg/kg Q3W", "pembrolizumab"),
    ]


def test_control_arms_and_combinations_are_not_attributed(matcher: InterventionMatcher) -> None:
    [keynote, _] = read_records([DATA / "page.json"])
    assert isinstance(keynote, RawStudy)
    data = _with_crs(keynote.data)
    arms = data["protocolSection"]["armsInterventionsModule"]
    arms["interventions"][0]["armGroupLabels"].append("Ipilimumab")  # now a combination arm
    arms["armGroups"].append({"label": "Standard of care"})
    arms["interventions"].append({"type": "DRUG", "name": "Dacarbazine", "armGroupLabels": ["Standard of care"]})
    groups = data["resultsSection"]["adverseEventsModule"]["eventGroups"]
    groups.append({"id": "EG003", "title": "Standard of care"})
    data["resultsSection"]["adverseEventsModule"]["seriousEvents"][0]["stats"].append(
        {"groupId": "EG003", "numAffected": 0, "numAtRisk": 5}
    )
    found = observations(convert(data, matcher))
    assert sorted(o["groupTitle"] for o in found.values()) == [
        "Pembrolizumab 10 mg/kg Q2W",
        "Pembrolizumab 10 mg/kg Q3W",
    ]


def test_groups_without_patients_at_risk_are_left_out(matcher: InterventionMatcher) -> None:
    data = _set(study("NCT03056339.json").data, "resultsSection.adverseEventsModule.otherEvents.0.stats.1.numAtRisk", 0)
    found = observations(convert(data, matcher))
    assert ("crs", "Phase II (Expansion)") not in {(o["adverseEvent"], o["groupTitle"]) for o in found.values()}
    assert len(found) == 5


def test_trials_without_results_have_no_observations(matcher: InterventionMatcher) -> None:
    [_, academic] = read_records([DATA / "page.json"])
    assert isinstance(academic, RawStudy)
    assert observations(convert(academic.data, matcher)) == {}


# --- Synthetic records ---------------------------------------------------------------------------


def test_synthetic_records_convert_without_problems(matcher: InterventionMatcher) -> None:
    spec = importlib.util.spec_from_file_location("generate_ctgov", SCRIPT)
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    studies = list(generator.studies(300))
    assert studies == list(generator.studies(300))  # deterministic
    converted = [to_record(s, matcher, f"synthetic[{i}]") for i, s in enumerate(studies)]
    assert [c for c in converted if isinstance(c, Problem)] == []
    good = [c for c in converted if isinstance(c, TrialRecord)]
    assert any(r.unmatched for r in good) and any(not r.unmatched for r in good)
    assert sum(len(observations(r)) for r in good) > 0
