"""Comparison views: one offline HTML page that shows how therapies differ — a comparison graph, an
evidence chart, an approval timeline and the comparison table, as tabs — and the graph alone as SVG.

The comparison graph is organised by property: each row is a property of the comparison (grouped
as `kg compare` groups them), each compared therapy has a column, and a value every therapy shares
sits once in the middle column, linked to the therapies on either side; a value only some have sits
in their columns, in the same row. Inherited values hang off dashed links, values whose sources
disagree off red ones, and each value carries the strongest kind of claim behind it. Evidence is
summarised per therapy ("42–95 % · 7 products · 9 trials"); a summary expands, in place, into its
observations.

Everything is SVG written here, not a network drawn by a script library: a comparison has a fixed
reading order (rows, columns), so positions are computed once, text is real text at its own size
(the page opens at 100 %, so a 13 px label is 13 px on screen, and OCR and screen readers read it),
the same code writes the slide-ready `--format svg`, and the page needs no 500 KB library. The page's
own script (tabs, details, expand, find, zoom, export) is small; it puts data into the page only as
text, links only to DOI, PubMed and ClinicalTrials.gov over https, and a Content-Security-Policy
admits only the page's scripts (by hash) and no request to anywhere. Charts come from `kg.charts`.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from kg.atomic import write_text
from kg.charts import Rate, TimelineEvent, forest_plot, timeline
from kg.compare import Comparison, ComparisonRow, compare, evidence_kind, summary_text
from kg.errors import UsageError
from kg.frames import rate_percentage
from kg.graph import TherapyGraph
from kg.page import SAVE_SCRIPT, policy, script_json
from kg.render import TABLE_STYLE, fact_text, table_html
from kg.therapy import Fact, Source, Therapies, TherapyRef

FONT = 13
"""Node and row-label text size in px; the page opens at 100 %, so it is also the size on screen."""
LINE = 17
PAD = 8
NODE_WIDTH = 240
LABEL_WIDTH = 190
GAP = 36
HEAD = 70
NODE_GAP = 8
ROW_GAP = 12
GROUP_HEAD = 30
CHARS = 32
"""Characters per node line: 32 of them at 13 px fit the node's width."""
LABEL_CHARS = 27
INDENT = 18
"""Offset per level of the modality hierarchy in the overview."""
SUMMARISE = 3
"""A cell of more evidence items than this shows a summary that expands into them."""


@dataclass(frozen=True)
class Kind:
    """How one kind of node is drawn, and what the legend calls it."""

    legend: str
    fill: str
    stroke: str
    text: str = "#1b1f24"


KINDS: dict[str, Kind] = {
    "therapy": Kind("therapy compared", "#1f4e79", "#0d2a45", "#ffffff"),
    "modality": Kind("modality", "#1f4e79", "#0d2a45", "#ffffff"),
    "product": Kind("product", "#dbe9f7", "#2e6da4"),
    "value": Kind("property value", "#fdf0dc", "#d68910"),
    "target": Kind("target", "#fbe3ec", "#c2185b"),
    "approval": Kind("approval", "#e3f2e9", "#2e8b57"),
    "trial": Kind("clinical trial", "#efe8f9", "#7e57c2"),
    "label-event": Kind("label safety action", "#f3e5f5", "#6a3d9a"),
    "observation": Kind("observed rate", "#ffffff", "#b23c3c"),
    "estimate": Kind("survival estimate", "#ffffff", "#00695c"),
    "price": Kind("list price", "#fffde7", "#8d6e00"),
    "summary": Kind("summary of several items (click to expand)", "#fdecea", "#b23c3c"),
}
LINKS: dict[str, tuple[str, str, str]] = {
    "stated": ("value stated for the therapy", "#5f6b7a", ""),
    "inherited": ("value inherited from a modality", "#2a9d8f", "6 4"),
    "conflict": ("sources disagree", "#c62828", ""),
}
CLAIMS = {
    "primary": "#1b5e20",
    "regulatory": "#0d47a1",
    "registry": "#4a148c",
    "review": "#795548",
    "popular": "#9e9e9e",
}
"""Badge colour per kind of claim (first word of its label), strongest first."""
FIND_ORDER = (
    "therapy",
    "modality",
    "product",
    "target",
    "value",
    "approval",
    "trial",
    "label-event",
    "summary",
    "observation",
    "estimate",
    "price",
)
"""Find selects therapies, targets and values before evidence."""
_SAFE_HOSTS = ("doi.org", "pubmed.ncbi.nlm.nih.gov", "clinicaltrials.gov")


@dataclass
class Node:
    """A drawn value: its kind, text, the strongest claim behind it, and for a summary the items it
    expands into. `links` gives, per column it is linked from, the kind of link."""

    id: str
    kind: str
    text: str
    claim: str = ""
    weak: bool = False
    links: dict[int, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    indent: int = 0  # levels below the top of the modality hierarchy (the overview)


@dataclass
class Row:
    key: str
    label: str
    differs: bool
    cells: list[list[Node]]


@dataclass
class Group:
    label: str
    rows: list[Row]


@dataclass
class View:
    """What a page or an SVG draws: the column heads, the rows by group, each node's details (title,
    lines, sources with safe links), and for comparisons the rates, events and table of the tabs."""

    title: str
    name: str
    heads: list[TherapyRef | None]  # one per column; None is the shared column
    groups: list[Group]
    details: dict[str, dict[str, Any]]
    rates: list[Rate] = field(default_factory=list)
    events: list[TimelineEvent] = field(default_factory=list)
    table: str = ""
    therapies: list[str] = field(default_factory=list)
    hint: str = (
        "Rows are properties, columns the therapies; shared values sit in the middle. Click or press Enter "
        "on a node for its sources; a red summary opens into its items."
    )


def comparison_view(graph: TherapyGraph, names: Sequence[str]) -> View:
    """The view of `kg compare NAMES`: rows by group, the therapies' columns with the shared one in
    the middle, evidence summarised per therapy, and the charts' and table's data."""
    if len(names) < 2:
        raise UsageError("Give at least two therapies to view, e.g. kg view car-t car-nk, or use --all.")
    comparison = compare(graph, names)
    refs = comparison.therapies
    middle = (len(refs) + 1) // 2
    heads: list[TherapyRef | None] = [*refs[:middle], None, *refs[middle:]]
    column = {i: heads.index(ref) for i, ref in enumerate(refs)}
    builder = _Builder(comparison)
    groups = []
    for key, label in comparison.groups:
        rows = []
        for row in (r for r in comparison.rows if r.group == key):
            cells: list[list[Node]] = [[] for _ in heads]
            if evidence_kind(row) is not None:
                for i, cell in enumerate(row.cells):
                    cells[column[i]] = builder.evidence(row, refs[i], cell)
            else:
                held: dict[str, list[tuple[int, Fact]]] = defaultdict(list)
                for i, cell in enumerate(row.cells):
                    for fact in cell:
                        held[str(fact.value)].append((i, fact))
                for value, holders in held.items():
                    node = builder.value(row, value, holders, refs)
                    if len(refs) > 1 and {i for i, _ in holders} == set(range(len(refs))):
                        node.links = {column[i]: _link(row, fact) for i, fact in holders}
                        cells[middle].append(node)
                    else:
                        for i, fact in holders:
                            cells[column[i]].append(
                                Node(
                                    node.id, node.kind, node.text, node.claim, node.weak, {column[i]: _link(row, fact)}
                                )
                            )
            rows.append(Row(row.key, row.label, row.differs, cells))
        groups.append(Group(label, rows))
    title = " vs ".join(ref.label for ref in refs)
    events = _events(comparison, builder.details)
    properties = [row for row in comparison.rows if evidence_kind(row) is None]
    for i, ref in enumerate(refs):  # what the comparison already holds: no second round of queries
        builder.details[f"therapy:{ref.id}"] = _therapy_details(
            graph.therapies, ref, [(row.label, row.cells[i]) for row in properties], comparison.sources
        )
    return View(
        title,
        "-vs-".join(ref.id for ref in refs),
        heads,
        groups,
        builder.details,
        builder.rates,
        events,
        table_html(comparison),
        [ref.label for ref in refs],
    )


def overview_view(graph: TherapyGraph) -> View:
    """Every modality as a row of the hierarchy, indented under its parent, with its products as one
    summary that expands into them; each node's details list what is stated for it (not inherited)."""
    therapies = graph.therapies
    refs = therapies.all()
    parent: dict[str, str] = {}
    for ref in refs:
        above = therapies.lineage(ref)[1:]
        if above:
            parent[ref.id] = above[0].id
    children: dict[str, list[TherapyRef]] = defaultdict(list)
    for ref in refs:
        children[parent.get(ref.id, "")].append(ref)
    details: dict[str, dict[str, Any]] = {}
    sources = therapies.sources()
    rows: list[Row] = []

    def visit(ref: TherapyRef, depth: int) -> None:
        products = [r for r in children[ref.id] if r.level == "product"]
        node = Node(f"therapy:{ref.id}", "modality", ref.label, indent=depth)
        details[node.id] = _therapy_details(therapies, ref, _own(therapies, ref), sources)
        cell = []
        if products:
            summary = Node(f"products:{ref.id}", "summary", f"{len(products)} product{'s' * (len(products) > 1)}")
            for product in products:
                child = Node(f"therapy:{product.id}", "product", product.label)
                details[child.id] = _therapy_details(therapies, product, _own(therapies, product), sources)
                summary.children.append(child)
            details[summary.id] = {
                "title": f"Products of {ref.label}",
                "lines": [p.label for p in products],
                "sources": [],
            }
            cell.append(summary)
        rows.append(Row(ref.id, "", False, [[node], cell]))
        for sub in (r for r in children[ref.id] if r.level == "modality"):
            visit(sub, depth + 1)

    for root in (r for r in children[""] if r.level == "modality"):
        visit(root, 0)
    hint = (
        "Every modality, indented under the one it belongs to, with its products; click a modality or product "
        "for what is stated about it and where, a product count to open it."
    )
    return View(
        "All therapies",
        "all-therapies",
        [None, None],
        [Group("Modalities and their products", rows)],
        details,
        hint=hint,
    )


def _therapy_details(
    therapies: Therapies, ref: TherapyRef, rows: Iterable[tuple[str, list[Fact]]], sources: dict[str, Source]
) -> dict[str, Any]:
    """A therapy's level, place in the hierarchy, and the values stated for it (not inherited)."""
    above = " › ".join(r.label for r in therapies.lineage(ref)[1:])
    lines = [f"{ref.level} (id: {ref.id})"] + ([f"is a: {above}"] if above else [])
    cited: set[str] = set()
    for label, facts in rows:
        for fact in facts:
            if not fact.note:
                lines.append(f"{label}: {fact.label}")
                cited.update(fact.sources)
    return {"title": ref.label, "lines": lines, "sources": _sources(sorted(cited), sources)}


def _own(therapies: Therapies, ref: TherapyRef) -> list[tuple[str, list[Fact]]]:
    return [(row.label, row.facts) for row in therapies.properties(ref)]


class _Builder:
    """Nodes, their details and the charts' rates, from one comparison."""

    def __init__(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.details: dict[str, dict[str, Any]] = {}
        self.rates: list[Rate] = []
        self.count = 0

    def value(self, row: ComparisonRow, value: str, holders: list[tuple[int, Fact]], refs: list[TherapyRef]) -> Node:
        facts = [fact for _, fact in holders]
        node = Node(
            f"{row.key}={value}",
            "target" if row.key == "tkg:targetAntigen" else "value",
            facts[0].label,
            *self._claim(facts),
        )
        lines = [f"{refs[i].label}: {fact_text(fact, self.comparison.sources)}" for i, fact in holders]
        if row.conflict and any(len(cell) > 1 for cell in row.cells):
            lines.append("Sources disagree in this row.")
        self._detail(node, f"{row.label}: {facts[0].label}", lines, facts)
        return node

    def evidence(self, row: ComparisonRow, ref: TherapyRef, cell: list[Fact]) -> list[Node]:
        kind = evidence_kind(row) or "value"
        items = [self._item(row, ref, kind, fact) for fact in cell]
        rates = [fact for fact in cell if kind == "observation" and rate_percentage(fact.value) is not None]
        if len(items) <= (1 if rates else SUMMARISE):
            return items
        summary = Node(
            f"summary:{row.key}:{ref.id}", "summary", summary_text(kind, cell), *self._claim(cell), children=items
        )
        self._detail(
            summary, f"{row.label}: {ref.label}", [str(fact_text(f, self.comparison.sources)) for f in cell], cell
        )
        return [summary]

    def _item(self, row: ComparisonRow, ref: TherapyRef, kind: str, fact: Fact) -> Node:
        self.count += 1
        node = Node(f"{kind}:{self.count}", kind, fact.label, *self._claim([fact]))
        self._detail(node, f"{row.label}: {ref.label}", [str(fact_text(fact, self.comparison.sources))], [fact])
        percentage = rate_percentage(fact.value) if kind == "observation" else None
        if percentage is not None:
            interval = fact.value.get("interval") or [None, None]
            self.rates.append(
                Rate(
                    group=row.label.removeprefix("observed "),
                    therapy=ref.label,
                    product=fact.value.get("product") or ref.label,
                    trial=fact.value.get("trial") or "",
                    percentage=percentage,
                    low=interval[0],
                    high=interval[1],
                    numerator=_int(fact.value.get("numerator")),
                    denominator=_int(fact.value.get("denominator")),
                    context=fact.value.get("context") or "",
                    node=node.id,
                )
            )
        return node

    def _claim(self, facts: list[Fact]) -> tuple[str, bool]:
        """The strongest kind of claim behind the facts (first word), and whether all are popular claims."""
        sources = self.comparison.sources
        kinds = [sources[s] for f in facts for s in f.sources if s in sources]
        strongest = max(kinds, key=lambda s: s.strength, default=None)
        return (strongest.kind.split()[0] if strongest else ""), all(fact_text(f, sources).weak for f in facts)

    def _detail(self, node: Node, title: str, lines: list[str], facts: list[Fact]) -> None:
        cited = sorted({s for f in facts for s in f.sources})
        self.details[node.id] = {"title": title, "lines": lines, "sources": _sources(cited, self.comparison.sources)}


def _link(row: ComparisonRow, fact: Fact) -> str:
    if row.conflict and any(len(cell) > 1 for cell in row.cells):
        return "conflict"
    return "inherited" if fact.note else "stated"


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _sources(source_ids: Sequence[str], sources: dict[str, Source]) -> list[dict[str, Any]]:
    """Each source as the details panel lists it: kind, date and citation; a link only to DOI,
    PubMed or ClinicalTrials.gov over https; where a copy was read, as text."""
    entries: list[dict[str, Any]] = []
    for source_id in source_ids:
        source = sources.get(source_id)
        if source is None:
            entries.append({"text": source_id, "href": None, "more": []})
            continue
        more = [source.url] if source.url and source.url != _safe_link(source) else []
        more += [f"read at {copy}" for copy in source.read_at]
        entries.append(
            {
                "text": f"{source.kind}, {source.date or 'undated'}. {source.citation}",
                "href": _safe_link(source),
                "more": more,
            }
        )
    return entries


def _safe_link(source: Source) -> str | None:
    """https://doi.org/…, https://pubmed.ncbi.nlm.nih.gov/…/ or https://clinicaltrials.gov/study/…, or None."""
    if source.doi:
        href = "https://doi.org/" + quote(source.doi, safe="/().;:-_")
    elif source.pmid and source.pmid.isdigit():
        href = f"https://pubmed.ncbi.nlm.nih.gov/{source.pmid}/"
    elif source.nct and re.fullmatch(r"NCT\d{8}", source.nct):
        href = f"https://clinicaltrials.gov/study/{source.nct}"
    else:
        return None
    parts = urlsplit(href)
    return href if parts.scheme == "https" and parts.hostname in _SAFE_HOSTS else None


def _events(comparison: Comparison, details: dict[str, dict[str, Any]]) -> list[TimelineEvent]:
    """Every approval (with its conversion and withdrawal) and label safety action of the compared
    therapies' products, once each, for the timeline; each event's details go into `details`."""
    events: dict[tuple[Any, ...], TimelineEvent] = {}
    labels = {ref.id: ref.label for ref in comparison.therapies}
    for row in comparison.rows:
        for fact in (f for cell in row.cells for f in cell):
            value = fact.value if isinstance(fact.value, dict) else {}
            if row.key.endswith(":indications") and value.get("date"):
                product = str(labels.get(value["product"], value["product"]))
                regulator = _short(row.label.removeprefix("approved indications: "))
                what = value.get("indication") or fact.label
                pathway = _pathway(value.get("pathway"))
                dated = [
                    ("approval", value["date"], pathway),
                    ("conversion", value.get("regular"), "regular"),
                    ("withdrawal", value.get("withdrawn"), None),
                ]
                for kind, date, path in dated:
                    if date:
                        event = TimelineEvent(
                            product,
                            regulator,
                            dt.date.fromisoformat(date),
                            kind,
                            path,
                            what,
                            f"event:{value['approval']}:{kind}",
                        )
                        events[(product, regulator, date, kind, what)] = event
                        details[event.node] = {
                            "title": f"{product}: {kind} ({regulator}, {date})",
                            "lines": [fact.label],
                            "sources": _sources(fact.sources, comparison.sources),
                        }
            elif row.key == "label-event:label-events" and value.get("date"):
                for product in value.get("products") or []:
                    event = TimelineEvent(
                        product,
                        _short(value.get("agency") or ""),
                        dt.date.fromisoformat(value["date"]),
                        "label-event",
                        None,
                        fact.label,
                        f"event:{value['event']}",
                    )
                    events[(product, value["date"], value["event"])] = event
                    details[event.node] = {
                        "title": f"Label safety action ({value['date']})",
                        "lines": [fact.label],
                        "sources": _sources(fact.sources, comparison.sources),
                    }
    return sorted(events.values(), key=lambda e: (e.product, e.regulator, e.date, e.kind))


def _short(agency: str) -> str:
    """`FDA` from `US Food and Drug Administration (FDA)`."""
    found = re.search(r"\(([^()]+)\)\s*$", agency)
    return found.group(1) if found else agency


def _pathway(label: str | None) -> str | None:
    if not label:
        return None
    for word in ("accelerated", "conditional", "regular"):
        if word in label.lower():
            return word
    return None


# --- drawing --------------------------------------------------------------------------------------


def _x(column: int) -> float:
    return LABEL_WIDTH + GAP + column * (NODE_WIDTH + GAP)


def _width(view: View) -> float:
    return _x(len(view.heads)) + 8


def _wrap(text: str, chars: int = CHARS) -> list[str]:
    return textwrap.wrap(text, chars, break_on_hyphens=False) or [""]


def _chars(width: float) -> int:
    """Characters per line that fit a node `width` px wide at FONT."""
    return int(CHARS * (width - 2 * PAD) / (NODE_WIDTH - 2 * PAD))


def _height(node: Node, width: float = NODE_WIDTH) -> float:
    return len(_wrap(node.text, _chars(width))) * LINE + 2 * PAD


def graph_svg(view: View, *, interactive: bool = False) -> str:
    """The comparison (or overview) graph as one SVG: column heads, group bands, rows of nodes linked to
    their therapies' spines, a legend. Summaries are drawn collapsed; with `interactive`, their items
    are drawn too, hidden, for the page's script to show."""
    esc = html.escape
    width = _width(view)
    body: list[str] = []
    y = 8.0
    for column, head in enumerate(view.heads):
        if head is not None:
            body.append(_head(head, _x(column), y))
        elif any(h is not None for h in view.heads):
            body.append(
                _text(
                    _x(column) + NODE_WIDTH / 2,
                    y + HEAD / 2 + 4,
                    "shared by all",
                    size=FONT,
                    fill="#57606a",
                    anchor="middle",
                )
            )
    y += HEAD + ROW_GAP if any(h is not None for h in view.heads) else 0
    top = y
    for group in view.groups:
        body.append(
            f'<g class="kg-row kg-band" data-h="{GROUP_HEAD}" transform="translate(0,{y:.0f})">'
            f'<rect width="{width:.0f}" height="{GROUP_HEAD - 4}" fill="#24292f" rx="3"/>'
            f"{_text(10, 19, group.label, size=14, fill='#ffffff', weight='bold')}</g>"
        )
        y += GROUP_HEAD + ROW_GAP
        for row in group.rows:
            drawn, height = _row(view, row, interactive)
            body.append(f'<g class="kg-row" transform="translate(0,{y:.0f})">{drawn}</g>')
            y += height + ROW_GAP
    spines = [_spine(view, column, top, y) for column, head in enumerate(view.heads) if head is not None]
    legend, legend_height = _legend_svg(view, 0)
    legend = legend.replace('<g class="kg-legend">', f'<g class="kg-legend" transform="translate(0,{y + 8:.0f})">', 1)
    height = y + 8 + legend_height
    style = (
        "<style>.kg-node{cursor:pointer}.kg-node:focus{outline:none}.kg-node:focus rect.kg-box,"
        ".kg-node.kg-selected rect.kg-box{stroke:#d35400;stroke-width:3}text{font-family:system-ui,sans-serif}</style>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kg-graph" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="group" aria-label="{esc(view.title)}" '
        f'data-top="{top:.0f}" data-legend="{legend_height:.0f}">'
        f"<title>{esc(view.title)}</title>{style}{''.join(spines)}{''.join(body)}{legend}</svg>"
    )


def _head(ref: TherapyRef, x: float, y: float) -> str:
    kind = KINDS["therapy"]
    lines = _wrap(ref.label, 26)[:2]
    texts = "".join(
        _text(x + NODE_WIDTH / 2, y + 24 + i * 19, line, size=15, fill=kind.text, weight="bold", anchor="middle")
        for i, line in enumerate(lines)
    )
    level = _text(x + NODE_WIDTH / 2, y + HEAD - 10, ref.level, size=12, fill="#dbe9f7", anchor="middle")
    return (
        f'<g class="kg-node" tabindex="0" role="button" data-node="therapy:{html.escape(ref.id)}" '
        f'aria-label="{html.escape(ref.label)}"><title>{html.escape(ref.label)} ({ref.level})</title>'
        f'<rect class="kg-box" x="{x:.0f}" y="{y:.0f}" width="{NODE_WIDTH}" height="{HEAD}" rx="8" '
        f'fill="{kind.fill}" stroke="{kind.stroke}" stroke-width="2"/>{texts}{level}</g>'
    )


def _spine(view: View, column: int, top: float, bottom: float) -> str:
    x = _spine_x(view, column)
    return (
        f'<line class="kg-spine" x1="{x:.0f}" y1="{top - ROW_GAP:.0f}" x2="{x:.0f}" y2="{bottom:.0f}" '
        f'stroke="#1f4e79" stroke-width="2" stroke-opacity="0.35"/>'
    )


def _spine_x(view: View, column: int) -> float:
    """A therapy's spine runs on its column's side towards the shared column."""
    shared = view.heads.index(None) if None in view.heads else len(view.heads)
    return _x(column) + NODE_WIDTH + GAP / 2 if column < shared else _x(column) - GAP / 2


def _row(view: View, row: Row, interactive: bool) -> tuple[str, float]:
    """One row's label and cells, and its collapsed height; each cell records its heights collapsed
    and expanded (`data-h`, `data-x`) so the page can reflow the rows when a summary opens."""
    parts = []
    label_lines = _wrap(row.label, LABEL_CHARS)
    label_height = len(label_lines) * LINE + 2 * PAD
    weight = "bold" if row.differs else "normal"
    parts.append(
        "".join(_text(0, PAD + FONT + i * LINE, line, size=FONT, weight=weight) for i, line in enumerate(label_lines))
    )
    height = float(label_height)
    for column, nodes in enumerate(row.cells):
        if not nodes:
            continue
        x, y, drawn = _x(column), 0.0, list[str]()
        for node in nodes:
            shift = INDENT * node.indent
            drawn.append(_node(view, node, x + shift, y, column, width=NODE_WIDTH - shift))
            y += _height(node, NODE_WIDTH - shift) + NODE_GAP
        collapsed = y - NODE_GAP
        expanded = collapsed
        if interactive:
            for node in (n for n in nodes if n.children):
                more, y = [], collapsed + NODE_GAP
                for child in node.children:
                    more.append(_node(view, child, x + 12, y, None, width=NODE_WIDTH - 12))
                    y += _height(child, NODE_WIDTH - 12) + NODE_GAP
                expanded = y - NODE_GAP
                drawn.append(f'<g class="kg-more" data-for="{html.escape(node.id)}" display="none">{"".join(more)}</g>')
        parts.append(f'<g class="kg-cell" data-h="{collapsed:.0f}" data-x="{expanded:.0f}">{"".join(drawn)}</g>')
        height = max(height, collapsed)
    return f'<g class="kg-label" data-h="{label_height:.0f}"></g>' + "".join(parts), height


def _node(view: View, node: Node, x: float, y: float, column: int | None, width: float = NODE_WIDTH) -> str:
    """A node: box, wrapped text, claim badge, and its links to the spines of the columns it belongs to."""
    esc = html.escape
    kind = KINDS[node.kind]
    lines = _wrap(node.text, _chars(width))
    height = _height(node, width)
    links = node.links or ({column: "stated"} if column is not None and view.heads[column] is not None else {})
    edges = []
    for linked, link in links.items():
        _, colour, dash = LINKS[link]
        spine = _spine_x(view, linked)
        start = x if spine < x else x + width
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        edges.append(
            f'<line class="kg-link kg-{link}" x1="{spine:.0f}" y1="{y + height / 2:.0f}" x2="{start:.0f}" '
            f'y2="{y + height / 2:.0f}" stroke="{colour}" stroke-width="2"{dashes}/>'
        )
    inherited = bool(links) and all(link == "inherited" for link in links.values())
    conflict = any(link == "conflict" for link in links.values())
    stroke = LINKS["conflict"][1] if conflict else kind.stroke
    dash = ' stroke-dasharray="6 4"' if inherited else ""
    text = "".join(
        _text(
            x + PAD,
            y + PAD + FONT + i * LINE,
            line,
            size=FONT,
            fill=kind.text,
            style="italic" if node.weak else "normal",
        )
        for i, line in enumerate(lines)
    )
    badge = _badge(node.claim, x + width, y) if node.claim else ""
    more = ' aria-expanded="false"' if node.children else ""
    tip = node.text + (f" ({node.claim} claim)" if node.claim else "") + (" — click to expand" if node.children else "")
    return (
        f'{"".join(edges)}<g class="kg-node kg-{node.kind}" tabindex="0" role="button" data-node="{esc(node.id)}" '
        f'aria-label="{esc(node.text)}"{more}><title>{esc(tip)}</title>'
        f'<rect class="kg-box" x="{x:.0f}" y="{y:.0f}" width="{width:.0f}" height="{height:.0f}" rx="6" '
        f'fill="{kind.fill}" stroke="{stroke}" stroke-width="{2 if conflict else 1.5}"{dash}/>{text}{badge}</g>'
    )


def _badge(claim: str, right: float, top: float) -> str:
    colour = CLAIMS.get(claim, "#9e9e9e")
    width = 7 * len(claim) + 10
    return (
        f'<rect x="{right - width - 4:.0f}" y="{top - 8:.0f}" width="{width}" height="15" rx="7" fill="{colour}"/>'
        + _text(right - 4 - width / 2, top + 3, claim, size=11, fill="#ffffff", anchor="middle")
    )


def _legend_svg(view: View, y: float) -> tuple[str, float]:
    """The kinds of node and link drawn, and the claim badges, in a band under the graph (wrapped to
    its width); returns the band and its height."""
    kinds = {n.kind for g in view.groups for r in g.rows for c in r.cells for n in c}
    kinds |= {ch.kind for g in view.groups for r in g.rows for c in r.cells for n in c for ch in n.children}
    entries: list[tuple[str, str, str, str]] = [
        (k.legend, k.fill, k.stroke, "") for key, k in KINDS.items() if key in kinds
    ]
    drawn = {link for g in view.groups for r in g.rows for c in r.cells for n in c for link in n.links.values()}
    entries += [(label, "", colour, dash or "-") for key, (label, colour, dash) in LINKS.items() if key in drawn]
    items, x, row_y = [], 10.0, y + 16
    for label, fill, stroke, dash in entries:
        step = 34 + 6.5 * len(label)
        if x + step > _width(view) and x > 10:
            x, row_y = 10.0, row_y + 22
        if not dash:
            swatch = f'<rect x="{x:.0f}" y="{row_y - 11:.0f}" width="22" height="14" rx="3" fill="{fill}" stroke="{stroke}"/>'
        else:
            dashes = f' stroke-dasharray="{dash}"' if dash != "-" else ""
            swatch = (
                f'<line x1="{x:.0f}" y1="{row_y - 4:.0f}" x2="{x + 22:.0f}" y2="{row_y - 4:.0f}" stroke="{stroke}" '
                f'stroke-width="2"{dashes}/>'
            )
        items.append(swatch + _text(x + 28, row_y, label, size=12, fill="#333333"))
        x += step
    badges, x = [], 66.0
    for claim in CLAIMS:
        width = 7 * len(claim) + 10
        badges.append(_badge(claim, x + width + 4, row_y + 22))
        x += width + 8
    items.append(_text(10, row_y + 26, "claims:", size=12, fill="#333333") + "".join(badges))
    return f'<g class="kg-legend">{"".join(items)}</g>', row_y + 40 - y


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int,
    fill: str = "#1b1f24",
    weight: str = "normal",
    anchor: str = "start",
    style: str = "normal",
) -> str:
    extra = (
        (f' font-weight="{weight}"' if weight != "normal" else "")
        + (f' text-anchor="{anchor}"' if anchor != "start" else "")
        + (f' font-style="{style}"' if style != "normal" else "")
    )
    return f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" fill="{fill}"{extra}>{html.escape(text)}</text>'


# --- the page -------------------------------------------------------------------------------------

TABS = (("graph", "Graph"), ("evidence", "Evidence"), ("timeline", "Approvals"), ("table", "Table"))


def render_svg(view: View) -> str:
    """The graph alone, for slides: summaries collapsed, no script."""
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + graph_svg(view) + "\n"


def render_html(view: View) -> str:
    """One self-contained page: the graph, the evidence chart, the approval timeline and the table as
    tabs (the overview has the graph only), a find box, zoom, SVG and PNG export, and a details panel
    whose sources link to DOI, PubMed and ClinicalTrials.gov. Nothing is fetched."""
    esc = html.escape
    panels = {"graph": f'<div class="kg-scroll">{graph_svg(view, interactive=True)}</div>'}
    if view.therapies:
        panels["evidence"] = (
            f'<div class="kg-scroll">{forest_plot(view.rates, view.therapies, title="Observed rates with 95 % intervals: " + view.title)}</div>'
        )
        panels["timeline"] = (
            f'<div class="kg-scroll">{timeline(view.events, title="Regulatory history: " + view.title)}</div>'
        )
        panels["table"] = f'<div class="kg-scroll kg-table">{view.table}</div>'
    tabs = [(key, label) for key, label in TABS if key in panels]
    nav = "".join(
        f'<button type="button" role="tab" id="tab-{key}" aria-controls="panel-{key}" '
        f'aria-selected="{"true" if i == 0 else "false"}" tabindex="{0 if i == 0 else -1}">{label}</button>'
        for i, (key, label) in enumerate(tabs)
    )
    sections = "".join(
        f'<section id="panel-{key}" role="tabpanel" aria-labelledby="tab-{key}"{" hidden" if i else ""}>{panels[key]}</section>'
        for i, (key, _) in enumerate(tabs)
    )
    data = {"details": view.details, "find": find_list(view), "name": view.name}
    scripts = [SAVE_SCRIPT, _PAGE_SCRIPT]
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f'<meta http-equiv="Content-Security-Policy" content="{policy(scripts)}">\n',
            f"<title>{esc(view.title)}</title>\n<style>{_PAGE_STYLE}{TABLE_STYLE}</style>\n</head><body>\n",
            f"<header><h1>{esc(view.title)}</h1><p>{esc(view.hint)}</p></header>\n",
            f'<nav role="tablist" aria-label="Views">{nav}</nav>\n<main><div class="kg-panels">{sections}</div>\n<aside>\n',
            '<label class="kg-find">Find <input id="kg-find" type="search" placeholder="e.g. CD19, autologous"></label>\n',
            '<div class="kg-tools" role="group" aria-label="Zoom"><button type="button" data-zoom="0.8">−</button>'
            '<button type="button" data-zoom="1.25">+</button><button type="button" data-zoom="fit">Fit</button>'
            '<button type="button" data-zoom="1">100 %</button></div>\n',
            '<div class="kg-tools" role="group" aria-label="Export"><button type="button" id="kg-svg">Download SVG</button>'
            '<button type="button" id="kg-png">Download PNG</button></div>\n',
            '<h2>Details</h2><div id="kg-details" aria-live="polite">Click a node, or focus it and press Enter, to see '
            "its values and sources here.</div>\n</aside></main>\n",
            f'<script type="application/json" id="kg-view-data">{script_json(data)}</script>\n',
            *(f"<script>{script}</script>\n" for script in scripts),
            "</body></html>\n",
        ]
    )


def write_view(path: str | Path, text: str) -> None:
    """Write the page or SVG atomically: a reader never opens half a file."""
    write_text(Path(path), text)


def find_list(view: View) -> list[tuple[str, str]]:
    """(node id, searchable text), therapies, targets and values before evidence and observations."""
    nodes = [n for g in view.groups for r in g.rows for c in r.cells for n in c]
    nodes += [child for n in nodes for child in n.children]
    rank = {kind: i for i, kind in enumerate(FIND_ORDER)}
    heads = [(f"therapy:{h.id}", h.label) for h in view.heads if h is not None]
    found = dict(heads)
    for node in sorted(nodes, key=lambda n: rank.get(n.kind, len(rank))):
        found.setdefault(node.id, f"{node.text} {view.details.get(node.id, {}).get('title', '')}")
    return list(found.items())


_PAGE_STYLE = """
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; font-family: system-ui, sans-serif; color: #1b1f24; }
header { padding: .4rem 1rem; border-bottom: 1px solid #d0d7de; }
header h1 { font-size: 1.15rem; margin: 0; }
header p { margin: .15rem 0 0; color: #57606a; font-size: .85rem; }
nav { display: flex; gap: .25rem; padding: .3rem 1rem 0; border-bottom: 1px solid #d0d7de; }
nav button { font: inherit; padding: .3rem .9rem; border: 1px solid #d0d7de; border-bottom: none; background: #f6f8fa;
             border-radius: 6px 6px 0 0; cursor: pointer; }
nav button[aria-selected="true"] { background: #ffffff; font-weight: 600; }
main { flex: 1; display: flex; min-height: 0; }
.kg-panels { flex: 1; min-width: 0; display: flex; }
.kg-panels section { flex: 1; min-width: 0; display: flex; }
.kg-panels section[hidden] { display: none; }
.kg-scroll { flex: 1; overflow: auto; padding: .5rem; background: #ffffff; }
.kg-table { padding: 1rem; font-size: .9rem; }
aside { width: 17rem; overflow: auto; padding: .5rem .8rem; border-left: 1px solid #d0d7de; background: #f6f8fa;
        font-size: .85rem; }
aside h2 { font-size: .95rem; margin: .8rem 0 .3rem; }
.kg-find input { width: 100%; margin-top: .2rem; padding: .3rem; }
.kg-tools { display: flex; flex-wrap: wrap; gap: .3rem; margin-top: .5rem; }
.kg-tools button { font: inherit; padding: .2rem .5rem; cursor: pointer; }
#kg-details h3 { font-size: .9rem; margin: .2rem 0; }
#kg-details h4 { font-size: .85rem; margin: .6rem 0 .2rem; }
#kg-details ul, #kg-details ol { margin: 0; padding-left: 1.1rem; }
#kg-details li { margin: .2rem 0; word-break: break-word; }
#kg-details .more { color: #57606a; }
.kg-selected rect.kg-box { stroke: #d35400; stroke-width: 3; }
[data-node]:focus-visible { outline: 2px solid #d35400; }
"""

_PAGE_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("kg-view-data").textContent);
  var details = document.getElementById("kg-details");
  var hint = details.textContent;
  var safe = /^https:[/][/](doi[.]org|pubmed[.]ncbi[.]nlm[.]nih[.]gov|clinicaltrials[.]gov)[/]/;
  var state = {ready: false, selected: null};
  window.kgView = state;

  function el(tag, text) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function show(id) {
    var d = data.details[id];
    details.textContent = "";
    if (!d) { details.textContent = hint; return; }
    details.appendChild(el("h3", d.title));
    if (d.lines.length) {
      var ul = el("ul");
      d.lines.forEach(function (line) { ul.appendChild(el("li", line)); });
      details.appendChild(ul);
    }
    details.appendChild(el("h4", "Sources"));
    if (!d.sources.length) { details.appendChild(el("p", "No source recorded.")); return; }
    var ol = el("ol");
    d.sources.forEach(function (s) {
      var li = el("li", s.text + " ");
      if (s.href && safe.test(s.href)) {
        var a = el("a", s.href);
        a.href = s.href; a.target = "_blank"; a.rel = "noopener noreferrer";
        li.appendChild(a);
      }
      s.more.forEach(function (m) { var div = el("div", m); div.className = "more"; li.appendChild(div); });
      ol.appendChild(li);
    });
    details.appendChild(ol);
  }
  function svgOf(node) { return node.ownerSVGElement || node.closest("svg"); }
  function reflow(svg) {
    if (!svg.classList.contains("kg-graph")) { return; }
    var y = parseFloat(svg.getAttribute("data-top"));
    svg.querySelectorAll(".kg-row").forEach(function (row) {
      var h;
      if (row.classList.contains("kg-band")) { h = parseFloat(row.getAttribute("data-h")); }
      else {
        h = parseFloat(row.querySelector(".kg-label").getAttribute("data-h"));
        row.querySelectorAll(".kg-cell").forEach(function (cell) {
          var open = cell.querySelector('.kg-more[display="inline"]');
          h = Math.max(h, parseFloat(cell.getAttribute(open ? "data-x" : "data-h")));
        });
      }
      row.setAttribute("transform", "translate(0," + y + ")");
      y += h + 12;
    });
    svg.querySelectorAll(".kg-spine").forEach(function (s) { s.setAttribute("y2", y); });
    var legend = svg.querySelector(".kg-legend");
    legend.setAttribute("transform", "translate(0," + (y + 8) + ")");
    var height = y + 8 + parseFloat(svg.getAttribute("data-legend"));
    var width = parseFloat(svg.getAttribute("width"));
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  }
  function toggle(node, open) {
    var svg = svgOf(node);
    var more = svg.querySelector('.kg-more[data-for="' + CSS.escape(node.getAttribute("data-node")) + '"]');
    if (!more) { return; }
    if (open === undefined) { open = more.getAttribute("display") === "none"; }
    more.setAttribute("display", open ? "inline" : "none");
    node.setAttribute("aria-expanded", open ? "true" : "false");
    reflow(svg);
  }
  function select(node) {
    if (state.selected) { state.selected.classList.remove("kg-selected"); }
    state.selected = node;
    node.classList.add("kg-selected");
    show(node.getAttribute("data-node"));
  }
  function activateNode(node) {
    select(node);
    if (node.hasAttribute("aria-expanded")) { toggle(node); }
  }
  document.addEventListener("click", function (event) {
    var node = event.target.closest && event.target.closest("svg [data-node]");
    if (node) { activateNode(node); }
  });
  document.addEventListener("keydown", function (event) {
    var node = event.target.closest && event.target.closest("svg [data-node]");
    if (node && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); activateNode(node); }
  });

  var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
  function activate(tab) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
    state.tab = tab.id;
  }
  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { activate(tab); });
    tab.addEventListener("keydown", function (event) {
      var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) { return; }
      var next = tabs[(i + step + tabs.length) % tabs.length];
      activate(next);
      next.focus();
    });
  });
  function current() { return document.querySelector('[role="tabpanel"]:not([hidden]) svg'); }

  document.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var svg = current();
      if (!svg) { return; }
      var natural = parseFloat(svg.getAttribute("width"));
      var now = svg.style.width ? parseFloat(svg.style.width) / natural : 1;
      var how = button.getAttribute("data-zoom");
      var factor = how === "fit" ? svg.parentNode.clientWidth / natural : how === "1" ? 1 : now * parseFloat(how);
      svg.style.width = (natural * factor) + "px";
      svg.style.height = "auto";
    });
  });

  function svgText(svg) {
    var clone = svg.cloneNode(true);
    clone.removeAttribute("style");
    return new XMLSerializer().serializeToString(clone);
  }
  function fileName(svg) { return data.name + "-" + state.tab.replace("tab-", ""); }
  document.getElementById("kg-svg").addEventListener("click", function () {
    var svg = current();
    if (svg) { kgSave(fileName(svg) + ".svg", new Blob([svgText(svg)], {type: "image/svg+xml"})); }
  });
  document.getElementById("kg-png").addEventListener("click", function () {
    var svg = current();
    if (!svg) { return; }
    var width = parseFloat(svg.getAttribute("width")), height = parseFloat(svg.getAttribute("height"));
    var image = new Image();
    image.onload = function () {
      var canvas = document.createElement("canvas");
      canvas.width = 2 * width; canvas.height = 2 * height;
      var context = canvas.getContext("2d");
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) { kgSave(fileName(svg) + ".png", blob); }, "image/png");
    };
    image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svgText(svg));
  });

  document.getElementById("kg-find").addEventListener("keydown", function (event) {
    var query = event.target.value.trim().toLowerCase();
    if (event.key !== "Enter" || !query) { return; }
    var match = data.find.filter(function (item) { return item[1].toLowerCase().indexOf(query) >= 0; })[0];
    if (!match) { details.textContent = "Nothing matches '" + event.target.value + "'."; return; }
    var node = document.querySelector('svg [data-node="' + CSS.escape(match[0]) + '"]');
    if (!node) { show(match[0]); return; }
    var panel = node.closest('[role="tabpanel"]');
    activate(document.getElementById(panel.getAttribute("aria-labelledby")));
    var hidden = node.closest(".kg-more");
    if (hidden) {
      toggle(svgOf(node).querySelector('[data-node="' + CSS.escape(hidden.getAttribute("data-for")) + '"]'), true);
    }
    select(node);
    node.focus();
    node.scrollIntoView({block: "center", inline: "center"});
  });
  state.tab = tabs.length ? tabs[0].id : "tab-graph";
  state.ready = true;
  state.readyAt = performance.now();
})();
"""
