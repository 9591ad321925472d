"""What a build derives from the loaded graphs: lineages, evidence links, trial counts, and the
default graph as their merge.

- `tkg:lineage` links every therapy to itself and to each modality above it, in the derived graph.
  Queries follow one triple instead of the path `(tkg:modality|skos:broader)*`, whose zero-length
  case engines evaluate differently (Virtuoso answered 1 row where Oxigraph answered 18).
- `skos:broaderTransitive` links every concept to each concept above it (`skos:broader`, one or more
  steps), as SKOS defines it, so "every immune-related adverse event" is one triple: with the path
  `skos:broader+` joined to a named graph, Virtuoso answered no rows on about one fresh server in
  four (the same data, a different plan).
- `tkg:evidenceOf` links each curated approval, label event, trial, outcome, adverse-event
  observation and award to every therapy in its subject's lineage. Asked per therapy, the same join
  started from the therapy and walked every ingested trial of its products: 3.4 s for CAR-T at 10^5
  registry records, against 52 ms for all therapies at once here.
- Trial counts: every trial, curated or ingested, per therapy (its own, its products' and its
  narrower modalities'), phase and overall status (`tkg:TrialCount`, the trial-counts graph), and
  the ingested ones per therapy and phase (`tkg:RegisteredTrialCount`, the registry-summary graph,
  the row comparisons show). Counting a modality's subtree at query time took 10 s at 10^5 records.
- The default graph is the RDF merge of all named graphs, written as they are loaded (`with_merge`): each distinct triple once. Oxigraph's
  union default graph is a bag (a fact stated by three sources matched three times, inflating
  COUNT), and a store without a union setting answers nothing; a stored merge is a set everywhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping

import pyoxigraph as ox

from kg import vocab
from kg.resources import load_query
from kg.terms import solutions

DERIVED_GRAPH = vocab.GRAPH + "derived"
LINEAGE = ox.NamedNode(vocab.TKG + "lineage")
LINKS: tuple[tuple[str, str, ox.NamedNode, str], ...] = (
    (load_query("lineages"), "therapy", LINEAGE, "holder"),
    (
        load_query("broader-transitive"),
        "narrower",
        ox.NamedNode(vocab.PREFIXES["skos"] + "broaderTransitive"),
        "broader",
    ),
    (load_query("evidence-links"), "node", ox.NamedNode(vocab.TKG + "evidenceOf"), "therapy"),  # reads the lineages
)
"""The links a build derives, in order: (query, subject variable, predicate, object variable).
Also run by the rdflib baseline (scripts/rdflib_baseline.py)."""
TRIAL_COUNTS_GRAPH = vocab.GRAPH + "trial-counts"
REGISTRY_SUMMARY_GRAPH = vocab.GRAPH + "registry-summary"
ALL_TRIALS = load_query("all-trials")  # also run by the rdflib baseline


def complete(store: ox.Store) -> None:
    """Add what a build derives to a store whose default graph holds the merge of its named graphs
    (the derivations read the merge: a union over 10^5 record graphs took ten times as long), each
    derived quad with its triple in the merge."""
    graph = ox.NamedNode(DERIVED_GRAPH)
    lineages: dict[str, set[str]] = defaultdict(set)
    for query, subject, predicate, value in LINKS:
        links = list(solutions(store.query(query, prefixes=vocab.PREFIXES)))
        store.bulk_extend(with_merge(ox.Quad(row[subject], predicate, row[value], graph) for row in links))
        if predicate == LINEAGE:  # `?therapy tkg:lineage ?holder`: the therapy itself and every modality above it
            for row in links:
                lineages[row[subject].value].add(row[value].value)
    trials = solutions(store.query(ALL_TRIALS, prefixes=vocab.PREFIXES))
    rows = [
        (row["trial"].value, row["subject"].value, _text(row["phase"]), _text(row["status"]), row["record"] is not None)
        for row in trials
    ]
    store.bulk_extend(with_merge(trial_count_quads(rows, lineages)))


TrialRow = tuple[str, str, str, str, bool]
"""A trial, a therapy it evaluates, a phase or "", an overall status or "", whether it was ingested."""


def trial_count_quads(rows: Iterable[TrialRow], lineages: Mapping[str, set[str]]) -> Iterator[ox.Quad]:
    """The counts of one pass over the trials: every trial, curated and ingested, per therapy, phase
    and overall status (`tkg:TrialCount`, for the named queries that count them), and the ingested
    ones per therapy and phase (`tkg:RegisteredTrialCount`, the row comparisons show)."""
    rows = list(rows)
    for graph_iri, class_name, counted in (
        (TRIAL_COUNTS_GRAPH, "TrialCount", [(t, s, p, status) for t, s, p, status, _ in rows]),
        (REGISTRY_SUMMARY_GRAPH, "RegisteredTrialCount", [(t, s, p, "") for t, s, p, _, ingested in rows if ingested]),
    ):
        graph = ox.NamedNode(graph_iri)
        for triple in count_triples(counted, lineages, graph_iri, class_name):
            yield ox.Quad(triple.subject, triple.predicate, triple.object, graph)


def _text(term: ox.NamedNode | ox.Literal | ox.BlankNode | None) -> str:
    return "" if term is None else term.value


def count_triples(
    rows: Iterable[tuple[str, str, str, str]], lineages: Mapping[str, set[str]], node_base: str, class_name: str
) -> Iterator[ox.Triple]:
    """Nodes of `class_name` (named `node_base/N`) counting the distinct trials of each therapy (its
    own, its products' and its narrower modalities'), phase and, where rows give one, status. `rows`
    are (trial, subject, phase or "", status or ""); `lineages` map a therapy to itself and every
    modality above it. Counted once per build: a modality's subtree at query time took 10 s at 10^5
    records. (The rdflib baseline of the benchmarks derives the same counts with it.)"""
    trials: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for trial, subject, phase, status in rows:
        for therapy in lineages.get(subject) or {subject}:
            trials[(therapy, phase, "")].add(trial)
            if status:
                trials[(therapy, phase, status)].add(trial)
    tkg, count = vocab.TKG, ox.NamedNode(vocab.PREFIXES["xsd"] + "nonNegativeInteger")
    for number, ((therapy, phase, status), counted) in enumerate(sorted(trials.items())):
        node = ox.NamedNode(f"{node_base}/{number}")
        yield ox.Triple(node, ox.NamedNode(vocab.PREFIXES["rdf"] + "type"), ox.NamedNode(tkg + class_name))
        yield ox.Triple(node, ox.NamedNode(tkg + "countOf"), ox.NamedNode(therapy))
        yield ox.Triple(node, ox.NamedNode(tkg + "trialCount"), ox.Literal(str(len(counted)), datatype=count))
        if phase:
            yield ox.Triple(node, ox.NamedNode(tkg + "countedPhase"), ox.NamedNode(phase))
        if status:
            yield ox.Triple(node, ox.NamedNode(tkg + "countedStatus"), ox.Literal(status))


def with_merge(quads: Iterable[ox.Quad]) -> Iterator[ox.Quad]:
    """Each quad of a named graph, and its triple in the default graph: a store loaded through this
    has the merge of its named graphs as its default graph (a set: duplicates collapse). Copying the
    triples as they are loaded took 38 s at 10^5 registry records, against 54 s for loading them and
    then reading every quad back to copy it."""
    default = ox.DefaultGraph()
    for quad in quads:
        yield quad
        if quad.graph_name != default:
            yield ox.Quad(quad.subject, quad.predicate, quad.object)  # naming the default graph took 2.5x as long


def merge_into_default_graph(store: ox.Store) -> None:
    """Write every triple of every named graph of a store into its default graph."""
    store.bulk_extend(with_merge(list(store.quads_for_pattern(None, None, None, None))))
