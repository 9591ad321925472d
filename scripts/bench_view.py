"""Measure comparison pages: time to build the view and write the page, its size, and the time until
headless Chromium has drawn it and the page's script is ready, for synthetic views of 10^2, 10^3 and
10^4 nodes and for real ones (car-t vs car-nk, pembrolizumab vs nivolumab, the overview).

    python scripts/bench_view.py [--store DIR] [--sizes 100 1000 10000]

Needs Debian's chromium (scripts/install_system.sh) and the playwright package. Pages are opened
from disk with every non-file request refused; "ready s" is the page's own `performance.now()` when
its script has run (after the SVG is parsed and laid out), counted from navigation start; "open s"
adds the first paint seen from outside. The target: 10^3 nodes drawn in under 2 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).parents[1]))

import kg
from kg.therapy import TherapyRef
from kg.view import Group, Node, Row, View, comparison_view, overview_view, render_html, write_view
from tests.test_view import CHROMIUM, CHROMIUM_ARGS, refuse_network

KINDS = ("value", "value", "target", "approval", "trial", "observation")


def synthetic(size: int, seed: int = 1) -> View:
    """A comparison of three therapies with about `size` nodes: rows of one to three values per cell,
    a third of them shared, and evidence rows whose summaries open into several items."""
    rng = random.Random(seed)
    heads: list[TherapyRef | None] = [
        TherapyRef(f"t{i}", f"urn:t{i}", f"therapy {i} (synthetic)", "product") for i in range(3)
    ]
    heads.insert(2, None)
    details: dict[str, dict] = {}
    rows, made = [], 0
    while made < size:
        cells: list[list[Node]] = [[] for _ in heads]
        if rng.random() < 0.3:
            node = Node(
                f"n{made}",
                "value",
                f"shared value {made} with a label of some length",
                "review",
                links={0: "stated", 1: "inherited", 3: "stated"},
            )
            cells[2].append(node)
            made += 1
        for column in (0, 1, 3):
            for _ in range(rng.choice((1, 1, 2, 3))):
                kind = rng.choice(KINDS)
                node = Node(
                    f"n{made}",
                    kind,
                    f"{kind} {made}: a value label of some length",
                    "primary",
                    links={column: "stated"},
                )
                if kind == "observation":
                    node.kind, node.text = "summary", f"{rng.randint(5, 40)}–{rng.randint(50, 95)} % · 3 products"
                    node.children = [
                        Node(f"n{made}c{i}", "observation", f"observation {i} of {made}") for i in range(4)
                    ]
                    made += len(node.children)
                cells[column].append(node)
                made += 1
        rows.append(Row(f"p{len(rows)}", f"property {len(rows)}", True, cells))
    for row in rows:
        for node in (n for cell in row.cells for n in cell):
            for item in [node, *node.children]:
                details[item.id] = {
                    "title": item.text,
                    "lines": [item.text],
                    "sources": [{"text": "Synthetic source.", "href": "https://doi.org/10.1/x", "more": []}],
                }
    groups = [Group(f"group {i}", rows[i::6]) for i in range(6)]
    return View(f"Synthetic view of {size} nodes", f"synthetic-{size}", heads, groups, details)


def count(view: View) -> int:
    nodes = [n for g in view.groups for r in g.rows for c in r.cells for n in c]
    return len(nodes) + sum(len(n.children) for n in nodes)


def measure(browser, view: View, folder: Path) -> tuple[float, int, float, float]:
    """Seconds to write the page, its bytes, seconds until the script is ready, seconds to open."""
    start = time.perf_counter()
    page_html = render_html(view)
    generated = time.perf_counter() - start
    path = folder / f"{view.name}.html"
    write_view(path, page_html)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    refused: list[str] = []
    refuse_network(page, refused)
    start = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_function("window.kgView && window.kgView.ready", timeout=600_000)
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    opened = time.perf_counter() - start
    ready = page.evaluate("kgView.readyAt") / 1000
    page.close()
    if refused:
        raise SystemExit(f"{view.name}: the page requested {refused}")
    return generated, len(page_html.encode()), ready, opened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=None, help="store directory (default: the user cache)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    args = parser.parse_args()

    graph = kg.open_graph(args.store)
    views = []
    for build in (
        lambda: comparison_view(graph, ["car-t", "car-nk"]),
        lambda: comparison_view(graph, ["pembrolizumab", "nivolumab"]),
        lambda: overview_view(graph),
    ):
        start = time.perf_counter()
        view = build()
        views.append((view, time.perf_counter() - start))
    views += [(synthetic(size), None) for size in args.sizes]

    columns = ("nodes", "view s", "html s", "size KB", "ready s", "open s")
    print(f"{'view':<36}" + "".join(f"{c:>9}" for c in columns))
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for view, built in views:
            generated, size, ready, opened = measure(browser, view, Path(folder))
            cells = (
                count(view),
                f"{built:.2f}" if built is not None else "-",
                f"{generated:.3f}",
                round(size / 1024),
                f"{ready:.2f}",
                f"{opened:.2f}",
            )
            print(f"{view.name[:35]:<36}" + "".join(f"{c:>9}" for c in cells))
        browser.close()


if __name__ == "__main__":
    main()
