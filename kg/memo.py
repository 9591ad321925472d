"""Answers to the internal queries, kept beside the build they were computed from.

A build never changes once written (new inputs make a new directory), so an internal query's
answer for given bindings is the same every time it is asked of that build. The first command to
ask stores the answer as SPARQL TSV results in `<build>/memo/`; later commands read it back instead
of loading the store and evaluating the query again, which is most of what `kg compare` and
`kg show` would otherwise spend.

The key is the query's full text, its bindings, the prefixes and the base IRI, so an edited query
is a new entry; answers are kept as RDF terms and converted to Python values on every read, so a
change in that conversion applies at once. Each file ends with its line count, so a cut file is
recognised and computed again; a memo that cannot be written (a read-only store) is skipped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kg.atomic import read_counted, write_counted
from kg.errors import UsageError


class Memo:
    """The stored query answers of one build."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @staticmethod
    def key(*parts: object) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]

    def get(self, key: str) -> bytes | None:
        """The TSV results stored under `key`, if they are there and whole."""
        return read_counted(self.directory / f"{key}.tsv")

    def put(self, key: str, tsv: bytes) -> None:
        try:
            self.directory.mkdir(exist_ok=True)
            write_counted(self.directory / f"{key}.tsv", tsv)
        except (OSError, UsageError):
            pass
