"""Therapy KG: a sourced knowledge graph comparing cancer immunotherapies.

import kg
graph = kg.open_graph()              # builds on first use, rebuilds when data change
graph.resolve("car t")               # TherapyRef(id='car-t', ...)
graph.describe("kymriah")            # Description: properties, approvals, trials, sources
graph.select("SELECT ?s WHERE { ?s a tkg:Product }")
kg.query_df("approvals-by-disease", disease="NSCLC")   # a named query as a DataFrame (pandas extra)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kg.errors import BuildError, KgError, QueryError, UnknownTherapy, UsageError
from kg.graph import TherapyGraph
from kg.store import BuildResult, default_location

__all__ = [
    "BuildError",
    "BuildResult",
    "KgError",
    "QueryError",
    "TherapyGraph",
    "UnknownTherapy",
    "UsageError",
    "build",
    "default_location",
    "open_graph",
    "query_df",
    "validate",
]
__version__ = "0.1.0"


def build(store: str | Path | None = None, *, force: bool = False) -> BuildResult:
    """Build the store from the bundled ontology and data (skipped when already current)."""
    from kg import store as stores

    return stores.build(Path(store) if store else None, force=force)


def open_graph(store: str | Path | None = None) -> TherapyGraph:
    """Open the graph read-only, building or rebuilding it first if needed."""
    from kg import store as stores

    opener, location = stores.open_store(Path(store) if store else None)
    return TherapyGraph(location=location, opener=opener)


def query_df(name_or_query: str, store: str | Path | None = None, **params: str) -> Any:
    """A named query (by name, parameters checked and typed as it declares them) or SPARQL text (parameters
    bound as plain values) as a pandas DataFrame with typed columns. Needs the `pandas` extra."""
    from kg.query import bindings, named, named_queries

    graph = open_graph(store)
    query = named(name_or_query) if name_or_query in named_queries() else None
    return graph.select_df(query.text if query else name_or_query, bindings(graph, query, params))


def validate() -> list:
    """Check the bundled ontology and data (SHACL + provenance) without writing a store."""
    from kg import store as stores

    return stores.validate_inputs()
