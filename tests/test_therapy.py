"""Name resolution, inheritance and descriptions on the curated graph."""

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
        ("Kymriah", "tisagenlecleucel"),
        ("tisagenlecleucel", "tisagenlecleucel"),
        ("CTL019", "tisagenlecleucel"),
        ("ctl-019", "tisagenlecleucel"),
        ("YESCARTA", "axicabtagene-ciloleucel"),
        ("keytruda", "pembrolizumab"),
        ("MK-3475", "pembrolizumab"),
        ("checkpoint inhibitor", "checkpoint-inhibitor"),
    ],
)
def test_resolves_ids_labels_brands_generics_codes_and_synonyms(graph: kg.TherapyGraph, name: str, expected: str) -> None:
    assert graph.resolve(name).id == expected


def test_unknown_name_suggests_close_matches(graph: kg.TherapyGraph) -> None:
    with pytest.raises(UnknownTherapy) as caught:
        graph.resolve("kymria")
    assert "tisagenlecleucel" in caught.value.suggestions
    assert caught.value.exit_code == 2


def test_unrelated_name_has_no_misleading_suggestion(graph: kg.TherapyGraph) -> None:
    with pytest.raises(UnknownTherapy) as caught:
        graph.resolve("zzzzzz")
    assert caught.value.suggestions == []


def test_empty_name_is_a_usage_error(graph: kg.TherapyGraph) -> None:
    with pytest.raises(UsageError):
        graph.resolve("  -- ")


def _row(description, prop: str):
    return next(row for row in description.properties if row.property == prop)


def test_product_inherits_modality_values_and_says_from_where(graph: kg.TherapyGraph) -> None:
    kymriah = graph.describe("kymriah")
    crs = _row(kymriah, "tkg:crsRisk")
    assert [f.value for f in crs.facts] == ["tkg:RiskHigh"]
    assert crs.facts[0].inherited_from == "car-t"
    assert "src:lu-2021-front-oncol" in crs.facts[0].sources


def test_own_value_wins_over_inherited(graph: kg.TherapyGraph) -> None:
    source = _row(graph.describe("kymriah"), "tkg:cellSource")
    assert [(f.value, f.inherited_from) for f in source.facts] == [("tkg:Autologous", None)]


def test_conflicting_sources_are_all_kept(graph: kg.TherapyGraph) -> None:
    gvhd = _row(graph.describe("car-nk"), "tkg:gvhdRisk")
    by_value = {f.value: f.sources for f in gvhd.facts}
    assert by_value["tkg:RiskMinimal"] == ["src:cancerfax-2020-car-nk"]
    assert by_value["tkg:RiskLow"] == ["src:lu-2021-front-oncol"]


def test_every_comparable_property_has_a_row_even_without_data(graph: kg.TherapyGraph) -> None:
    rows = graph.describe("car-nk").properties
    assert len({row.property for row in rows}) == len(rows)
    assert any(not row.facts for row in rows)
    groups = [row.group for row in rows]
    assert groups.index("manufacturing") < groups.index("safety") < groups.index("mechanism")


def test_modality_description_includes_trials_of_its_products(graph: kg.TherapyGraph) -> None:
    trials = graph.describe("car-nk").of_kind("trial")
    assert "NCT03056339" in [t.first("nctId") for t in trials]
