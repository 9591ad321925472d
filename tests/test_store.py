"""The on-disk store: built once, reused while current, rebuilt on change, never left broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import store
from kg.errors import BuildError
from tests.conftest import MINI


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(MINI, copy)
    return copy


def _count(location: Path) -> int:
    """Quads in named graphs (the default graph holds their merge)."""
    quads = store.open_build(location).quads_for_pattern(None, None, None, None)
    return sum(1 for quad in quads if quad.graph_name != ox.DefaultGraph())


def test_build_then_reuse_then_rebuild_on_change(tmp_path: Path, data: Path) -> None:
    root = tmp_path / "store"
    first = store.build(root, data_dir=data)
    assert first.rebuilt and first.quads == _count(first.location)
    assert store.build(root, data_dir=data).rebuilt is False
    assert store.is_current(root, data_dir=data)

    (data / "catalogue" / "modalities.ttl").open("a").write(
        '\n<https://w3id.org/therapy-kg/resource/car-t> <http://www.w3.org/2004/02/skos/core#altLabel> "CAR T" .\n'
    )
    assert not store.is_current(root, data_dir=data)
    second = store.build(root, data_dir=data)
    assert second.rebuilt and second.quads == first.quads + 1
    assert first.location.exists(), "the replaced build stays for readers that still have it open"
    (data / "catalogue" / "modalities.ttl").open("a").write("\n# another edit\n")
    third = store.build(root, data_dir=data)
    assert not first.location.exists() and second.location.exists() and third.location.exists()


@pytest.mark.parametrize(
    "breakage",
    [
        '@prefix x: <http://x/> .\nx:a x:b "unterminated .\n',
        "@prefix tkg: <https://w3id.org/therapy-kg/ontology#> .\n"
        "<https://w3id.org/therapy-kg/resource/car-t> tkg:crsRisk tkg:RiskHigh .\n",
    ],
    ids=["syntax-error", "validation-failure"],
)
def test_failed_build_leaves_previous_store_untouched(tmp_path: Path, data: Path, breakage: str) -> None:
    root = tmp_path / "store"
    good = store.build(root, data_dir=data)
    before = (root / "CURRENT").read_text()
    (data / "catalogue" / "broken.ttl").write_text(breakage)

    with pytest.raises(BuildError):
        store.build(root, data_dir=data)

    assert (root / "CURRENT").read_text() == before
    assert _count(good.location) == good.quads
    assert [p.name for p in root.iterdir() if p.name.startswith(".tmp-")] == []


def test_old_builds_are_only_removed_by_name(tmp_path: Path, data: Path) -> None:
    root = tmp_path / "store"
    keep = root / "not-a-build"
    keep.mkdir(parents=True)
    store.build(root, data_dir=data)
    assert keep.is_dir()


def test_default_location_honours_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(store.STORE_ENV, str(tmp_path / "custom"))
    assert store.default_location() == tmp_path / "custom"
    monkeypatch.delenv(store.STORE_ENV)
    assert store.default_location().name == "store"


def test_a_forced_build_never_replaces_a_build_being_read(tmp_path: Path, data: Path) -> None:
    """`kg build --force` of the same inputs writes `<fingerprint>-2`: the build a reader holds stays
    whole until the reader lets go, and is removed by the next build after that."""
    root = tmp_path / "store"
    first = store.build(root, data_dir=data)
    store.lease(first.location)
    reader = store.open_build(first.location)
    forced = store.build(root, data_dir=data, force=True)
    assert forced.location.name == f"{first.fingerprint}-2" and forced.fingerprint == first.fingerprint
    assert store.current_build(root) == forced.location and store.is_current(root, data_dir=data)
    assert _count(first.location) == first.quads and len(reader) > 0  # untouched
    assert store.build(root, data_dir=data).rebuilt is False  # a -N build is current for its inputs
    store.release(first.location)
    again = store.build(root, data_dir=data, force=True)
    assert again.location.name == f"{first.fingerprint}-3"
    builds = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert builds == [f"{first.fingerprint}-2", f"{first.fingerprint}-3"]  # the first, read no more, is gone


def test_builds_abandoned_by_killed_processes_are_cleaned_up(tmp_path: Path, data: Path) -> None:
    root = tmp_path / "store"
    abandoned = root / f".tmp-{'0' * 16}-{_dead_pid()}"
    running = root / f".tmp-{'0' * 16}-{os.getpid()}"
    abandoned.mkdir(parents=True)
    running.mkdir()
    store.build(root, data_dir=data)
    assert not abandoned.exists() and running.is_dir()


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_concurrent_forced_builds_do_not_break_readers(tmp_path: Path, data: Path) -> None:
    """Two `kg build --force` at once while `kg show` runs again and again: every read succeeds."""
    env = {**os.environ, "THERAPY_KG_STORE": str(tmp_path / "store"), "THERAPY_KG_DATA": str(data)}
    kg = [sys.executable, "-m", "kg"]
    subprocess.run([*kg, "build"], env=env, check=True, capture_output=True)
    builders = [subprocess.Popen([*kg, "build", "--force"], env=env, stdout=subprocess.DEVNULL) for _ in range(2)]
    reads = []
    while any(b.poll() is None for b in builders) or len(reads) < 6:
        reads.append(subprocess.run([*kg, "show", "car-t", "--format", "json"], env=env, capture_output=True))
    assert [b.wait() for b in builders] == [0, 0]
    failed = [r.stderr.decode() for r in reads if r.returncode != 0 or not r.stdout.startswith(b"{")]
    assert failed == []
