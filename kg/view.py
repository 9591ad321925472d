"""Interactive comparison graphs: a comparison drawn as a network in one HTML file that opens offline.

The graph is built from `kg.compare.compare` (values, evidence, inheritance) and
`Therapies.lineage` (the modality hierarchy), so it shows exactly what `kg compare` shows: a value
two or more therapies share is one node linked to each of them; a value only one has hangs off
that therapy; inherited values hang off dashed edges in their own colour.

The page inlines the vis-network build that ships inside the pyvis package, in a small template of
our own: pyvis' templates still link a CDN and `../node_modules` even in `in_line` mode, and put
some text into the page unescaped. The data travel as one JSON document in a
`<script type="application/json">` block (with `<`, `>` and `&` escaped, so no label can close the
block); the page's script reads it with `JSON.parse` and puts text into the page only through
`textContent`, and vis-network renders string tooltips as text. A Content-Security-Policy admits
only the page's own scripts, by hash, and no request to anywhere.

Positions are computed here, in time linear in the view's size, and vis-network's physics stays
off: it took minutes to settle a couple of thousand nodes, and on small views it undid the reading
of a comparison (each therapy with its own values around it, shared values between them, the
modality hierarchy above). networkx' force layouts need numpy and grow quadratically; the layout
here follows the hierarchy instead (scripts/bench_view.py: a thousand nodes are drawn in about
1.5 s, ten thousand in about 5 s).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import textwrap
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any, NamedTuple

import networkx as nx

from kg.atomic import write_text
from kg.compare import ComparisonRow, compare
from kg.errors import UsageError
from kg.graph import TherapyGraph
from kg.therapy import Fact, Source, Therapies, TherapyRef

LARGE_VIEW = 1000
"""Above this many nodes edges are drawn solid (canvas dashes cost seconds per frame when zoomed out
over thousands of edges) and hidden while dragging or zooming, so the canvas keeps up."""


@dataclass(frozen=True)
class Style:
    """How one kind of node is drawn, and what the legend calls it."""

    legend: str
    shape: str
    background: str
    border: str
    font: str = "#1b1f24"


STYLES: dict[str, Style] = {
    "modality": Style("modality", "box", "#1f4e79", "#0d2a45", "#ffffff"),
    "product": Style("product", "box", "#5b9bd5", "#2e6da4", "#ffffff"),
    "value": Style("property value", "ellipse", "#fde9c9", "#d68910"),
    "target": Style("target", "diamond", "#c2185b", "#880e4f"),
    "approval": Style("approval", "hexagon", "#2e8b57", "#1b5e3a"),
    "trial": Style("clinical trial", "square", "#7e57c2", "#4a2c8a"),
    "observation": Style("observed rate (trial)", "dot", "#e57373", "#b23c3c"),
    "source": Style("source", "triangle", "#9e9e9e", "#616161"),
}
EDGE_STYLES: dict[str, tuple[str, str, bool]] = {
    "stated": ("value stated for the therapy", "#5f6b7a", False),
    "inherited": ("value inherited from a modality, or held by one sub-modality", "#2a9d8f", True),
    "conflict": ("sources disagree", "#c62828", False),
    "is-a": ("is a (modality hierarchy)", "#1f4e79", False),
    "states": ("source states the value", "#c4c4c4", False),
}


_TARGET_PROPERTY = "tkg:targetAntigen"
_LABEL_WIDTH = 26
_LABEL_LINES = 4
_FONT = 14
_HUB_FONT = 28
_GAP = 120.0
"""Space between groups of nodes in the layout, in vis-network pixels."""
_FILL = 0.5
"""Share of a spiral's disc covered by nodes: lower spreads them out."""
_GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))
_HIGHLIGHT = "#d35400"


def build_view_graph(
    graph: TherapyGraph,
    names: Sequence[str] | None,
    *,
    all_therapies: bool = False,
    sources: bool = False,
) -> nx.MultiDiGraph:
    """The comparison of `names` (with `all_therapies`: of every therapy, names first) as a graph to draw.

    Nodes carry `kind` (a key of STYLES), `label`, `title` (tooltip text: value, citations and
    links) and `compared`; edges carry `kind` (a key of EDGE_STYLES), `label` and `title`. The
    graph's `title` names the view for people, its `name` (`car-t-vs-car-nk`) for file names.
    """
    therapies = graph.therapies
    names = list(names or [])
    if all_therapies:
        named = {therapies.resolve(name).id for name in names}
        by_branch = sorted(therapies.all(), key=lambda r: [h.label.casefold() for h in reversed(therapies.lineage(r))])
        names += [ref.id for ref in by_branch if ref.id not in named]
    if len(names) < 2:
        raise UsageError("Give at least two therapies to view, e.g. kg view car-t car-nk, or use --all.")
    comparison = compare(graph, names)
    if all_therapies:
        view = nx.MultiDiGraph(title="All therapies", name="all-therapies")
    else:
        title = " vs ".join(ref.label for ref in comparison.therapies)
        view = nx.MultiDiGraph(title=title, name="-vs-".join(ref.id for ref in comparison.therapies))
    labels = _add_hierarchy(view, therapies, comparison.therapies)
    cited = comparison.sources
    links = [
        _Link(row, ref, fact, row.conflict and len(cell) > 1)
        for row in comparison.rows
        for ref, cell in zip(comparison.therapies, row.cells)
        for fact in cell
    ]
    if all_therapies:
        links = _stated_once(links, therapies)
    holders: dict[str, list[tuple[TherapyRef, Fact]]] = defaultdict(list)
    for link in links:
        holders[_add_value(view, link, labels, cited)].append((link.ref, link.fact))
    for node, held in holders.items():
        view.nodes[node]["title"] += "\n\n" + _value_title(held, labels, cited)
        if sources:
            _add_sources(view, node, sorted({s for _, fact in held for s in fact.sources}), cited)
    return view


def _add_hierarchy(view: nx.MultiDiGraph, therapies: Therapies, compared: list[TherapyRef]) -> dict[str, str]:
    """Nodes for the compared therapies and every modality above them, linked child to direct parent."""
    refs = {holder.id: holder for ref in compared for holder in therapies.lineage(ref)}
    links = nx.DiGraph()
    for ref in refs.values():
        links.add_node(ref.id)
        links.add_edges_from((ref.id, above.id) for above in therapies.lineage(ref)[1:])
    ids = [ref.id for ref in compared]
    for ref in [*compared, *(r for r in refs.values() if r.id not in ids)]:
        above = " › ".join(r.label for r in therapies.lineage(ref)[1:])
        title = f"{ref.label}\n{ref.level} (id: {ref.id})" + (f"\nis a: {above}" if above else "")
        view.add_node(f"therapy:{ref.id}", kind=ref.level, label=ref.label, title=title, compared=ref.id in ids)
    for child, parent in sorted(nx.transitive_reduction(links).edges):
        title = f"{refs[child].label} is a {refs[parent].label}"
        view.add_edge(f"therapy:{child}", f"therapy:{parent}", kind="is-a", label="is a", title=title)
    return {ref.id: ref.label for ref in refs.values()}


class _Link(NamedTuple):
    """One value of one therapy in one comparison row; `conflict` when its sources disagree."""

    row: ComparisonRow
    ref: TherapyRef
    fact: Fact
    conflict: bool


def _stated_once(links: list[_Link], therapies: Therapies) -> list[_Link]:
    """The overview links each value once, from the therapy it is about: an inherited value, or one
    a modality shows for a sub-modality, is left to the modality stating it, and evidence a modality gathers from its products to those products."""
    above = {ref.id: {r.id for r in therapies.lineage(ref)[1:]} for ref in {link.ref for link in links}}
    reached: dict[str, set[str]] = defaultdict(set)
    for link in links:
        reached[_node_id(link.row, link.fact)].add(link.ref.id)
    return [
        link
        for link in links
        if not link.fact.note
        and not (
            _kind(link.row) in ("approval", "trial", "observation")
            and any(link.ref.id in above[other] for other in reached[_node_id(link.row, link.fact)])
        )
    ]


def _add_value(view: nx.MultiDiGraph, link: _Link, labels: dict[str, str], cited: dict[str, Source]) -> str:
    """The value's node, created once and shared by every therapy that has it, and this therapy's edge to it."""
    row, ref, fact = link.row, link.ref, link.fact
    node = _node_id(row, fact)
    if node not in view:
        label = f"{row.label}: {fact.label}" if isinstance(fact.value, bool) else fact.label
        view.add_node(node, kind=_kind(row), label=label, title=f"{row.label}: {fact.label}", compared=False)
    notes = [note for note in (_note(fact, labels), "sources disagree" if link.conflict else "") if note]
    title = f"{ref.label}\n{row.label}: {fact.label}" + "".join(f"\n({note})" for note in notes)
    kind = "conflict" if link.conflict else "inherited" if fact.note else "stated"
    title += "\n\n" + _cite(fact.sources, cited)
    view.add_edge(f"therapy:{ref.id}", node, kind=kind, label=row.label, title=title)
    return node


def _add_sources(view: nx.MultiDiGraph, node: str, source_ids: list[str], cited: dict[str, Source]) -> None:
    """A node per source (once), linked to the value it states."""
    for source_id in source_ids:
        source = f"source:{source_id}"
        if source not in view:
            kind = f" ({cited[source_id].kind})" if source_id in cited else ""
            title = f"Source{kind}\n{_cite([source_id], cited)}"
            view.add_node(source, kind="source", label=source_id.removeprefix("src:"), title=title, compared=False)
        title = f"{source_id} states: {view.nodes[node]['label']}"
        view.add_edge(source, node, kind="states", label="states", title=title)


def _note(fact: Fact, labels: dict[str, str]) -> str:
    """`Fact.note` with the therapy's label in place of its id."""
    named = fact.applies_to or fact.inherited_from
    return fact.note.replace(named, labels.get(named, named)) if named else ""


def _kind(row: ComparisonRow) -> str:
    """Node kind for a row's values, read from the row key (`approval:fda`, `trial:trials`, `tkg:cellSource`)."""
    prefix = row.property.split(":", 1)[0]
    if prefix in ("outcome", "adverse-event"):
        return "observation"
    if prefix in ("approval", "trial"):
        return prefix
    return "target" if row.property == _TARGET_PROPERTY else "value"


def _node_id(row: ComparisonRow, fact: Fact) -> str:
    """One node per property value, approval, trial and observation, whichever therapy reaches it.

    An observation has no id in the comparison: its row, rate and sources identify it.
    """
    kind = _kind(row)
    if kind == "approval":
        return f"approval:{fact.value['approval']}"
    if kind == "trial":
        return f"trial:{fact.value}"
    if kind == "observation":
        rate = json.dumps(fact.value, sort_keys=True, default=str)
        return f"observation:{row.property}:{rate}:{','.join(fact.sources)}"
    return f"{kind}:{row.property}={fact.value}"


def _value_title(held: list[tuple[TherapyRef, Fact]], labels: dict[str, str], cited: dict[str, Source]) -> str:
    """Who has the value (and from where it is inherited), then every source stating it."""
    lines = [f"• {ref.label}" + (f" ({_note(fact, labels)})" if fact.note else "") for ref, fact in held]
    source_ids = sorted({s for _, fact in held for s in fact.sources})
    return "\n".join(lines) + "\n\n" + _cite(source_ids, cited)


def _cite(source_ids: Sequence[str], cited: dict[str, Source]) -> str:
    """Each source's kind of claim and date, citation, and DOI, PubMed, ClinicalTrials.gov or web
    link, as plain text."""
    if not source_ids:
        return "No source recorded."
    parts = []
    for source_id in source_ids:
        source = cited.get(source_id)
        kind = f"{source.kind}, {source.date or 'undated'}" if source else ""
        read_at = f"Read at {' and '.join(source.read_at)}" if source and source.read_at else ""
        parts.append("\n".join(p for p in (kind, source.citation, source.link, read_at) if p) if source else source_id)
    return "Sources:\n" + "\n\n".join(parts)


def render_html(view_graph: nx.MultiDiGraph, title: str | None = None) -> str:
    """One self-contained page: the network, a legend and a details panel; nothing is fetched."""
    esc = html.escape
    title = title or view_graph.graph.get("title") or "Therapy KG"
    large = view_graph.number_of_nodes() > LARGE_VIEW
    positions = _layout(view_graph)
    nodes = []
    for node, data in view_graph.nodes(data=True):
        x, y = positions[node]
        item = {"id": node, "label": _label(data), "title": data["title"], "group": data["kind"]}
        item.update(x=round(x, 1), y=round(y, 1))
        if data.get("compared"):
            item.update(borderWidth=4, font={"size": _HUB_FONT}, margin=14)
        nodes.append(item)
    edges = []
    for number, (source, target, data) in enumerate(view_graph.edges(data=True)):
        _, colour, dashed = EDGE_STYLES[data["kind"]]
        edges.append(
            {
                "id": f"e{number}",
                "from": source,
                "to": target,
                "label": _wrap(data["label"], lines=2),
                "title": data["title"],
                "dashes": dashed and not large,
                "color": {"color": colour, "highlight": _HIGHLIGHT, "hover": _HIGHLIGHT},
                "width": 2 if data["kind"] in ("is-a", "conflict") else 1,
            }
        )
    document = {"nodes": nodes, "edges": edges, "options": _options(large)}
    counts = f"{len(nodes)} nodes, {len(edges)} edges"
    kinds = {data["kind"] for _, data in view_graph.nodes(data=True)}
    edge_kinds = {data["kind"] for _, _, data in view_graph.edges(data=True)}
    scripts = [f"\n{_asset('vis-network.min.js')}\n", _PAGE_SCRIPT]
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f'<meta http-equiv="Content-Security-Policy" content="{_policy(scripts)}">\n',
            f"<title>{esc(title)}</title>\n",
            f"<style>\n{_asset('vis-network.css')}\n</style>\n<style>{_PAGE_STYLE}</style>\n</head><body>\n",
            f"<header><h1>{esc(title)}</h1><p>{counts}. Hover or click a node or an edge for its values, ",
            "sources and links; scroll to zoom, drag to move.</p></header>\n",
            f'<main><div id="kg-network" role="img" aria-label="{esc(title)}"></div>\n<aside>\n',
            '<label class="find">Find <input id="kg-find" type="search" placeholder="a label, e.g. CD19"></label>\n',
            _legend(kinds, edge_kinds, large),
            '<h2>Details</h2><pre id="kg-details">Click a node or an edge to see its values and sources here.</pre>\n',
            "</aside></main>\n",
            f'<script type="application/json" id="kg-view-data">{_script_json(document)}</script>\n',
            *(f"<script>{script}</script>\n" for script in scripts),
            "</body></html>\n",
        ]
    )


def write_view(path: str | Path, html_text: str) -> None:
    """Write the page atomically: a reader never opens half a file."""
    write_text(Path(path), html_text)


@cache
def _asset(name: str) -> str:
    """A file of the vis-network build bundled in pyvis, found without importing pyvis (slow to import)."""
    spec = find_spec("pyvis")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyvis is not installed; it provides the vis-network script the views inline.")
    return (Path(spec.submodule_search_locations[0]) / "lib" / "vis-9.1.2" / name).read_text(encoding="utf-8")


def _policy(scripts: list[str]) -> str:
    """Content-Security-Policy: only the page's own scripts run (by hash, so neither an injected
    script nor an inline event handler would), and nothing is loaded from anywhere."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts)
    return f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:"


def _script_json(document: Any) -> str:
    """JSON safe inside a `<script>` block: no `<`, `>` or `&` can end it or open a comment."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _wrap(text: str, width: int = _LABEL_WIDTH, lines: int = _LABEL_LINES) -> str:
    """A label broken into short lines, cut with an ellipsis; the tooltip keeps the whole text."""
    wrapped = textwrap.wrap(text, width, break_on_hyphens=False) or [""]
    if len(wrapped) > lines:
        wrapped = [*wrapped[: lines - 1], textwrap.shorten(" ".join(wrapped[lines - 1 :]), width, placeholder=" …")]
    return "\n".join(wrapped)


def _options(large: bool) -> dict[str, Any]:
    """vis-network options: colour and shape per kind, straight edges, no physics (positions are given)."""
    groups = {
        kind: {
            "shape": style.shape,
            "color": {
                "background": style.background,
                "border": style.border,
                "highlight": {"background": style.background, "border": _HIGHLIGHT},
                "hover": {"background": style.background, "border": _HIGHLIGHT},
            },
            "font": {"color": style.font},
        }
        for kind, style in STYLES.items()
    }
    return {
        "groups": groups,
        "nodes": {"font": {"size": _FONT, "face": "system-ui, sans-serif"}, "size": 14, "borderWidth": 1, "margin": 8},
        "edges": {
            "arrows": {"to": {"enabled": True, "scaleFactor": 0.5}},
            "font": {"size": 11, "color": "#4a5563", "strokeWidth": 4, "strokeColor": "#ffffff"},
            "smooth": False,
        },
        "physics": {"enabled": False},
        "interaction": {"hover": True, "tooltipDelay": 120, "hideEdgesOnDrag": large, "hideEdgesOnZoom": large},
        "layout": {"improvedLayout": False},
    }


def _layout(view: nx.MultiDiGraph) -> dict[str, tuple[float, float]]:
    """Positions, in time linear in the view's size, that follow the modality hierarchy.

    Each therapy is the centre of a cluster: the nodes nearest only to it (when compared) spiral
    around it, nearest first, and its sub-modalities' and products' clusters sit on a ring around
    that spiral, a single one below it. A node nearest to several compared therapies (a shared
    value, a shared source) spirals around their lowest common modality, between them.
    """
    therapies = [node for node, kind in view.nodes(data="kind") if kind in ("modality", "product")]
    hubs = [node for node in therapies if view.nodes[node]["compared"]] or therapies[:1]
    parent: dict[str, str] = {}
    for child, above, kind in view.edges(data="kind"):
        if kind == "is-a":
            parent.setdefault(child, above)
    children: dict[str, list[str]] = defaultdict(list)
    for therapy in therapies:
        children[parent.get(therapy, "")].append(therapy)
    owners, distance = _nearest_hubs(view, hubs)
    local: dict[str, list[str]] = defaultdict(list)
    for node in view:
        if node not in parent and node not in children[""]:
            local[_common_ancestor(owners.get(node, frozenset()), parent)].append(node)
    kinds = list(STYLES)

    def order(node: str) -> tuple[int, float, int, str]:
        """A therapy's own nodes before shared ones, nearest first, then by kind and label."""
        data = view.nodes[node]
        return len(owners.get(node, ())), distance.get(node, math.inf), kinds.index(data["kind"]), data["label"]

    for members in local.values():
        members.sort(key=order)

    spirals: dict[str, list[tuple[float, float]]] = {}
    offsets: dict[str, tuple[float, float]] = {}

    def measure(centre: str) -> tuple[float, float, float, float]:
        """Lay out a cluster around its centre; returns its bounding box (left, top, right, bottom)."""
        hole = math.pi * _FILL * (_width(view.nodes[centre]) / 2 + _GAP) ** 2 if centre else 0.0
        spirals[centre], inner = _spiral([_area(view.nodes[n]) for n in local[centre]], hole)
        box = (-inner, -inner, inner, inner)
        kids = [(child, measure(child)) for child in children[centre]]
        if len(kids) == 1:
            child, (left, top, right, bottom) = kids[0]
            offsets[child] = (0.0, inner + _GAP - top)
        elif kids:
            spans = {child: 2 * max(map(abs, kid_box)) + _GAP for child, kid_box in kids}
            ring = sum(spans.values()) / (2 * math.pi) if len(kids) > 2 else 0.0
            angle = math.pi - math.pi * spans[kids[0][0]] / sum(spans.values())
            directions = {}
            for child, (left, top, right, bottom) in kids:
                share = 2 * math.pi * spans[child] / sum(spans.values())
                ux, uy = directions[child] = (math.cos(angle + share / 2), math.sin(angle + share / 2))
                ring = max(ring, inner + _GAP + max(-ux * left, -ux * right) + max(-uy * top, -uy * bottom))
                angle += share
            offsets.update((child, (ring * ux, ring * uy)) for child, (ux, uy) in directions.items())
        for child, (left, top, right, bottom) in kids:
            dx, dy = offsets[child]
            box = (min(box[0], dx + left), min(box[1], dy + top), max(box[2], dx + right), max(box[3], dy + bottom))
        return box

    positions: dict[str, tuple[float, float]] = {}

    def place(centre: str, x: float, y: float) -> None:
        positions[centre] = (x, y)
        positions.update((node, (x + dx, y + dy)) for node, (dx, dy) in zip(local[centre], spirals[centre]))
        for child in children[centre]:
            place(child, x + offsets[child][0], y + offsets[child][1])

    measure("")
    place("", 0.0, 0.0)
    positions.pop("")
    return positions


def _common_ancestor(near: frozenset[str], parent: dict[str, str]) -> str:
    """The lowest therapy at or above all of `near` in the hierarchy ('' above all, or for none)."""
    common: list[str] | None = None
    for node in near:
        chain = [node]
        while chain[-1] in parent:
            chain.append(parent[chain[-1]])
        common = chain if common is None else [n for n in common if n in chain]
    return common[0] if common else ""


def _label(node: dict[str, Any]) -> str:
    """The label as drawn: evidence and sources get shorter labels, as there are many of them."""
    lines = 2 if node["kind"] in ("approval", "trial", "observation", "source") else _LABEL_LINES
    return _wrap(node["label"], lines=lines)


def _scale(node: dict[str, Any]) -> float:
    return _HUB_FONT / _FONT if node.get("compared") else 1.0


def _width(node: dict[str, Any]) -> float:
    """Approximate width of a node with its label, in vis-network pixels."""
    return max(len(line) for line in _label(node).split("\n")) * 0.55 * _FONT * _scale(node) + 24


def _area(node: dict[str, Any]) -> float:
    """Approximate area of a node with its label; shapes other than boxes and ellipses sit above it."""
    height = _label(node).count("\n") * 1.3 * _FONT * _scale(node) + 1.3 * _FONT * _scale(node) + 20
    if STYLES[node["kind"]].shape not in ("box", "ellipse"):
        height += 30
    return _width(node) * height


def _spiral(areas: list[float], hole: float) -> tuple[list[tuple[float, float]], float]:
    """Offsets on a sunflower spiral where each node gets its own area, and the spiral's radius."""
    offsets, covered = [], hole
    for i, area in enumerate(areas):
        r = math.sqrt((covered + area / 2) / (math.pi * _FILL))
        offsets.append((r * math.cos(i * _GOLDEN_ANGLE), r * math.sin(i * _GOLDEN_ANGLE)))
        covered += area
    return offsets, math.sqrt(covered / (math.pi * _FILL))


def _nearest_hubs(view: nx.MultiDiGraph, hubs: list[str]) -> tuple[dict[str, frozenset[str]], dict[str, int]]:
    """For every node, the hubs at the smallest number of links (either direction), and that number."""
    owners = {hub: frozenset([hub]) for hub in hubs}
    distance = dict.fromkeys(hubs, 0)
    frontier, step = list(hubs), 0
    while frontier:
        step += 1
        reached: dict[str, set[str]] = defaultdict(set)
        for node in frontier:
            for neighbour in (*view.successors(node), *view.predecessors(node)):
                if neighbour not in distance:
                    reached[neighbour] |= owners[node]
        for node, near in reached.items():
            owners[node], distance[node] = frozenset(near), step
        frontier = list(reached)
    return owners, distance


_SHAPES = {
    "box": '<rect x="1" y="4" width="16" height="10" rx="2"/>',
    "ellipse": '<ellipse cx="9" cy="9" rx="8" ry="5"/>',
    "diamond": '<polygon points="9,1 17,9 9,17 1,9"/>',
    "hexagon": '<polygon points="5,2 13,2 17,9 13,16 5,16 1,9"/>',
    "square": '<rect x="2" y="2" width="14" height="14"/>',
    "dot": '<circle cx="9" cy="9" r="7"/>',
    "triangle": '<polygon points="9,2 17,16 1,16"/>',
}


def _legend(kinds: set[str], edge_kinds: set[str], large: bool) -> str:
    """Legend entries for the node and edge kinds present, drawn as inline SVG from the fixed styles."""
    items = ['<h2>Legend</h2><ul class="legend">']
    for kind, style in STYLES.items():
        if kind in kinds:
            svg = f'<svg width="18" height="18" viewBox="0 0 18 18" fill="{style.background}" stroke="{style.border}">'
            items.append(f"<li>{svg}{_SHAPES[style.shape]}</svg>{style.legend}</li>")
    for kind, (label, colour, dashed) in EDGE_STYLES.items():
        if kind in edge_kinds:
            dash = ' stroke-dasharray="5 3"' if dashed and not large else ""
            items.append(
                f'<li><svg width="30" height="10" viewBox="0 0 30 10"><line x1="0" y1="5" x2="30" y2="5" '
                f'stroke="{colour}" stroke-width="2"{dash}/></svg>{label}</li>'
            )
    items.append("</ul>\n")
    return "".join(items)


_PAGE_STYLE = """
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; font-family: system-ui, sans-serif; color: #1b1f24; }
header { padding: .5rem 1rem; border-bottom: 1px solid #d0d7de; }
header h1 { font-size: 1.2rem; margin: 0; }
header p { margin: .2rem 0 0; color: #57606a; font-size: .85rem; }
main { flex: 1; display: flex; min-height: 0; }
#kg-network { flex: 1; min-width: 0; background: #ffffff; }
aside { width: 22rem; overflow: auto; padding: .5rem 1rem; border-left: 1px solid #d0d7de; background: #f6f8fa;
        font-size: .85rem; }
aside h2 { font-size: .95rem; margin: .8rem 0 .3rem; }
.find input { width: 100%; margin-top: .2rem; padding: .3rem; }
.legend { list-style: none; margin: 0; padding: 0; }
.legend li { display: flex; align-items: center; gap: .5rem; margin: .2rem 0; }
#kg-details { white-space: pre-wrap; word-break: break-word; font: inherit; margin: 0; }
div.vis-tooltip { white-space: pre-wrap; max-width: 32rem; font-family: system-ui, sans-serif; font-size: 12px; }
"""

_PAGE_SCRIPT = """
(function () {
  "use strict";
  var view = JSON.parse(document.getElementById("kg-view-data").textContent);
  var nodes = new vis.DataSet(view.nodes);
  var edges = new vis.DataSet(view.edges);
  var network = new vis.Network(document.getElementById("kg-network"), {}, view.options);
  var details = document.getElementById("kg-details");
  var hint = details.textContent;
  var state = {network: network, nodes: nodes, edges: edges, ready: false, readyAt: null};
  window.kgView = state;

  function show(item) { details.textContent = item ? item.title : hint; }
  function ready() {
    state.ready = true;
    state.readyAt = performance.now();
  }
  network.on("click", function (params) {
    if (params.nodes.length) { show(nodes.get(params.nodes[0])); }
    else if (params.edges.length) { show(edges.get(params.edges[0])); }
    else { show(null); }
  });
  network.once("afterDrawing", ready);
  network.setData({nodes: nodes, edges: edges});

  document.getElementById("kg-find").addEventListener("keydown", function (event) {
    var query = event.target.value.trim().toLowerCase();
    if (event.key !== "Enter" || !query) { return; }
    function has(text) { return text.toLowerCase().indexOf(query) >= 0; }
    var found = nodes.get({filter: function (node) { return has(node.label); }});
    if (!found.length) { found = nodes.get({filter: function (node) { return has(node.title); }}); }
    if (found.length) {
      network.selectNodes([found[0].id]);
      network.focus(found[0].id, {scale: 1.2, animation: true});
      show(found[0]);
    }
  });
})();
"""
