"""The wheel carries the ontology, data and queries, so an installed `kg` works from any directory."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return next(out.glob("*.whl"))


def test_wheel_contains_ontology_data_and_queries(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"kg/ontology/{p.name}" for p in (ROOT / "ontology").glob("*.ttl")}
    expected |= {f"kg/data/{p.relative_to(ROOT / 'data')}" for p in (ROOT / "data").rglob("*.ttl")}
    expected |= {f"kg/{p.relative_to(ROOT / 'kg')}" for p in (ROOT / "kg").rglob("*.rq")}
    assert expected <= names, sorted(expected - names)
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_package_finds_bundled_files(wheel: Path, tmp_path: Path) -> None:
    """Unpack the wheel away from the checkout and import it from there."""
    zipfile.ZipFile(wheel).extractall(tmp_path)
    code = "import kg.resources as r; print(r.ONTOLOGY_FILE); print(r.DATA_DIR)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )
    ontology, data = result.stdout.split()
    assert ontology.startswith(str(tmp_path)) and Path(ontology).is_file()
    assert data.startswith(str(tmp_path)) and (Path(data) / "sources").is_dir()
