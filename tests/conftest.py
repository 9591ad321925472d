"""Shared fixtures: one store built per test session in a temporary directory, and a CLI runner
with a wide, colourless terminal so output assertions do not depend on wrapping."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import kg

DATA = Path(__file__).parent / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite tests/golden/ from current output.")


@pytest.fixture()
def golden(request: pytest.FixtureRequest):
    """Compare a JSON document with tests/golden/NAME.json, or rewrite it with --update-golden."""
    import json

    def check(name: str, document: object) -> None:
        path = DATA.parent / "golden" / f"{name}.json"
        if request.config.getoption("--update-golden"):
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        assert path.exists(), f"{path} missing: run pytest --update-golden"
        assert document == json.loads(path.read_text(encoding="utf-8")), (
            f"differs from {path}; review, then --update-golden"
        )

    return check


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="session")
def graph(store_dir: Path) -> kg.TherapyGraph:
    return kg.open_graph(store_dir)


@pytest.fixture()
def runner(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("THERAPY_KG_STORE", str(store_dir))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def ingested_store(
    tmp_path_factory: pytest.TempPathFactory, run: Callable[[Path, Path], Any], path: Path, records: int
) -> Path:
    """A fresh store with `path` ingested by `run` (one of `kg.registry.ingest_*`), which must take
    all `records` records and report no problem."""
    store = tmp_path_factory.mktemp("ingested") / "store"
    report = run(store, path)
    assert not report.problems and len(report.ingested) == records
    return store
