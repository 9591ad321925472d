"""A build's memo of internal query answers, and the snapshot a small build is read from: the same
answers as the store itself, never a stale or cut one, and no store load when the memo answers."""

from __future__ import annotations

from pathlib import Path

import pytest

import kg
from kg import report
from kg import store as stores
from kg.compare import compare
from kg.memo import Memo


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("memo-store")
    stores.build(root)
    return root


def _counting(root: Path) -> tuple[kg.TherapyGraph, list[int]]:
    """A graph over the current build whose store loads are counted."""
    opener, location = stores.open_store(root)
    loads: list[int] = []

    def counted():
        loads.append(1)
        return opener()

    return kg.TherapyGraph(location=location, opener=counted), loads


def _comparison(graph: kg.TherapyGraph) -> dict:
    return report.to_json(compare(graph, ["car-t", "car-nk"]))


def test_a_memo_answers_what_the_store_answers_without_loading_it(root: Path) -> None:
    build = stores.current_build(root)
    plain = _comparison(kg.TherapyGraph(stores.open_build(build)))  # no location: no memo
    first, first_loads = _counting(root)
    assert _comparison(first) == plain and first_loads == [1]
    assert len(list((build / "memo").glob("*.tsv"))) > 5
    again, again_loads = _counting(root)
    assert _comparison(again) == plain and again_loads == [], "answered from the memo alone"
    assert again.describe("testacel") == kg.TherapyGraph(stores.open_build(build)).describe("testacel")


def test_a_cut_memo_entry_is_computed_again(root: Path) -> None:
    build = stores.current_build(root)
    graph, _ = _counting(root)
    expected = graph.select_named("therapy-names")
    for entry in (build / "memo").glob("*.tsv"):
        lines = entry.read_bytes().splitlines(keepends=True)
        entry.write_bytes(b"".join(lines[:-2] or lines[:1]))  # whole lines, the last ones missing
    fresh, loads = _counting(root)
    assert fresh.select_named("therapy-names") == expected and loads == [1]
    whole = [e for e in (build / "memo").glob("*.tsv") if Memo(build / "memo").get(e.stem) is not None]
    assert len(whole) == 1, "the entry asked for again is rewritten whole"


def test_a_memo_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "store"
    build = stores.build(root).location
    (build / "memo").write_text("not a folder")  # as unwritable as a read-only store, even for root
    graph, loads = _counting(root)
    assert graph.select_named("therapy-names") and loads == [1]
    assert (build / "memo").read_text() == "not a folder"


def test_the_key_changes_with_the_query_and_its_bindings() -> None:
    keys = {
        Memo.key("SELECT * { ?s ?p ?o }", {}),
        Memo.key("SELECT * { ?s ?p ?o } LIMIT 1", {}),
        Memo.key("SELECT * { ?s ?p ?o }", {"s": "<urn:a>"}),
        Memo.key("SELECT * { ?s ?p ?o }", {"s": "<urn:b>"}),
    }
    assert len(keys) == 4


def test_a_small_build_is_a_snapshot_that_knows_when_it_is_cut(tmp_path: Path) -> None:
    root = tmp_path / "store"
    build = stores.build(root).location
    assert [p.name for p in build.iterdir()] == [stores.SNAPSHOT]
    whole = len(stores.open_build(build))
    snapshot = build / stores.SNAPSHOT
    data = snapshot.read_bytes()
    snapshot.write_bytes(data[: data.index(b"\n", len(data) // 2) + 1])  # cut at a line end: still valid N-Quads
    with pytest.raises(OSError, match="incomplete"):
        stores.open_build(build)
    rebuilt = stores.build(root)
    assert rebuilt.rebuilt and rebuilt.location != build, "kg build sees the damage and builds anew"
    assert len(stores.open_build(rebuilt.location)) == whole
