"""SVG charts: well-formed SVG, one focusable mark per item with its tooltip, positions on the axes the
module defines, colours and shapes as documented, escaped text; and Wilson intervals."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest

from kg.charts import (
    FOREST_AXIS_LEFT,
    FOREST_AXIS_RIGHT,
    FOREST_LABEL_CHARS,
    LABEL_EVENT,
    NOT_RECORDED,
    OTHER_REGULATOR,
    REGULATOR_COLOURS,
    THERAPY_COLOURS,
    TIMELINE_AXIS_LEFT,
    TIMELINE_AXIS_RIGHT,
    TIMELINE_SUBROW,
    WITHDRAWAL,
    Rate,
    TimelineEvent,
    forest_plot,
    timeline,
)
from kg.stats import wilson

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "</svg><script>alert(1)</script>"
CRS = "cytokine release syndrome (CRS), any grade"
RESPONSE = "overall response rate"
THERAPIES = ["CAR-T cell therapy", "CAR-NK cell therapy"]


def rate(node: str, therapy: str = "CAR-T cell therapy", group: str = CRS, **changes: object) -> Rate:
    values: dict[str, object] = {
        "group": group,
        "therapy": therapy,
        "product": "Kymriah (tisagenlecleucel)",
        "trial": "ELIANA (NCT02435849)",
        "percentage": 8 / 11 * 100,
        "low": 43.4,
        "high": 90.3,
        "numerator": 8,
        "denominator": 11,
        "context": "any grade, Penn scale",
        "node": node,
    }
    values.update(changes)
    return Rate(**values)


def event(node: str, date: dt.date, **changes: object) -> TimelineEvent:
    values: dict[str, object] = {
        "product": "Keytruda (pembrolizumab)",
        "regulator": "FDA",
        "date": date,
        "kind": "approval",
        "pathway": "regular",
        "label": "melanoma, unresectable",
        "node": node,
    }
    values.update(changes)
    return TimelineEvent(**values)


RATES = [
    rate("crs-kymriah"),
    rate(
        "crs-cd19nk",
        "CAR-NK cell therapy",
        product="CD19 CAR-NK (cord blood)",
        trial="NCT03056339",
        percentage=0.0,
        low=0.0,
        high=25.9,
        numerator=0,
        denominator=11,
        context="",
    ),
    rate(
        "crs-yescarta",
        product="Yescarta (axicabtagene ciloleucel)",
        trial="ZUMA-1 (NCT02348216)",
        percentage=93.0,
        low=86.4,
        high=96.6,
        numerator=94,
        denominator=101,
    ),
    rate(
        "orr-cd19nk",
        "CAR-NK cell therapy",
        RESPONSE,
        product="CD19 CAR-NK (cord blood)",
        trial="",
        percentage=72.7,
        low=None,
        high=None,
        numerator=None,
        denominator=None,
        context="investigator",
    ),
]
EVENTS = [
    event("pembro-fda-2014", dt.date(2014, 9, 4), pathway="accelerated"),
    event("pembro-fda-2015", dt.date(2015, 12, 18), kind="conversion", pathway=None),
    event("pembro-ema-2015", dt.date(2015, 7, 17), regulator="EMA"),
    event("pembro-fda-2021", dt.date(2021, 3, 1), kind="withdrawal", pathway=None, label="SCLC, third line"),
    event("pembro-fda-2019", dt.date(2019, 6, 17), kind="label-event", pathway=None, label="SCLC, boxed text"),
    event("kymriah-fda-2017", dt.date(2017, 8, 30), product="Kymriah (tisagenlecleucel)", label="B-ALL"),
    event(
        "kymriah-ema-2018",
        dt.date(2018, 8, 22),
        product="Kymriah (tisagenlecleucel)",
        regulator="EMA",
        pathway="conditional",
    ),
    event(
        "kymriah-pmda-2019", dt.date(2019, 3, 26), product="Kymriah (tisagenlecleucel)", regulator="PMDA", pathway=None
    ),
]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def marks(root: ET.Element) -> dict[str, ET.Element]:
    found = [g for g in root.iter(f"{SVG}g") if g.get("class") == "mark"]
    by_node = {g.get("data-node"): g for g in found}
    assert len(by_node) == len(found)
    return by_node


def tooltip(mark: ET.Element) -> str:
    title = mark.find(f"{SVG}title")
    assert title is not None and title.text
    return title.text


def translate(mark: ET.Element) -> tuple[float, float]:
    found = re.fullmatch(r"translate\(([-\d.]+) ([-\d.]+)\)", mark.get("transform", ""))
    assert found
    return float(found[1]), float(found[2])


def shapes(mark: ET.Element) -> list[ET.Element]:
    """The drawn shapes of a timeline mark: all but its title and its transparent hit area."""
    return [e for e in mark if e.tag != f"{SVG}title" and e.get("fill-opacity") != "0"]


def attr(element: ET.Element | None, name: str) -> str:
    assert element is not None
    return element.get(name, "")


def num(element: ET.Element | None, name: str) -> float:
    return float(attr(element, name) or "nan")


def point(mark: ET.Element) -> ET.Element | None:
    return mark.find(f"{SVG}circle[@class='point']")


def interval(mark: ET.Element) -> ET.Element | None:
    return mark.find(f"{SVG}line[@class='ci']")


def forest_x(percentage: float) -> float:
    return FOREST_AXIS_LEFT + percentage / 100 * (FOREST_AXIS_RIGHT - FOREST_AXIS_LEFT)


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize(
    "svg",
    [
        forest_plot(RATES, THERAPIES, title="CAR-T vs CAR-NK"),
        forest_plot([], THERAPIES, title="CAR-T vs CAR-NK"),
        timeline(EVENTS, title="Approvals"),
        timeline([], title="Approvals"),
    ],
    ids=["forest", "forest-empty", "timeline", "timeline-empty"],
)
def test_every_chart_is_one_accessible_svg(svg: str) -> None:
    root = parse(svg)
    width, height = root.get("width"), root.get("height")
    assert root.get("viewBox") == f"0 0 {width} {height}"
    assert num(root, "width") > 0 and num(root, "height") > 0
    assert root.get("role") == "group"  # not "img": that would hide its focusable marks from screen readers
    assert root.get("aria-label") in ("CAR-T vs CAR-NK", "Approvals")
    assert root[0].tag == f"{SVG}title" and root[0].text == root.get("aria-label")
    assert root.get("font-family") == "system-ui, sans-serif"
    sizes = [float(size) for size in re.findall(r"font-size\s*[=:]\s*\"?\s*([\d.]+)", svg)]
    assert sizes and min(sizes) >= 12
    for element in root.iter():
        if element.get("tabindex") is not None:
            assert element.get("class") == "mark" and element.get("tabindex") == "0"
            assert element.get("role") == "button" and element.get("aria-label")
    assert "<script" not in svg


def test_forest_plot_has_one_mark_per_rate_with_its_numbers() -> None:
    root = parse(forest_plot(RATES, THERAPIES, title="CRS"))
    found = marks(root)
    assert set(found) == {r.node for r in RATES}
    kymriah = tooltip(found["crs-kymriah"])
    for part in (
        "Kymriah (tisagenlecleucel)",
        "ELIANA (NCT02435849)",
        "8/11",
        "72.7 %",
        "95% CI 43.4–90.3 %",
        "any grade, Penn scale",
    ):
        assert part in kymriah
    unknown_n = tooltip(found["orr-cd19nk"])
    assert "72.7 %" in unknown_n and "investigator" in unknown_n and "/" not in unknown_n.split("\n")[0]
    assert all(m.get("aria-label") for m in found.values())


def test_forest_plot_draws_the_interval_and_point_on_the_axis() -> None:
    found = marks(parse(forest_plot(RATES, THERAPIES, title="CRS")))
    line, dot = interval(found["crs-kymriah"]), point(found["crs-kymriah"])
    assert num(line, "x1") == pytest.approx(forest_x(43.4), abs=0.051)
    assert num(line, "x2") == pytest.approx(forest_x(90.3), abs=0.051)
    assert num(dot, "cx") == pytest.approx(forest_x(8 / 11 * 100), abs=0.051)
    assert num(line, "y1") == num(line, "y2") == num(dot, "cy")
    assert num(point(found["crs-cd19nk"]), "cx") == FOREST_AXIS_LEFT
    assert num(interval(found["crs-cd19nk"]), "x2") == pytest.approx(forest_x(25.9), abs=0.051)
    assert interval(found["orr-cd19nk"]) is None


def test_forest_plot_axis_has_ticks_every_20_percent() -> None:
    root = parse(forest_plot(RATES, THERAPIES, title="CRS"))
    ticks = [t for t in root.iter(f"{SVG}text") if re.fullmatch(r"\d+%", t.text or "")]
    assert sorted({t.text for t in ticks}, key=lambda t: int(t[:-1])) == ["0%", "20%", "40%", "60%", "80%", "100%"]
    for tick in ticks:
        assert num(tick, "x") == pytest.approx(forest_x(int((tick.text or "")[:-1])), abs=0.051)


def test_forest_plot_colours_follow_the_therapies() -> None:
    svg = forest_plot(RATES, THERAPIES, title="CRS")
    found = marks(parse(svg))
    for node, colour in [("crs-kymriah", THERAPY_COLOURS[0]), ("crs-cd19nk", THERAPY_COLOURS[1])]:
        assert attr(point(found[node]), "fill") == colour
        assert attr(interval(found[node]), "stroke") == colour
    swapped = marks(parse(forest_plot(RATES, THERAPIES[::-1], title="CRS")))
    assert attr(point(swapped["crs-kymriah"]), "fill") == THERAPY_COLOURS[1]
    legend = [t for t in texts(parse(svg)) if t in THERAPIES]
    assert legend == THERAPIES


def test_forest_plot_orders_groups_then_therapies_products_and_trials() -> None:
    root = parse(forest_plot(RATES, THERAPIES, title="CRS"))
    found = marks(root)
    y = {node: num(point(m), "cy") for node, m in found.items()}
    assert y["crs-kymriah"] < y["crs-yescarta"] < y["crs-cd19nk"] < y["orr-cd19nk"]
    headings = [t for t in texts(root) if t in (CRS, RESPONSE)]
    assert headings == [CRS, RESPONSE]
    later = marks(parse(forest_plot(RATES, THERAPIES[::-1], title="CRS")))
    cy = {node: num(point(m), "cy") for node, m in later.items()}
    assert cy["crs-cd19nk"] < cy["crs-kymriah"]


def test_forest_plot_height_grows_with_lines_and_groups() -> None:
    heights = [num(parse(forest_plot(RATES[:n], THERAPIES, title="CRS")), "height") for n in (1, 2, 4)]
    assert heights[1] - heights[0] == pytest.approx(22)
    assert heights[2] - heights[1] == pytest.approx(2 * 22 + 30)


def test_forest_plot_shortens_long_labels_but_keeps_them_in_the_tooltip() -> None:
    product = "A very long product name " * 4
    root = parse(forest_plot([rate("long", product=product)], THERAPIES, title="CRS"))
    mark = marks(root)["long"]
    label = "".join(next(mark.iter(f"{SVG}text")).itertext())
    assert len(label) <= FOREST_LABEL_CHARS and label.endswith("…")
    assert f"{product} · ELIANA (NCT02435849) · 8/11" in tooltip(mark)


def test_forest_plot_puts_unlisted_therapies_last() -> None:
    found = marks(parse(forest_plot([rate("ici", "checkpoint inhibitor"), rate("cart")], THERAPIES, title="CRS")))
    assert attr(point(found["ici"]), "fill") == THERAPY_COLOURS[2]
    y = {node: num(point(m), "cy") for node, m in found.items()}
    assert y["cart"] < y["ici"]


@pytest.mark.parametrize(
    "changes",
    [{"percentage": 101.0}, {"low": -1.0}, {"low": 60.0, "high": 50.0}, {"low": None}],
    ids=["percentage", "low", "reversed", "one-sided"],
)
def test_forest_plot_rejects_impossible_rates(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="bad"):
        forest_plot([rate("bad", **changes)], THERAPIES, title="CRS")


def test_timeline_has_one_mark_per_event_with_its_facts() -> None:
    found = marks(parse(timeline(EVENTS, title="Approvals")))
    assert set(found) == {e.node for e in EVENTS}
    first = tooltip(found["pembro-fda-2014"])
    for part in ("2014-09-04", "FDA", "approval", "accelerated", "melanoma, unresectable", "Keytruda (pembrolizumab)"):
        assert part in first
    assert tooltip(found["kymriah-ema-2018"]).startswith("2018-08-22 · EMA · approval, conditional")
    withdrawal = tooltip(found["pembro-fda-2021"])
    assert "2021-03-01" in withdrawal and "withdrawal" in withdrawal and "SCLC, third line" in withdrawal
    assert "pathway not recorded" in tooltip(found["kymriah-pmda-2019"])


def test_timeline_places_events_on_the_year_axis() -> None:
    root = parse(timeline(EVENTS, title="Approvals"))
    found = marks(root)
    start, end = dt.date(2014, 1, 1), dt.date(2022, 1, 1)
    for e in EVENTS:
        share = (e.date - start).days / (end - start).days
        expected = TIMELINE_AXIS_LEFT + share * (TIMELINE_AXIS_RIGHT - TIMELINE_AXIS_LEFT)
        assert translate(found[e.node])[0] == pytest.approx(expected, abs=0.051)
    years = {t for t in texts(root) if re.fullmatch(r"\d{4}", t)}
    assert years == {str(y) for y in range(2014, 2023)}


def test_timeline_groups_lanes_by_product() -> None:
    root = parse(timeline(EVENTS, title="Approvals"))
    found = marks(root)
    y = {node: translate(m)[1] for node, m in found.items()}
    pembro_fda = {y[n] for n in ("pembro-fda-2014", "pembro-fda-2015", "pembro-fda-2019", "pembro-fda-2021")}
    assert len(pembro_fda) == 1
    others = ("pembro-ema-2015", "kymriah-fda-2017", "kymriah-ema-2018", "kymriah-pmda-2019")
    lanes = [max(pembro_fda), *(y[n] for n in others)]
    assert lanes == sorted(set(lanes))
    labels = texts(root)
    assert labels.index("Keytruda (pembrolizumab)") < labels.index("Kymriah (tisagenlecleucel)")
    assert {"FDA", "EMA", "PMDA"} <= set(labels)


def test_timeline_shapes_and_colours() -> None:
    found = marks(parse(timeline(EVENTS, title="Approvals")))
    fda, ema = REGULATOR_COLOURS["FDA"], REGULATOR_COLOURS["EMA"]

    def only(node: str) -> ET.Element:
        drawn = shapes(found[node])
        assert len(drawn) == 1
        return drawn[0]

    regular, accelerated = only("kymriah-fda-2017"), only("pembro-fda-2014")
    assert regular.tag == f"{SVG}circle" and regular.get("fill") == fda
    assert accelerated.tag == f"{SVG}circle" and accelerated.get("fill") == "#ffffff"
    assert accelerated.get("stroke") == fda and num(accelerated, "stroke-width") >= 2.5
    assert only("pembro-ema-2015").get("fill") == ema
    conditional = shapes(found["kymriah-ema-2018"])
    assert [e.tag for e in conditional] == [f"{SVG}path", f"{SVG}circle"]
    assert conditional[0].get("fill") == ema and conditional[1].get("stroke-dasharray")
    not_recorded = only("kymriah-pmda-2019")
    assert not_recorded.get("stroke") == NOT_RECORDED and not_recorded.get("fill") == "#ffffff"
    conversion = only("pembro-fda-2015")
    assert conversion.tag == f"{SVG}polygon" and conversion.get("fill") == fda
    points = [tuple(map(float, p.split(","))) for p in conversion.get("points", "").split()]
    assert len(points) == 3 and points[0][1] < points[1][1] == points[2][1]
    cross = shapes(found["pembro-fda-2021"])
    assert [e.tag for e in cross] == [f"{SVG}line"] * 2 and {e.get("stroke") for e in cross} == {WITHDRAWAL}
    diamond = only("pembro-fda-2019")
    assert diamond.tag == f"{SVG}polygon" and len(diamond.get("points", "").split()) == 4
    assert diamond.get("fill") == LABEL_EVENT
    other = marks(parse(timeline([event("x", dt.date(2020, 1, 1), regulator="PMDA", kind="conversion")], title="t")))
    assert shapes(other["x"])[0].get("fill") == OTHER_REGULATOR


def test_timeline_legend_explains_shapes_and_regulators() -> None:
    labels = texts(parse(timeline(EVENTS, title="Approvals")))
    for label in (
        "approval, regular",
        "approval, accelerated",
        "approval, conditional",
        "withdrawal",
        "conversion to regular approval",
        "label change",
    ):
        assert label in labels


def test_timeline_moves_overlapping_events_to_sub_rows() -> None:
    close = [
        event("a", dt.date(2020, 5, 1)),
        event("b", dt.date(2020, 5, 1), kind="label-event", pathway=None),
        event("c", dt.date(2020, 5, 3), pathway="accelerated"),
        event("d", dt.date(2023, 1, 1)),
        event("e", dt.date(2020, 5, 2), regulator="EMA"),
    ]
    root = parse(timeline(close, title="t"))
    found = marks(root)
    y = {node: translate(m)[1] for node, m in found.items()}
    assert len({y["a"], y["b"], y["c"]}) == 3
    assert y["d"] == min(y["a"], y["b"], y["c"])
    assert y["e"] > max(y["a"], y["b"], y["c"])
    alone = parse(timeline([close[0], close[3], close[4]], title="t"))
    assert num(root, "height") - num(alone, "height") == pytest.approx(2 * TIMELINE_SUBROW)


def test_timeline_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        timeline([event("x", dt.date(2020, 1, 1), kind="approved")], title="t")


@pytest.mark.parametrize("chart", ["forest", "timeline"])
def test_text_from_data_is_escaped(chart: str) -> None:
    if chart == "forest":
        svg = forest_plot(
            [rate(HOSTILE, HOSTILE, HOSTILE, product=HOSTILE, trial=HOSTILE, context=HOSTILE)], [HOSTILE], title=HOSTILE
        )
    else:
        svg = timeline(
            [event(HOSTILE, dt.date(2020, 1, 1), product=HOSTILE, regulator=HOSTILE, label=HOSTILE)], title=HOSTILE
        )
    root = parse(svg)
    assert HOSTILE not in svg and "<script" not in svg
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert root.get("aria-label") == HOSTILE
    (mark,) = marks(root).values()
    assert mark.get("data-node") == HOSTILE and HOSTILE in tooltip(mark)
    assert HOSTILE in texts(root)


def test_control_characters_do_not_break_the_xml() -> None:
    parse(forest_plot([rate("a\x00b", product="nul\x00 and bell\x07")], THERAPIES, title="t\x1b"))


@pytest.mark.parametrize(
    ("svg", "message"),
    [
        (forest_plot([], THERAPIES, title="CRS"), "No rates recorded for these therapies."),
        (timeline([], title="Approvals"), "No regulatory events recorded for these therapies."),
    ],
)
def test_empty_input_says_so(svg: str, message: str) -> None:
    root = parse(svg)
    assert message in texts(root)
    assert not marks(root) and num(root, "height") < 100


def test_charts_are_deterministic() -> None:
    assert forest_plot(RATES, THERAPIES, title="CRS") == forest_plot(list(RATES), tuple(THERAPIES), title="CRS")
    assert timeline(EVENTS, title="t") == timeline(list(EVENTS), title="t")


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    # Newcombe (1998), Statistics in Medicine 17:857, table I, method 3.
    [(81, 263, 25.53, 36.62), (15, 148, 6.24, 16.05), (0, 20, 0.0, 16.11), (1, 29, 0.61, 17.18), (8, 11, 43.43, 90.25)],
)
def test_wilson_matches_published_intervals(successes: int, n: int, low: float, high: float) -> None:
    assert wilson(successes, n) == pytest.approx((low, high), abs=0.006)


def test_wilson_stays_inside_0_to_100() -> None:
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 100.0
    assert 0 < wilson(0, 5)[1] < 100 and 0 < wilson(5, 5)[0] < 100
    low, high = wilson(0.52 * 93, 93)
    assert low < 52 < high
    assert wilson(8, 11, z=2.576)[0] < wilson(8, 11)[0]


@pytest.mark.parametrize(("successes", "n"), [(1, 0), (0, -3), (-0.1, 10), (10.5, 10)])
def test_wilson_rejects_impossible_counts(successes: float, n: int) -> None:
    with pytest.raises(ValueError):
        wilson(successes, n)
