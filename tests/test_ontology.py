"""The ontology documents itself: every term has a label and a definition, and drives comparisons."""

from __future__ import annotations

from functools import cache

import pyoxigraph as ox
import pytest

from kg import vocab
from kg.resources import ONTOLOGY_FILE


@cache
def _ontology() -> ox.Store:
    """The ontology alone, loaded when the first test asks (not when the module is imported)."""
    store = ox.Store()
    store.load(path=str(ONTOLOGY_FILE), format=ox.RdfFormat.TURTLE)
    return store


def _terms() -> list[str]:
    query = f"SELECT DISTINCT ?term WHERE {{ ?term a ?type . FILTER(STRSTARTS(STR(?term), '{vocab.TKG}')) }}"
    return sorted(s["term"].value for s in _ontology().query(query))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "term" in metafunc.fixturenames:
        metafunc.parametrize("term", _terms(), ids=lambda t: t.rsplit("#", 1)[1])


def test_term_has_one_label_and_a_definition(term: str) -> None:
    labels = list(
        _ontology().quads_for_pattern(ox.NamedNode(term), ox.NamedNode(vocab.PREFIXES["rdfs"] + "label"), None)
    )
    definitions = list(
        _ontology().quads_for_pattern(ox.NamedNode(term), ox.NamedNode(vocab.PREFIXES["skos"] + "definition"), None)
    )
    assert len(labels) == 1, f"{term} needs exactly one rdfs:label"
    assert definitions, f"{term} needs a skos:definition"


def test_every_comparable_property_has_a_group_and_an_order() -> None:
    missing = list(
        _ontology().query("""
        PREFIX tkg: <https://w3id.org/therapy-kg/ontology#>
        SELECT ?p WHERE { ?p a tkg:ComparableProperty
          FILTER NOT EXISTS { ?p tkg:comparisonGroup ?g ; tkg:comparisonOrder ?o } }""")
    )
    assert missing == []
    assert len(_terms()) > 100
