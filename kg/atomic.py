"""Writing output files so a reader never sees half a file and a failure never clobbers the old one."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from kg.errors import UsageError


@contextmanager
def replacing(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """A file object whose content replaces `path` only when the block completes without error.

    The temporary file gets the permissions a newly created file would (mkstemp's are 0600).
    """
    import tempfile  # only writers pay for it; most commands only read

    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a directory: give the name of a file to write (in it, or elsewhere).")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    except OSError as error:
        raise UsageError(f"Cannot write {path}: {error.strerror or error}") from None
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding="utf-8") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically."""
    with replacing(path) as handle:
        handle.write(text)


def write_file(path: Path, content: str | bytes) -> None:
    """Write text or bytes to `path` atomically."""
    with replacing(path, "wb" if isinstance(content, bytes) else "w") as handle:
        handle.write(content)


_COUNT = re.compile(rb"# (\d+) lines")


def write_counted(path: Path, data: bytes) -> None:
    """Write line-based `data` atomically, ending with a line that counts its lines, so that a copy
    cut short, even at a line end, is recognised (`read_counted`)."""
    write_file(path, data + b"# %d lines\n" % data.count(b"\n"))


def read_counted(path: Path) -> bytes | None:
    """What `write_counted` wrote, without the count; None if the file is missing or not whole."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    body, _, trailer = data[:-1].rpartition(b"\n")
    count = _COUNT.fullmatch(trailer)
    whole = count is not None and data.endswith(b"\n") and body.count(b"\n") + 1 == int(count[1])
    return body + b"\n" if whole else None
