"""Screenshots of the comparison pages for a person to review: every tab of car-t vs car-nk, kymriah vs
yescarta and pembrolizumab vs nivolumab, and the overview, as headless Chromium shows them at
1400 x 900 with every network request refused.

    python scripts/screenshots.py [--store DIR] [--out screenshots]

Needs Debian's chromium (scripts/install_system.sh) and the playwright package.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).parents[1]))

import kg
from kg.view import comparison_view, overview_view, render_html, write_view
from tests.test_view import CHROMIUM, CHROMIUM_ARGS, refuse_network

PAIRS = (("car-t", "car-nk"), ("kymriah", "yescarta"), ("pembrolizumab", "nivolumab"))
TABS = ("graph", "evidence", "timeline", "table")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=None, help="store directory (default: the user cache)")
    parser.add_argument("--out", type=Path, default=Path("screenshots"), help="folder for the PNG files")
    args = parser.parse_args()
    graph = kg.open_graph(args.store)
    views = [(comparison_view(graph, list(pair)), TABS) for pair in PAIRS] + [(overview_view(graph), ("graph",))]
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for view, tabs in views:
            path = Path(folder) / f"{view.name}.html"
            write_view(path, render_html(view))
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            refused: list[str] = []
            refuse_network(page, refused)
            page.goto(path.as_uri())
            page.wait_for_function("window.kgView && window.kgView.ready")
            for tab in tabs:
                page.click(f"#tab-{tab}")
                shot = args.out / f"{view.name}-{tab}.png"
                page.screenshot(path=str(shot))
                print(shot)
            page.close()
            if refused:
                raise SystemExit(f"{view.name}: the page requested {refused}")
        browser.close()


if __name__ == "__main__":
    main()
