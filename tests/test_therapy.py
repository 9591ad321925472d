"""Name resolution, inheritance and descriptions (on the small invented graph, tests/data/mini)."""

from __future__ import annotations

import pytest

import kg
from kg.errors import UnknownTherapy, UsageError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("car-t", "car-t"),
        ("CAR-T", "car-t"),
        ("car t", "car-t"),
        ("CAR T-cell therapy", "car-t"),
        ("chimeric antigen receptor T-cell therapy", "car-t"),
        ("car-nk", "car-nk"),
        ("Testacel", "testagene-autoleucel"),
        ("testagene autoleucel", "testagene-autoleucel"),
        ("TST-019", "testagene-autoleucel"),
        ("tst 019", "testagene-autoleucel"),
        ("TESTACEL", "testagene-autoleucel"),
        ("exampa", "exampumab"),
        ("EX-1", "exampumab"),
        ("universal testagene", "donorcel"),
        ("checkpoint inhibitor", "checkpoint-inhibitor"),
    ],
)
def test_resolves_ids_labels_brands_generics_codes_and_synonyms(
    graph: kg.TherapyGraph, name: str, expected: str
) -> None:
    assert graph.resolve(name).id == expected


def test_unknown_name_suggests_close_matches(graph: kg.TherapyGraph) -> None:
    with pytest.raises(UnknownTherapy) as caught:
        graph.resolve("testacl")
    assert "testagene-autoleucel" in caught.value.suggestions
    assert caught.value.exit_code == 2


def test_unrelated_name_has_no_misleading_suggestion(graph: kg.TherapyGraph) -> None:
    with pytest.raises(UnknownTherapy) as caught:
        graph.resolve("zzzzzz")
    assert caught.value.suggestions == []


def test_empty_name_is_a_usage_error(graph: kg.TherapyGraph) -> None:
    with pytest.raises(UsageError):
        graph.resolve("  -- ")


def _row(description, prop: str):
    return next(row for row in description.properties if row.key == prop)


def test_product_inherits_modality_values_and_says_from_where(graph: kg.TherapyGraph) -> None:
    testacel = graph.describe("testacel")
    crs = _row(testacel, "tkg:crsRisk")
    assert [f.value for f in crs.facts] == ["tkg:RiskHigh"]
    assert crs.facts[0].inherited_from == "car-t"
    assert crs.facts[0].sources == ["src:review-2021"]


def test_own_value_wins_over_inherited(graph: kg.TherapyGraph) -> None:
    source = _row(graph.describe("testacel"), "tkg:cellSource")
    assert [(f.value, f.inherited_from) for f in source.facts] == [("tkg:Autologous", None)]


def test_conflicting_sources_are_all_kept(graph: kg.TherapyGraph) -> None:
    gvhd = _row(graph.describe("car-nk"), "tkg:gvhdRisk")
    by_value = {f.value: f.sources for f in gvhd.facts}
    assert by_value == {"tkg:RiskMinimal": ["src:popular-2020"], "tkg:RiskLow": ["src:review-2021"]}


def test_every_comparable_property_has_a_row_even_without_data(graph: kg.TherapyGraph) -> None:
    rows = graph.describe("car-nk").properties
    assert len({row.key for row in rows}) == len(rows)
    assert any(not row.facts for row in rows)
    groups = [row.group for row in rows]
    assert groups.index("manufacturing") < groups.index("safety") < groups.index("mechanism")


def test_modality_description_includes_trials_of_its_products(graph: kg.TherapyGraph) -> None:
    trials = graph.describe("car-nk").of_kind("trial")
    assert [t.first("nctId") for t in trials] == ["NCT09990001"]


# --- scoped claims and inheritance that never contradicts a product ---------------------------


def test_an_autologous_product_is_never_shown_needing_hla_matching(graph: kg.TherapyGraph) -> None:
    description = graph.describe("testacel")
    assert [f.value for f in _row(description, "tkg:cellSource").facts] == ["tkg:Autologous"]
    assert "autologous-car-t" in [ref.id for ref in description.lineage]
    assert _row(description, "tkg:hlaMatchingRequired").facts == []
    assert _row(description, "tkg:gvhdRisk").facts == []
    assert [f.value for f in _row(description, "tkg:offTheShelf").facts] == [False]


def test_car_t_says_what_holds_for_each_cell_source(graph: kg.TherapyGraph) -> None:
    car_t = graph.describe("car-t")
    hla = _row(car_t, "tkg:hlaMatchingRequired")
    assert [(f.value, f.applies_to, f.note) for f in hla.facts] == [(True, "allogeneic-car-t", "for allogeneic-car-t")]
    assert hla.facts[0].sources == ["src:review-2021"]
    sources = {f.value: f.applies_to for f in _row(car_t, "tkg:cellSource").facts}
    assert sources == {"tkg:Allogeneic": "allogeneic-car-t", "tkg:Autologous": "autologous-car-t"}
    assert not _row(car_t, "tkg:cellSource").conflict  # two sub-modalities, not two disagreeing sources


def test_seed_contrast_car_nk_against_allogeneic_car_t(graph: kg.TherapyGraph) -> None:
    assert graph.resolve("allogeneic CAR-T").id == "allogeneic-car-t"
    car_nk, allogeneic = graph.describe("car-nk"), graph.describe("allogeneic car-t")
    assert [f.value for f in _row(car_nk, "tkg:hlaMatchingRequired").facts] == [False]
    assert [f.value for f in _row(allogeneic, "tkg:hlaMatchingRequired").facts] == [True]
    assert [f.value for f in _row(allogeneic, "tkg:gvhdRisk").facts] == ["tkg:RiskHigh"]


def test_a_tcr_knockout_product_does_not_inherit_the_allogeneic_gvhd_claim(graph: kg.TherapyGraph) -> None:
    """Donorcel's donor T cells lack the T-cell receptor: the general claim about allogeneic CAR-T
    stays with the modality and is not shown for the product, whose own facts come from its report."""
    donorcel = graph.describe("donorcel")
    assert "allogeneic-car-t" in [ref.id for ref in donorcel.lineage]
    assert {f.value for f in _row(donorcel, "tkg:geneEdit").facts} == {"tkg:TracKnockout", "tkg:Cd52Knockout"}
    assert _row(donorcel, "tkg:gvhdRisk").facts == []
    [hla] = _row(donorcel, "tkg:hlaMatchingRequired").facts
    assert hla.value is False and hla.inherited_from is None and hla.sources == ["src:donorcel-trial-2017"]
    assert [f.value for f in _row(graph.describe("allogeneic-car-t"), "tkg:gvhdRisk").facts] == ["tkg:RiskHigh"]


def test_inheritance_skips_values_the_consistency_rules_rule_out(tmp_path) -> None:
    """Even if contradicting data reached a store (validation would refuse it), a product made from
    the patient's own cells does not inherit 'HLA matching required' or 'off the shelf'."""
    import pyoxigraph as ox

    from kg import derive, sources, vocab

    store = ox.Store()
    store.extend(q for qs in sources.parse_all(sources.input_files()).values() for q in qs)
    graph_iri = ox.NamedNode(vocab.SOURCE + "review-2021")
    for prop in ("hlaMatchingRequired", "offTheShelf"):
        store.add(
            ox.Quad(
                ox.NamedNode(vocab.RESOURCE + "car-t"),
                ox.NamedNode(vocab.TKG + prop),
                ox.Literal("true", datatype=ox.NamedNode(vocab.PREFIXES["xsd"] + "boolean")),
                graph_iri,
            )
        )
    derive.merge_into_default_graph(store)
    derive.complete(store)
    testacel = kg.TherapyGraph(store).describe("testacel")
    assert _row(testacel, "tkg:hlaMatchingRequired").facts == []
    assert [f.value for f in _row(testacel, "tkg:offTheShelf").facts] == [
        False
    ]  # stated by the nearer autologous-car-t
    car_t = kg.TherapyGraph(store).describe("car-t")
    assert [f.value for f in _row(car_t, "tkg:hlaMatchingRequired").facts] == [
        True
    ]  # no rule applies to CAR-T as a whole


def test_a_description_lists_the_identifiers_the_catalogue_states_with_pages_to_open(graph: kg.TherapyGraph) -> None:
    import doctest

    from kg import formats, report, therapy

    described = graph.therapies.describe("exampumab")
    assert [(i.scheme, i.id, i.link) for i in described.identifiers] == [
        ("DrugBank", "DB00000", "https://go.drugbank.com/drugs/DB00000")
    ]
    assert graph.therapies.describe("cordnk-19").identifiers == []
    for module in (therapy, formats, report):  # their examples are checked too
        assert doctest.testmod(module).failed == 0
