"""What a build derives from the loaded graphs: lineages, evidence links, and the default graph as
their merge.

- `tkg:lineage` links every therapy to itself and to each modality above it, in the derived graph.
  Queries follow one triple instead of the path `(tkg:modality|skos:broader)*`, whose zero-length
  case engines evaluate differently (Virtuoso answered 1 row where Oxigraph answered 18).
- `tkg:evidenceOf` links each curated approval, label event, trial, outcome, adverse-event
  observation and award to every therapy in its subject's lineage. Asked per therapy, the same join
  started from the therapy and walked every ingested trial of its products: 3.4 s for CAR-T at 10^5
  registry records, against 52 ms for all therapies at once here.
- The default graph is the RDF merge of all named graphs: each distinct triple once. Oxigraph's
  union default graph is a bag (a fact stated by three sources matched three times, inflating
  COUNT), and a store without a union setting answers nothing; a stored merge is a set everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox

from kg import vocab
from kg.graph import solutions
from kg.resources import load_query

DERIVED_GRAPH = vocab.GRAPH + "derived"
LINEAGES = load_query("lineages")  # also run by the rdflib baseline (scripts/rdflib_baseline.py)
EVIDENCE = load_query("evidence-links")


def lineage_quads(store: ox.Store) -> Iterator[ox.Quad]:
    """`?therapy tkg:lineage ?holder` for the therapy itself and every modality above it."""
    graph, lineage = ox.NamedNode(DERIVED_GRAPH), ox.NamedNode(vocab.TKG + "lineage")
    rows = list(solutions(store.query(LINEAGES, prefixes=vocab.PREFIXES, use_default_graph_as_union=True)))
    for row in rows:
        yield ox.Quad(row["therapy"], lineage, row["holder"], graph)


def evidence_quads(store: ox.Store) -> Iterator[ox.Quad]:
    """`?node tkg:evidenceOf ?therapy` for curated evidence nodes; needs the lineages in the store."""
    graph, evidence_of = ox.NamedNode(DERIVED_GRAPH), ox.NamedNode(vocab.TKG + "evidenceOf")
    rows = list(solutions(store.query(EVIDENCE, prefixes=vocab.PREFIXES, use_default_graph_as_union=True)))
    for row in rows:
        yield ox.Quad(row["node"], evidence_of, row["therapy"], graph)


def merge_into_default_graph(store: ox.Store) -> None:
    """Write every triple of every named graph into the default graph (a set: duplicates collapse)."""
    default = ox.DefaultGraph()
    named = (quad for quad in store.quads_for_pattern(None, None, None, None) if quad.graph_name != default)
    store.bulk_extend(ox.Quad(q.subject, q.predicate, q.object, default) for q in named)
