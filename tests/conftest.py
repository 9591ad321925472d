"""Shared fixtures: one store built per test session in a temporary directory, and a CLI runner
with a wide, colourless terminal so output assertions do not depend on wrapping."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import kg

DATA = Path(__file__).parent / "data"


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
