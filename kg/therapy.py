"""Therapies: finding one by any of its names, and everything the graph knows about it.

What is shown, in what order and group, comes from the ontology through the queries in
`kg/sparql/`; this module only assembles rows and applies the inheritance rule: a therapy takes a
property's values from the nearest of itself and its modalities that states any.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from kg import vocab
from kg.errors import UnknownTherapy, UsageError
from kg.evidence import EVIDENCE_KINDS, kind_of_class
from kg.render import description_html
from kg.terms import IRI, iri
from kg.vocab import short_id

if TYPE_CHECKING:
    from kg.graph import TherapyGraph


@dataclass(frozen=True)
class TherapyRef:
    """A modality or product: short id (`car-t`), IRI, label and level."""

    id: str
    iri: str
    label: str
    level: str


@dataclass(frozen=True)
class Source:
    """A source with its citation, claim kind (and that kind's rank, 1 = weakest), date, and a
    resolvable link (DOI, PubMed, ClinicalTrials.gov or URL)."""

    id: str
    title: str
    citation: str
    kind: str
    strength: int = 0
    date: str | None = None
    doi: str | None = None
    pmid: str | None = None
    url: str | None = None
    nct: str | None = None
    read_at: tuple[str, ...] = ()  # where copies were read when the original could not be

    @property
    def tag(self) -> str:
        """Kind and date in a few characters, as every output shows them beside a value: `review 2021-08-06`."""
        return " ".join(part for part in (self.kind.split()[0], self.date or "undated") if part)

    @property
    def link(self) -> str | None:
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        if self.url:
            return self.url
        if self.nct:
            return f"https://clinicaltrials.gov/study/{self.nct}"
        return None


@dataclass(frozen=True)
class Identifier:
    """The same thing in another resource: its scheme (NCIt, MeSH, ...), its id there, the IRI the
    catalogue states, and a page for people."""

    scheme: str
    id: str
    iri: str
    link: str


IdentifierScheme = tuple[str, str, str, str]  # IRI namespace, scheme name, page for an id, id pattern

IDENTIFIER_SCHEMES: tuple[IdentifierScheme, ...] = (  # one table for show, JSON and the data tests
    (
        "http://purl.obolibrary.org/obo/NCIT_",
        "NCIt",
        "https://evsexplore.semantics.cancer.gov/evsexplore/concept/ncit/",
        r"C\d+",
    ),
    ("http://id.nlm.nih.gov/mesh/", "MeSH", "https://meshb.nlm.nih.gov/record/ui?ui=", r"[CD]\d{6,9}"),
    ("http://www.wikidata.org/entity/", "Wikidata", "https://www.wikidata.org/wiki/", r"Q[1-9]\d*"),
    (
        "http://identifiers.org/chembl.compound/",
        "ChEMBL",
        "https://www.ebi.ac.uk/chembl/compound_report_card/",
        r"CHEMBL\d+",
    ),
    ("http://identifiers.org/unii/", "UNII", "https://precision.fda.gov/uniisearch/srs/unii/", r"[0-9A-Z]{10}"),
    ("http://identifiers.org/drugbank/", "DrugBank", "https://go.drugbank.com/drugs/", r"DB\d{5}"),
    (
        "http://purl.uniprot.org/uniprot/",
        "UniProt",
        "https://www.uniprot.org/uniprotkb/",
        r"[OPQ]\d[0-9A-Z]{3}\d|[A-NR-Z]\d[A-Z][0-9A-Z]{2}\d",
    ),
    ("http://identifiers.org/ensembl/", "Ensembl", "https://www.ensembl.org/id/", r"ENSG\d{11}"),
    (
        "http://identifiers.org/hgnc/",
        "HGNC",
        "https://www.genenames.org/data/gene-symbol-report/#!/hgnc_id/HGNC:",
        r"\d+",
    ),
    ("http://purl.obolibrary.org/obo/MONDO_", "MONDO", "https://monarchinitiative.org/MONDO:", r"\d{7}"),
    (
        "http://www.ebi.ac.uk/efo/EFO_",
        "EFO",
        "https://www.ebi.ac.uk/ols4/ontologies/efo/classes?short_form=EFO_",
        r"\d{7}",
    ),
)


def identifier(iri: str) -> Identifier:
    """An exactMatch IRI read as a scheme and id, with a page to open (the IRI itself for an unknown scheme).

    >>> identifier("http://purl.obolibrary.org/obo/NCIT_C106250")
    Identifier(scheme='NCIt', id='C106250', iri='http://purl.obolibrary.org/obo/NCIT_C106250', link='https://evsexplore.semantics.cancer.gov/evsexplore/concept/ncit/C106250')
    """
    for namespace, scheme, page, _ in IDENTIFIER_SCHEMES:
        if iri.startswith(namespace):
            local = iri[len(namespace) :]
            return Identifier(scheme, local, iri, page + local)
    return Identifier("other", iri, iri, iri)


@dataclass
class Fact:
    """One value with the sources stating it; `inherited_from` names the modality it comes from,
    `applies_to` the sub-modality it holds for when a modality states no value of its own."""

    value: Any
    label: str
    sources: list[str] = field(default_factory=list)
    inherited_from: str | None = None
    applies_to: str | None = None

    @property
    def note(self) -> str:
        """How the value relates to the therapy it is shown for; every output prints this."""
        if self.applies_to:
            return f"for {self.applies_to}"
        if self.inherited_from:
            return f"inherited from {self.inherited_from}"
        return ""


@dataclass
class PropertyRow:
    """A comparable property and the therapy's values for it (empty when nothing is known, or when
    the property does not describe the therapy at all: the cell source of an antibody)."""

    key: str  # the property, compact (`tkg:cellSource`)
    label: str
    group: str
    group_label: str
    facts: list[Fact]
    single_valued: bool = False
    applicable: bool = True  # False: specific to modalities the therapy is neither in nor above

    @property
    def conflict(self) -> bool:
        """Sources disagree: a single-valued property has more than one value for the same therapy
        (values of different sub-modalities do not disagree)."""
        scopes = [fact.applies_to for fact in self.facts]
        return self.single_valued and len(scopes) > len(set(scopes))


@dataclass
class Evidence:
    """An approval, trial, measurement or award, field by field, each field with its sources."""

    id: str
    kind: str
    label: str
    fields: dict[str, list[Fact]]
    field_labels: dict[str, str]
    errors: list[Fact] = field(default_factory=list)  # values marked as a source's known error, left out of fields
    single_valued: frozenset[str] = frozenset()  # the fields the ontology allows one value (tkg:SingleValuedProperty)

    def disagrees(self, name: str) -> bool:
        """Sources disagree on a field: it allows one value and sources state several."""
        return name in self.single_valued and len(self.fields.get(name, [])) > 1

    def first(self, name: str) -> Any:
        """The first value of a field, or None: for the common single-valued case."""
        facts = self.fields.get(name)
        return facts[0].value if facts else None


@dataclass(frozen=True)
class RegisteredTrial:
    """A trial of an ingested registry record that evaluates the therapy, as the record gives it."""

    nct: str
    title: str
    status: str | None  # the registry's code: RECRUITING, COMPLETED, ...
    phases: str
    start: str | None
    completion: str | None
    source: str  # the record's graph, src:ctgov-NCT...


@dataclass
class Description:
    """Everything known about one therapy: names, lineage, properties, evidence and sources cited."""

    therapy: TherapyRef
    lineage: list[TherapyRef]
    names: list[str]
    properties: list[PropertyRow]
    evidence: list[Evidence]
    sources: dict[str, Source]
    identifiers: list[Identifier] = field(default_factory=list)
    registered: list[RegisteredTrial] = field(default_factory=list)  # from ingested registry records

    def of_kind(self, kind: str) -> list[Evidence]:
        return [item for item in self.evidence if item.kind == kind]

    def _repr_html_(self) -> str:
        """How a notebook shows a description: its properties with sources, and its evidence counts."""
        return description_html(self)


def normalise(name: str) -> str:
    """Fold case and drop everything but letters and digits: `CAR T-cell` and `car-t cell` match."""
    return re.sub(r"[^0-9a-z]", "", name.casefold())


class Therapies:
    """Name resolution and descriptions over one graph; the name index is built once."""

    def __init__(self, graph: TherapyGraph) -> None:
        self.graph = graph
        self._index: dict[str, set[TherapyRef]] | None = None
        self._names: dict[TherapyRef, list[str]] = {}

    @cached_property
    def comparable_properties(self) -> list[dict[str, Any]]:
        """The ontology's comparison rows (property, label, group), in display order."""
        return self.graph.select_named("comparable-properties")

    @cached_property
    def _controlled_values(self) -> list[dict[str, Any]]:
        return self.graph.select_named("value-order")

    @cached_property
    def value_order(self) -> dict[str, int]:
        """Display order of controlled values (grades, outcome measures, risk levels), by short id."""
        return {short_id(r["value"]): int(r["order"]) for r in self._controlled_values}

    @cached_property
    def value_labels(self) -> dict[str, str]:
        """Labels of controlled values, by IRI."""
        return {r["value"]: r["label"] for r in self._controlled_values}

    def _name_index(self) -> dict[str, set[TherapyRef]]:
        if self._index is None:
            index: dict[str, set[TherapyRef]] = defaultdict(set)
            for row in self.graph.select_named("therapy-names"):
                ref = TherapyRef(short_id(row["therapy"]), row["therapy"], row["label"], row["level"])
                index[normalise(row["name"])].add(ref)
                index[normalise(ref.id)].add(ref)
                self._names.setdefault(ref, []).append(row["name"])
            self._index = dict(index)
        return self._index

    def unique_names(self) -> dict[str, str]:
        """Normalised name -> therapy IRI, for names that identify exactly one therapy."""
        return {key: next(iter(refs)).iri for key, refs in self._name_index().items() if len(refs) == 1}

    def proper_names(self) -> dict[str, str]:
        """Normalised brand, generic or code name -> product IRI, for names that are one product's
        alone: unlike descriptive synonyms ("CD19 CAR-NK"), they name that product wherever they occur."""
        owners: dict[str, set[str]] = {}
        for row in self.graph.select_named("product-proper-names"):
            owners.setdefault(normalise(row["name"]), set()).add(row["product"])
        return {name: next(iter(products)) for name, products in owners.items() if name and len(products) == 1}

    def all(self, level: str | None = None) -> list[TherapyRef]:
        """Every therapy, optionally only modalities or only products, sorted by label."""
        refs = {ref for refs in self._name_index().values() for ref in refs}
        return sorted((r for r in refs if level in (None, r.level)), key=lambda r: r.label.casefold())

    def resolve(self, name: str) -> TherapyRef:
        """Find a therapy by id, label, synonym, brand, generic or code name, ignoring case and punctuation."""
        key = normalise(name)
        if not key:
            raise UsageError("A therapy name cannot be empty.")
        index = self._name_index()
        matches = index.get(key, set())
        if len(matches) == 1:
            return next(iter(matches))
        if len(matches) > 1:
            options = ", ".join(sorted(r.id for r in matches))
            raise UsageError(f"'{name}' is ambiguous: it names {options}.")
        close = difflib.get_close_matches(key, list(index), n=5, cutoff=0.6)
        close += [k for k in index if key in k and k not in close]
        suggestions: list[str] = []
        for candidate in close:
            for ref in sorted(index[candidate], key=lambda r: r.id):
                if ref.id not in suggestions:
                    suggestions.append(ref.id)
        raise UnknownTherapy(name, suggestions[:5])

    def names(self, ref: TherapyRef) -> list[str]:
        self._name_index()
        return sorted(set(self._names.get(ref, [])) - {ref.label}, key=str.casefold)

    @cached_property
    def _parents(self) -> dict[str, list[TherapyRef]]:
        parents: dict[str, list[TherapyRef]] = defaultdict(list)
        for row in self.graph.select_named("hierarchy"):
            parents[row["child"]].append(TherapyRef(short_id(row["parent"]), row["parent"], row["label"], row["level"]))
        return parents

    def lineage(self, ref: TherapyRef) -> list[TherapyRef]:
        """The therapy and the modalities above it, nearest first (breadth-first over the hierarchy)."""
        lineage, queue, seen = [], [ref], {ref.iri}
        while queue:
            current = queue.pop(0)
            lineage.append(current)
            for parent in self._parents.get(current.iri, []):
                if parent.iri not in seen:
                    seen.add(parent.iri)
                    queue.append(parent)
        return lineage

    @cached_property
    def _rules(self) -> list[dict[str, Any]]:
        return self.graph.select_named("inheritance-rules")

    @cached_property
    def _children(self) -> dict[str, list[TherapyRef]]:
        """Sub-modalities of each modality (products are not listed)."""
        children: dict[str, list[TherapyRef]] = defaultdict(list)
        refs = {ref.iri: ref for ref in self.all("modality")}
        for child, parents in self._parents.items():
            for parent in parents:
                if child in refs:
                    children[parent.iri].append(refs[child])
        return children

    def properties(self, ref: TherapyRef, lineage: list[TherapyRef] | None = None) -> list[PropertyRow]:
        """Every comparable property in ontology order, with values from the nearest holder that states
        any, and whether it describes the therapy at all (`tkg:specificProperty`). A value the
        ontology's inheritance rules rule out for this therapy (HLA matching for autologous cells, a
        high GvHD risk for T cells without their receptor) is not inherited; a modality that states
        nothing, itself or above, shows what each of its sub-modalities states, marked with the
        sub-modality."""
        lineage = lineage if lineage is not None else self.lineage(ref)
        inapplicable = {
            r["property"] for r in self.graph.select_named("inapplicable-properties", {"therapy": iri(ref.iri)})
        }
        stated = self._statements(ref)
        order = [holder.iri for holder in lineage]
        excluded = self._excluded(stated, order)
        children = [(child, self._statements(child)) for child in self._children.get(ref.iri, [])]
        rows = []
        for prop in self.comparable_properties:
            facts = self._nearest(ref, stated.get(prop["property"], {}), order, excluded.get(prop["property"], set()))
            if not facts:
                facts = [
                    _scoped(fact, child.id)
                    for child, statements in children
                    for fact in _merge(statements.get(prop["property"], {}).get(child.iri, []))
                ]
            rows.append(
                PropertyRow(
                    key=vocab.compact(prop["property"]),
                    label=prop["label"],
                    group=prop["groupKey"],
                    group_label=prop["groupLabel"],
                    facts=facts,
                    single_valued=bool(prop["singleValued"]),
                    applicable=bool(facts) or prop["property"] not in inapplicable,
                )
            )
        return rows

    def _statements(self, ref: TherapyRef) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """property -> holder (the therapy or a modality above it) -> statement rows."""
        by_property: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for row in self.graph.select_named("therapy-facts", {"therapy": iri(ref.iri)}):
            if not self._is_known_error(row["holder"], row):
                by_property[row["property"]][row["holder"]].append(row)
        return by_property

    def _excluded(self, stated: dict[str, dict[str, list[dict[str, Any]]]], order: list[str]) -> dict[str, set[str]]:
        """property -> values the inheritance rules rule out, given the therapy's nearest values (of a
        single-valued property, only an undisputed value counts)."""
        excluded: dict[str, set[str]] = defaultdict(set)
        for rule in self._rules:
            holders = stated.get(rule["when"], {})
            nearest = min(holders, key=order.index, default=None)
            values = {str(r["value"]) for r in holders[nearest]} if nearest is not None else set()
            applies = values == {str(rule["whenValue"])} if rule["singleValued"] else str(rule["whenValue"]) in values
            if applies:
                excluded[rule["excludes"]].add(str(rule["excludedValue"]))
        return excluded

    @staticmethod
    def _nearest(
        ref: TherapyRef, holders: dict[str, list[dict[str, Any]]], order: list[str], excluded: set[str]
    ) -> list[Fact]:
        """The values of the nearest holder that states any value not ruled out."""
        for holder in sorted(holders, key=lambda h: order.index(h) if h in order else len(order)):
            rows = [row for row in holders[holder] if str(row["value"]) not in excluded]
            if rows:
                return _merge(rows, inherited_from=None if holder == ref.iri else short_id(holder))
        return []

    def evidence(self, ref: TherapyRef) -> list[Evidence]:
        """Approvals, trials, outcomes, adverse-event observations and awards for the therapy and its products."""
        nodes: dict[str, dict[str, Any]] = {}
        for row in self.graph.select_named("therapy-evidence", {"therapy": iri(ref.iri)}):
            node = nodes.setdefault(
                row["node"],
                {"class": row["class"], "rows": defaultdict(list), "labels": {}, "errors": [], "single": set()},
            )
            if self._is_known_error(row["node"], row):
                node["errors"].append(row)
                continue
            name = row["property"].rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            node["rows"][name].append(row)
            node["labels"][name] = row["propertyLabel"] or name
            if row["singleValued"]:
                node["single"].add(name)
        items = []
        for node_iri, node in nodes.items():
            fields = {name: _merge(rows) for name, rows in node["rows"].items()}
            label = fields.pop("label", None)
            items.append(
                Evidence(
                    id=short_id(node_iri),
                    kind=kind_of_class(node["class"]),
                    label=str(label[0].value) if label else short_id(node_iri),
                    fields=fields,
                    field_labels=node["labels"],
                    errors=_merge(node["errors"]),
                    single_valued=frozenset(node["single"]),
                )
            )
        order = [kind.key for kind in EVIDENCE_KINDS]
        return sorted(
            items,
            key=lambda e: (order.index(e.kind), str(e.first("approvalDate") or e.first("eventDate") or ""), e.label),
        )

    def registered_trials(self, ref: TherapyRef) -> list[tuple[str, int]]:
        """Trials of the therapy and everything below it known from ingested registry records,
        counted by phase, in phase order."""
        rows = self.graph.select_named("registered-trials", {"therapy": iri(ref.iri)})
        labels = self.value_labels
        counts = [
            (
                self.value_order.get(short_id(r["phase"]), 99) if r["phase"] else 99,
                labels.get(r["phase"], "phase not given"),
                int(r["trials"]),
            )
            for r in rows
        ]
        return [(label, count) for _, label, count in sorted(counts)]

    @cached_property
    def _known_errors(self) -> set[tuple[str, str, str, str]]:
        return {
            (r["subject"], r["property"], str(r["value"]), r["source"]) for r in self.graph.select_named("known-errors")
        }

    def _is_known_error(self, subject: str, row: dict[str, Any]) -> bool:
        """Whether this statement (subject, property, value, source) is marked as the source's error."""
        return (subject, row["property"], str(row["value"]), row["source"]) in self._known_errors

    @cached_property
    def claim_kinds(self) -> dict[str, int]:
        """Claim kind label -> rank (1 = weakest), strongest first, as the ontology orders them."""
        return {r["label"]: int(r["strength"]) for r in self.graph.select_named("claim-kinds")}

    def evidence_rank(self, kind: str) -> int:
        """The rank of a claim kind named by its label or first word (`primary`, `review claim`)."""
        wanted = kind.strip().casefold()
        for label, strength in self.claim_kinds.items():
            if wanted in (label.casefold(), label.split()[0].casefold()):
                return strength
        names = ", ".join(label.split()[0] for label in self.claim_kinds)
        raise UsageError(f"Unknown kind of evidence '{kind}'. Kinds, strongest first: {names}.")

    def sources(self) -> dict[str, Source]:
        """Every source in the graph by compact id (`src:liu-2020-nejm`)."""
        return {
            vocab.compact(r["source"]): Source(
                id=vocab.compact(r["source"]),
                title=r["title"],
                citation=r["citation"],
                kind=r["kind"],
                strength=int(r["strength"]),
                date=str(r["date"]) if r["date"] is not None else None,
                doi=r["doi"],
                pmid=r["pmid"],
                url=r["url"],
                nct=r["nct"],
                read_at=tuple(sorted((r["readAt"] or "").split())),
            )
            for r in self.graph.select_named("sources")
        }

    def registered(self, ref: TherapyRef) -> list[RegisteredTrial]:
        """The trials of ingested registry records that evaluate the therapy itself, by NCT number."""
        return [
            RegisteredTrial(
                nct=row["nct"],
                title=row["title"],
                status=row["status"],
                phases=row["phases"] or "",
                start=str(row["start"]) if row["start"] is not None else None,
                completion=str(row["completion"]) if row["completion"] is not None else None,
                source=vocab.compact(row["record"]),
            )
            for row in self.graph.select_named("registered-trials-of", {"therapy": iri(ref.iri)})
        ]

    def describe(self, name: str) -> Description:
        """Everything known about one therapy, looked up by any of its names."""
        ref = self.resolve(name)
        lineage = self.lineage(ref)
        properties = self.properties(ref, lineage)
        evidence = self.evidence(ref)
        cited = {s for row in properties for f in row.facts for s in f.sources}
        cited |= {s for e in evidence for facts in e.fields.values() for f in facts for s in f.sources}
        all_sources = self.sources()
        return Description(
            therapy=ref,
            lineage=lineage[1:],
            names=self.names(ref),
            properties=properties,
            evidence=evidence,
            sources={key: all_sources[key] for key in sorted(cited) if key in all_sources},
            identifiers=[
                identifier(str(r["match"]))
                for r in self.graph.select_named("therapy-identifiers", {"therapy": iri(ref.iri)})
            ],
            registered=self.registered(ref),
        )


def _merge(rows: list[dict[str, Any]], inherited_from: str | None = None) -> list[Fact]:
    """Group statement rows by value, collecting every source that states the value."""
    facts: dict[Any, Fact] = {}
    for row in rows:
        value = row["value"]
        if isinstance(value, IRI):
            value = IRI(short_id(value))
        key = (type(value).__name__, str(value))
        fact = facts.get(key)
        if fact is None:
            label = row.get("valueLabel") or value
            fact = facts[key] = Fact(value=value, label=_display(label), inherited_from=inherited_from)
        source = vocab.compact(row["source"])
        if source not in fact.sources:
            fact.sources.append(source)
    ordered = sorted(facts.values(), key=lambda f: (_order(rows, f), f.label.casefold()))
    for fact in ordered:
        fact.sources.sort()
    return ordered


def _scoped(fact: Fact, sub_modality: str) -> Fact:
    fact.applies_to = sub_modality
    return fact


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _order(rows: list[dict[str, Any]], fact: Fact) -> int:
    for row in rows:
        if row.get("valueOrder") is not None and short_id(str(row["value"])) == str(fact.value):
            return int(row["valueOrder"])
    return 0
