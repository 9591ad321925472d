"""Side-by-side comparison of two or more therapies, every cell with its sources.

Rows come from the graph: the comparable properties in the ontology's groups and order, then, for
each group that declares `tkg:comparisonRowsFor` an evidence class, rows built from that evidence
(first approval per agency, key trials, outcome rates, adverse-event rates). A modality's evidence
rows gather the evidence of its products, each value naming the product it is about.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from kg.errors import UsageError
from kg.evidence import BY_KEY, EVIDENCE_KINDS, kind_of_class
from kg.frames import comparison_frame, rate_percentage
from kg.graph import TherapyGraph
from kg.render import (
    NO_DATA,
    NOT_APPLICABLE,
    TABLE_STYLE,
    estimate,
    estimate_shape,
    evidence_label,
    measurement_context,
    proportion,
    table_html,
)
from kg.stats import wilson
from kg.therapy import Evidence, Fact, Source, TherapyRef
from kg.vocab import short_id

if TYPE_CHECKING:
    import pandas


@dataclass
class ComparisonRow:
    """One row: a property (or evidence row key), its label and group, and one cell per therapy."""

    key: str  # the property (`tkg:cellSource`) or evidence row (`adverse-event:crsAnyGrade`)
    label: str
    group: str
    group_label: str
    cells: list[list[Fact]]
    conflict: bool = False
    not_applicable: frozenset[int] = frozenset()  # positions of therapies the property does not describe

    def blank(self, position: int) -> str:
        """What an empty cell says: the property does not describe that therapy, or no source states it."""
        return NOT_APPLICABLE if position in self.not_applicable else NO_DATA

    @property
    def differs(self) -> bool:
        """Whether the therapies' values differ (having data versus none counts as a difference)."""
        values = [frozenset(str(f.value) for f in cell) for cell in self.cells]
        return len(set(values)) > 1


@dataclass
class Comparison:
    """The therapies compared, in the order asked, the rows, and every source cited in them."""

    therapies: list[TherapyRef]
    rows: list[ComparisonRow]
    sources: dict[str, Source]

    @property
    def groups(self) -> list[tuple[str, str]]:
        seen: dict[str, str] = {}
        for row in self.rows:
            seen.setdefault(row.group, row.group_label)
        return list(seen.items())

    def to_dataframe(self) -> pandas.DataFrame:
        """The long table (kg.frames): one row per therapy × row × value × source, numbers in columns."""
        return comparison_frame(self)

    def _repr_html_(self) -> str:
        """How a notebook shows a comparison: the table of `kg compare --format html`."""

        return f"<style>{TABLE_STYLE}</style>" + table_html(self)


def compare(
    graph: TherapyGraph,
    names: Sequence[str],
    *,
    group: str | None = None,
    only_differences: bool = False,
    evidence: str | None = None,
) -> Comparison:
    """Compare therapies by name; rows with no data for any therapy are left out. With `evidence`
    (a claim kind: `primary`, `regulatory`, `registry`, `review`, `popular`), values are kept only
    when at least one of their sources is of that kind or a stronger one."""
    if len(names) < 2:
        raise UsageError("Give at least two therapies to compare, e.g. kg compare car-t car-nk.")
    therapies = graph.therapies
    refs = [therapies.resolve(name) for name in names]
    seen: dict[str, str] = {}
    for name, ref in zip(names, refs, strict=True):
        if ref.id in seen:
            raise UsageError(f"'{seen[ref.id]}' and '{name}' both name {ref.label}; compare different therapies.")
        seen[ref.id] = name

    groups = graph.select_named("comparison-groups")
    keys = [g["groupKey"] for g in groups]
    if group is not None:  # by key or label, in any case: safety, Safety, "cell source & manufacturing"
        wanted = group.strip().casefold()
        group = next(
            (g["groupKey"] for g in groups if wanted in (g["groupKey"].casefold(), g["groupLabel"].casefold())), None
        )
        if group is None:
            raise UsageError(f"Unknown group '{wanted}'. Groups: {', '.join(dict.fromkeys(keys))}.")

    property_rows = [therapies.properties(ref) for ref in refs]
    items = [therapies.evidence(ref) for ref in refs]
    rows: list[ComparisonRow] = []
    for position, first in enumerate(property_rows[0]):
        cells = [per_therapy[position].facts for per_therapy in property_rows]
        rows.append(
            ComparisonRow(
                key=first.key,
                label=first.label,
                group=first.group,
                group_label=first.group_label,
                cells=cells,
                conflict=any(per_therapy[position].conflict for per_therapy in property_rows),
                not_applicable=frozenset(i for i, rows in enumerate(property_rows) if not rows[position].applicable),
            )
        )
    for g in groups:
        if g["evidenceClass"]:
            kind = kind_of_class(g["evidenceClass"])
            rows += _evidence_rows(kind, g["groupKey"], g["groupLabel"], refs, items, therapies.value_order)
            if kind == "trial":
                counts = [therapies.registered_trials(ref) for ref in refs]
                rows.append(_registered_row(g["groupKey"], g["groupLabel"], counts))

    all_sources = therapies.sources()
    if evidence is not None:
        rows = _supported(rows, all_sources, therapies.evidence_rank(evidence))
    order = list(dict.fromkeys(keys))
    rows.sort(key=lambda r: order.index(r.group))  # stable: keeps property order, then evidence rows
    rows = [r for r in rows if any(r.cells)]
    if group is not None:
        rows = [r for r in rows if r.group == group]
    if only_differences:
        rows = [r for r in rows if r.differs]
    cited = sorted({s for r in rows for cell in r.cells for f in cell for s in f.sources})
    return Comparison(refs, rows, {s: all_sources[s] for s in cited if s in all_sources})


def _supported(rows: list[ComparisonRow], sources: dict[str, Source], rank: int) -> list[ComparisonRow]:
    """The rows with only the values that at least one source of rank `rank` or stronger states."""

    def strong(fact: Fact) -> bool:
        return any(sources[s].strength >= rank for s in fact.sources if s in sources)

    kept = []
    for row in rows:
        cells = [[fact for fact in cell if strong(fact)] for cell in row.cells]
        still_disagree = any(len(scopes) > len(set(scopes)) for scopes in ([f.applies_to for f in c] for c in cells))
        kept.append(replace(row, cells=cells, conflict=row.conflict and still_disagree))
    return kept


def _evidence_rows(
    kind: str,
    group: str,
    group_label: str,
    refs: list[TherapyRef],
    evidence: list[list[Evidence]],
    value_order: dict[str, int],
) -> list[ComparisonRow]:
    """Rows for one kind of evidence: one per agency, one for trials, one per outcome measure or event and grade."""
    cells: dict[str, list[list[Fact]]] = defaultdict(lambda: [[] for _ in refs])
    labels: dict[str, str] = {}
    sort_keys: dict[str, tuple[Any, ...]] = {}
    for position, (ref, items) in enumerate(zip(refs, evidence, strict=True)):
        for item in (i for i in items if i.kind == kind):
            row_id, label, sort_key, fact = _evidence_cell(item, ref, value_order)
            cells[row_id][position].append(fact)
            labels[row_id], sort_keys[row_id] = label, sort_key
    if kind == "approval":  # a row of each product's first approval, then one of every approved indication
        for row_id, per_therapy in list(cells.items()):
            every = f"{row_id}:indications"
            cells[every] = per_therapy
            labels[every] = labels[row_id].replace("first approval", "approved indications")
            sort_keys[every] = (*sort_keys[row_id], 1)
            cells[row_id] = [_first_per_product(cell) for cell in per_therapy]
    return [
        ComparisonRow(
            key=f"{kind}:{row_id}",
            label=labels[row_id],
            group=group,
            group_label=group_label,
            cells=[sorted(cell, key=lambda f: f.label) for cell in cells[row_id]],
        )
        for row_id in sorted(cells, key=lambda r: sort_keys[r])
    ]


def _evidence_cell(
    item: Evidence, ref: TherapyRef, value_order: dict[str, int]
) -> tuple[str, str, tuple[Any, ...], Fact]:
    """Row id, row label, row sort key and cell value for one evidence item seen from one therapy."""
    sources = sorted({s for facts in item.fields.values() for f in facts for s in f.sources})
    about = _about(item, ref)
    prefix = f"{about}: " if about else ""
    if item.kind == "approval":
        agency = _label(item, "agency")
        dates = sorted(str(f.value) for f in item.fields.get("approvalDate", []))
        when = " or ".join(dates) + (" (sources disagree)" if len(dates) > 1 else "") if dates else "date not recorded"
        when += "".join(f" ({', '.join(e.sources)} states {e.label}: a known error)" for e in item.errors)
        pathway = _label(item, "approvalPathway")
        withdrawn = item.first("withdrawalDate")
        partners = " and ".join(str(f.value) for f in item.fields.get("combinationPartner", []))
        details = [
            _label(item, name) for name in ("indication", "lineOfTherapy", "treatmentSetting", "biomarkerRequirement")
        ]
        details += [f"with {partners}"] if partners else []
        regular = item.first("regularApprovalDate")
        status = ", ".join(part for part in (pathway, f"regular from {regular}" if regular else "") if part)
        text = (
            f"{prefix}{when}, {', '.join(d for d in details if d)}"
            + (f" ({status})" if status else "")
            + (f", withdrawn {withdrawn}" if withdrawn else "")
        )
        value: dict[str, Any] = {
            "date": dates[0] if dates else None,
            "product": about or ref.id,
            "approval": item.id,
            "withdrawn": str(withdrawn) if withdrawn else None,
            "pathway": pathway or None,
            "regular": str(regular) if regular else None,
            "indication": _label(item, "indication") or None,
        }
        return str(item.first("agency")), f"first approval: {agency}", (agency,), Fact(value, text, sources)
    if item.kind == "label-event":
        labels = item.fields.get("labelOf", [])
        others = [f.label for f in labels if short_id(str(f.value)) != ref.id]
        concern = _label(item, "safetyConcern")
        text = (
            f"{item.first('eventDate')}: {_label(item, 'safetyAction')}"
            + (f" ({concern})" if concern else "")
            + f", {_label(item, 'agency')}"
            + (f", for {', '.join(others)}" if len(others) == len(labels) else "")
        )
        value = {
            "date": str(item.first("eventDate")),
            "action": short_id(str(item.first("safetyAction"))),
            "event": item.id,
            "products": [f.label for f in labels],
            "agency": _label(item, "agency") or None,
        }
        return "label-events", "label safety actions", (), Fact(value, text, sources)
    if item.kind == "price":
        amount, currency, when = item.first("amount"), item.first("currency"), item.first("priceDate")
        text = f"{prefix}{currency} {amount:,} ({_label(item, 'priceBasis')}, {when})"
        value = {"amount": amount, "currency": currency, "date": str(when), "basis": _label(item, "priceBasis")}
        value["product"] = about or ref.id
        return "list-price", "list price", (), Fact(value, text, sources)
    if item.kind == "trial":
        details = [p for p in [_label(item, "trialPhase"), _n(item)] if p]
        text = f"{prefix}{_trial(item.label, item.first('nctId'))}" + (f", {', '.join(details)}" if details else "")
        return "trials", "clinical trials", (), Fact(item.first("nctId") or item.id, text, sources)
    trial = _trial(_label(item, "trial"), item.first("trial"))
    context = measurement_context(item)
    if item.kind == "time-to-event":
        return _estimate_cell(item, prefix, trial, context, about or ref.label, sources, value_order)
    # a pooled safety population (a label's warnings) names no single trial
    text = f"{prefix}{proportion(item)}" + (f" · {trial}" if trial else "") + (f" ({context})" if context else "")
    value = {k: item.first(k) for k in ("numerator", "denominator", "percentage")}
    value.update(product=about or ref.label, trial=trial, context=context, interval=_interval(item))
    if item.kind == "outcome":
        measure = str(item.first("outcomeMeasure"))
        return measure, evidence_label(item), (value_order.get(measure, 0),), Fact(value, text, sources)
    event, grade = str(item.first("adverseEvent")), str(item.first("gradeThreshold"))
    sort_key = (_label(item, "adverseEvent"), value_order.get(grade, 0))
    return f"{event}:{grade}", f"observed {evidence_label(item)}", sort_key, Fact(value, text, sources)


ESTIMATE_ROWS = {"median": "median", "hazard-ratio": "hazard ratio", "rate": "landmark rates"}
"""A time-to-event row per endpoint and kind of estimate, in this order: its key and label."""


def _estimate_cell(
    item: Evidence,
    prefix: str,
    trial: str,
    context: str,
    product: str,
    sources: list[str],
    value_order: dict[str, int],
) -> tuple[str, str, tuple[Any, ...], Fact]:
    """A time-to-event estimate, with the source's interval as given; landmark rates at any time
    share a row."""
    measure, shape = str(item.first("outcomeMeasure")), estimate_shape(item)
    text = f"{prefix}{estimate(item)} · {trial}" + (f" ({context})" if context else "")
    low, high = item.first("confidenceLower"), item.first("confidenceUpper")
    value = {
        "estimate": shape,
        "months": item.first("medianMonths") if shape == "median" else item.first("landmarkMonths"),
        "not_reached": bool(item.first("medianNotReached")),
        "hazard_ratio": item.first("hazardRatio"),
        "comparator": item.first("comparatorArm"),
        "percentage": item.first("percentage"),
        "interval": None if low is None else [low, None if item.first("upperBoundNotReached") else high],
        "denominator": item.first("denominator"),
        "product": product,
        "trial": trial,
        "context": context,
    }
    label = f"{_label(item, 'outcomeMeasure')}: {ESTIMATE_ROWS[shape]}"
    sort_key = (value_order.get(measure, 0), list(ESTIMATE_ROWS).index(shape))
    return f"{measure}:{shape}", label, sort_key, Fact(value, text, sources)


REGISTRY_SOURCE = "src:clinicaltrials-gov"


def _registered_row(group: str, group_label: str, counts: list[list[tuple[str, int]]]) -> ComparisonRow:
    """Counts of trials known from ingested ClinicalTrials.gov records, by phase (a trial with
    two phases counts in both), cited to the registry."""
    cells: list[list[Fact]] = []
    for by_phase in counts:
        if not by_phase:
            cells.append([])
            continue
        text = " · ".join(f"{phase}: {n}" for phase, n in by_phase)
        cells.append([Fact(dict(by_phase), text, [REGISTRY_SOURCE])])
    return ComparisonRow(
        "trial:registered", "registered trials by phase (ClinicalTrials.gov)", group, group_label, cells
    )


def _first_per_product(cell: list[Fact]) -> list[Fact]:
    """Keep each product's earliest approval by the row's agency."""
    earliest: dict[str, Fact] = {}
    for fact in cell:
        product, date = fact.value["product"], fact.value["date"]
        if product not in earliest or (date and str(date) < str(earliest[product].value["date"] or "9999")):
            earliest[product] = fact
    return list(earliest.values())


def _about(item: Evidence, ref: TherapyRef) -> str:
    """The product an item is about, when it is not the compared therapy itself."""
    for name in ("approvedProduct", "therapy", "evaluates", "priceOf"):
        facts = item.fields.get(name)
        if facts:
            labels = [f.label for f in facts if short_id(str(f.value)) != ref.id]
            return ", ".join(labels)
    return ""


def _label(item: Evidence, name: str) -> str:
    return ", ".join(f.label for f in item.fields.get(name, []))


def _trial(label: str, nct: Any) -> str:
    """`ELIANA (NCT02435849)`; trial ids are their NCT numbers."""
    nct = str(nct) if nct else ""
    return f"{label} ({nct})" if nct.startswith("NCT") and nct != label else label


def _interval(item: Evidence) -> list[float] | None:
    """The 95 % Wilson interval of a rate (percent, one decimal), from n/N or the reported
    percentage and N; None when N is not recorded."""
    numerator, denominator, percentage = item.first("numerator"), item.first("denominator"), item.first("percentage")
    if not denominator:
        return None
    if numerator is not None:
        successes = float(numerator)
    elif percentage is not None:
        successes = float(percentage) * int(denominator) / 100
    else:
        return None
    if not 0 <= successes <= int(denominator):
        return None
    low, high = wilson(successes, int(denominator))
    return [round(low, 1), round(high, 1)]


def _n(item: Evidence) -> str:
    patients = item.first("patientsTreated")
    return f"n={patients}" if patients is not None else ""


def evidence_kind(row: ComparisonRow) -> str | None:
    """What an evidence row holds ("approval", "trial", "label-event", "observation"), or None for a property row."""
    kind = BY_KEY.get(row.key.split(":", 1)[0])
    return kind.node if kind else None


def summarised(comparison: Comparison) -> Comparison:
    """The comparison with each evidence cell of several items collapsed into one value that gives
    their range and counts (`42–95 % · 7 products · 9 trials`), citing all their sources: a
    modality comparison that fits a screen (`kg compare car-t car-nk --summary`)."""
    rows = []
    for row in comparison.rows:
        kind = evidence_kind(row)
        if kind is None or row.key == "trial:registered":
            rows.append(row)
            continue
        cells = [
            [Fact({"items": len(cell)}, summary_text(kind, cell), sorted({s for f in cell for s in f.sources}))]
            if len(cell) > 1
            else cell
            for cell in row.cells
        ]
        rows.append(replace(row, cells=cells))
    return replace(comparison, rows=rows)


def summary_text(kind: str, cell: list[Fact]) -> str:
    """`42–95 % · 7 products · 9 trials`, `12 approvals · 5 products · 2017–2025`, `9 trials`."""
    values = [f.value for f in cell if isinstance(f.value, dict)]
    products = len({v.get("product") for v in values if v.get("product")})
    counted = f" · {products} product{'s' * (products != 1)}" if products > 1 else ""
    if kind == "observation":
        rates = sorted(p for p in (rate_percentage(v) for v in values) if p is not None)
        trials = len({v.get("trial") for v in values if v.get("trial")})
        span = (
            f"{rates[0]:.0f}–{rates[-1]:.0f} %"
            if rates and rates[0] != rates[-1]
            else f"{rates[0]:.0f} %"
            if rates
            else ""
        )
        return " · ".join(
            p
            for p in (
                span,
                counted.removeprefix(" · "),
                f"{trials} trial{'s' * (trials != 1)}" if trials else f"{len(cell)} observations",
            )
            if p
        )
    years = sorted(str(v.get("date"))[:4] for v in values if v.get("date"))
    when = f" · {years[0]}–{years[-1]}" if years and years[0] != years[-1] else f" · {years[0]}" if years else ""
    noun = next((k.plural for k in EVIDENCE_KINDS if k.node == kind), "items")
    return f"{len(cell)} {noun}{counted}{when}"
