"""The kinds of evidence, defined once: the ontology class (a subclass of tkg:Evidence), the key
used in descriptions and comparison rows, the section of `kg show --format json`, its title, the
node kind the view draws, and the plural a summary counts in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EvidenceKind:
    key: str  # `Evidence.kind`; comparison rows are `<key>:<row>`
    class_name: str  # the ontology class's local name
    section: str  # key of the list in kg show's JSON
    title: str
    node: str | None  # what the comparison view draws (None: not drawn)
    plural: str


EVIDENCE_KINDS = (
    EvidenceKind("approval", "Approval", "approvals", "Approvals", "approval", "approvals"),
    EvidenceKind(
        "label-event", "LabelSafetyEvent", "label_events", "Label safety events", "label-event", "label safety actions"
    ),
    EvidenceKind("trial", "ClinicalTrial", "trials", "Trials", "trial", "trials"),
    EvidenceKind("outcome", "TrialOutcome", "outcomes", "Trial outcomes", "observation", "observations"),
    EvidenceKind(
        "time-to-event",
        "TimeToEventOutcome",
        "time_to_event",
        "Time-to-event outcomes",
        "estimate",
        "estimates",
    ),
    EvidenceKind(
        "adverse-event",
        "AdverseEventObservation",
        "adverse_events",
        "Adverse-event observations",
        "observation",
        "observations",
    ),
    EvidenceKind("price", "ListPrice", "prices", "List prices", "price", "prices"),
    EvidenceKind("award", "Award", "awards", "Awards", None, "awards"),
)
"""In the order descriptions list them."""

BY_CLASS = {kind.class_name: kind for kind in EVIDENCE_KINDS}
BY_KEY = {kind.key: kind for kind in EVIDENCE_KINDS}


def kind_of_class(class_iri: str) -> str:
    """The evidence key of an ontology class IRI (`...#TrialOutcome` -> `outcome`)."""
    return BY_CLASS[class_iri.rsplit("#", 1)[-1]].key
