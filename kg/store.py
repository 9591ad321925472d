"""The on-disk Oxigraph store: where it lives, when it is current, and how a build replaces it.

Layout under the store root (default: the user's cache directory):

    CURRENT              name of the build in use, replaced atomically (write, then rename)
    <fingerprint>/       one finished pyoxigraph store per build (the current one and the one before)
    .tmp-<fingerprint>-<pid>/   a build in progress; never read
    ingested/            registry records added by `kg ingest` (see kg/ingest.py)

A build writes a fresh directory and only then points CURRENT at it, so a failed or interrupted
build leaves the previous store untouched, and readers open builds read-only.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg import ingest, sources, validate
from kg.atomic import write_text
from kg.errors import BuildError
from kg.resources import DATA_DIR, ONTOLOGY_FILE

STORE_ENV = "THERAPY_KG_STORE"
_CURRENT = "CURRENT"
_FINGERPRINT = re.compile(r"[0-9a-f]{16}")


def default_location() -> Path:
    """`$THERAPY_KG_STORE`, else `therapy-kg/store` in the platform's user cache directory."""
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV]).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path("therapy-kg", appauthor=False) / "store"


@dataclass(frozen=True)
class BuildResult:
    """What a build produced, for `kg build` to report."""

    location: Path
    fingerprint: str
    quads: int
    files: int
    rebuilt: bool


def current_build(root: Path) -> Path | None:
    """The directory of the build in use, if there is one."""
    try:
        name = (root / _CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    path = root / name
    return path if name and path.is_dir() else None


def build(
    root: Path | None = None,
    *,
    force: bool = False,
    data_dir: Path = DATA_DIR,
    ontology_file: Path = ONTOLOGY_FILE,
) -> BuildResult:
    """Parse, validate and load ontology + data into a new store; skip if the current one is up to date."""
    root = root or default_location()
    files = sources.input_files(data_dir, ontology_file)
    fingerprint = sources.fingerprint(files, ingest.fingerprint_part(root))
    existing = current_build(root)
    if existing is not None and existing.name == fingerprint and not force:
        return BuildResult(existing, fingerprint, 0, len(files), rebuilt=False)

    parsed = sources.parse_all(files)
    findings = validate.check_dataset(parsed, data_dir.parent)
    if findings:
        raise BuildError(
            f"Validation failed with {len(findings)} finding(s); the previous store is unchanged.",
            "\n".join(str(f) for f in findings),
        )
    quads = [quad for file_quads in parsed.values() for quad in file_quads]

    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{fingerprint}-{os.getpid()}"
    final = root / fingerprint
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        store = ox.Store(str(tmp))
        store.bulk_extend(quads)
        records = ingest.records_file(root)
        if records is not None:
            store.bulk_load(path=str(records), format=ox.RdfFormat.N_QUADS)
            store.bulk_extend(ingest.summary_quads(store))
        store.flush()
        total = len(store) if records is not None else len(quads)
        del store
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    previous = current_build(root)
    _point_current(root, fingerprint)
    _remove_other_builds(root, keep={fingerprint, previous.name if previous else fingerprint})
    return BuildResult(final, fingerprint, total, len(files), rebuilt=True)


def validate_inputs(data_dir: Path = DATA_DIR, ontology_file: Path = ONTOLOGY_FILE) -> list[validate.Finding]:
    """Parse and check ontology + data without touching any store; syntax errors raise BuildError."""
    parsed = sources.parse_all(sources.input_files(data_dir, ontology_file))
    return validate.check_dataset(parsed, data_dir.parent)


def is_current(root: Path | None = None, *, data_dir: Path = DATA_DIR, ontology_file: Path = ONTOLOGY_FILE) -> bool:
    """Whether the store matches the ontology and data on disk (cheap: hashes files, parses nothing)."""
    root = root or default_location()
    existing = current_build(root)
    fingerprint = sources.fingerprint(sources.input_files(data_dir, ontology_file), ingest.fingerprint_part(root))
    return existing is not None and existing.name == fingerprint


def open_store(root: Path | None = None, *, data_dir: Path = DATA_DIR, ontology_file: Path = ONTOLOGY_FILE) -> ox.Store:
    """Open the current build read-only, building it first if it is missing or stale."""
    result = build(root, data_dir=data_dir, ontology_file=ontology_file)
    return ox.Store.read_only(str(result.location))


def _point_current(root: Path, name: str) -> None:
    write_text(root / _CURRENT, name + "\n")


def _remove_other_builds(root: Path, keep: set[str]) -> None:
    """Delete superseded builds, keeping the one just replaced for processes still reading it
    (a running `kg serve`); only directories named like a fingerprint are ever touched."""
    for path in root.iterdir():
        if path.is_dir() and path.name not in keep and _FINGERPRINT.fullmatch(path.name):
            shutil.rmtree(path, ignore_errors=True)
