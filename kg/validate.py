"""Validation of a dataset before it becomes the store: SHACL shapes plus the graph rules.

SHACL (pyshacl) checks the shapes in `ontology/shapes.ttl` on the union of all graphs. The graph
rules need to know which named graph a triple is in, or to follow a therapy's lineage, which SHACL
cannot, so they are SPARQL queries over the dataset: the catalogue may only name and classify
things, every source file must describe the source whose graph it is, and no therapy may have —
stated or from a modality above it — a value that the ontology's consistency rules rule out
(autologous cells and HLA matching, off-the-shelf use, a high risk of GvHD). All findings read the
same way: where, focus node, path, message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg import vocab
from kg.graph import solutions
from kg.resources import SHAPES_FILE
from kg.sources import InputFile


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


_CATALOGUE_CORE = (
    "rdf:type rdfs:label rdfs:comment skos:altLabel skos:definition skos:exactMatch skos:broader skos:notation"
)

# Rules over named graphs. Each SELECTs ?graph ?focus ?path ?message (and optionally ?value).
PROVENANCE_RULES = [
    f"""
    SELECT ?graph ?focus ?path ?value ?message WHERE {{
      BIND(<{vocab.CATALOGUE_GRAPH}> AS ?graph)
      GRAPH ?graph {{ ?focus ?path ?value }}
      FILTER(?path NOT IN ({", ".join(_CATALOGUE_CORE.split())}))
      FILTER NOT EXISTS {{ GRAPH <{vocab.ONTOLOGY_GRAPH}> {{ ?path a tkg:CatalogueProperty }} }}
      BIND("is a fact, not a name or classification: state it in the file of the source that makes it (data/sources/)" AS ?message)
    }}""",
    f"""
    SELECT ?graph ?focus ?path ?value ?message WHERE {{
      BIND(<{vocab.CATALOGUE_GRAPH}> AS ?graph)
      GRAPH ?graph {{ ?focus a ?value }}
      BIND(rdf:type AS ?path)
      FILTER NOT EXISTS {{
        GRAPH <{vocab.ONTOLOGY_GRAPH}> {{ ?value rdfs:subClassOf* ?kind }}
        VALUES ?kind {{ tkg:Therapy tkg:Target tkg:Disease tkg:AdverseEvent tkg:Organisation }}
      }}
      BIND("the catalogue only lists therapies, targets, diseases, adverse events and organisations; evidence belongs in a source file" AS ?message)
    }}""",
    f"""
    SELECT ?graph ?focus ?path ?message WHERE {{
      GRAPH ?focus {{ ?s ?p ?o }}
      BIND(?focus AS ?graph)
      FILTER(STRSTARTS(STR(?focus), "{vocab.SOURCE}"))
      FILTER NOT EXISTS {{
        GRAPH ?focus {{ ?focus a ?class }}
        GRAPH <{vocab.ONTOLOGY_GRAPH}> {{ ?class rdfs:subClassOf* tkg:Source }}
      }}
      BIND(rdf:type AS ?path)
      BIND("a source file must describe its own source (the IRI src:<file name>) as a tkg:Source" AS ?message)
    }} GROUP BY ?graph ?focus ?path ?message""",
    f"""
    SELECT DISTINCT ?graph ?focus ?holder ?path ?value ?message WHERE {{
      GRAPH <{vocab.ONTOLOGY_GRAPH}> {{
        ?rule a tkg:ConsistencyRule ; rdfs:label ?ruleLabel ; tkg:whenProperty ?when ; tkg:whenValue ?whenValue ;
              tkg:excludesProperty ?path ; tkg:excludesValue ?value .
      }}
      GRAPH ?g1 {{ ?stater ?when ?whenValue }}
      ?focus (tkg:modality|skos:broader)* ?stater .
      FILTER NOT EXISTS {{ ?focus (tkg:modality|skos:broader)* ?other . GRAPH ?g3 {{ ?other ?when ?otherValue }}
                          FILTER(?otherValue != ?whenValue) }}
      ?focus (tkg:modality|skos:broader)* ?holder .
      GRAPH ?graph {{ ?holder ?path ?value }}
      FILTER(STRSTARTS(STR(?graph), "{vocab.SOURCE}"))
      BIND(CONCAT("contradicts the rule '", ?ruleLabel, "' (its ", STRAFTER(STR(?when), "#"), " is ",
                  STRAFTER(STR(?whenValue), "#"), ")",
                  IF(?holder = ?focus, "", CONCAT("; the value is stated for ", STRAFTER(STR(?holder), "/resource/"), " above it")),
                  "; attach the claim to what its source describes") AS ?message)
    }}""",
]


Locations = dict[str, dict[str, str]]  # subject IRI -> {file name: graph IRI}


def check_provenance(store: ox.Store, where: Locations) -> list[Finding]:
    """Run the graph rules on a store holding the dataset's named graphs (lineages are followed
    across them: the default graph is their union; every rule reports DISTINCT findings)."""
    findings = []
    for rule in PROVENANCE_RULES:
        for row in solutions(store.query(rule, prefixes=vocab.PREFIXES, use_default_graph_as_union=True)):
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
