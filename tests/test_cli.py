"""The `kg` command through typer's CliRunner: outputs, exit codes and documentation."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kg.cli import app


def _json(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _values(document: dict, prop: str) -> list[dict]:
    return next(p for p in document["properties"] if p["property"] == prop)["values"]


def _sources(value: dict) -> set[str]:
    return {s["id"] for s in value["sources"]}


def test_show_car_nk_reports_the_seed_facts_with_sources(runner: CliRunner) -> None:
    doc = _json(runner, "show", "car-nk")
    assert doc["therapy"] == {
        "id": "car-nk",
        "label": "CAR-NK cell therapy",
        "level": "modality",
        "iri": "https://w3id.org/therapy-kg/resource/car-nk",
    }
    [allogeneic] = _values(doc, "tkg:cellSource")
    assert allogeneic["value"] == "tkg:Allogeneic" and "src:cancerfax-2020-car-nk" in _sources(allogeneic)
    assert "tkg:UmbilicalCordBlood" in [v["value"] for v in _values(doc, "tkg:cellOrigin")]
    [hla] = _values(doc, "tkg:hlaMatchingRequired")
    assert hla["value"] is False and {"src:lu-2021-front-oncol", "src:yilmaz-2020-j-hematol-oncol"} <= _sources(hla)

    [trial] = [t for t in doc["trials"] if t["fields"]["nctId"][0]["value"] == "NCT03056339"]
    [patients] = trial["fields"]["patientsTreated"]
    assert patients["value"] == 11 and "src:liu-2020-nejm" in _sources(patients)
    def from_nejm(items: list[dict]) -> dict[str, dict]:
        return {i["label"]: i["fields"] for i in items
                if any("src:liu-2020-nejm" in _sources(v) for values in i["fields"].values() for v in values)}

    outcomes = from_nejm(doc["outcomes"])
    assert outcomes["objective response"]["numerator"][0]["value"] == 8
    assert outcomes["complete response"]["numerator"][0]["value"] == 7
    assert outcomes["complete response"]["denominator"][0]["value"] == 11
    events = from_nejm(doc["adverse_events"])
    for label in ["cytokine release syndrome (CRS), any grade", "neurotoxicity (ICANS), any grade",
                  "graft-versus-host disease (GvHD), any grade"]:
        assert events[label]["numerator"][0]["value"] == 0
        assert events[label]["denominator"][0]["value"] == 11
    nejm = next(s for s in doc["sources"] if s["id"] == "src:liu-2020-nejm")
    assert nejm["doi"] == "10.1056/NEJMoa1910607" and nejm["link"] == "https://doi.org/10.1056/NEJMoa1910607"


def test_show_kymriah_reports_autologous_fda_date_and_inherited_crs(runner: CliRunner) -> None:
    doc = _json(runner, "show", "Kymriah")
    [source] = _values(doc, "tkg:cellSource")
    assert source["value"] == "tkg:Autologous" and source["inherited_from"] is None
    [crs] = _values(doc, "tkg:crsRisk")
    assert crs["value"] == "tkg:RiskHigh" and crs["inherited_from"] == "car-t"
    fda = [a for a in doc["approvals"] if a["fields"]["agency"][0]["value"] == "fda"]
    dates = sorted(a["fields"]["approvalDate"][0]["value"] for a in fda)
    assert dates[0] == "2017-08-30"


def test_show_table_marks_inheritance_and_lists_sources(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", "kymriah"])
    assert result.exit_code == 0, result.output
    assert "inherited from car-t" in result.stdout
    assert "Lu H, Zhao X" in result.stdout
    bare = runner.invoke(app, ["show", "kymriah", "--no-sources"])
    assert "Lu H, Zhao X" not in bare.stdout and "inherited from car-t" in bare.stdout


def test_unknown_therapy_exits_2_with_suggestion_and_no_traceback(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", "kymria"])
    assert result.exit_code == 2
    assert "Did you mean: tisagenlecleucel" in result.output
    assert "Traceback" not in result.output


def test_bad_option_value_is_a_usage_error(runner: CliRunner) -> None:
    assert runner.invoke(app, ["list", "--type", "planet"]).exit_code == 2


def test_list_products(runner: CliRunner) -> None:
    result = runner.invoke(app, ["list", "--type", "product", "--format", "json"])
    items = json.loads(result.stdout)
    assert {"tisagenlecleucel", "axicabtagene-ciloleucel", "mda-cd19-car-nk", "pembrolizumab", "nivolumab",
            "ipilimumab", "atezolizumab"} <= {i["id"] for i in items}
    assert {i["type"] for i in items} == {"product"}


def test_stats_counts_sources_and_graphs(runner: CliRunner) -> None:
    numbers = _json(runner, "stats")
    assert numbers["sources"] == len([g for g in numbers["graphs"] if g.startswith("src:")]) > 0
    assert numbers["triples"] == sum(numbers["graphs"].values())
    assert numbers["classes"]["therapy product"] >= 7


def test_build_and_validate(runner: CliRunner) -> None:
    built = runner.invoke(app, ["build"])
    assert built.exit_code == 0 and "Store is current" in built.stdout
    checked = runner.invoke(app, ["validate"])
    assert checked.exit_code == 0 and "valid" in checked.stdout


COMMANDS = sorted(command.name or command.callback.__name__ for command in app.registered_commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(runner: CliRunner, command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example: kg " in result.stdout


def test_every_command_is_documented_in_the_readme() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for command in COMMANDS:
        assert f"kg {command}" in readme, command


def test_show_gives_every_value_its_sources_kind_and_date(runner: CliRunner) -> None:
    doc = _json(runner, "show", "car-nk")
    cited = [s for row in doc["properties"] for value in row["values"] for s in value["sources"]]
    assert cited and all(set(s) == {"id", "citation", "kind", "date"} for s in cited)
    assert {s["kind"] for s in cited} >= {"review claim", "popular claim"}
    listed = {s["id"]: s for s in doc["sources"]}
    assert listed["src:lu-2021-front-oncol"]["kind"] == "review claim" and listed["src:lu-2021-front-oncol"]["date"] == "2021-08-06"
    table = runner.invoke(app, ["show", "car-nk"])
    assert table.exit_code == 0 and "review 2021-08-06]" in table.stdout and "review claim, 2021-08-06." in table.stdout
