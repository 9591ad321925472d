"""Comparison views: the view model against `compare`, the page and the SVG as documents, and the page
in headless Chromium with every network request refused.

The browser tests need Debian's `chromium` (scripts/install_system.sh) and the `playwright` Python
package; without either they are skipped. Screenshots go to screenshots/ for a person to look at.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import kg
from kg.cli import app
from kg.compare import compare
from kg.errors import UnknownTherapy, UsageError
from kg.render import fact_text
from kg.stats import wilson
from kg.therapy import TherapyRef
from kg.view import (
    Group,
    Node,
    Row,
    View,
    comparison_view,
    find_list,
    graph_svg,
    overview_view,
    render_html,
    render_svg,
    write_view,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--headless",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
]
SCREENSHOTS = Path(__file__).parent.parent / "screenshots"
SVG = "{http://www.w3.org/2000/svg}"
XSS_IMG = '<img src=x onerror="window.__xss = 1">'
XSS_SCRIPT = "</script><script>window.__xss = 2</script>"
SAFE_LINK = re.compile(r"^https://(doi\.org|pubmed\.ncbi\.nlm\.nih\.gov|clinicaltrials\.gov)/")


@pytest.fixture(scope="module")
def car_t_vs_car_nk(graph: kg.TherapyGraph) -> View:
    return comparison_view(graph, ["car-t", "car-nk"])


def _nodes(view: View) -> list[tuple[Row, int, Node]]:
    return [
        (row, column, node)
        for group in view.groups
        for row in group.rows
        for column, cell in enumerate(row.cells)
        for node in cell
    ]


def _row(view: View, key: str) -> Row:
    return next(row for group in view.groups for row in group.rows if row.key == key)


def test_columns_are_the_therapies_with_the_shared_one_in_the_middle(
    graph: kg.TherapyGraph, car_t_vs_car_nk: View
) -> None:
    assert (car_t_vs_car_nk.title, car_t_vs_car_nk.name) == (
        "CAR-T cell therapy vs CAR-NK cell therapy",
        "car-t-vs-car-nk",
    )
    assert [head.id if head else None for head in car_t_vs_car_nk.heads] == ["car-t", None, "car-nk"]
    three = comparison_view(graph, ["testacel", "donorcel", "cordnk-19"])
    assert [head.id if head else None for head in three.heads] == [
        "testagene-autoleucel",
        "donorcel",
        None,
        "cordnk-19",
    ]
    comparison = compare(graph, ["car-t", "car-nk"])
    assert [row.key for group in car_t_vs_car_nk.groups for row in group.rows] == [row.key for row in comparison.rows]
    assert [group.label for group in car_t_vs_car_nk.groups] == [label for _, label in comparison.groups]


def test_a_value_both_have_is_one_node_in_the_middle_and_others_sit_on_their_side(car_t_vs_car_nk: View) -> None:
    cells = _row(car_t_vs_car_nk, "tkg:cellSource").cells
    shared = [n for n in cells[1] if n.id == "tkg:cellSource=tkg:Allogeneic"]
    assert len(shared) == 1 and set(shared[0].links) == {0, 2}
    assert shared[0].links[0] == "inherited"  # CAR-T has it through allogeneic CAR-T, not as its own value
    assert [(n.id, n.links) for n in cells[0]] == [("tkg:cellSource=tkg:Autologous", {0: "inherited"})]
    effector = _row(car_t_vs_car_nk, "tkg:effectorCell").cells
    assert [n.text for n in effector[0]] == ["T cell"] and [n.text for n in effector[2]] == ["natural killer (NK) cell"]
    assert effector[1] == []


def test_values_read_as_every_output_writes_them(graph: kg.TherapyGraph, car_t_vs_car_nk: View) -> None:
    comparison = compare(graph, ["car-t", "car-nk"])
    row = next(r for r in comparison.rows if r.key == "tkg:cellSource")
    fact = next(f for f in row.cells[0] if str(f.value).endswith("Autologous"))
    text = fact_text(fact, comparison.sources)
    node = next(n for n in _row(car_t_vs_car_nk, "tkg:cellSource").cells[0])
    assert node.text == text.value
    details = car_t_vs_car_nk.details[node.id]
    assert f"CAR-T cell therapy: {text}" in details["lines"]
    assert node.claim == "review" and not node.weak


def test_evidence_is_summarised_per_therapy_and_opens_into_its_observations(
    graph: kg.TherapyGraph, car_t_vs_car_nk: View
) -> None:
    comparison = compare(graph, ["car-t", "car-nk"])
    key = next(
        r.key
        for r in comparison.rows
        if r.key.startswith("adverse-event:") and "crs" in r.key and r.key.endswith("AnyGrade")
    )
    facts = next(r for r in comparison.rows if r.key == key).cells[0]
    [summary] = _row(car_t_vs_car_nk, key).cells[0]
    assert summary.kind == "summary" and len(summary.children) == len(facts) > 1
    rates = sorted(
        100 * f.value["numerator"] / f.value["denominator"]
        if f.value["percentage"] is None
        else float(f.value["percentage"])
        for f in facts
    )
    products = {f.value["product"] for f in facts}
    trials = {f.value["trial"] for f in facts}
    assert summary.text == f"{rates[0]:.0f}–{rates[-1]:.0f} % · {len(products)} products · {len(trials)} trials"
    assert all(child.kind == "observation" for child in summary.children)
    checkpoint = comparison_view(graph, ["exampumab", "samplizumab"])
    approvals = next(row for group in checkpoint.groups for row in group.rows if row.key == "approval:fda:indications")
    assert [n.kind for n in approvals.cells[0]] == ["summary"] and len(approvals.cells[0][0].children) == 5
    assert [n.kind for n in approvals.cells[2]] == ["approval"] * 3  # up to three items are drawn as they are


def test_rates_carry_wilson_intervals_and_events_the_regulatory_history(
    graph: kg.TherapyGraph, car_t_vs_car_nk: View
) -> None:
    assert car_t_vs_car_nk.rates
    for rate in car_t_vs_car_nk.rates:
        assert rate.node in car_t_vs_car_nk.details
        if rate.denominator and rate.numerator is not None:
            low, high = wilson(rate.numerator, rate.denominator)
            assert (rate.low, rate.high) == (round(low, 1), round(high, 1))
            assert rate.low <= rate.percentage <= rate.high
    testacel = {(e.regulator, e.kind, str(e.date)) for e in car_t_vs_car_nk.events if e.product.startswith("Testacel")}
    assert ("FDA", "approval", "2017-08-30") in testacel and ("EMA", "approval", "2018-08-23") in testacel
    assert [date for _, kind, date in sorted(testacel) if kind == "label-event"] == ["2024-04-18", "2025-06-27"]
    checkpoint = comparison_view(graph, ["exampumab", "samplizumab"])
    events = {(e.product, e.kind, str(e.date)) for e in checkpoint.events}
    assert ("Exampa (exampumab)", "conversion", "2025-04-08") in events  # TNBC, accelerated in 2017
    assert ("Samplo (samplizumab)", "withdrawal", "2021-02-19") in events  # urothelial carcinoma
    assert all(e.node in checkpoint.details for e in checkpoint.events)


def test_every_node_has_details_whose_links_go_only_to_doi_pubmed_and_the_registry(car_t_vs_car_nk: View) -> None:
    ids = {node.id for _, _, node in _nodes(car_t_vs_car_nk)}
    ids |= {child.id for _, _, node in _nodes(car_t_vs_car_nk) for child in node.children}
    assert ids <= set(car_t_vs_car_nk.details)
    links = [s["href"] for d in car_t_vs_car_nk.details.values() for s in d["sources"] if s["href"]]
    assert links and all(SAFE_LINK.match(link) for link in links)
    assert any(s["more"] for d in car_t_vs_car_nk.details.values() for s in d["sources"])  # other addresses as text


def test_overview_draws_every_modality_once_with_its_products(graph: kg.TherapyGraph) -> None:
    view = overview_view(graph)
    therapies = graph.therapies
    modalities = [row.cells[0][0] for row in view.groups[0].rows]
    assert sorted(n.id for n in modalities) == sorted(f"therapy:{r.id}" for r in therapies.all("modality"))
    products = [child.id for row in view.groups[0].rows for n in row.cells[1] for child in n.children]
    assert sorted(products) == sorted(f"therapy:{r.id}" for r in therapies.all("product"))
    depth = {n.id: n.indent for n in modalities}
    assert depth["therapy:car-t"] == depth["therapy:car-nk"] == depth["therapy:cellular-immunotherapy"] + 1
    assert "CAR-dependent" in " ".join(view.details["therapy:car-t"]["lines"])


def test_errors_for_too_few_or_unknown_therapies(graph: kg.TherapyGraph) -> None:
    with pytest.raises(UsageError, match="at least two"):
        comparison_view(graph, ["car-t"])
    with pytest.raises(UnknownTherapy):
        comparison_view(graph, ["car-t", "no-such-therapy"])


def _parse(page: str) -> list[tuple[str, dict[str, str | None]]]:
    tags: list[tuple[str, dict[str, str | None]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append((tag, dict(attrs)))

    Collector().feed(page)
    return tags


def test_page_is_self_contained(car_t_vs_car_nk: View) -> None:
    page = render_html(car_t_vs_car_nk)
    tags = _parse(page)
    assert not [t for t, a in tags if t in ("link", "img", "iframe") or (t == "script" and a.get("src"))]
    assert not [a for _, a in tags for k, v in a.items() if k in ("href", "src") and v and not v.startswith("#")]
    policy = next(a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert policy.startswith("default-src 'none'; script-src 'sha256-")
    assert [a["id"] for t, a in tags if t == "section"] == [
        "panel-graph",
        "panel-evidence",
        "panel-timeline",
        "panel-table",
    ]
    assert sum(1 for t, _ in tags if t == "svg") >= 3 and '<table class="kg-compare">' in page


def test_svg_for_slides_is_well_formed_and_script_free(car_t_vs_car_nk: View) -> None:
    root = ET.fromstring(render_svg(car_t_vs_car_nk).split("\n", 1)[1])
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter(f"{SVG}foreignObject"))
    marks = [g.get("data-node") for g in root.iter(f"{SVG}g") if g.get("data-node")]
    assert len(marks) == 2 + len(_nodes(car_t_vs_car_nk))  # the two heads, then every node (summaries closed)
    sizes = [float(t.get("font-size")) for t in root.iter(f"{SVG}text")]
    assert min(sizes) >= 11 and sizes.count(13.0) > len(sizes) / 2


def _xss_view() -> View:
    """A view whose every text comes from hostile data."""
    node = Node("value:" + XSS_IMG, "value", XSS_IMG + XSS_SCRIPT, claim="review", links={0: "stated"})
    summary = Node("summary:x", "summary", XSS_SCRIPT, children=[Node("observation:1", "observation", XSS_IMG)])
    details = {
        node.id: {
            "title": XSS_IMG,
            "lines": [XSS_SCRIPT],
            "sources": [{"text": XSS_IMG, "href": "javascript:window.__xss=5", "more": [XSS_SCRIPT]}],
        },
        "summary:x": {"title": XSS_SCRIPT, "lines": [], "sources": []},
        "observation:1": {"title": XSS_IMG, "lines": [], "sources": []},
    }
    heads = [
        TherapyRef("a", "urn:a", "Title " + XSS_IMG, "product"),
        None,
        TherapyRef("b", "urn:b", XSS_SCRIPT, "product"),
    ]
    rows = [Row("p", XSS_IMG, True, [[node], [], [summary]])]
    return View(
        f"Title {XSS_IMG} {XSS_SCRIPT}",
        "xss",
        heads,
        [Group(XSS_SCRIPT, rows)],
        details,
        table=f"<p>{'&lt;'}table</p>",
        therapies=["Title", "Other"],
    )


def test_page_escapes_text_from_data() -> None:
    page = render_html(_xss_view())
    assert "<img" not in page and "<script>window" not in page
    assert [tag for tag, _ in _parse(page)].count("script") == 3 and page.count("</script>") == 3  # data, save, page
    data = json.loads(page.split('id="kg-view-data">', 1)[1].split("</script>", 1)[0])
    assert data["details"]["value:" + XSS_IMG]["title"] == XSS_IMG


def test_write_view_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "view.html"
    path.write_text("old", encoding="utf-8")
    write_view(path, "<!DOCTYPE html>new")
    assert path.read_text(encoding="utf-8") == "<!DOCTYPE html>new"
    assert [p.name for p in tmp_path.iterdir()] == ["view.html"]


def test_cli_writes_the_page_or_the_svg(tmp_path: Path) -> None:
    runner = CliRunner()
    page = tmp_path / "v.html"
    assert runner.invoke(app, ["view", "car-t", "car-nk", "-o", str(page)]).exit_code == 0
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    slide = tmp_path / "v.svg"  # the format follows -o's extension
    assert runner.invoke(app, ["view", "testacel", "donorcel", "-o", str(slide)]).exit_code == 0
    assert slide.read_text(encoding="utf-8").startswith("<?xml")
    forced = tmp_path / "graph.out"
    assert runner.invoke(app, ["view", "testacel", "donorcel", "--format", "svg", "-o", str(forced)]).exit_code == 0
    assert ET.fromstring(forced.read_text(encoding="utf-8").split("\n", 1)[1]).tag == f"{SVG}svg"
    overview = tmp_path / "all.html"
    assert runner.invoke(app, ["view", "--all", "-o", str(overview)]).exit_code == 0
    for args, message in (
        (["view", "car-t", "car-nk", "-f", "pdf"], "Unknown view format"),
        (["view", "car-t", "--all"], "either therapies or --all"),
        (["view", "car-t"], "at least two"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


# Headless Chromium, offline.


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: run scripts/install_system.sh")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed: pip install '.[test]'")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def refuse_network(page: Any, refused: list[str]) -> None:
    """Let the page load local files (and the data: and blob: URLs its export makes) only; record every other request."""

    def route(route: Any) -> None:
        if route.request.url.startswith(("file://", "data:", "blob:")):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", route)


class Visit:
    """A page opened from disk with every request that is not for a local file refused and recorded."""

    def __init__(self, browser: Any, path: Path, viewport: tuple[int, int] = (1400, 900)) -> None:
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]}, accept_downloads=True)
        refuse_network(self.page, self.blocked)
        self.page.on("request", lambda request: self._check(request.url))
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.goto(path.as_uri())
        self.page.wait_for_function("window.kgView && window.kgView.ready", timeout=60_000)

    def _check(self, url: str) -> None:
        if not url.startswith(("file://", "data:", "blob:")):
            self.blocked.append(url)

    def node(self, node_id: str) -> Any:
        quoted = node_id.replace("\\", "\\\\").replace('"', '\\"')
        return self.page.locator(f'svg [data-node="{quoted}"]').first

    def details(self) -> str:
        return self.page.locator("#kg-details").inner_text()

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _open(browser: Any, view: View, tmp_path: Path, name: str) -> Visit:
    path = tmp_path / f"{name}.html"
    write_view(path, render_html(view))
    return Visit(browser, path)


LEGIBILITY = """() => {
    const svg = document.querySelector('#panel-graph svg');
    const scale = svg.getScreenCTM().a;
    const view = {top: 0, bottom: window.innerHeight, left: 0, right: window.innerWidth};
    const seen = [];
    for (const text of svg.querySelectorAll('.kg-node text')) {
        const box = text.getBoundingClientRect();
        if (box.bottom < view.top || box.top > view.bottom || box.right < view.left || box.left > view.right) continue;
        seen.push([text.textContent, parseFloat(text.getAttribute('font-size')) * scale]);
    }
    return seen;
}"""


def test_graph_is_legible_at_its_initial_zoom(browser: Any, car_t_vs_car_nk: View, tmp_path: Path) -> None:
    visit = _open(browser, car_t_vs_car_nk, tmp_path, "view-car-t-vs-car-nk")
    visit.screenshot("view-car-t-vs-car-nk")
    seen = visit.page.evaluate(LEGIBILITY)
    texts = " ".join(text for text, _ in seen)
    assert len(seen) > 15 and min(size for _, size in seen) >= 11
    for value in ("autologous", "allogeneic", "T cell", "natural killer (NK) cell", "umbilical cord blood"):
        assert value in texts
    assert visit.blocked == [] and visit.errors == []


def test_every_tab_draws_and_a_click_shows_sources_with_safe_links(
    browser: Any, graph: kg.TherapyGraph, tmp_path: Path
) -> None:
    view = comparison_view(graph, ["testacel", "donorcel"])
    visit = _open(browser, view, tmp_path, "view-testacel-vs-donorcel")
    for tab in ("evidence", "timeline", "table", "graph"):
        visit.page.click(f"#tab-{tab}")
        assert visit.page.locator(f"#panel-{tab}").is_visible()
        box = visit.page.locator(f"#panel-{tab} svg, #panel-{tab} table").first.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 50
        visit.screenshot(f"view-testacel-vs-donorcel-{tab}")
    visit.node("therapy:testagene-autoleucel").click()
    assert visit.details().startswith("Testacel")
    trial = next(n for _, _, n in _nodes(view) if n.kind in ("trial", "summary") and "trial" in n.text)
    visit.node(trial.id).click()
    links = visit.page.locator("#kg-details a")
    assert links.count() > 0
    for i in range(links.count()):
        assert SAFE_LINK.match(links.nth(i).get_attribute("href"))
        assert links.nth(i).get_attribute("rel") == "noopener noreferrer"
    assert visit.blocked == [] and visit.errors == []


def test_a_summary_opens_in_place_and_moves_the_rows_below(browser: Any, car_t_vs_car_nk: View, tmp_path: Path) -> None:
    visit = _open(browser, car_t_vs_car_nk, tmp_path, "view-expand")
    summary = next(n for _, _, n in _nodes(car_t_vs_car_nk) if n.kind == "summary")
    rows_y = "() => [...document.querySelectorAll('#panel-graph .kg-row')].map(r => r.transform.baseVal[0].matrix.f)"
    before = visit.page.evaluate(rows_y)
    visit.node(summary.id).focus()
    visit.page.keyboard.press("Enter")  # keyboard, not only the mouse
    assert visit.node(summary.id).get_attribute("aria-expanded") == "true"
    child = visit.node(summary.children[0].id)
    assert child.is_visible()
    after = visit.page.evaluate(rows_y)
    assert after != before and all(b <= a for b, a in zip(before, after, strict=True))
    child.click()
    assert visit.details().startswith(car_t_vs_car_nk.details[summary.children[0].id]["title"])
    visit.screenshot("view-car-t-vs-car-nk-expanded")
    assert visit.errors == []


def test_find_selects_a_target_before_observations(browser: Any, graph: kg.TherapyGraph, tmp_path: Path) -> None:
    view = comparison_view(graph, ["testacel", "donorcel"])  # neither is named after its target
    [target] = [n for _, _, n in _nodes(view) if n.kind == "target" and n.text == "CD19"]
    visit = _open(browser, view, tmp_path, "view-find")
    visit.page.locator("#kg-find").fill("CD19")
    visit.page.locator("#kg-find").press("Enter")
    assert visit.page.evaluate("kgView.selected.getAttribute('data-node')") == target.id
    assert visit.details().startswith("target: CD19")
    hidden = next(
        c
        for _, _, n in _nodes(view)
        for c in n.children
        if next(i for i, text in find_list(view) if c.text.lower() in text.lower()) == c.id
    )
    visit.page.locator("#kg-find").fill(hidden.text)  # an item inside a closed summary: the summary opens
    visit.page.locator("#kg-find").press("Enter")
    assert visit.page.evaluate("kgView.selected.closest('.kg-more').getAttribute('display')") == "inline"
    assert visit.errors == []


def test_each_chart_exports_as_svg_and_png(browser: Any, car_t_vs_car_nk: View, tmp_path: Path) -> None:
    visit = _open(browser, car_t_vs_car_nk, tmp_path, "view-export")
    for tab in ("graph", "evidence", "timeline"):
        visit.page.click(f"#tab-{tab}")
        with visit.page.expect_download() as svg_download:
            visit.page.click("#kg-svg")
        svg = Path(svg_download.value.path()).read_text(encoding="utf-8")
        assert svg_download.value.suggested_filename == f"car-t-vs-car-nk-{tab}.svg"
        assert ET.fromstring(svg).tag == f"{SVG}svg"
        with visit.page.expect_download() as png_download:
            visit.page.click("#kg-png")
        assert Path(png_download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert visit.blocked == [] and visit.errors == []


def test_overview_opens_readable_and_products_expand(browser: Any, graph: kg.TherapyGraph, tmp_path: Path) -> None:
    visit = _open(browser, overview_view(graph), tmp_path, "view-all")
    seen = visit.page.evaluate(LEGIBILITY)
    assert min(size for _, size in seen) >= 11 and "CAR-T cell therapy" in " ".join(t for t, _ in seen)
    visit.node("products:autologous-car-t").click()
    assert visit.node("therapy:testagene-autoleucel").is_visible()
    visit.node("therapy:testagene-autoleucel").click()
    assert visit.details().startswith("Testacel")
    visit.screenshot("view-all")
    assert visit.blocked == [] and visit.errors == []


def test_injected_markup_shows_as_text_and_runs_nothing(browser: Any, tmp_path: Path) -> None:
    visit = _open(browser, _xss_view(), tmp_path, "view-xss")
    visit.node("value:" + XSS_IMG).click()
    assert visit.details().startswith(XSS_IMG)
    assert visit.page.locator("#kg-details a").count() == 0  # a javascript: link is not made a link
    assert visit.page.locator("h1").inner_text() == f"Title {XSS_IMG} {XSS_SCRIPT}"
    assert visit.page.evaluate("[window.__xss === undefined, document.images.length, document.scripts.length]") == [
        True,
        0,
        3,
    ]
    assert visit.blocked == [] and visit.errors == [] and visit.dialogs == []


def test_policy_stops_markup_slipped_into_the_page(browser: Any, tmp_path: Path) -> None:
    """Defence in depth: were escaping ever bypassed, the page's policy runs no foreign script and loads nothing."""
    page = render_html(_xss_view())
    tampered = page.replace(
        "<main>",
        '<main><script>window.__xss = 3</script><img src="https://example.org/x.png" onerror="window.__xss = 4">',
        1,
    )
    path = tmp_path / "tampered.html"
    path.write_text(tampered, encoding="utf-8")
    visit = Visit(browser, path)
    assert visit.page.evaluate("window.__xss === undefined")
    assert all("Content Security Policy" in error for error in visit.errors) and len(visit.errors) >= 2


def test_graph_svg_marks_inherited_and_disputed_links(car_t_vs_car_nk: View) -> None:
    root = ET.fromstring(graph_svg(car_t_vs_car_nk))
    kinds = {line.get("class") for line in root.iter(f"{SVG}line") if (line.get("class") or "").startswith("kg-link")}
    assert {"kg-link kg-stated", "kg-link kg-inherited", "kg-link kg-conflict"} <= kinds
    dashed = [line for line in root.iter(f"{SVG}line") if line.get("class") == "kg-link kg-inherited"]
    assert dashed and all(line.get("stroke-dasharray") for line in dashed)
