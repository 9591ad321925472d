"""Namespaces of the project and the prefixes predeclared for every SPARQL query."""

from __future__ import annotations

BASE = "https://w3id.org/therapy-kg/"
TKG = BASE + "ontology#"
RESOURCE = BASE + "resource/"
SOURCE = BASE + "source/"
GRAPH = BASE + "graph/"

ONTOLOGY_GRAPH = BASE + "ontology"
CATALOGUE_GRAPH = GRAPH + "catalogue"

PREFIXES: dict[str, str] = {
    "tkg": TKG,
    "tkgr": RESOURCE,
    "src": SOURCE,
    "tkgg": GRAPH,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "sh": "http://www.w3.org/ns/shacl#",
}


def compact(iri: str) -> str:
    """Shorten an IRI with the project prefixes (`tkgr:car-t`); unknown IRIs come back whole."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


def expand(name: str) -> str:
    """Inverse of `compact` for prefixed names; full IRIs pass through."""
    prefix, sep, local = name.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return name


def short_id(iri: str) -> str:
    """`https://w3id.org/therapy-kg/resource/car-t` -> `car-t`; other IRIs in compact form."""
    if iri.startswith(RESOURCE) and len(iri) > len(RESOURCE):
        return iri[len(RESOURCE) :]
    return compact(iri)
