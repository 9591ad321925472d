"""The input files of a build (ontology, catalogue, one file per source) and their named graphs.

Each source file under `data/sources/` is loaded into the named graph whose IRI is the source
itself (`src:<file stem>`), so `GRAPH ?source { ... }` answers which source states a fact. The
catalogue (names and classification) and the ontology get graphs of their own.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg import resources, vocab
from kg.errors import BuildError
from kg.resources import ONTOLOGY_FILE, SHAPES_FILE

FORMAT_VERSION = "3"  # bump when the way files become a build changes (derivations, layout), to force a rebuild


@dataclass(frozen=True)
class InputFile:
    """One Turtle file and the named graph it is loaded into."""

    path: Path
    graph: str

    @property
    def kind(self) -> str:
        if self.graph == vocab.ONTOLOGY_GRAPH:
            return "ontology"
        return "catalogue" if self.graph == vocab.CATALOGUE_GRAPH else "source"


def input_files(data_dir: Path | None = None, ontology_file: Path = ONTOLOGY_FILE) -> list[InputFile]:
    """List the files a build reads (from `data_dir`, default `resources.data_dir()`), in a stable order;
    stray Turtle files are an error. (Every command lists them to check the store is current, so this
    walks the folder once, with os.walk.)"""
    data_dir = data_dir or resources.data_dir()
    turtle = {folder: sorted(n for n in names if n.endswith(".ttl")) for folder, _, names in os.walk(data_dir)}
    catalogue, sources = str(data_dir / "catalogue"), str(data_dir / "sources")
    files = [InputFile(ontology_file, vocab.ONTOLOGY_GRAPH)]
    files += [InputFile(Path(catalogue, name), vocab.CATALOGUE_GRAPH) for name in turtle.pop(catalogue, [])]
    files += [
        InputFile(Path(sources, name), vocab.SOURCE + name.removesuffix(".ttl")) for name in turtle.pop(sources, [])
    ]
    stray = sorted(os.path.join(folder, name) for folder, names in turtle.items() for name in names)
    if stray:
        raise BuildError("Turtle files outside data/catalogue/ and data/sources/ are not loaded: " + ", ".join(stray))
    return files


def fingerprint(files: list[InputFile], extra: bytes = b"") -> str:
    """Hash of everything a build depends on: file contents, shapes, the store library version,
    and `extra` (the manifest of ingested registry records)."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}|{ox.__version__}".encode())
    for path in [SHAPES_FILE, *(f.path for f in files)]:
        digest.update(f"|{path.name}|".encode())
        digest.update(path.read_bytes())
    digest.update(b"|ingested|" + extra)
    return digest.hexdigest()[:16]


def parse(file: InputFile) -> list[ox.Quad]:
    """Parse one file into quads of its named graph; a syntax error names file:line:column."""
    graph = ox.NamedNode(file.graph)
    try:
        triples = ox.parse(path=str(file.path), format=ox.RdfFormat.TURTLE)
        return [ox.Quad(q.subject, q.predicate, q.object, graph) for q in triples]
    except SyntaxError as error:
        where = f"{file.path}:{error.lineno}:{error.offset}" if error.lineno else str(file.path)
        raise BuildError(f"Syntax error in {where}: {error.msg}") from None


def parse_all(files: list[InputFile]) -> dict[InputFile, list[ox.Quad]]:
    """Parse every input file, reporting all syntax errors at once rather than the first."""
    parsed: dict[InputFile, list[ox.Quad]] = {}
    errors: list[str] = []
    for file in files:
        try:
            parsed[file] = parse(file)
        except BuildError as error:
            errors.append(str(error))
    if errors:
        raise BuildError(f"{len(errors)} file(s) could not be parsed.", "\n".join(errors))
    return parsed


def data_version(data_dir: Path | None = None) -> str:
    """The curated data's version: the first `## ` heading of data/CHANGELOG.md (`0.2.0`)."""
    changelog = (data_dir or resources.data_dir()) / "CHANGELOG.md"
    for line in changelog.read_text(encoding="utf-8").splitlines() if changelog.exists() else []:
        if line.startswith("## "):
            return line[3:].split(" ", 1)[0]
    return "unversioned"
