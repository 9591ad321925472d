"""The on-disk Oxigraph store: where it lives, when it is current, and how a build replaces it.

Layout under the store root (default: the user's cache directory):

    CURRENT              name of the build in use, replaced atomically (write, then rename)
    <fingerprint>/       one finished build (the current one, and older ones while a process still
                         reads them): `quads.nq`, loaded into memory by readers, or, once the
                         ingested records pass SNAPSHOT_RECORDS_BYTES, a pyoxigraph on-disk store;
                         `<fingerprint>-N/` when a build of the same inputs is made again
    <fingerprint>.lease  held (shared flock) by every process reading that build
    .tmp-<fingerprint>-<pid>/   a build in progress; never read, removed once its process is gone
    ingested/            registry records added by `kg ingest` (see kg/ingest.py)

Oxigraph answers the compare queries on its in-memory store about four times faster than on its
on-disk one, and the curated data (about 14,000 quads) load from N-Quads in 20 ms, so a small build
is a snapshot; an ingested registry too large to load in a blink is an on-disk store.

A build writes a fresh directory and only then points CURRENT at it, so a failed or interrupted
build leaves the previous store untouched, and readers open builds read-only. No build ever
replaces a finished directory, not even a forced one of the same inputs. A superseded build
is removed only when no reader holds its lease, so a running `kg serve` survives any number of
rebuilds.

The store's default graph is the RDF merge of all named graphs (each distinct triple once), written
by the build: counts are counts on any SPARQL engine, and `GRAPH ?source` still says who states
what. See kg/derive.py.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg import derive, ingest, resources, sources, validate
from kg.atomic import read_counted, write_counted, write_text
from kg.errors import BuildError, UsageError
from kg.resources import ONTOLOGY_FILE, load_query
from kg.terms import solutions

STORE_ENV = "THERAPY_KG_STORE"
_CURRENT = "CURRENT"
_BUILD_NAME = re.compile(r"(?P<fingerprint>[0-9a-f]{16})(-[0-9]+)?")
"""A build's folder: its fingerprint, and `-N` when an earlier build of the same inputs was still
there (a forced or repaired build never replaces a folder that readers may have open)."""
_TMP_NAME = re.compile(r"\.tmp-[0-9a-f]{16}-(?P<pid>[0-9]+)")
SNAPSHOT = "quads.nq"
SNAPSHOT_RECORDS_BYTES = 4 << 20  # ingested records up to this size (about 25,000 quads) still make a snapshot build


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
    if root.exists() and not root.is_dir():
        raise UsageError(f"The store {root} is a file, not a folder: give --store a folder (it is created if missing).")
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
    check: bool = True,
    data_dir: Path | None = None,
    ontology_file: Path = ONTOLOGY_FILE,
    ingested: ingest.IngestedSet | None = None,
) -> BuildResult:
    """Parse, validate and load ontology + data and the ingested records (the current set, or
    `ingested`) into a new store; skip if the current one is up to date and (with `check`) opens,
    so a damaged build (a truncated or missing file) is built again."""
    root = root or default_location()
    existing = current_build(root)  # first: a root that is a file is a usage error
    data_dir = data_dir or resources.data_dir()
    ingested = ingested or ingest.current_set(root)
    files = sources.input_files(data_dir, ontology_file)
    fingerprint = sources.fingerprint(files, ingest.fingerprint_part(ingested))
    if existing is not None and _built_from(existing) == fingerprint and not force and (not check or _opens(existing)):
        return BuildResult(existing, fingerprint, 0, len(files), rebuilt=False)
    finished = None if force else _finished_build(root, fingerprint)
    if finished is not None:  # made by a process killed before it pointed CURRENT at it
        _point_current(root, finished.name)
        return BuildResult(finished, fingerprint, 0, len(files), rebuilt=False)

    parsed = sources.parse_all(files)
    findings = validate.check_dataset(parsed, data_dir.parent)
    if findings:
        raise BuildError(
            f"Validation failed with {len(findings)} finding(s); the previous store is unchanged.",
            "\n".join(str(f) for f in findings),
        )
    quads = [quad for file_quads in parsed.values() for quad in file_quads]

    root.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_builds(root)
    tmp = root / f".tmp-{fingerprint}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    records = ingested.records if ingested is not None and ingested.records.exists() else None
    in_memory = records is None or records.stat().st_size <= SNAPSHOT_RECORDS_BYTES
    try:
        store = ox.Store() if in_memory else ox.Store(str(tmp))
        store.bulk_extend(derive.with_merge(quads))  # every load also writes the default graph, the merge
        if records is not None:
            try:
                store.bulk_extend(derive.with_merge(ox.parse(path=str(records), format=ox.RdfFormat.N_QUADS)))
            except SyntaxError as error:
                raise BuildError(
                    f"The ingested records {records} are damaged ({error}); the previous store is "
                    f"unchanged. Move the folder {records.parent} aside and ingest the files again."
                ) from None
        derive.complete(store)
        total = len(store) - _default_graph_size(store)
        if in_memory:
            tmp.mkdir()
            write_counted(tmp / SNAPSHOT, store.dump(format=ox.RdfFormat.N_QUADS) or b"")
        else:
            store.flush()
        del store
        final = _move_into_place(tmp, root, fingerprint)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    previous = current_build(root)
    _point_current(root, final.name)
    _remove_other_builds(root, keep={final.name, previous.name if previous else final.name})
    return BuildResult(final, fingerprint, total, len(files), rebuilt=True)


def validate_inputs(data_dir: Path | None = None, ontology_file: Path = ONTOLOGY_FILE) -> list[validate.Finding]:
    """Parse and check ontology + data without touching any store; syntax errors raise BuildError."""
    data_dir = data_dir or resources.data_dir()
    parsed = sources.parse_all(sources.input_files(data_dir, ontology_file))
    return validate.check_dataset(parsed, data_dir.parent)


def is_current(root: Path | None = None, *, data_dir: Path | None = None, ontology_file: Path = ONTOLOGY_FILE) -> bool:
    """Whether the store matches the ontology and data on disk (cheap: hashes files, parses nothing)."""
    root = root or default_location()
    existing = current_build(root)
    files = sources.input_files(data_dir, ontology_file)
    fingerprint = sources.fingerprint(files, ingest.fingerprint_part(ingest.current_set(root)))
    return existing is not None and _built_from(existing) == fingerprint


def open_store(
    root: Path | None = None, *, data_dir: Path | None = None, ontology_file: Path = ONTOLOGY_FILE
) -> tuple[Callable[[], ox.Store], Path]:
    """The current build (built first if it is missing or stale), leased so that later rebuilds
    leave it in place, and a function that opens it for reading when it is first needed (many
    commands are answered from its memo alone); a build found damaged then is built again, once."""
    result = build(root, check=False, data_dir=data_dir, ontology_file=ontology_file)
    lease(result.location)

    def opener() -> ox.Store:
        try:
            return open_build(result.location)
        except (OSError, RuntimeError, SyntaxError):  # damaged since it was built (a truncated or missing file)
            rebuilt = build(root, force=True, data_dir=data_dir, ontology_file=ontology_file)
            try:
                return open_build(rebuilt.location)
            except (OSError, RuntimeError, SyntaxError) as error:
                raise BuildError(f"Cannot open the store at {rebuilt.location}: {error}") from None

    return opener, result.location


def open_build(build_dir: Path) -> ox.Store:
    """A finished build for reading: a snapshot loaded into memory, or an on-disk store opened
    read-only. Raises OSError, RuntimeError or SyntaxError when it is damaged."""
    snapshot = Path(build_dir) / SNAPSHOT
    if not snapshot.exists():
        return ox.Store.read_only(str(build_dir))
    quads = read_counted(snapshot)
    if quads is None:
        raise OSError(f"the snapshot {snapshot} is incomplete")
    store = ox.Store()
    store.bulk_load(quads, format=ox.RdfFormat.N_QUADS)
    return store


def _default_graph_size(store: ox.Store) -> int:
    [row] = solutions(store.query(load_query("triple-count")))
    return int(row["n"].value)


def _built_from(build_dir: Path) -> str | None:
    """The fingerprint of the inputs a build folder was made from."""
    match = _BUILD_NAME.fullmatch(build_dir.name)
    return match["fingerprint"] if match else None


def _finished_build(root: Path, fingerprint: str) -> Path | None:
    """A whole build of these inputs that CURRENT does not name (builds are renamed into place only
    once finished, so one that opens is whole)."""
    for path in sorted(root.glob(f"{fingerprint}*")):
        if path.is_dir() and _built_from(path) == fingerprint and _opens(path):
            return path
    return None


def _move_into_place(tmp: Path, root: Path, fingerprint: str) -> Path:
    """Rename a finished build to its fingerprint, or to the first free `fingerprint-N`: a folder
    of the same name may be open in readers (a forced rebuild, a repair, a concurrent build)."""
    n = 1
    while True:
        final = root / (fingerprint if n == 1 else f"{fingerprint}-{n}")
        try:
            tmp.rename(final)  # fails when `final` exists and holds anything
            return final
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
        n += 1


def _remove_abandoned_builds(root: Path) -> None:
    """Delete the half-made builds of processes that are gone (killed while building), and copies
    of CURRENT a killed process never renamed (a minute old: a live one renames within moments)."""
    for path in root.glob(".tmp-*"):
        match = _TMP_NAME.fullmatch(path.name)
        if match and not _alive(int(match["pid"])):
            shutil.rmtree(path, ignore_errors=True)
    for path in root.glob(f".{_CURRENT}.*"):
        if time.time() - path.stat().st_mtime > 60:
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _opens(build_dir: Path) -> bool:
    """Whether a build opens and reads (pyoxigraph checks its files' sizes when it opens; a
    snapshot checks its count)."""
    try:
        next(iter(open_build(build_dir).quads_for_pattern(None, None, None)), None)
    except (OSError, RuntimeError, SyntaxError):
        return False
    return True


_LEASES: dict[Path, int] = {}


def lease(build_dir: Path) -> None:
    """Take this process's shared lease on a build, so no rebuild deletes it while it is read.
    Held until `release` or the process ends (the kernel drops flocks with the process)."""
    build_dir = Path(build_dir)
    if build_dir in _LEASES:
        return
    fd = os.open(_lease_file(build_dir), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_SH)
    _LEASES[build_dir] = fd


def release(build_dir: Path) -> None:
    """Give up this process's lease on a build (after closing every store open on it)."""
    fd = _LEASES.pop(Path(build_dir), None)
    if fd is not None:
        os.close(fd)
        if not Path(build_dir).is_dir():  # a build CURRENT named but that was never there, or removed
            _lease_file(Path(build_dir)).unlink(missing_ok=True)


def _lease_file(build_dir: Path) -> Path:
    return build_dir.with_name(build_dir.name + ".lease")


def is_leased(build_dir: Path) -> bool:
    """Whether some process holds a lease on the build (tried by taking it exclusively, briefly)."""
    fd = os.open(_lease_file(build_dir), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _point_current(root: Path, name: str) -> None:
    write_text(root / _CURRENT, name + "\n")


def _remove_other_builds(root: Path, keep: set[str]) -> None:
    """Delete superseded builds that no process reads (see `lease`), keeping the one just
    replaced for processes about to open it; only fingerprint-named directories are touched."""
    for path in root.iterdir():
        if path.is_dir() and path.name not in keep and _BUILD_NAME.fullmatch(path.name) and not is_leased(path):
            shutil.rmtree(path, ignore_errors=True)
            _lease_file(path).unlink(missing_ok=True)
