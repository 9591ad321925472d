"""Measure interactive views: time to generate the page, its size, and the time until headless
Chromium has drawn the network, for synthetic views of 10^2, 10^3 and 10^4 nodes and for two real
ones (car-t vs car-nk, and the overview of every therapy with sources).

    python scripts/bench_view.py [--store DIR] [--sizes 100 1000 10000]

Needs Debian's chromium (scripts/install_system.sh) and the playwright package. Pages are opened
from disk with every non-file request refused; the drawing time is the page's own
`performance.now()` at vis-network's first `afterDrawing`, counted from navigation start.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
from playwright.sync_api import Route, sync_playwright

sys.path.insert(0, str(Path(__file__).parents[1]))

import kg  # noqa: E402
from kg.view import build_view_graph, render_html, write_view  # noqa: E402
from tests.test_view import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

EVIDENCE = ("approval", "trial", "observation")


def synthetic(size: int, seed: int = 1) -> nx.MultiDiGraph:
    """An overview-shaped view of about `size` nodes: a modality tree, products, shared values,
    evidence per product and sources backing them, every therapy compared."""
    rng = random.Random(seed)
    view = nx.MultiDiGraph(title=f"Synthetic view of {size} nodes")
    modalities = max(2, round(size**0.5 / 4))
    products = max(2, round(size**0.5))
    view.add_node("therapy:m0", kind="modality", label="root modality", title="root modality", compared=True)
    therapies = ["therapy:m0"]
    for i in range(1, modalities):
        node = f"therapy:m{i}"
        view.add_node(node, kind="modality", label=f"modality {i}", title=f"modality {i}", compared=True)
        view.add_edge(node, "therapy:m0", kind="is-a", label="is a", title="is a")
        therapies.append(node)
    for i in range(products):
        node = f"therapy:p{i}"
        view.add_node(node, kind="product", label=f"product {i} (synthetic)", title=f"product {i}", compared=True)
        view.add_edge(node, f"therapy:m{1 + i % (modalities - 1)}", kind="is-a", label="is a", title="is a")
        therapies.append(node)
    sources = [f"source:src:s{i}" for i in range(max(1, size // 10))]
    for source in sources:
        title = f"Source\n{source}\nhttps://doi.org/10.1/x"
        view.add_node(source, kind="source", label=source[11:], title=title, compared=False)
    items = size - view.number_of_nodes()
    for i in range(items):
        kind = "value" if i % 3 == 0 else EVIDENCE[i % len(EVIDENCE)]
        node = f"{kind}:{i}"
        view.add_node(node, kind=kind, label=f"{kind} {i}: a label of some length", title=f"{kind} {i}", compared=False)
        if kind == "value":
            holders = rng.sample(therapies, rng.choice((1, 1, 2, 3)))
        else:
            holders = [rng.choice(therapies[modalities:])]
        for holder in holders:
            edge = rng.choice(("stated", "stated", "inherited"))
            view.add_edge(holder, node, kind=edge, label="some property", title="edge")
        view.add_edge(rng.choice(sources), node, kind="states", label="states", title="states")
    return view


def measure(browser, view: nx.MultiDiGraph, folder: Path, name: str) -> tuple[int, int, float, int, float, float]:
    """Nodes, edges, generation seconds, bytes, seconds until drawn, seconds from open to ready."""
    start = time.perf_counter()
    page_html = render_html(view)
    generated = time.perf_counter() - start
    path = folder / f"{name}.html"
    write_view(path, page_html)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    refused: list[str] = []

    def offline(route: Route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    start = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_function("window.kgView && window.kgView.ready", timeout=600_000)
    opened = time.perf_counter() - start
    drawn = page.evaluate("kgView.readyAt") / 1000
    page.close()
    if refused:
        raise SystemExit(f"{name}: the page requested {refused}")
    return view.number_of_nodes(), view.number_of_edges(), generated, len(page_html.encode()), drawn, opened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=None, help="store directory (default: the user cache)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    args = parser.parse_args()

    graph = kg.open_graph(args.store)
    start = time.perf_counter()
    pair = build_view_graph(graph, ["car-t", "car-nk"])
    pair_built = time.perf_counter() - start
    start = time.perf_counter()
    overview = build_view_graph(graph, None, all_therapies=True, sources=True)
    overview_built = time.perf_counter() - start
    views = [("car-t vs car-nk", pair, pair_built), ("--all --sources", overview, overview_built)]
    views += [(f"synthetic {size}", synthetic(size), None) for size in args.sizes]

    columns = ("nodes", "edges", "graph s", "html s", "size KB", "drawn s", "open s")
    print(f"{'view':<18}" + "".join(f"{c:>9}" for c in columns))
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for name, view, built in views:
            nodes, edges, generated, size, drawn, opened = measure(browser, view, Path(folder), name.replace(" ", "-"))
            cells = (nodes, edges, f"{built:.2f}" if built is not None else "-", f"{generated:.3f}", round(size / 1024),
                     f"{drawn:.2f}", f"{opened:.2f}")
            print(f"{name:<18}" + "".join(f"{c:>9}" for c in cells))
        browser.close()


if __name__ == "__main__":
    main()
