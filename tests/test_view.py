"""Interactive comparison graphs: the graph model against `compare`, the self-contained page, and the
page in headless Chromium with every network request blocked.

The browser tests need Debian's `chromium` (scripts/install_system.sh) and the `playwright` Python
package; without either they are skipped. Screenshots go to screenshots/ for a person to look at.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

import kg
from kg.compare import compare
from kg.errors import UnknownTherapy, UsageError
from kg.view import EDGE_STYLES, STYLES, build_view_graph, render_html, write_view

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
XSS_IMG = '<img src=x onerror="window.__xss = 1">'
XSS_SCRIPT = "</script><script>window.__xss = 2</script>"


def _edges(view: nx.MultiDiGraph, target: str) -> dict[str, str]:
    """Therapy id -> edge kind, for the edges from therapies into `target`."""
    return {
        source.removeprefix("therapy:"): data["kind"]
        for source, _, data in view.in_edges(target, data=True)
        if source.startswith("therapy:")
    }


@pytest.fixture(scope="module")
def car_t_vs_car_nk(graph: kg.TherapyGraph) -> nx.MultiDiGraph:
    return build_view_graph(graph, ["car-t", "car-nk"])


@pytest.fixture(scope="module")
def products(graph: kg.TherapyGraph) -> nx.MultiDiGraph:
    return build_view_graph(graph, ["kymriah", "mda-cd19-car-nk"], sources=True)


def test_nodes_and_edges_have_kinds_labels_and_tooltips(car_t_vs_car_nk: nx.MultiDiGraph) -> None:
    assert car_t_vs_car_nk.graph["title"] == "CAR-T cell therapy vs CAR-NK cell therapy"
    assert car_t_vs_car_nk.graph["name"] == "car-t-vs-car-nk"
    for node, data in car_t_vs_car_nk.nodes(data=True):
        assert data["kind"] in STYLES and data["label"] and data["title"], node
    for source, target, data in car_t_vs_car_nk.edges(data=True):
        assert data["kind"] in EDGE_STYLES and data["label"] and data["title"], (source, target)
    kinds = {data["kind"] for _, data in car_t_vs_car_nk.nodes(data=True)}
    assert {"modality", "value", "approval", "trial", "observation"} <= kinds


def test_therapies_and_their_modality_hierarchy(car_t_vs_car_nk: nx.MultiDiGraph) -> None:
    compared = [n for n, data in car_t_vs_car_nk.nodes(data=True) if data["compared"]]
    assert compared == ["therapy:car-t", "therapy:car-nk"]
    hierarchy = {(a, b) for a, b, kind in car_t_vs_car_nk.edges(data="kind") if kind == "is-a"}
    assert hierarchy == {
        ("therapy:car-t", "therapy:cellular-immunotherapy"),
        ("therapy:car-nk", "therapy:cellular-immunotherapy"),
        ("therapy:cellular-immunotherapy", "therapy:immunotherapy"),
    }


def test_shared_values_are_one_node_and_different_values_hang_off_each_side(
    graph: kg.TherapyGraph, car_t_vs_car_nk: nx.MultiDiGraph
) -> None:
    # CAR-T's cell sources are those of its sub-modalities: dashed, like inherited values
    assert _edges(car_t_vs_car_nk, "value:tkg:cellSource=tkg:Autologous") == {"car-t": "inherited"}
    assert _edges(car_t_vs_car_nk, "value:tkg:cellSource=tkg:Allogeneic") == {"car-t": "inherited", "car-nk": "stated"}
    assert _edges(car_t_vs_car_nk, "value:tkg:effectorCell=tkg:TCell") == {"car-t": "stated"}
    assert set(_edges(car_t_vs_car_nk, "value:tkg:killingMechanism=tkg:CarDependentKilling")) == {"car-t", "car-nk"}
    # Every value of every property row is one node, linked from exactly the therapies whose cell holds it.
    comparison = compare(graph, ["car-t", "car-nk"])
    for row in (r for r in comparison.rows if r.property.startswith("tkg:")):
        holders: dict[str, set[str]] = {}
        for ref, cell in zip(comparison.therapies, row.cells):
            for fact in cell:
                holders.setdefault(str(fact.value), set()).add(ref.id)
        for value, ids in holders.items():
            node = next(n for n in car_t_vs_car_nk if n.endswith(f":{row.property}={value}"))
            assert set(_edges(car_t_vs_car_nk, node)) == ids, node


def test_evidence_nodes_carry_citations_and_links(graph: kg.TherapyGraph, car_t_vs_car_nk: nx.MultiDiGraph) -> None:
    liu = graph.therapies.sources()["src:liu-2020-nejm"]
    crs = [
        data
        for node, data in car_t_vs_car_nk.nodes(data=True)
        if node.startswith("observation:adverse-event:crs:tkg:AnyGrade") and "src:liu-2020-nejm" in node
    ]
    assert len(crs) == 1 and "0/11" in crs[0]["label"]
    assert liu.citation in crs[0]["title"] and "https://doi.org/10.1056/NEJMoa1910607" in crs[0]["title"]
    assert car_t_vs_car_nk.nodes["trial:NCT03056339"]["kind"] == "trial"
    assert "car-nk" in _edges(car_t_vs_car_nk, "trial:NCT03056339")
    approvals = [n for n, kind in car_t_vs_car_nk.nodes(data="kind") if kind == "approval"]
    assert approvals and all("car-t" in _edges(car_t_vs_car_nk, n) for n in approvals)


def test_inherited_values_are_marked(products: nx.MultiDiGraph) -> None:
    high = "value:tkg:crsRisk=tkg:RiskHigh"
    minimal = "value:tkg:crsRisk=tkg:RiskMinimal"
    assert _edges(products, high) == {"tisagenlecleucel": "inherited"}
    assert _edges(products, minimal) == {"mda-cd19-car-nk": "inherited"}
    assert "inherited from CAR-T cell therapy" in products.nodes[high]["title"]
    assert "inherited from CAR-NK cell therapy" in products.nodes[minimal]["title"]
    assert _edges(products, "value:tkg:cellSource=tkg:Autologous") == {"tisagenlecleucel": "stated"}
    assert products.nodes["target:tkg:targetAntigen=cd19"]["kind"] == "target"
    assert set(_edges(products, "target:tkg:targetAntigen=cd19")) == {"tisagenlecleucel", "mda-cd19-car-nk"}


def test_sources_link_to_the_values_they_back(graph: kg.TherapyGraph, products: nx.MultiDiGraph) -> None:
    sources = graph.therapies.sources()
    backed = {target for _, target in products.out_edges("source:src:liu-2020-nejm")}
    assert "trial:NCT03056339" in backed
    for node, data in products.nodes(data=True):
        if data["kind"] == "source":
            source = sources[node.removeprefix("source:")]
            assert source.citation in data["title"] and (source.link or "") in data["title"]
            assert products.out_degree(node) >= 1


def test_overview_draws_every_therapy_once(graph: kg.TherapyGraph) -> None:
    view = build_view_graph(graph, None, all_therapies=True)
    assert view.graph["title"] == "All therapies" and view.graph["name"] == "all-therapies"
    for ref in graph.therapies.all():
        assert view.nodes[f"therapy:{ref.id}"]["kind"] == ref.level
    assert {kind for _, _, kind in view.edges(data="kind")} <= {"stated", "conflict", "is-a"}
    approval_holders = {a for a, b, kind in view.edges(data="kind") if view.nodes[b]["kind"] == "approval"}
    assert approval_holders and all(view.nodes[a]["kind"] == "product" for a in approval_holders)


def test_errors_for_too_few_or_unknown_therapies(graph: kg.TherapyGraph) -> None:
    with pytest.raises(UsageError):
        build_view_graph(graph, ["car-t"])
    with pytest.raises(UnknownTherapy):
        build_view_graph(graph, ["car-t", "car-xx"])


def _parse(page: str) -> list[tuple[str, dict[str, str | None]]]:
    tags: list[tuple[str, dict[str, str | None]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append((tag, dict(attrs)))

    Collector().feed(page)
    return tags


def test_page_is_self_contained(car_t_vs_car_nk: nx.MultiDiGraph) -> None:
    page = render_html(car_t_vs_car_nk, car_t_vs_car_nk.graph["title"])
    tags = _parse(page)
    loading = {"src", "href", "srcset", "action", "formaction", "poster", "data", "background", "xlink:href"}
    assert not [(tag, attrs) for tag, attrs in tags if loading & set(attrs)]
    embedding = {"link", "img", "iframe", "object", "embed", "base", "frame", "audio", "video"}
    assert not {tag for tag, _ in tags} & embedding
    assert [tag for tag, _ in tags].count("script") == 3
    assert "@import" not in page and "url(http" not in page and "node_modules" not in page
    policy = next(attrs["content"] for tag, attrs in tags if attrs.get("http-equiv") == "Content-Security-Policy")
    assert policy.startswith("default-src 'none'; script-src 'sha256-") and "unsafe" not in policy.split("style-src")[0]


def _xss_view() -> nx.MultiDiGraph:
    """A view whose labels, tooltips and title try to inject markup and script."""
    view = nx.MultiDiGraph(title=f"Title {XSS_IMG} {XSS_SCRIPT}")
    view.add_node("therapy:a", kind="modality", label=f"A {XSS_IMG}", title=f"A {XSS_SCRIPT}", compared=True)
    view.add_node("therapy:b", kind="product", label=f"B {XSS_SCRIPT}", title=f"B {XSS_IMG}", compared=True)
    tooltip = f"Sources:\n{XSS_IMG} href=https://doi.org/10.1/x"
    view.add_node(XSS_IMG, kind="value", label=XSS_IMG, title=tooltip, compared=False)
    view.add_edge("therapy:a", XSS_IMG, kind="stated", label=XSS_SCRIPT, title=XSS_IMG)
    view.add_edge("therapy:b", XSS_IMG, kind="inherited", label=XSS_IMG, title=XSS_SCRIPT)
    view.add_edge("therapy:b", "therapy:a", kind="is-a", label="is a", title="B is a A")
    return view


def test_page_escapes_text_from_data() -> None:
    view = _xss_view()
    page = render_html(view)
    assert "<img" not in page and "<script>window" not in page
    assert [tag for tag, _ in _parse(page)].count("script") == 3 and page.count("</script>") == 3
    assert "<title>Title &lt;img src=x onerror=&quot;window.__xss = 1&quot;&gt;" in page
    data = page.split('id="kg-view-data">', 1)[1].split("</script>", 1)[0]
    document = json.loads(data)
    assert {n["id"] for n in document["nodes"]} == set(view)
    assert any(n["title"].startswith("Sources:\n" + XSS_IMG) for n in document["nodes"])


def test_layout_places_shared_values_between_the_therapies(car_t_vs_car_nk: nx.MultiDiGraph) -> None:
    page = render_html(car_t_vs_car_nk)
    document = json.loads(page.split('id="kg-view-data">', 1)[1].split("</script>", 1)[0])
    x = {n["id"]: n["x"] for n in document["nodes"]}
    points = {(n["x"], n["y"]) for n in document["nodes"]}
    assert len(points) == len(document["nodes"]) and all(math.isfinite(v) for p in points for v in p)
    assert x["therapy:car-t"] < x["value:tkg:killingMechanism=tkg:CarDependentKilling"] < x["therapy:car-nk"]
    assert x["value:tkg:effectorCell=tkg:TCell"] < x["therapy:cellular-immunotherapy"]
    assert x["value:tkg:effectorCell=tkg:NKCell"] > x["therapy:cellular-immunotherapy"]
    assert document["options"]["physics"] == {"enabled": False}


def test_write_view_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "view.html"
    path.write_text("old", encoding="utf-8")
    write_view(path, "<!DOCTYPE html>new")
    assert path.read_text(encoding="utf-8") == "<!DOCTYPE html>new"
    assert [p.name for p in tmp_path.iterdir()] == ["view.html"]


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


class Visit:
    """A page opened from disk with every request that is not for a local file refused and recorded."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": 1600, "height": 1000})
        self.page.route("**/*", self._route)
        self.page.on("request", lambda request: self._check(request.url))
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.goto(path.as_uri())
        self.page.wait_for_function("window.kgView && window.kgView.ready", timeout=60_000)

    def _check(self, url: str) -> None:
        if not url.startswith(("file://", "data:")):
            self.blocked.append(url)

    def _route(self, route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def hover(self, node: str) -> str:
        """Bring a node to the middle of the canvas, point at it and return the tooltip's text."""
        self.page.evaluate("id => kgView.network.focus(id, {scale: 1.0})", node)
        box = self.page.locator("#kg-network").bounding_box()
        point = self.page.evaluate(
            "id => kgView.network.canvasToDOM(kgView.network.getPositions([id])[id])", node
        )
        self.page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
        tooltip = self.page.locator("div.vis-tooltip")
        tooltip.wait_for(state="visible", timeout=5_000)
        return tooltip.inner_text()

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _open(browser: Any, view: nx.MultiDiGraph, tmp_path: Path, name: str) -> Visit:
    path = tmp_path / f"{name}.html"
    write_view(path, render_html(view))
    return Visit(browser, path)


def test_page_draws_offline_with_every_node_and_edge(browser: Any, products: nx.MultiDiGraph, tmp_path: Path) -> None:
    visit = _open(browser, products, tmp_path, "view-kymriah-vs-mda-cd19-car-nk")
    visit.screenshot("view-kymriah-vs-mda-cd19-car-nk")
    counts = visit.page.evaluate("[kgView.nodes.length, kgView.edges.length]")
    assert counts == [products.number_of_nodes(), products.number_of_edges()]
    drawn = visit.page.evaluate(
        """() => {
            const canvas = document.querySelector('#kg-network canvas');
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let inked = 0;
            for (let i = 0; i < pixels.length; i += 4) { if (pixels[i + 3] > 0 && pixels[i] < 200) inked++; }
            return [canvas.width, canvas.height, inked];
        }"""
    )
    assert drawn[0] > 0 and drawn[1] > 0 and drawn[2] > 1000
    assert visit.blocked == [] and visit.errors == []


def test_tooltip_and_details_show_citations(
    browser: Any, graph: kg.TherapyGraph, car_t_vs_car_nk: nx.MultiDiGraph, tmp_path: Path
) -> None:
    visit = _open(browser, car_t_vs_car_nk, tmp_path, "view-car-t-vs-car-nk")
    visit.screenshot("view-car-t-vs-car-nk")
    node = "value:tkg:cellSource=tkg:Allogeneic"
    citation = graph.therapies.sources()["src:cancerfax-2020-car-nk"].citation
    text = visit.hover(node)
    assert "cell source: allogeneic" in text and citation in text
    visit.screenshot("view-car-t-vs-car-nk-tooltip")
    visit.page.mouse.down()
    visit.page.mouse.up()
    assert citation in visit.page.locator("#kg-details").inner_text()
    visit.page.locator("#kg-find").fill("autologous")
    visit.page.locator("#kg-find").press("Enter")
    assert visit.page.locator("#kg-details").inner_text().startswith("cell source: autologous")
    assert visit.page.evaluate("kgView.network.getSelectedNodes()") == ["value:tkg:cellSource=tkg:Autologous"]
    assert visit.blocked == [] and visit.errors == []


def test_overview_draws_offline(browser: Any, graph: kg.TherapyGraph, tmp_path: Path) -> None:
    view = build_view_graph(graph, None, all_therapies=True, sources=True)
    visit = _open(browser, view, tmp_path, "view-all")
    visit.screenshot("view-all")
    assert visit.page.evaluate("kgView.nodes.length") == view.number_of_nodes()
    assert visit.blocked == [] and visit.errors == []


def test_injected_markup_shows_as_text_and_runs_nothing(browser: Any, tmp_path: Path) -> None:
    visit = _open(browser, _xss_view(), tmp_path, "view-xss")
    assert visit.hover(XSS_IMG).strip() == f"Sources:\n{XSS_IMG} href=https://doi.org/10.1/x"
    visit.page.mouse.down()
    visit.page.mouse.up()
    visit.screenshot("view-xss")
    assert visit.page.locator("#kg-details").inner_text().startswith("Sources:\n" + XSS_IMG)
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
    tampered = page.replace("<main>", '<main><script>window.__xss = 3</script><img src="https://example.org/x.png"'
                            ' onerror="window.__xss = 4">', 1)
    path = tmp_path / "tampered.html"
    path.write_text(tampered, encoding="utf-8")
    visit = Visit(browser, path)
    assert visit.page.evaluate("window.__xss === undefined")
    assert visit.page.evaluate("kgView.nodes.length") == 3
    assert all("Content Security Policy" in error for error in visit.errors) and len(visit.errors) >= 2


def test_value_details_give_each_source_kind_and_date(car_t_vs_car_nk: nx.MultiDiGraph) -> None:
    titles = [data["title"] for _, target, data in car_t_vs_car_nk.in_edges("value:tkg:effectorCell=tkg:NKCell", data=True)]
    assert titles and all("review claim, 2021-08-06" in title for title in titles)
