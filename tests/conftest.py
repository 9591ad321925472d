"""Shared fixtures. Code is tested on the small invented graph in tests/data/mini (every command,
subprocess and server of the session reads it, through $THERAPY_KG_DATA), so editing a curated fact
never breaks a code test; the curated data is tested by test_data.py and test_curated.py through
the `curated_*` fixtures. A CLI runner has a wide, colourless terminal so output assertions do not
depend on wrapping."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import kg
from kg import resources

DATA = Path(__file__).parent / "data"
MINI = DATA / "mini"


def pytest_configure(config: pytest.Config) -> None:
    os.environ[resources.DATA_ENV] = str(MINI)


@pytest.fixture(scope="session", autouse=True)
def _session_store(store_dir: Path) -> None:
    """No test builds into the user's own store, not even through a bare `CliRunner()`."""
    os.environ["THERAPY_KG_STORE"] = str(store_dir)


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
    return _runner(monkeypatch)


@pytest.fixture(scope="session")
def curated_store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("curated-store")


@pytest.fixture(scope="session")
def curated_graph(curated_store_dir: Path) -> kg.TherapyGraph:
    from kg import store

    opener, location = store.open_store(curated_store_dir, data_dir=resources.DATA_DIR)
    return kg.TherapyGraph(location=location, opener=opener)


@pytest.fixture(scope="session")
def catalogue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The curated catalogue alone: names, codes and modalities of the real products, and no sourced
    fact. The real registry and regulator records in tests/data name real products, so the tests of
    their ingest run on this (a fact edited in data/sources cannot break them)."""
    import shutil

    root = tmp_path_factory.mktemp("catalogue-data")
    shutil.copytree(resources.DATA_DIR / "catalogue", root / "catalogue")
    return root


@pytest.fixture(scope="module")
def catalogue_env(catalogue_dir: Path) -> Iterator[None]:
    """For a module of ingest tests: stores are built from the curated catalogue alone."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(resources.DATA_ENV, str(catalogue_dir))
        yield


@pytest.fixture(scope="session")
def catalogue_graph(catalogue_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> kg.TherapyGraph:
    from kg import store

    opener, location = store.open_store(tmp_path_factory.mktemp("catalogue-store"), data_dir=catalogue_dir)
    return kg.TherapyGraph(location=location, opener=opener)


@pytest.fixture()
def curated_env(curated_store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands and `kg.open_graph()` read the curated data into its own store for this test."""
    monkeypatch.setenv("THERAPY_KG_STORE", str(curated_store_dir))
    monkeypatch.setenv(resources.DATA_ENV, str(resources.DATA_DIR))


@pytest.fixture()
def curated_runner(curated_env: None, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return _runner(monkeypatch)


def _runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
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
