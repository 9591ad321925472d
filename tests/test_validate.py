"""Validation: the curated data and the test graph pass; each invalid fixture, added to the test
graph, fails with the expected report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg import store
from kg.canonical import out_of_form
from kg.resources import DATA_DIR
from tests.conftest import MINI

INVALID = sorted((Path(__file__).parent / "data" / "invalid").glob("*.ttl"))


def _header(path: Path) -> dict[str, str]:
    fields = {}
    for line in path.read_text().splitlines():
        if line.startswith("# ") and ":" in line:
            key, _, value = line[2:].partition(":")
            fields[key.strip()] = value.strip()
    return fields


def test_curated_data_and_the_test_graph_conform() -> None:
    assert store.validate_inputs(DATA_DIR) == []
    assert store.validate_inputs(MINI) == []
    assert out_of_form(MINI) == []  # kept canonical like data/: python scripts/format_data.py --data tests/data/mini


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_is_reported(fixture: Path, tmp_path: Path) -> None:
    expected = _header(fixture)
    data = tmp_path / "data"
    shutil.copytree(MINI, data)
    target = data / expected["into"] / fixture.name
    shutil.copy(fixture, target)

    findings = store.validate_inputs(data_dir=data)

    matching = [
        f
        for f in findings
        if f.focus == expected["expect-focus"]
        and f.path == expected["expect-path"]
        and expected["expect-message"] in f.message
    ]
    assert matching, "\n".join(map(str, findings)) or "no findings"
    assert all(f"{expected['into']}/{fixture.name}" in str(f) for f in matching)
