"""Charts as SVG text: a forest plot of observed rates and a timeline of regulatory events, for an
offline HTML page and for slides.

The SVG is written here as text, without JavaScript, a plotting library or fonts from the network,
so a chart opens anywhere and the same input gives the same bytes. Every text taken from data goes
through `html.escape`, so a label cannot close the SVG or open a script. Each observation or
event is one mark, `<g class="mark" tabindex="0" role="button" data-node="…">` with a `<title>`
(the tooltip): a page script can select marks by `data-node` and link them to the rest of the
page, and a keyboard user can tab through them. Nothing else in a chart takes focus.

Text is at least 12px (ticks 12, labels 13, headings 14-15 bold) so charts stay readable when a
slide scales them down. Colours are Okabe-Ito for therapies (told apart with the common colour
vision deficiencies) and fixed per regulator; shapes, not colours alone, carry an event's kind and
pathway. Layouts take one pass over the items after sorting.
"""

from __future__ import annotations

import datetime as dt
import heapq
import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial

FONT_FAMILY = "system-ui, sans-serif"
TICK_FONT = 12
LABEL_FONT = 13
GROUP_FONT = 14
TITLE_FONT = 15
TEXT = "#212121"
MUTED = "#555555"
GRID = "#e0e0e0"
AXIS = "#9e9e9e"

THERAPY_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
"""Okabe-Ito, in order of the therapies compared; a seventh therapy reuses the first colour."""

FOREST_WIDTH = 900
FOREST_AXIS_LEFT = 470.0
"""x of 0 % on the forest plot's axis; 100 % is at FOREST_AXIS_RIGHT, linear in between."""
FOREST_AXIS_RIGHT = 870.0
FOREST_TICK_STEP = 20
FOREST_ROW = 22
FOREST_GROUP = 30
FOREST_LABEL_CHARS = 60

REGULATOR_COLOURS = {"FDA": "#1f4e79", "EMA": "#2e7d32"}
OTHER_REGULATOR = "#757575"
WITHDRAWAL = "#c62828"
LABEL_EVENT = "#6a3d9a"
NOT_RECORDED = "#9e9e9e"
KINDS = ("approval", "conversion", "withdrawal", "label-event")

TIMELINE_WIDTH = 1000
TIMELINE_AXIS_LEFT = 140.0
"""x of 1 January of the first event's year; 1 January of the year after the last event's is at
TIMELINE_AXIS_RIGHT, linear in days in between."""
TIMELINE_AXIS_RIGHT = 960.0
TIMELINE_SUBROW = 20
"""Height of one sub-row of a lane: marks closer than TIMELINE_MIN_GAP go to the next sub-row."""
TIMELINE_MIN_GAP = 16.0
TIMELINE_PRODUCT = 26
TIMELINE_LANE_PAD = 4
_YEAR_LABEL_SPACE = 40.0
"""Least horizontal room for one year's label; years are labelled every 1, 2, 5, 10 … years to keep it."""

_LEGEND_INK = "#424242"
"""Shapes in the legend, which stand for any regulator's colour."""
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Rate:
    """One observed rate for the forest plot."""

    group: str
    """The row it belongs to: an event and grade, or an outcome ("cytokine release syndrome (CRS), any grade")."""
    therapy: str
    """The compared therapy it is shown for (its colour), e.g. "CAR-T cell therapy"."""
    product: str
    """The product measured, e.g. "Kymriah (tisagenlecleucel)"."""
    trial: str
    """The trial, e.g. "ELIANA (NCT02435849)"; "" when not recorded."""
    percentage: float
    """0-100."""
    low: float | None
    """95 % interval in percent; None (with `high`) when n is unknown."""
    high: float | None
    numerator: int | None
    denominator: int | None
    context: str
    """Grade, population, assessor … in a few words; may be ""."""
    node: str
    """The mark's data-node."""


@dataclass(frozen=True)
class TimelineEvent:
    """One dated regulatory event of one product."""

    product: str
    """e.g. "Keytruda (pembrolizumab)"."""
    regulator: str
    """A short name: "FDA", "EMA" (coloured as REGULATOR_COLOURS) or any other (OTHER_REGULATOR)."""
    date: dt.date
    kind: str
    """One of KINDS: "approval", "conversion" (accelerated → regular), "withdrawal", "label-event"."""
    pathway: str | None
    """For approvals: "regular", "accelerated", "conditional", or None when not recorded; another
    pathway (EMA's "exceptional circumstances") is drawn like None and named in the tooltip."""
    label: str
    """What was approved, withdrawn or changed, short ("NSCLC, first line, PD-L1 ≥50%")."""
    node: str
    """The mark's data-node."""


def forest_x(percentage: float) -> float:
    """The x of `percentage` on the forest plot's axis."""
    return FOREST_AXIS_LEFT + percentage / 100 * (FOREST_AXIS_RIGHT - FOREST_AXIS_LEFT)


def forest_plot(rates: Sequence[Rate], therapies: Sequence[str], *, title: str) -> str:
    """Rates with their 95 % intervals on one 0-100 % axis, a section per group, coloured per therapy.

    Lines in a group follow `therapies`, then product and trial; a therapy missing from
    `therapies` comes after them, in the order of `rates`.
    """
    if not rates:
        return _empty(FOREST_WIDTH, title, "No rates recorded for these therapies.")
    for rate in rates:
        _check_rate(rate)
    order = list(dict.fromkeys([*therapies, *(rate.therapy for rate in rates)]))
    rank = {therapy: i for i, therapy in enumerate(order)}
    colour = {therapy: THERAPY_COLOURS[i % len(THERAPY_COLOURS)] for i, therapy in enumerate(order)}
    groups: dict[str, list[Rate]] = {}
    for rate in rates:
        groups.setdefault(rate.group, []).append(rate)

    out: list[str] = [_text(16, 24, title, TITLE_FONT, bold=True)]
    legend, y = _legend([(partial(_forest_swatch, colour=colour[t]), t) for t in order], 38, FOREST_WIDTH)
    out += legend
    top = y + 22
    out += _forest_ticks(top - 6)
    bottom = top + FOREST_GROUP * len(groups) + FOREST_ROW * len(rates)
    for tick in range(0, 101, FOREST_TICK_STEP):
        x = _n(forest_x(tick))
        out.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="{GRID}"/>')
    y = top
    for group, members in groups.items():
        out.append(_text(16, y + 20, _shorten(group, 100), GROUP_FONT, bold=True, full=group))
        y += FOREST_GROUP
        for rate in sorted(members, key=lambda r: (rank[r.therapy], r.product, r.trial, r.node)):
            out.append(_forest_mark(rate, y, colour[rate.therapy]))
            y += FOREST_ROW
    out.append(_hline(FOREST_AXIS_LEFT, FOREST_AXIS_RIGHT, bottom, AXIS))
    out += _forest_ticks(bottom + 18)
    caption = "Patients with the event or outcome, % (point: reported rate; line: 95% confidence interval)"
    out.append(_text(FOREST_AXIS_RIGHT, bottom + 40, caption, TICK_FONT, anchor="end", fill=MUTED))
    return _svg(FOREST_WIDTH, bottom + 54, title, out)


def timeline(events: Sequence[TimelineEvent], *, title: str) -> str:
    """Regulatory events on a shared axis of years: a lane per product and regulator, lanes grouped
    by product (both in the order of `events`), marks that would overlap moved to sub-rows."""
    if not events:
        return _empty(TIMELINE_WIDTH, title, "No regulatory events recorded for these therapies.")
    for event in events:
        if event.kind not in KINDS:
            raise ValueError(f"unknown event kind {event.kind!r}; expected one of {', '.join(KINDS)}")
    first = min(event.date for event in events).year
    last = max(event.date for event in events).year + 1
    start, end = dt.date(first, 1, 1).toordinal(), dt.date(last, 1, 1).toordinal()

    def x_of(date: dt.date) -> float:
        share = (date.toordinal() - start) / (end - start)
        return TIMELINE_AXIS_LEFT + share * (TIMELINE_AXIS_RIGHT - TIMELINE_AXIS_LEFT)

    products: dict[str, dict[str, list[TimelineEvent]]] = {}
    for event in events:
        products.setdefault(event.product, {}).setdefault(event.regulator, []).append(event)
    lanes = {
        (product, regulator): _subrows(lane, x_of)
        for product, regulators in products.items()
        for regulator, lane in regulators.items()
    }

    out: list[str] = [_text(16, 24, title, TITLE_FONT, bold=True)]
    kinds = [
        (lambda x, y: _approval(x, y, _LEGEND_INK, "regular"), "approval, regular"),
        (lambda x, y: _approval(x, y, _LEGEND_INK, "accelerated"), "approval, accelerated"),
        (lambda x, y: _approval(x, y, _LEGEND_INK, "conditional"), "approval, conditional"),
        (lambda x, y: _approval(x, y, _LEGEND_INK, None), "approval, other pathway or not recorded"),
        (lambda x, y: _triangle(x, y, _LEGEND_INK), "conversion to regular approval"),
        (_cross, "withdrawal"),
        (_diamond, "label change"),
    ]
    regulators = dict.fromkeys(event.regulator for event in events)
    swatches = [(partial(_square, colour=_regulator_colour(r)), r) for r in regulators]
    legend, y = _legend([*kinds, *swatches], 38, TIMELINE_WIDTH)
    out += legend
    top = y + 22
    year_px = (TIMELINE_AXIS_RIGHT - TIMELINE_AXIS_LEFT) / (last - first)
    step = next((s for s in (1, 2, 5, 10, 20, 50, 100) if s * year_px >= _YEAR_LABEL_SPACE), 1000)
    heights = {
        key: (1 + max(row for _, _, row in placed)) * TIMELINE_SUBROW + 2 * TIMELINE_LANE_PAD
        for key, placed in lanes.items()
    }
    bottom = top + TIMELINE_PRODUCT * len(products) + sum(heights.values())
    out += _year_ticks(first, last, step, x_of, top - 6)
    for year in range(first, last + 1):
        tick_x = _n(x_of(dt.date(year, 1, 1)))
        out.append(f'<line x1="{tick_x}" y1="{top}" x2="{tick_x}" y2="{bottom}" stroke="{GRID}"/>')
    y = top
    for product, by_regulator in products.items():
        out.append(_text(16, y + 19, _shorten(product, 110), GROUP_FONT, bold=True, full=product))
        y += TIMELINE_PRODUCT
        for regulator in by_regulator:
            height = heights[product, regulator]
            out.append(
                f'<rect x="16" y="{y}" width="{_n(TIMELINE_AXIS_RIGHT + 12 - 16)}" height="{height - 2}" '
                'fill="#000000" fill-opacity="0.035"/>'
            )
            first_row = y + TIMELINE_LANE_PAD + TIMELINE_SUBROW / 2
            out.append(_text(28, first_row + 4, _shorten(regulator, 14), TICK_FONT, fill=MUTED, full=regulator))
            for event, x, row in lanes[product, regulator]:
                out.append(_timeline_mark(event, x, first_row + row * TIMELINE_SUBROW))
            y += height
    out.append(_hline(TIMELINE_AXIS_LEFT, TIMELINE_AXIS_RIGHT, bottom, AXIS))
    out += _year_ticks(first, last, step, x_of, bottom + 18)
    return _svg(TIMELINE_WIDTH, bottom + 32, title, out)


def _check_rate(rate: Rate) -> None:
    values = [("percentage", rate.percentage), ("low", rate.low), ("high", rate.high)]
    for name, value in values:
        if value is not None and not 0 <= value <= 100:
            raise ValueError(f"{rate.node}: {name} must be between 0 and 100, got {value}")
    low, high = rate.low, rate.high
    if (low is None) != (high is None) or (low is not None and high is not None and low > high):
        raise ValueError(f"{rate.node}: give both ends of the interval, low ≤ high, or neither")


def _forest_mark(rate: Rate, y: float, colour: str) -> str:
    known_n = rate.numerator is not None and rate.denominator is not None
    count = f"{rate.numerator}/{rate.denominator}" if known_n else ""
    label = " · ".join(part for part in (rate.product, rate.trial, count) if part)
    cy = _n(y + FOREST_ROW / 2)
    value = f"{_pct(rate.percentage)} %"
    lines = [f"{rate.therapy}: {label}", f"{count} ({value})" if count else value]
    parts = [
        f'<rect x="8" y="{_n(y)}" width="{FOREST_WIDTH - 16}" height="{FOREST_ROW}" fill="#000000" fill-opacity="0"/>',
        _text(16, y + FOREST_ROW / 2 + 4.5, _shorten(label, FOREST_LABEL_CHARS), LABEL_FONT),
    ]
    if rate.low is not None and rate.high is not None:
        lines.append(f"95% CI {_pct(rate.low)}–{_pct(rate.high)} %")
        x1, x2 = _n(forest_x(rate.low)), _n(forest_x(rate.high))
        parts.append(
            f'<line class="ci" x1="{x1}" y1="{cy}" x2="{x2}" y2="{cy}" stroke="{colour}" stroke-width="2.5" '
            'stroke-linecap="round"/>'
        )
    else:
        lines.append("95% CI not known (n not recorded)")
    if rate.context:
        lines.append(rate.context)
    x = _n(forest_x(rate.percentage))
    parts.append(f'<circle class="point" cx="{x}" cy="{cy}" r="5" fill="{colour}" stroke="#ffffff"/>')
    return _mark(rate.node, lines, parts)


def _forest_swatch(x: float, y: float, colour: str) -> str:
    return (
        f'<line x1="{_n(x - 7)}" y1="{_n(y)}" x2="{_n(x + 7)}" y2="{_n(y)}" stroke="{colour}" stroke-width="2.5"/>'
        f'<circle cx="{_n(x)}" cy="{_n(y)}" r="5" fill="{colour}" stroke="#ffffff"/>'
    )


def _forest_ticks(y: float) -> list[str]:
    return [
        _text(forest_x(tick), y, f"{tick}%", TICK_FONT, anchor="middle", fill=MUTED)
        for tick in range(0, 101, FOREST_TICK_STEP)
    ]


def _subrows(lane: list[TimelineEvent], x_of: Callable[[dt.date], float]) -> list[tuple[TimelineEvent, float, int]]:
    """Each event of a lane with its x and its sub-row (0 first): the lowest sub-row whose last mark
    is at least TIMELINE_MIN_GAP to the left, found with two heaps so a lane costs O(n log n)."""
    ordered = sorted(lane, key=lambda e: (e.date, KINDS.index(e.kind), e.pathway or "", e.label, e.node))
    busy: list[tuple[float, int]] = []
    free: list[int] = []
    placed = []
    for event in ordered:
        x = x_of(event.date)
        while busy and busy[0][0] <= x - TIMELINE_MIN_GAP:
            heapq.heappush(free, heapq.heappop(busy)[1])
        row = heapq.heappop(free) if free else len(busy)
        heapq.heappush(busy, (x, row))
        placed.append((event, x, row))
    return placed


def _timeline_mark(event: TimelineEvent, x: float, y: float) -> str:
    colour = _regulator_colour(event.regulator)
    what = event.kind if event.kind != "approval" else f"approval, {event.pathway or 'pathway not recorded'}"
    lines = [f"{event.date.isoformat()} · {event.regulator} · {what}", event.product]
    if event.label:
        lines.append(event.label)
    shape = {
        "approval": lambda: _approval(0, 0, colour, event.pathway),
        "conversion": lambda: _triangle(0, 0, colour),
        "withdrawal": lambda: _cross(0, 0),
        "label-event": lambda: _diamond(0, 0),
    }[event.kind]()
    parts = ['<circle r="9" fill="#000000" fill-opacity="0"/>', shape]
    return _mark(event.node, lines, parts, f' transform="translate({_n(x)} {_n(y)})"')


def _regulator_colour(regulator: str) -> str:
    return REGULATOR_COLOURS.get(regulator, OTHER_REGULATOR)


def _approval(x: float, y: float, colour: str, pathway: str | None) -> str:
    cx, cy = _n(x), _n(y)
    if pathway == "regular":
        return f'<circle cx="{cx}" cy="{cy}" r="6" fill="{colour}" stroke="{colour}" stroke-width="1.5"/>'
    if pathway == "accelerated":
        return f'<circle cx="{cx}" cy="{cy}" r="5.5" fill="#ffffff" stroke="{colour}" stroke-width="3"/>'
    if pathway == "conditional":
        return (
            f'<path d="M {_n(x)} {_n(y - 6)} A 6 6 0 0 0 {_n(x)} {_n(y + 6)} Z" fill="{colour}"/>'
            f'<circle cx="{cx}" cy="{cy}" r="6" fill="none" stroke="{colour}" stroke-width="1.5" '
            'stroke-dasharray="3 2"/>'
        )
    return f'<circle cx="{cx}" cy="{cy}" r="5.5" fill="#ffffff" stroke="{NOT_RECORDED}" stroke-width="2"/>'


def _triangle(x: float, y: float, colour: str) -> str:
    points = f"{_n(x)},{_n(y - 7)} {_n(x + 6.5)},{_n(y + 5)} {_n(x - 6.5)},{_n(y + 5)}"
    return f'<polygon points="{points}" fill="{colour}"/>'


def _cross(x: float, y: float) -> str:
    a, b, c, d = _n(x - 5), _n(y - 5), _n(x + 5), _n(y + 5)
    return (
        f'<line x1="{a}" y1="{b}" x2="{c}" y2="{d}" stroke="{WITHDRAWAL}" stroke-width="3" stroke-linecap="round"/>'
        f'<line x1="{a}" y1="{d}" x2="{c}" y2="{b}" stroke="{WITHDRAWAL}" stroke-width="3" stroke-linecap="round"/>'
    )


def _diamond(x: float, y: float) -> str:
    points = f"{_n(x)},{_n(y - 5)} {_n(x + 5)},{_n(y)} {_n(x)},{_n(y + 5)} {_n(x - 5)},{_n(y)}"
    return f'<polygon points="{points}" fill="{LABEL_EVENT}"/>'


def _hline(x1: float, x2: float, y: float, colour: str) -> str:
    return f'<line x1="{_n(x1)}" y1="{_n(y)}" x2="{_n(x2)}" y2="{_n(y)}" stroke="{colour}"/>'


def _square(x: float, y: float, colour: str) -> str:
    return f'<rect x="{_n(x - 6)}" y="{_n(y - 6)}" width="12" height="12" fill="{colour}"/>'


def _year_ticks(first: int, last: int, step: int, x_of: Callable[[dt.date], float], y: float) -> list[str]:
    return [
        _text(x_of(dt.date(year, 1, 1)), y, str(year), TICK_FONT, anchor="middle", fill=MUTED)
        for year in range(first, last + 1)
        if year % step == 0
    ]


def _legend(
    items: Iterable[tuple[Callable[[float, float], str], str]], y: float, width: int
) -> tuple[list[str], float]:
    """A swatch and a label per item, wrapped to the chart's width (estimating 7.5px a character);
    returns the elements and the y below them."""
    out: list[str] = []
    x, row_y = 16.0, y + 10
    for swatch, label in items:
        needed = 22 + len(label) * 7.5 + 18
        if x > 16 and x + needed > width - 16:
            x, row_y = 16.0, row_y + 22
        out.append(swatch(x + 8, row_y))
        out.append(_text(x + 22, row_y + 4.5, label, LABEL_FONT))
        x += needed
    return out, row_y + 12


def _mark(node: str, lines: list[str], parts: list[str], extra: str = "") -> str:
    """A focusable mark: the tooltip has a line per entry of `lines`, the aria-label the same on one line."""
    tooltip, label = _esc("\n".join(lines)), _esc("; ".join(lines))
    return (
        f'<g class="mark" tabindex="0" role="button" data-node="{_esc(node)}" aria-label="{label}"{extra}>'
        f"<title>{tooltip}</title>{''.join(parts)}</g>"
    )


def _text(
    x: float,
    y: float,
    content: str,
    size: int,
    *,
    bold: bool = False,
    anchor: str = "start",
    fill: str = TEXT,
    full: str = "",
) -> str:
    """A text element; `full`, when longer than the shortened `content`, becomes its tooltip."""
    weight = ' font-weight="bold"' if bold else ""
    align = f' text-anchor="{anchor}"' if anchor != "start" else ""
    tooltip = f"<title>{_esc(full)}</title>" if full and full != content else ""
    attributes = f'x="{_n(x)}" y="{_n(y)}" font-size="{size}"{weight}{align} fill="{fill}"'
    return f"<text {attributes}>{tooltip}{_esc(content)}</text>"


def _empty(width: int, title: str, message: str) -> str:
    body = [_text(16, 24, title, TITLE_FONT, bold=True), _text(16, 48, message, LABEL_FONT, fill=MUTED)]
    return _svg(width, 64, title, body)


def _svg(width: int, height: float, title: str, body: list[str]) -> str:
    h = _n(height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
        f'role="group" aria-label="{_esc(title)}" font-family="{FONT_FAMILY}">'
        f"<title>{_esc(title)}</title>"
        f'<rect width="{width}" height="{h}" fill="#ffffff"/>' + "\n".join(body) + "</svg>\n"
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _esc(text: str) -> str:
    """Text from data for an attribute or element; XML 1.0 has no place for control characters."""
    return html.escape(_XML_INVALID.sub("", text), quote=True)


def _pct(value: float) -> str:
    return f"{value:.1f}"


def _n(value: float) -> str:
    """A coordinate: one decimal, no trailing ".0", so output is short and stable."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
