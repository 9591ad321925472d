"""Validation of a dataset before it becomes the store: SHACL shapes plus the graph rules.

SHACL (pyshacl) checks the shapes in `ontology/shapes.ttl` on the union of all graphs. The graph
rules need to know which named graph a triple is in, or to follow a therapy's lineage, which SHACL
cannot, so they are SPARQL queries over the dataset: the catalogue may only name and classify
things, every source file must describe the source whose graph it is, and no therapy may have —
stated or from a modality above it — a value that the ontology's consistency rules rule out
(autologous cells and HLA matching, off-the-shelf use, a high risk of GvHD), and no source may state
a property for a therapy outside the modalities it is specific to. All findings read the same way:
where, focus node, path, message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg import vocab
from kg.graph import solutions
from kg.resources import SHAPES_FILE, load_query
from kg.sources import InputFile
from kg.sparqltext import with_values


@dataclass(frozen=True)
class Finding:
    """One violation: the node, the property path, what is wrong, and the files that state the node."""

    focus: str
    path: str
    message: str
    where: tuple[str, ...] = ()
    value: str = ""

    def __str__(self) -> str:
        where = ", ".join(self.where) or "(no file)"
        value = f" (value: {self.value})" if self.value else ""
        path = f" {self.path}" if self.path else ""
        return f"{where}: {self.focus}{path}: {self.message}{value}"


PROVENANCE_RULES = (
    "rule-catalogue-holds-no-facts",
    "rule-catalogue-lists-entities",
    "rule-source-describes-itself",
    "rule-consistency",
    "rule-property-outside-its-modality",
)
"""Rules over named graphs, in kg/sparql/: each SELECTs ?graph ?focus ?path ?message (and optionally
?value, ?holder), with the ontology's graph bound to ?ontology."""


Locations = dict[str, dict[str, str]]  # subject IRI -> {file name: graph IRI}


def check_provenance(store: ox.Store, where: Locations) -> list[Finding]:
    """Run the graph rules on a store holding the dataset's named graphs (lineages are followed
    across them: the default graph is their union; every rule reports DISTINCT findings)."""
    findings = []
    ontology = {"ontology": ox.NamedNode(vocab.ONTOLOGY_GRAPH)}
    for rule in PROVENANCE_RULES:
        text = with_values(load_query(rule), ontology)
        answer = store.query(text, prefixes=vocab.PREFIXES, use_default_graph_as_union=True)
        for row in solutions(answer):
            focus, graph = row["focus"].value, row["graph"].value
            subject = (_optional(row, "holder") or row["focus"]).value  # who the offending triple is about
            files = tuple(name for name, g in where.get(subject, {}).items() if g == graph)
            findings.append(
                Finding(
                    focus=vocab.compact(focus),
                    path=vocab.compact(row["path"].value),
                    message=row["message"].value,
                    where=files,
                    value=_show(_optional(row, "value")),
                )
            )
    return findings


def check_shapes(quads: Iterable[ox.Quad], where: Locations) -> list[Finding]:
    """Validate the union of all graphs against the SHACL shapes with pyshacl."""
    import pyshacl
    import rdflib
    from rdflib.namespace import SH

    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    data = rdflib.Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    shapes = rdflib.Graph().parse(SHAPES_FILE, format="turtle")
    conforms, results, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", allow_warnings=True)
    if conforms:
        return []
    findings = []
    for result in results.subjects(rdflib.RDF.type, SH.ValidationResult):
        focus = str(results.value(result, SH.focusNode))
        path = results.value(result, SH.resultPath)
        value = results.value(result, SH.value)
        findings.append(
            Finding(
                focus=vocab.compact(focus),
                path=vocab.compact(str(path)) if isinstance(path, rdflib.URIRef) else "",
                message=str(results.value(result, SH.resultMessage) or "violates a shape"),
                where=tuple(where.get(focus, {})),
                value=_show_rdflib(value),
            )
        )
    return sorted(findings, key=lambda f: (f.where, f.focus, f.path, f.message))


def check_dataset(parsed: dict[InputFile, list[ox.Quad]], root: Path) -> list[Finding]:
    """All findings for a parsed dataset: provenance rules on its named graphs, then SHACL shapes."""
    quads = [quad for file_quads in parsed.values() for quad in file_quads]
    where = locate(parsed, root)
    store = ox.Store()
    store.extend(quads)
    return check_provenance(store, where) + check_shapes(quads, where)


def locate(parsed: dict[InputFile, list[ox.Quad]], root: Path) -> Locations:
    """Map each subject IRI to the files (and their graphs) that state something about it."""
    files: dict[str, dict[str, str]] = defaultdict(dict)
    for file, quads in parsed.items():
        name = _relative(file.path, root)
        for quad in quads:
            subject = quad.subject
            files[str(subject) if isinstance(subject, ox.Triple) else subject.value][name] = file.graph
        files[file.graph][name] = file.graph
    return {subject: dict(sorted(names.items())) for subject, names in files.items()}


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _optional(row: ox.QuerySolution, name: str) -> ox.NamedNode | ox.Literal | ox.BlankNode | None:
    try:
        return row[name]
    except KeyError:
        return None


def _show(term: object) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.Literal):
        return repr(term.value)
    return vocab.compact(term.value) if isinstance(term, ox.NamedNode) else str(term)


def _show_rdflib(term: object) -> str:
    import rdflib

    if term is None:
        return ""
    if isinstance(term, rdflib.Literal):
        return repr(str(term))
    return vocab.compact(str(term))
