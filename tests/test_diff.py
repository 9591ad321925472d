"""`kg diff`: what changed in the curated data between two data folders, two stores, or one of each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg import sources
from kg.cli import app
from kg.diff import diff
from kg.resources import DATA_DIR
from tests.conftest import MINI

FILE = "fda-samplizumab-approvals.ttl"


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The test graph's data, and a copy with one date changed, one value dropped and one source added."""
    old = tmp_path_factory.mktemp("old") / "data"
    new = tmp_path_factory.mktemp("new") / "data"
    shutil.copytree(MINI, old)
    shutil.copytree(MINI, new)
    path = new / "sources" / FILE
    text = path.read_text(encoding="utf-8")
    date = 'tkg:approvalDate "2018-12-06"^^xsd:date'
    assert text.count(date) == 1 and text.count("tkg:lineOfTherapy tkg:FirstLine ;") == 1
    path.write_text(
        text.replace(date, 'tkg:approvalDate "2018-12-07"^^xsd:date').replace(
            "    tkg:lineOfTherapy tkg:FirstLine ;\n", ""
        ),
        encoding="utf-8",
    )
    (new / "sources" / "fixture-2026-note.ttl").write_text(
        "@prefix tkg: <https://w3id.org/therapy-kg/ontology#> .\n@prefix src: <https://w3id.org/therapy-kg/source/> .\n"
        "@prefix dcterms: <http://purl.org/dc/terms/> .\n"
        'src:fixture-2026-note a tkg:WebPage ; dcterms:title "A note" ; dcterms:bibliographicCitation "A note." .\n',
        encoding="utf-8",
    )
    return old, new


def test_changed_removed_and_added_facts_by_source(versions: tuple[Path, Path]) -> None:
    result = diff(*versions)
    by_kind = {(c.kind, c.source, c.predicate): c for c in result.changes}
    changed = by_kind[("changed", "src:fda-samplizumab-approvals", "tkg:approvalDate")]
    assert (changed.subject, changed.old, changed.new) == (
        "tkgr:approval-samplizumab-fda-2018-nsclc",
        ['"2018-12-06"^^xsd:date'],
        ['"2018-12-07"^^xsd:date'],
    )
    assert ("removed", "src:fda-samplizumab-approvals", "tkg:lineOfTherapy") in by_kind
    added = [c for c in result.changes if c.kind == "added"]
    assert {c.source for c in added} == {"src:fixture-2026-note"} and len(added) == 3
    assert result.counts() == {"added": 3, "removed": 1, "changed": 1}


def test_a_store_and_the_data_it_was_built_from_do_not_differ(graph, store_dir: Path) -> None:
    assert diff(MINI, store_dir).changes == []  # numbers compare by value: the store keeps 73 for 73.0


def test_cli_table_json_exit_status_and_errors(versions: tuple[Path, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    old, new = map(str, versions)
    table = runner.invoke(app, ["diff", old, new])
    assert table.exit_code == 1 and "3 added, 1 removed, 1 changed." in table.output and "2018-12-07" in table.output
    document = json.loads(runner.invoke(app, ["diff", old, new, "--format", "json"]).stdout)
    assert document["counts"] == {"added": 3, "removed": 1, "changed": 1}
    same = runner.invoke(app, ["diff", old, old])
    assert same.exit_code == 0 and "0 added, 0 removed, 0 changed." in same.output
    wrong = runner.invoke(app, ["diff", old, str(tmp_path)])
    assert wrong.exit_code == 2 and "neither a data folder" in wrong.output


def test_the_data_has_a_version_from_its_changelog() -> None:
    changelog = (DATA_DIR / "CHANGELOG.md").read_text(encoding="utf-8")
    first = next(line for line in changelog.splitlines() if line.startswith("## "))
    assert sources.data_version(DATA_DIR) == first[3:].split(" ")[0] != "unversioned"
    assert sources.data_version() == "0.0.1-fixture"  # the tests' own data, from its own changelog
    assert f"data: {sources.data_version()} (" in CliRunner().invoke(app, ["--version"]).stdout
