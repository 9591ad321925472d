"""ClinicalTrials.gov study records (API v2 JSON) as RDF, one named graph per record.

`read_records` finds studies in what the registry hands out: single-study files, API pages
(`{"studies": [...], "nextPageToken": ...}`), JSON Lines and directories of these. `to_record`
turns one study into the quads of its own graph `src:ctgov-NCTxxxxxxxx`, which describes the record
as a source (a `tkg:IngestedRecord`, claim kind registry record) and states what the record says about the
trial `tkgr:NCTxxxxxxxx`, the same node curated sources describe, so both meet. Nothing is written
here; `kg.ingest` decides which records to keep.

Registry records are too many for SHACL, so they are checked here as they are converted: an
invalid NCT number, a field of the wrong type or counts that contradict each other make the record
a `Problem`, and nothing of it is kept.

Adverse events are kept for the events comparisons show (CRS, neurotoxicity, GvHD), one
observation per results group: summing groups would count a control arm's events against the
therapy, and a group's own number at risk is the denominator the registry reports.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg import vocab
from kg.graph import TherapyGraph, iri
from kg.ingest import Problem
from kg.regdata import Quads
from kg.therapy import normalise

JSON_LINES = (".jsonl", ".ndjson")
SUFFIXES = (".json", *JSON_LINES)
NCT_ID = re.compile(r"NCT[0-9]{8}")  # ASCII digits: \d would take any script's digits
REGISTRY = vocab.SOURCE + "clinicaltrials-gov"


@dataclass(frozen=True)
class RawStudy:
    """A study object as read, with where it was found (for problems found while converting it)."""

    where: str
    data: dict[str, Any]


@dataclass(frozen=True)
class TrialRecord:
    """A good record, fully converted in memory."""

    key: str  # the NCT number
    last_update: str  # lastUpdatePostDateStruct.date as given (YYYY-MM-DD or YYYY-MM)
    graph: str
    quads: list[ox.Quad]
    unmatched: list[str]  # intervention names not linked to a known therapy
    unattributed: list[str]  # results groups with events of interest tied to no arm or therapy: left out


# --- Reading files -----------------------------------------------------------------------------


def read_records(paths: Iterable[Path]) -> Iterator[RawStudy | Problem]:
    """Yield the studies in files and directories (recursively: *.json, *.jsonl, *.ndjson).

    A .json file holds one study, an API page `{"studies": [...]}` or a list of studies; JSON
    Lines files hold one of these per line. Unreadable files, invalid JSON and anything that is not
    a study object become Problems naming the file and the line or position.
    """
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in (*SUFFIXES, ".xml") and not p.is_dir())
            if not files:
                yield Problem(str(path), f"no {', '.join(SUFFIXES)} files in this directory")
            for file in files:
                yield from _read_file(file)
        else:
            yield from _read_file(path)


NEEDS_V2 = "API v2 JSON is needed (kg ingest ctgov --term ... fetches it)"


def _other_format(text: str, document: object = None) -> str | None:
    """What a file from elsewhere in ClinicalTrials.gov's history is, if it is one."""
    if text.lstrip("\ufeff \t\r\n").startswith("<"):
        return f"ClinicalTrials.gov's classic XML; {NEEDS_V2}"
    if isinstance(document, dict):
        for response in ("FullStudiesResponse", "StudyFieldsResponse", "FullStudyResponse"):
            if response in document:
                return f"a response of the retired API v1 ({response}); {NEEDS_V2}"
        if "ProtocolSection" in document or "Study" in document:
            return f"a study record of the retired API v1 (ProtocolSection); {NEEDS_V2}"
    return None


def records(paths: Iterable[Path], matcher: InterventionMatcher) -> Iterator[TrialRecord | Problem]:
    """Every study found in `paths`, converted: what `kg.ingest.store_records` takes."""
    for item in read_records(paths):
        yield item if isinstance(item, Problem) else to_record(item.data, matcher, item.where)


def _read_file(path: Path) -> Iterator[RawStudy | Problem]:
    if path.exists() and not path.is_file():  # a pipe or a device would be read forever
        yield Problem(str(path), "not a regular file (a pipe or a device)")
        return
    try:
        if path.suffix not in JSON_LINES:
            yield from _studies(path.read_text(encoding="utf-8"), str(path), one_line=False)
            return
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield from _studies(line.rstrip("\r\n"), f"{path}:{number}", one_line=True)
    except (OSError, UnicodeDecodeError) as error:
        yield Problem(str(path), f"cannot read: {getattr(error, 'strerror', None) or error}")


def _studies(text: str, where: str, *, one_line: bool) -> Iterator[RawStudy | Problem]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if other := _other_format(text):
            yield Problem(where, other)
            return
        position = f"column {error.colno}" if one_line else f"line {error.lineno}, column {error.colno}"
        yield Problem(where, f"invalid JSON: {error.msg} ({position})")
        return
    except RecursionError:
        yield Problem(where, "JSON nested too deeply to be a study record")
        return
    except ValueError as error:  # a number of more than 4,300 digits (Python's limit on int parsing)
        yield Problem(where, f"a JSON number too long to read ({str(error).split(':')[0]})")
        return
    if other := _other_format(text, document):
        yield Problem(where, other)
        return
    if isinstance(document, dict) and "studies" in document:
        studies = document["studies"]
        if not isinstance(studies, list):
            yield Problem(where, f"'studies' must be a list, found {_kind(studies)}")
            return
        items = [(f"{where}#studies[{i}]", study) for i, study in enumerate(studies)]
    elif isinstance(document, list):
        items = [(f"{where}#[{i}]", study) for i, study in enumerate(document)]
    else:
        items = [(where, document)]
    for at, study in items:
        yield (
            RawStudy(at, study)
            if isinstance(study, dict)
            else Problem(at, f"expected a study object, found {_kind(study)}")
        )


# --- Matching names ----------------------------------------------------------------------------

_WORD = re.compile(r"[0-9a-z]+")


class _Phrases:
    """The longest phrase of a table that occurs in a text as whole words (runs of letters and digits)."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = dict(table)  # normalised phrase -> IRI
        self.longest = max(map(len, self.table), default=0)

    def find(self, text: str) -> str | None:
        words = _WORD.findall(text.casefold())
        found, size = None, 0
        for start in range(len(words)):
            phrase = self._at(words, start)
            if phrase is not None and len(phrase) > size:
                found, size = self.table[phrase], len(phrase)
        return found

    def find_all(self, text: str) -> list[str]:
        """Every phrase of the table in the text, left to right (the longest at each place)."""
        words = _WORD.findall(text.casefold())
        found: dict[str, None] = {}
        for start in range(len(words)):
            phrase = self._at(words, start)
            if phrase is not None:
                found[self.table[phrase]] = None
        return list(found)

    def _at(self, words: list[str], start: int) -> str | None:
        """The longest phrase of the table that starts at `words[start]`."""
        joined, longest = "", None
        for word in words[start:]:
            joined += word
            if len(joined) > self.longest:
                break
            if joined in self.table:
                longest = joined
        return longest


class InterventionMatcher:
    """Links intervention names to therapies.

    First a product or modality one of the names names exactly (ignoring case and punctuation);
    then the products whose own names (brand, generic, code) occur as whole words in a name
    ("Pembrolizumab + Carboplatin + Pemetrexed", "Nivolumab or Pembrolizumab"); then a modality
    named as a whole-word phrase inside a name ("anti-CD19 CAR-T cells" is CAR-T, "cartilage" is
    nothing). A product's descriptive synonyms ("CD19 CAR-NK") match only whole names: inside a
    longer one they would claim other developers' cells.
    """

    def __init__(
        self, names: Mapping[str, str], modalities: Collection[str], proper_names: Mapping[str, str] | None = None
    ) -> None:
        """`names`: normalised name -> therapy IRI; `modalities`: the IRIs that are modalities;
        `proper_names`: normalised brand, generic or code name -> product IRI."""
        self.names = {name: therapy for name, therapy in names.items() if name}  # "" would match "®" or "-"
        modality_iris = set(modalities)
        self.phrases = _Phrases({name: therapy for name, therapy in self.names.items() if therapy in modality_iris})
        self.products = _Phrases({name: product for name, product in (proper_names or {}).items() if name})

    @classmethod
    def from_graph(cls, graph: TherapyGraph) -> InterventionMatcher:
        """Every name that identifies one therapy (id, label, synonyms, brand, generic and code names)."""
        therapies = graph.therapies
        return cls(therapies.unique_names(), {ref.iri for ref in therapies.all("modality")}, therapies.proper_names())

    def match(self, name: str, other_names: Sequence[str] = ()) -> str | None:
        """The one therapy an intervention is, by its name and other names; None if none is known or
        it names several."""
        found = self.match_all(name, other_names)
        return found[0] if len(found) == 1 else None

    def match_all(self, name: str, other_names: Sequence[str] = ()) -> list[str]:
        """The therapies an intervention is or combines, by its name and other names."""
        candidates = (name, *other_names)
        for candidate in candidates:
            therapy = self.names.get(normalise(candidate))
            if therapy:
                return [therapy]
        products = list(dict.fromkeys(p for candidate in candidates for p in self.products.find_all(candidate)))
        if products:
            return products
        for candidate in candidates:
            therapy = self.phrases.find(candidate)
            if therapy:
                return [therapy]
        return []


# Registry adverse-event terms (MedDRA) of the events comparisons show.
_EVENTS = _Phrases(
    {
        normalise(term): vocab.RESOURCE + event
        for term, event in [
            ("cytokine release syndrome", "crs"),
            ("CRS", "crs"),
            ("neurotoxicity", "neurotoxicity"),
            ("ICANS", "neurotoxicity"),
            ("immune effector cell-associated neurotoxicity syndrome", "neurotoxicity"),
            ("graft versus host disease", "gvhd"),
            ("graft vs host disease", "gvhd"),
            ("GvHD", "gvhd"),
        ]
    }
)

# --- Converting one study ----------------------------------------------------------------------

_iri = cache(iri)  # conversion names the same few dozen terms for every record
_DATE = _iri("xsd:date")
_YEAR_MONTH = _iri("xsd:gYearMonth")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}(-[0-9]{2})?")
_PHASES = {
    "EARLY_PHASE1": "tkg:EarlyPhase1",
    "PHASE1": "tkg:Phase1",
    "PHASE2": "tkg:Phase2",
    "PHASE3": "tkg:Phase3",
    "PHASE4": "tkg:Phase4",
    "NA": "tkg:PhaseNotApplicable",
}
_CATEGORIES = {
    "seriousEvents": ("serious", "tkg:SeriousAdverseEvents"),
    "otherEvents": ("other", "tkg:OtherAdverseEvents"),
}


class _Invalid(Exception):
    """A field of the wrong type or value: the record becomes a Problem."""


class _Field:
    """A value in a study and where it is, for typed access and messages that name the field.

    The path is spelled out only for a message: conversion reads some fifty fields per record.
    """

    __slots__ = ("key", "parent", "value")

    def __init__(self, value: Any, parent: _Field | None = None, key: str | int = "") -> None:
        self.value, self.parent, self.key = value, parent, key

    @property
    def path(self) -> str:
        if self.parent is None:
            return "the study"
        if isinstance(self.key, int):
            return f"{self.parent.path}[{self.key}]"
        return self.key if self.parent.parent is None else f"{self.parent.path}.{self.key}"

    def __getitem__(self, key: str) -> _Field:
        if self.value is None:
            return _Field(None, self, key)
        if not isinstance(self.value, dict):
            raise _Invalid(f"{self.path}: expected an object, found {_kind(self.value)}")
        return _Field(self.value.get(key), self, key)

    def text(self) -> str | None:
        """A non-empty string, stripped; None when absent or blank."""
        if self.value is None:
            return None
        if not isinstance(self.value, str):
            raise _Invalid(f"{self.path}: expected a string, found {_kind(self.value)}")
        try:
            self.value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Invalid(f"{self.path}: not valid Unicode text") from None
        return self.value.strip() or None

    def required(self) -> str:
        text = self.text()
        if text is None:
            raise _Invalid(f"missing {self.path}")
        return text

    def count(self) -> int | None:
        if self.value is None:
            return None
        if not isinstance(self.value, int) or isinstance(self.value, bool) or self.value < 0:
            raise _Invalid(f"{self.path}: expected a non-negative whole number, found {self.value!r}")
        return self.value

    def items(self) -> list[_Field]:
        if self.value is None:
            return []
        if not isinstance(self.value, list):
            raise _Invalid(f"{self.path}: expected a list, found {_kind(self.value)}")
        return [_Field(value, self, i) for i, value in enumerate(self.value)]

    def texts(self) -> list[str]:
        return [text for item in self.items() if (text := item.text()) is not None]

    def date(self) -> ox.Literal | None:
        """A registry date as xsd:date (YYYY-MM-DD) or xsd:gYearMonth (YYYY-MM)."""
        text = self.text()
        if text is None:
            return None
        try:
            if not _DATE_TEXT.fullmatch(text):
                raise ValueError(text)
            dt.date.fromisoformat(text if len(text) == 10 else text + "-01")
        except ValueError:
            raise _Invalid(f"{self.path}: expected a date (YYYY-MM-DD or YYYY-MM), found {text!r}") from None
        return ox.Literal(text, datatype=_DATE if len(text) == 10 else _YEAR_MONTH)


def to_record(study: dict[str, Any], matcher: InterventionMatcher, source: str) -> TrialRecord | Problem:
    """Convert one API v2 study; `source` says where it was read, for the Problem if it is bad."""
    try:
        return _convert(_Field(study), matcher)
    except _Invalid as error:
        return Problem(source, str(error))


def _convert(study: _Field, matcher: InterventionMatcher) -> TrialRecord:
    protocol = study["protocolSection"]
    ident = protocol["identificationModule"]
    nct = ident["nctId"].required()
    if not NCT_ID.fullmatch(nct):
        raise _Invalid(f"{ident['nctId'].path}: an NCT number is 'NCT' and eight digits, found {nct!r}")
    title = ident["briefTitle"].required()
    modified = _version_date(protocol["statusModule"])

    out = Quads(ox.NamedNode(f"{vocab.SOURCE}ctgov-{nct}"))
    trial = ox.NamedNode(vocab.RESOURCE + nct)
    _describe_source(out, nct, title, modified)
    _describe_trial(out, trial, protocol, nct, title)
    arms, unmatched = _interventions(out, trial, protocol["armsInterventionsModule"], matcher)
    unattributed = _adverse_events(out, trial, study["resultsSection"]["adverseEventsModule"], arms)
    version = modified.value if modified is not None else ""
    return TrialRecord(nct, version, out.graph.value, list(dict.fromkeys(out.quads)), unmatched, unattributed)


def _version_date(status: _Field) -> ox.Literal | None:
    """The date that orders versions of a record: the last update posted, else the last update
    submitted, else the date the status was verified. Pages fetched with `fields=` may carry none of
    them: such a record is kept with version "" (older than any dated one), so a dated version of it
    replaces it and it never replaces one."""
    for field in (
        status["lastUpdatePostDateStruct"]["date"],
        status["lastUpdateSubmitDate"],
        status["statusVerifiedDate"],
    ):
        date = field.date()
        if date is not None:
            return date
    return None


def _describe_source(out: Quads, nct: str, title: str, modified: ox.Literal | None) -> None:
    """The record as a source: what the comparisons cite for the facts in its graph."""
    source = out.graph
    updated = f"last updated {modified.value}" if modified is not None else "no update date in the record read"
    out.add(source, "rdf:type", _iri("tkg:IngestedRecord"))
    out.add(source, "dcterms:title", title)
    out.add(source, "dcterms:bibliographicCitation", f"ClinicalTrials.gov record {nct}, {updated}.")
    out.add(source, "tkg:nctId", nct)
    out.add(source, "tkg:url", ox.Literal(f"https://clinicaltrials.gov/study/{nct}", datatype=_iri("xsd:anyURI")))
    out.add(source, "dcterms:modified", modified)
    out.add(source, "dcterms:isPartOf", _iri(REGISTRY))
    out.add(source, "tkg:claimKind", _iri("tkg:RegistryClaim"))


def _describe_trial(out: Quads, trial: ox.NamedNode, protocol: _Field, nct: str, title: str) -> None:
    ident, status, design = protocol["identificationModule"], protocol["statusModule"], protocol["designModule"]
    out.add(trial, "rdf:type", _iri("tkg:ClinicalTrial"))
    out.add(trial, "tkg:registryRecord", out.graph)
    out.add(trial, "rdfs:label", title)
    out.add(trial, "tkg:nctId", nct)
    out.add(trial, "tkg:officialTitle", ident["officialTitle"].text())
    out.add(trial, "tkg:overallStatus", status["overallStatus"].text())
    out.add(trial, "tkg:startDate", status["startDateStruct"]["date"].date())
    out.add(trial, "tkg:completionDate", status["completionDateStruct"]["date"].date())
    out.add(trial, "tkg:studyType", design["studyType"].text())
    for phase in design["phases"].items():
        code = phase.required()
        if code not in _PHASES:
            raise _Invalid(f"{phase.path}: unknown phase {code!r} (expected one of {', '.join(_PHASES)})")
        out.add(trial, "tkg:trialPhase", _iri(_PHASES[code]))
    out.add(trial, "tkg:enrollment", design["enrollmentInfo"]["count"].count())
    out.add(trial, "tkg:enrollmentType", design["enrollmentInfo"]["type"].text())
    sponsors = protocol["sponsorCollaboratorsModule"]
    out.add(trial, "tkg:leadSponsorName", sponsors["leadSponsor"]["name"].text())
    for collaborator in sponsors["collaborators"].items():
        out.add(trial, "tkg:collaboratorName", collaborator["name"].text())
    for condition in protocol["conditionsModule"]["conditions"].texts():
        out.add(trial, "tkg:conditionName", condition)
    for location in protocol["contactsLocationsModule"]["locations"].items():
        out.add(trial, "tkg:locationCountry", location["country"].text())


@dataclass(frozen=True)
class _Arms:
    """Which therapies each arm received, to tell which therapy a results group was given."""

    therapies: dict[str, set[str]]  # normalised arm label -> therapies given in that arm
    evaluated: list[str]  # every therapy the trial evaluates
    matcher: InterventionMatcher

    @cached_property
    def _labels(self) -> _Phrases:
        """The arm labels, to find in a group's title or description."""
        return _Phrases({label: label for label in self.therapies})

    def therapies_of(self, title: str, description: str = "") -> set[str] | None:
        """The therapies a results group received; None when no arm or therapy could be told.

        A group titled like an arm received that arm's therapies (none for a control arm); in a
        single-arm trial, or one whose arms all received the same, every group received the
        trial's; a group whose title or description
        names one arm's label received that arm's ("Certolizumab Pegol 200 mg Q2W" in the
        description of a group titled "CZP 200 mg Q2W (SS)"); otherwise the therapies its title
        or description names.
        """
        therapies = self.therapies.get(normalise(title))
        if therapies is not None:
            return therapies
        if len(self.therapies) <= 1:
            return set(self.evaluated)
        given = {frozenset(t) for t in self.therapies.values()}
        if len(given) == 1:  # every arm received the same: so did every group
            return set(next(iter(given)))
        text = f"{title} {description}"
        arms = self._labels.find_all(text) if text.strip() else []
        if len(arms) == 1:
            return self.therapies[arms[0]]
        named = set(self.matcher.match_all(text)) if text.strip() else set()
        return named or None


def _interventions(
    out: Quads, trial: ox.NamedNode, module: _Field, matcher: InterventionMatcher
) -> tuple[_Arms, list[str]]:
    """Arm labels, intervention names and the therapies they are; returns the arms and the unmatched names."""
    therapies: dict[str, set[str]] = {}
    for arm in module["armGroups"].items():
        label = arm["label"].text()
        out.add(trial, "tkg:armLabel", label)
        if label:
            therapies[normalise(label)] = set()
    evaluated: dict[str, None] = {}  # ordered sets
    unmatched: dict[str, None] = {}
    for intervention in module["interventions"].items():
        name = intervention["name"].required()
        out.add(trial, "tkg:interventionName", name)
        found = matcher.match_all(name, intervention["otherNames"].texts())
        if not found:
            unmatched[name] = None
            continue
        for therapy in found:
            evaluated[therapy] = None
            for label in intervention["armGroupLabels"].texts():
                therapies.setdefault(normalise(label), set()).add(therapy)
    for therapy in evaluated:
        out.add(trial, "tkg:evaluates", _iri(therapy))
    return _Arms(therapies, list(evaluated), matcher), list(unmatched)


def _adverse_events(out: Quads, trial: ox.NamedNode, module: _Field, arms: _Arms) -> list[str]:
    """One observation per event of interest and results group given one therapy; the titles of
    groups with events of interest that no arm or therapy could be told for (left out)."""
    groups: dict[str, tuple[int, str | None, set[str] | None]] = {}  # id -> position, title, therapies
    for position, group in enumerate(module["eventGroups"].items()):
        title = group["title"].text()
        given = arms.therapies_of(title or "", group["description"].text() or "")
        groups[group["id"].required()] = (position, title, given)
    unattributed: dict[str, None] = {}
    for key, (slug, category) in _CATEGORIES.items():
        for index, event in enumerate(module[key].items()):
            term = event["term"].text()
            adverse_event = _EVENTS.find(term) if term else None
            if adverse_event is None:
                continue
            for stat in event["stats"].items():
                group_id = stat["groupId"].required()
                if group_id not in groups:
                    raise _Invalid(f"{stat['groupId'].path}: no event group {group_id!r} in eventGroups")
                position, title, given = groups[group_id]
                affected, at_risk = stat["numAffected"].count(), stat["numAtRisk"].count()
                if affected is None or not at_risk:
                    continue
                if given is None:
                    unattributed[title or group_id] = None
                    continue
                if len(given) != 1:  # a control arm, or a combination: not one therapy's counts
                    continue
                [therapy] = given
                if affected > at_risk:
                    raise _Invalid(f"{stat.path}: numAffected {affected} is more than numAtRisk {at_risk}")
                node = ox.NamedNode(f"{trial.value}-{slug}-event-{index}-group-{position}")
                out.add(node, "rdf:type", _iri("tkg:AdverseEventObservation"))
                out.add(node, "tkg:trial", trial)
                out.add(node, "tkg:therapy", _iri(therapy))
                out.add(node, "tkg:adverseEvent", _iri(adverse_event))
                out.add(node, "tkg:eventCategory", _iri(category))
                out.add(node, "tkg:eventTerm", term)
                out.add(node, "tkg:groupTitle", title)
                out.add(node, "tkg:numerator", affected)
                out.add(node, "tkg:denominator", at_risk)
    return list(unattributed)


def _kind(value: object) -> str:
    """How JSON calls the type of a value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"
