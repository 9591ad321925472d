"""Where the ontology, curated data and named queries live, in a checkout or an installed wheel.

The wheel carries `ontology/` and `data/` inside the package (see pyproject.toml); a checkout or an
editable install reads them from the repository root next to `kg/`.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


ONTOLOGY_DIR = _bundled("ontology")
DATA_DIR = _bundled("data")
QUERIES_DIR = PACKAGE_DIR / "queries"

ONTOLOGY_FILE = ONTOLOGY_DIR / "therapy-kg.ttl"
SHAPES_FILE = ONTOLOGY_DIR / "shapes.ttl"
DATA_ENV = "THERAPY_KG_DATA"


def data_dir() -> Path:
    """The curated data a build reads: `$THERAPY_KG_DATA` (a folder laid out like `data/`, such as a
    curator's working copy or the test suite's small fixture), else the bundled data."""
    return Path(os.environ[DATA_ENV]).expanduser() if os.environ.get(DATA_ENV) else DATA_DIR


@cache
def load_query(name: str) -> str:
    """Text of an internal query shipped in `kg/sparql/NAME.rq` (every query the library runs itself)."""
    return (PACKAGE_DIR / "sparql" / f"{name}.rq").read_text(encoding="utf-8")
