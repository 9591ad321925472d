"""Turning library results into output: JSON documents and rich terminal tables.

Kept apart from `cli.py` so the same renderings serve the CLI, tests and notebooks; rich is
imported only when a table is drawn.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kg.evidence import EVIDENCE_KINDS

if TYPE_CHECKING:
    from rich.console import Console

    from kg.compare import Comparison
    from kg.coverage import Count, ProductCoverage
    from kg.therapy import Description, Evidence, Fact, Source


NO_DATA = "no data"  # an empty cell: no source in the graph states a value
NOT_APPLICABLE = "not applicable"  # an empty cell: the property does not describe that therapy


def _plain(value: Any) -> Any:
    """JSON's `default` hook: a dataclass as its fields, a Decimal as int or float, a date as ISO text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def to_jsonable(value: Any) -> Any:
    """Plain JSON types all the way down, for documents that are returned rather than printed."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float)):
        return value
    try:
        return to_jsonable(_plain(value))
    except TypeError:
        return value


def dumps(document: Any) -> str:
    """Indented JSON; the encoder converts what it meets through `_plain` rather than a copy first."""
    return json.dumps(document, indent=2, ensure_ascii=False, default=_plain)


def fact_json(fact: Fact, sources: dict[str, Source]) -> dict[str, Any]:
    """A value with its inheritance and cited sources, as both JSON outputs show it."""
    return {
        "value": fact.value,
        "label": fact.label,
        "inherited_from": fact.inherited_from,
        "applies_to": fact.applies_to,
        "sources": [_source_json(s, sources) for s in fact.sources],
    }


def _source_json(source_id: str, sources: dict[str, Source]) -> dict[str, Any]:
    source = sources.get(source_id)
    if source is None:
        return {"id": source_id, "citation": source_id, "kind": None, "date": None}
    return {"id": source_id, "citation": source.citation, "kind": source.kind, "date": source.date}


def description_json(description: Description) -> dict[str, Any]:
    """The stable JSON shape of `kg show --format json` (documented in the README)."""
    sources = description.sources
    ref = description.therapy
    document: dict[str, Any] = {
        "therapy": {"id": ref.id, "label": ref.label, "level": ref.level, "iri": ref.iri},
        "names": description.names,
        "identifiers": [dataclasses.asdict(i) for i in description.identifiers],
        "lineage": [{"id": r.id, "label": r.label, "level": r.level} for r in description.lineage],
        "properties": [
            {
                "property": row.key,
                "label": row.label,
                "group": row.group,
                "applicable": row.applicable,
                "values": [fact_json(f, sources) for f in row.facts],
            }
            for row in description.properties
        ],
    }
    for kind in EVIDENCE_KINDS:
        document[kind.section] = [
            {
                "id": item.id,
                "label": evidence_label(item),
                "fields": {name: [fact_json(f, sources) for f in facts] for name, facts in item.fields.items()},
                "disagreements": [name for name in item.fields if item.disagrees(name)],
            }
            for item in description.of_kind(kind.key)
        ]
    document["registered_trials"] = {
        "count": len(description.registered),
        "trials": [dataclasses.asdict(trial) for trial in description.registered],
    }
    document["sources"] = [
        {**dataclasses.asdict(source), "link": source.link} for source in description.sources.values()
    ]
    return to_jsonable(document)


def evidence_label(item: Evidence) -> str:
    """A readable name for an evidence node; measurements are named by what they count."""
    if item.kind == "outcome":
        return _labels(item, "outcomeMeasure")
    if item.kind == "adverse-event":
        return f"{_labels(item, 'adverseEvent')}, {_labels(item, 'gradeThreshold')}"
    if item.kind == "time-to-event":
        return f"{_labels(item, 'outcomeMeasure')}, {estimate_kind(item)}"
    return item.label


ESTIMATE_FIELDS = frozenset(
    {"medianMonths", "medianNotReached", "hazardRatio", "comparatorArm", "landmarkMonths", "percentage"}
    | {"confidenceLower", "confidenceUpper", "upperBoundNotReached"}
)
"""The fields `estimate` writes as one text."""


def estimate_shape(item: Evidence) -> str:
    """Which estimate a time-to-event outcome states: `median`, `hazard-ratio` or `rate`."""
    if item.first("hazardRatio") is not None:
        return "hazard-ratio"
    return "rate" if item.first("landmarkMonths") is not None else "median"


def estimate_kind(item: Evidence) -> str:
    """What a time-to-event outcome estimates, in words: `median`, `hazard ratio` or `24-month rate`."""
    shape = estimate_shape(item)
    if shape == "rate":
        return f"{to_jsonable(item.first('landmarkMonths'))}-month rate"
    return shape.replace("-", " ")


def estimate(item: Evidence) -> str:
    """`median 8.3 months (95% CI 4.5–15.8)`, `median not reached (95% CI 12.0–not reached)`,
    `HR 0.40 (95% CI 0.31–0.51) vs standard care`, `24-month rate 41% (95% CI 34–48)`."""
    low, high = item.first("confidenceLower"), item.first("confidenceUpper")
    upper = "not reached" if item.first("upperBoundNotReached") else None if high is None else to_jsonable(high)
    interval = f" (95% CI {to_jsonable(low)}–{upper})" if low is not None and upper is not None else ""
    ratio = item.first("hazardRatio")
    if ratio is not None:
        return f"HR {to_jsonable(ratio)}{interval} vs {item.first('comparatorArm')}"
    if item.first("landmarkMonths") is not None:
        return f"{estimate_kind(item)} {to_jsonable(item.first('percentage'))}%{interval}"
    median = item.first("medianMonths")
    return f"median {'not reached' if median is None else f'{to_jsonable(median)} months'}{interval}"


def proportion(item: Evidence) -> str:
    """`8/11 (73%)`, `0/11`, or `72% of 101`, from whatever the source reported."""
    numerator, denominator, percentage = item.first("numerator"), item.first("denominator"), item.first("percentage")
    pct = f"{to_jsonable(percentage)}%" if percentage is not None else ""
    if numerator is not None and denominator is not None:
        return f"{numerator}/{denominator}" + (f" ({pct})" if pct else "")
    if denominator is not None:
        return f"{pct} of {denominator}"
    return pct


def measurement_context(item: Evidence) -> str:
    """What a rate counts, as far as its source says: population, the source's name for the group
    (a registry's arm, a pooled dataset), assessor, response criteria, grading system, data cut-off,
    median follow-up, a later report the patients are also in (so that 72% and 82% of the same 101
    patients can be told apart, and cohorts are not added up), and the curator's note on it
    (`rdfs:comment`: "among patients in partial remission")."""

    def first(name: str) -> str | None:
        facts = item.fields.get(name)
        return facts[0].label if facts else None

    assessor, cutoff, follow_up, within = (
        first("assessor"),
        first("dataCutoff"),
        first("medianFollowUpMonths"),
        item.fields.get("patientsIncludedIn", []),
    )
    group = first("groupTitle")
    parts = [
        first("analysisPopulation"),
        f"group: {group}" if group else None,
        f"assessed by {assessor}" if assessor else None,
        first("responseCriteria"),
        first("gradingSystem"),
        f"data cut-off {cutoff}" if cutoff else None,
        f"median follow-up {follow_up} months" if follow_up else None,
        *(f"patients also counted in {fact.label}" for fact in within),
    ]
    context = ", ".join(part for part in parts if part)
    note = (first("comment") or "").rstrip(".")
    if note[:2] != note[:2].upper():  # a sentence's capital, not an acronym's ("MCL cohort")
        note = note[0].lower() + note[1:]
    return "; ".join(part for part in (context, note) if part)


def _labels(item: Evidence, name: str) -> str:
    return ", ".join(f.label for f in item.fields.get(name, [])) or "—"


def source_tag(source_id: str, sources: dict[str, Source]) -> str:
    """The source's kind and date (`review 2021-08-06`), or nothing for an unknown source."""
    source = sources.get(source_id)
    return source.tag if source else ""


def popular_only(fact: Fact, sources: dict[str, Source]) -> bool:
    """Whether the value rests only on sources of the weakest kind (popular claims): outputs
    show such values visibly weaker."""
    strengths = [sources[s].strength for s in fact.sources if s in sources]
    return bool(strengths) and max(strengths) <= 1


class Citations:
    """Numbers sources in order of first use, so tables can show `[1 review 2021-08-06]` (number,
    kind, date) beside a value and a legend below."""

    def __init__(self, sources: dict[str, Source]) -> None:
        self.sources = sources
        self.numbers: dict[str, int] = {}

    def mark(self, source_ids: list[str]) -> str:
        numbered = sorted((self.numbers.setdefault(s, len(self.numbers) + 1), s) for s in source_ids)
        return "".join(f"[{' '.join(filter(None, (str(n), source_tag(s, self.sources))))}]" for n, s in numbered)

    def entries(self) -> list[tuple[int, str]]:
        """(number, kind, date, citation and link) for every source marked so far."""
        entries = []
        for source_id, number in self.numbers.items():
            source = self.sources.get(source_id)
            text = (
                f"{source.kind}, {source.date or 'undated'}. {source.citation} {source.link or ' '.join(source.read_at)}"
                if source
                else source_id
            )
            entries.append((number, text.strip()))
        return entries

    def legend(self) -> list[str]:
        return [f"[{number}] {text}" for number, text in self.entries()]


REGISTERED_SHOWN = 10
"""Registered trials a `kg show` table lists (a product can have hundreds; the JSON has them all)."""


def print_description(description: Description, console: Console, *, sources: bool = True) -> None:
    """`kg show` as tables: header, properties by group, evidence sections, source legend."""
    from rich.markup import escape
    from rich.table import Table

    ref = description.therapy
    citations = Citations(description.sources)
    console.print(f"[bold]{escape(ref.label)}[/bold] ({ref.level}, id: {ref.id})")
    if description.lineage:
        console.print("Modalities: " + " › ".join(escape(r.label) for r in description.lineage))
    if description.names:
        console.print("Also known as: " + escape(", ".join(description.names)))
    if description.identifiers:
        console.print(
            "Identifiers: "
            + ", ".join(
                f"{escape(i.scheme)} [link={escape(i.link)}]{escape(i.id)}[/link] ({escape(i.link)})"
                for i in description.identifiers
            )
        )

    table = Table(title="Properties", show_lines=False, expand=False)
    table.add_column("Group")
    table.add_column("Property")
    table.add_column("Value [sources]" if sources else "Value")
    last_group = None
    for row in (r for r in description.properties if r.applicable):
        group = row.group_label if row.group != last_group else ""
        last_group = row.group
        value = facts_text(row.facts, citations if sources else None) if row.facts else f"[dim]{NO_DATA}[/dim]"
        table.add_row(escape(group), escape(row.label), value)
    console.print(table)

    for kind in EVIDENCE_KINDS:
        items, title = description.of_kind(kind.key), kind.title
        if not items:
            continue
        section = Table(title=title)
        section.add_column("Item")
        section.add_column("Details")
        if sources:
            section.add_column("Sources")
        for item in items:
            details = []
            in_summary = ESTIMATE_FIELDS if kind.key == "time-to-event" else {"numerator", "denominator", "percentage"}
            for name, facts in item.fields.items():
                if name in in_summary:
                    continue
                label = escape(item.field_labels.get(name, name))
                if item.disagrees(name):  # which source states which value
                    details.append(
                        f"{label} [red](sources disagree)[/red]: {facts_text(facts, citations if sources else None)}"
                    )
                else:
                    details.append(f"{label}: {facts_text(facts)}")
            if kind.key == "time-to-event":
                details.insert(0, f"estimate: {escape(estimate(item))}")
            elif kind.key in {"outcome", "adverse-event"}:
                details.insert(0, f"patients: {escape(proportion(item))}")
            cited = sorted({s for facts in item.fields.values() for f in facts for s in f.sources})
            cells = [escape(evidence_label(item)), "\n".join(details)]
            if sources:
                cells.append(citations.mark(cited))
            section.add_row(*cells)
        console.print(section)

    registered = description.registered
    if registered:
        shown = registered[:REGISTERED_SHOWN]
        more = f"; the first {len(shown)} shown, --format json lists all" if len(shown) < len(registered) else ""
        section = Table(title=f"Registered trials ({len(registered)}{more})")
        for column in ("Trial", "Title", "Status", "Phases", "Start – completion"):
            section.add_column(column)
        for trial in shown:
            status = trial.status.replace("_", " ").lower() if trial.status else ""
            dates = f"{trial.start or '?'} – {trial.completion or '?'}"
            section.add_row(trial.nct, escape(trial.title), status, trial.phases, dates)
        console.print(section)

    if sources and citations.numbers:
        console.print("[bold]Sources[/bold]")
        for line in citations.legend():
            console.print(escape(line), soft_wrap=True)


@dataclass(frozen=True)
class FactText:
    """A value as every output writes it: the value, its inheritance or scope note, the marks of the
    sources stating it, and whether it rests on popular claims only (shown weaker). Each format
    styles the parts; `str()` is the plain text."""

    value: str
    note: str = ""
    marks: str = ""
    weak: bool = False

    def __str__(self) -> str:
        return " ".join(part for part in (self.value, f"({self.note})" if self.note else "", self.marks) if part)


def fact_text(
    fact: Fact, sources: dict[str, Source], citations: Citations | None = None, *, ids: bool = False
) -> FactText:
    """The one reading of a value that the terminal, Markdown, CSV, HTML and the graph view share.

    Marks are numbered (`[1 review 2021-08-06]`) with `citations`, source ids with kind and date
    (`[src:liu-2020-nejm primary 2020]`) with `ids`, and left out otherwise."""
    if citations is not None:
        marks = citations.mark(fact.sources)
    elif ids:
        marks = f"[{'; '.join(f'{s} {source_tag(s, sources)}'.strip() for s in fact.sources)}]"
    else:
        marks = ""
    return FactText(fact.label, fact.note, marks, popular_only(fact, sources))


def facts_text(facts: list[Fact], citations: Citations | None = None) -> str:
    """Rich markup for a cell: one value per line, with citation marks and inheritance notes."""
    from rich.markup import escape

    parts = []
    for fact in facts:
        text = fact_text(fact, citations.sources if citations else {}, citations)
        line = escape(" ".join(p for p in (text.value, text.marks) if p))
        if citations is not None and text.weak:
            line = f"[dim italic]{line}[/dim italic]"
        if text.note:
            line += f" [dim]({escape(text.note)})[/dim]"
        parts.append(line)
    return "\n".join(parts)


def coverage_json(products: list[ProductCoverage], official: tuple[int, int]) -> dict[str, Any]:
    """`kg coverage --format json`: per product, and the share of official or primary sources."""
    return {
        "sources": {"official_or_primary": official[0], "all": official[1]},
        "products": [dict(to_jsonable(p), official_share=p.official_share) for p in products],
    }


def print_coverage(products: list[ProductCoverage], official: tuple[int, int], console: Console) -> None:
    """One row per product: approvals by agency (withdrawn), how many state their pivotal trial, line and
    setting, FDA actions loaded, labels read, sources by kind; then the totals."""
    from rich.markup import escape
    from rich.table import Table

    def count(item: Count | None) -> str:
        return f"{item.count} (latest {item.latest})" if item and item.latest else str(item.count) if item else ""

    table = Table(title="Regulatory coverage per product")
    for column in (
        "Product",
        "Approvals by agency (withdrawn)",
        "Stating trial / line / setting",
        "FDA actions (Drugs@FDA)",
        "Label read",
        "Sources by kind",
        "Official",
    ):
        table.add_column(column)
    for product in products:
        approvals = "\n".join(
            f"{agency}: {count(item)}"
            + (f", {product.withdrawn[agency].count} withdrawn" if agency in product.withdrawn else "")
            for agency, item in sorted(product.approvals.items())
        )
        fields = "\n".join(
            f"{agency}: " + " / ".join(map(str, product.stating(agency))) + f" of {item.count}"
            for agency, item in sorted(product.approvals.items())
        )
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(product.sources.items(), key=lambda kv: (-kv[1], kv[0])))
        share = f"{product.official_share:.0%}" if product.official_share is not None else ""
        actions = count(product.fda_actions) + (
            f"\n{product.fda_new_use.count} original or efficacy" if product.fda_new_use else ""
        )
        table.add_row(
            escape(product.label),
            escape(approvals) or "[dim]none recorded[/dim]",
            escape(fields),
            actions,
            str(product.labels.latest) if product.labels else "",
            escape(kinds),
            share,
        )
    console.print(table)
    for agency in sorted({agency for product in products for agency in product.approvals}):
        stated = [sum(counts) for counts in zip(*(p.stating(agency) for p in products), strict=True)]
        total_approvals = sum(p.approvals[agency].count for p in products if agency in p.approvals)
        console.print(
            escape(
                f"{agency}: of {total_approvals} approvals, {stated[0]} state their pivotal trial, {stated[1]} the line"
                f" of therapy and {stated[2]} the setting."
            )
        )
    done, total = official
    console.print(
        f"{done} of {total} sources (bulk-ingested registry records aside) are primary evidence, regulatory"
        f" documents or registry records ({done / total:.0%})."
        if total
        else "No sources."
    )


def description_html(description: Description) -> str:
    """A compact HTML summary of `kg show` for notebooks: lineage, names, the property table with
    source marks, the number of evidence items by section, and the source list."""

    esc = html.escape
    ref = description.therapy
    citations = Citations(description.sources)
    rows = []
    for row in (r for r in description.properties if r.applicable):
        values = "".join(f"<li>{esc(str(fact_text(f, description.sources, citations)))}</li>" for f in row.facts)
        rows.append(
            f"<tr><th>{esc(row.label)}</th><td><ul>{values}</ul></td></tr>"
            if values
            else f'<tr><th>{esc(row.label)}</th><td><span class="none">{NO_DATA}</span></td></tr>'
        )
    counts = ", ".join(
        f"{len(description.of_kind(kind.key))} {kind.title.lower()}"
        for kind in EVIDENCE_KINDS
        if description.of_kind(kind.key)
    )
    legend = "".join(f'<li value="{n}">{esc(text)}</li>' for n, text in citations.entries())
    return (
        f"<style>{TABLE_STYLE}</style><div><strong>{esc(ref.label)}</strong> ({esc(ref.level)}, id: {esc(ref.id)})"
        + (f"<br>Modalities: {esc(' › '.join(r.label for r in description.lineage))}" if description.lineage else "")
        + (
            "<br>Identifiers: " + ", ".join(f"{esc(i.scheme)} {esc(i.id)}" for i in description.identifiers)
            if description.identifiers
            else ""
        )
        + f'<table class="kg-compare">{"".join(rows)}</table>'
        + (f"<p>Evidence: {esc(counts)} (kg show for the items).</p>" if counts else "")
        + (f"<details><summary>Sources</summary><ol>{legend}</ol></details>" if legend else "")
        + "</div>"
    )


TABLE_STYLE = """
table.kg-compare { border-collapse: collapse; width: 100%; }
.kg-compare th, .kg-compare td { border: 1px solid #c9d1d9; padding: .4rem .6rem; vertical-align: top; text-align: left; }
.kg-compare th { background: #f0f3f6; }
.kg-compare tr.group th { background: #24292f; color: #fff; }
.kg-compare tr.differs td, .kg-compare tr.differs th { background: #fff8c5; }
.kg-compare .none { color: #6e7781; font-style: italic; }
.kg-compare .inherited { color: #57606a; font-size: .9em; }
.kg-compare .weak { color: #6e7781; font-style: italic; }
.kg-compare .conflict { color: #cf222e; font-size: .9em; }
.kg-compare ul { margin: 0; padding-left: 1.1rem; }
.kg-legend { margin-top: 1.5rem; font-size: .9em; }
"""


def table_html(comparison: Comparison, *, sources: bool = True) -> str:
    """The comparison table and its legend as an HTML fragment (styled by TABLE_STYLE): the page
    of `kg compare --format html`, and a tab of the `kg view` page."""
    esc = html.escape
    citations = Citations(comparison.sources) if sources else None
    parts = [
        '<table class="kg-compare"><thead><tr><th>Property</th>',
        *(f"<th>{esc(t.label)} <small>({esc(t.level)})</small></th>" for t in comparison.therapies),
        "</tr></thead><tbody>",
    ]
    for key, label in comparison.groups:
        parts.append(f'<tr class="group"><th colspan="{len(comparison.therapies) + 1}">{esc(label)}</th></tr>')
        for row in (r for r in comparison.rows if r.group == key):
            name = esc(row.label)
            if row.conflict:
                name += ' <span class="conflict">(sources disagree)</span>'
            cells = []
            for position, cell in enumerate(row.cells):
                if not cell:
                    cells.append(f'<td><span class="none">{row.blank(position)}</span></td>')
                    continue
                items = []
                for fact in cell:
                    text = fact_text(fact, comparison.sources, citations)
                    item = esc(text.value)
                    if text.note:
                        item += f' <span class="inherited">({esc(text.note)})</span>'
                    if text.marks:
                        item += f" <sup>{esc(text.marks)}</sup>"
                    if citations is not None and text.weak:
                        item = f'<span class="weak">{item}</span>'
                    items.append(f"<li>{item}</li>")
                cells.append(f"<td><ul>{''.join(items)}</ul></td>")
            css = ' class="differs"' if row.differs else ""
            parts.append(f"<tr{css}><th>{name}</th>{''.join(cells)}</tr>")
    parts.append("</tbody></table>")
    parts.append(
        '<div class="kg-legend"><p>Highlighted rows differ between the therapies. Values marked '
        "<em>inherited</em> are stated for a modality the product belongs to. "
        "<em>No data</em> means no source in the graph states a value; <em>not applicable</em>, that "
        "the property does not describe that kind of therapy (the cell source of an antibody).</p>"
    )
    if citations is not None and citations.numbers:
        parts.append("<h2>Sources</h2><ol>")
        for number, citation in citations.entries():
            parts.append(f'<li value="{number}">{esc(citation)}</li>')
        parts.append("</ol>")
    parts.append("</div>")
    return "\n".join(parts)
