"""The query editor on `kg serve`'s front page, in headless Chromium against a real server: it runs a
query and shows the rows, starts from a named query, reports errors, downloads results, highlights,
and makes no request but to the server."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kg
from tests.servers import KgServer, kg_server
from tests.test_view import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def server(graph: kg.TherapyGraph, store_dir: Path) -> Iterator[KgServer]:
    with kg_server(store_dir, "--max-rows", "2000") as base:
        yield base


@pytest.fixture()
def page(server: KgServer) -> Iterator[tuple[Any, list[str], list[str]]]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: run scripts/install_system.sh")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed: pip install '.[test]'")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page(accept_downloads=True)
        elsewhere: list[str] = []
        errors: list[str] = []

        def route(route: Any) -> None:
            if route.request.url.startswith((server, "blob:", "data:")):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        tab.route("**/*", route)
        tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(server)
        _until(tab, "window.kgEditor && window.kgEditor.ready")
        yield tab, elsewhere, errors
        browser.close()


def _until(tab: Any, condition: str, timeout: float = 30) -> None:
    """Poll from outside: the page's policy forbids the eval that wait_for_function would use."""
    deadline = time.monotonic() + timeout
    while not tab.evaluate(condition):
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        time.sleep(0.05)


def _run(tab: Any) -> str:
    runs = tab.evaluate("kgEditor.runs")
    tab.click("#kg-run")
    _until(tab, f"kgEditor.runs > {runs}")
    return tab.locator("#kg-status").inner_text()


def test_the_starter_query_runs_and_shows_its_rows(page: tuple[Any, list[str], list[str]]) -> None:
    tab, elsewhere, errors = page
    status = _run(tab)
    assert status.startswith("5 result(s)")
    assert tab.locator("#kg-results th").all_inner_texts() == ["product", "label", "target"]
    assert "Testacel (testagene autoleucel)" in tab.locator("#kg-results").inner_text()
    kinds = tab.evaluate("[...document.querySelectorAll('#kg-highlight span')].map(s => s.className)")
    assert {"kg-kw", "kg-var", "kg-pn", "kg-num"} <= set(kinds)
    assert elsewhere == [] and errors == []


def test_a_named_query_as_a_start_and_errors_in_words(page: tuple[Any, list[str], list[str]]) -> None:
    tab, elsewhere, errors = page
    tab.select_option("#kg-example", "products-by-modality")
    assert "tkg:modality" in tab.locator("#kg-query").input_value()
    assert "result(s)" in _run(tab) and tab.locator("#kg-results tbody tr").count() == 5
    tab.fill("#kg-query", "SELECT ?x WHERE { ?x ?y }")
    assert "Invalid SPARQL" in _run(tab) and tab.locator("#kg-status.kg-error").count() == 1
    tab.fill("#kg-query", "INSERT DATA { <a> <b> <c> }")
    assert "update" in _run(tab).lower()
    tab.fill("#kg-query", "ASK { ?s a tkg:Product }")
    _run(tab)
    assert tab.locator("#kg-results").inner_text() == "true"
    assert elsewhere == [] and all(re.search(r"responded with a status of 40[03]", e) for e in errors), (
        errors
    )  # the refusals


def test_results_download_as_csv(page: tuple[Any, list[str], list[str]]) -> None:
    tab, elsewhere, _ = page
    with tab.expect_download() as download:
        tab.click("#kg-csv")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert download.value.suggested_filename == "results.csv" and rows[0] == ["product", "label", "target"]
    assert len(rows) == 6 and elsewhere == []


def test_the_keyboard_runs_a_query(page: tuple[Any, list[str], list[str]]) -> None:
    tab, _, errors = page
    tab.fill("#kg-query", "SELECT (COUNT(*) AS ?n) WHERE { ?p a tkg:Product }")
    tab.focus("#kg-query")
    tab.keyboard.press("Control+Enter")
    _until(tab, "kgEditor.runs > 0")
    assert tab.locator("#kg-results td").first.inner_text().isdigit() and errors == []
