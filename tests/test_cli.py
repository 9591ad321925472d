"""The `kg` command through typer's CliRunner: outputs, exit codes and documentation."""

from __future__ import annotations

import json
from pathlib import Path

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
    assert allogeneic["value"] == "tkg:Allogeneic" and _sources(allogeneic) == {"src:popular-2020"}
    assert "tkg:UmbilicalCordBlood" in [v["value"] for v in _values(doc, "tkg:cellOrigin")]
    [hla] = _values(doc, "tkg:hlaMatchingRequired")
    assert hla["value"] is False and _sources(hla) == {"src:review-2021", "src:popular-2020"}

    [trial] = [t for t in doc["trials"] if t["fields"]["nctId"][0]["value"] == "NCT09990001"]
    [patients] = trial["fields"]["patientsTreated"]
    assert patients["value"] == 11 and _sources(patients) == {"src:cordnk-trial-2020"}

    def reported_first(items: list[dict]) -> dict[str, dict]:
        return {
            i["label"]: i["fields"]
            for i in items
            if any("src:cordnk-trial-2020" in _sources(v) for values in i["fields"].values() for v in values)
        }

    outcomes = reported_first(doc["outcomes"])
    assert outcomes["objective response"]["numerator"][0]["value"] == 8
    assert outcomes["complete response"]["numerator"][0]["value"] == 7
    assert outcomes["complete response"]["denominator"][0]["value"] == 11
    events = reported_first(doc["adverse_events"])
    assert set(events) == {"cytokine release syndrome (CRS), any grade", "graft-versus-host disease (GvHD), any grade"}
    for fields in events.values():
        assert (fields["numerator"][0]["value"], fields["denominator"][0]["value"]) == (0, 11)
    first = next(s for s in doc["sources"] if s["id"] == "src:cordnk-trial-2020")
    assert first["doi"] == "10.5555/tkg.cordnk.2020" and first["link"] == "https://doi.org/10.5555/tkg.cordnk.2020"


def test_show_a_product_reports_its_own_cell_source_fda_date_and_inherited_crs(runner: CliRunner) -> None:
    doc = _json(runner, "show", "Testacel")
    [source] = _values(doc, "tkg:cellSource")
    assert source["value"] == "tkg:Autologous" and source["inherited_from"] is None
    [crs] = _values(doc, "tkg:crsRisk")
    assert crs["value"] == "tkg:RiskHigh" and crs["inherited_from"] == "car-t"
    fda = [a for a in doc["approvals"] if a["fields"]["agency"][0]["value"] == "fda"]
    dates = sorted(a["fields"]["approvalDate"][0]["value"] for a in fda)
    assert dates == ["2017-08-30", "2022-04-01"]  # a news item's 31 August 2017 is a known error


def test_show_table_marks_inheritance_and_lists_sources(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", "testacel"])
    assert result.exit_code == 0, result.output
    assert "inherited from car-t" in result.stdout
    assert "Reviewer A, Reviewer B" in result.stdout
    bare = runner.invoke(app, ["show", "testacel", "--no-sources"])
    assert "Reviewer A, Reviewer B" not in bare.stdout and "inherited from car-t" in bare.stdout


def test_show_an_antibody_leaves_out_the_properties_of_cell_therapies(runner: CliRunner) -> None:
    doc = _json(runner, "show", "exampumab")
    applicable = {p["property"]: p["applicable"] for p in doc["properties"]}
    assert applicable["tkg:cellSource"] is False and applicable["tkg:lymphodepletion"] is False
    assert applicable["tkg:mechanismOfAction"] is True and applicable["tkg:crsRisk"] is True
    table = runner.invoke(app, ["show", "exampumab"]).stdout
    assert "mechanism of action" in table and "cell source" not in table and "lymphodepletion" not in table
    assert "cell source" in runner.invoke(app, ["show", "testacel"]).stdout


def test_unknown_therapy_exits_2_with_suggestion_and_no_traceback(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", "testacl"])
    assert result.exit_code == 2
    assert "Did you mean: testagene-autoleucel" in result.output
    assert "Traceback" not in result.output


def test_bad_option_value_is_a_usage_error(runner: CliRunner) -> None:
    assert runner.invoke(app, ["list", "--type", "planet"]).exit_code == 2


def test_list_products(runner: CliRunner) -> None:
    result = runner.invoke(app, ["list", "--type", "product", "--format", "json"])
    items = json.loads(result.stdout)
    assert {i["id"] for i in items} == {"testagene-autoleucel", "donorcel", "cordnk-19", "exampumab", "samplizumab"}
    assert {i["type"] for i in items} == {"product"}


def test_stats_counts_sources_and_graphs(runner: CliRunner) -> None:
    numbers = _json(runner, "stats")
    assert numbers["sources"] == len([g for g in numbers["graphs"] if g.startswith("src:")]) > 0
    assert numbers["triples"] == sum(numbers["graphs"].values())
    assert numbers["classes"]["therapy product"] == 5


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
    assert (listed["src:review-2021"]["kind"], listed["src:review-2021"]["date"]) == ("review claim", "2021-08-06")
    table = runner.invoke(app, ["show", "car-nk"])
    assert table.exit_code == 0 and "review 2021-08-06]" in table.stdout and "review claim, 2021-08-06." in table.stdout


# --- conventions: every help example runs, groups in any case, whole query names, --summary ---------

_NEEDS_A_SERVER = {
    "serve": "starts a server (tests/test_server.py)",
    "push": "needs a Graph Store (tests/test_remote.py)",
}


def _examples() -> list[tuple[str, list[str]]]:
    """(command path, example argv) for every `Example: kg ...` in the commands' help."""
    import re
    import shlex

    from typer.main import get_command

    found = []

    def walk(command: object, path: str) -> None:
        for line in (getattr(command, "help", None) or "").splitlines():
            match = re.search(r"Example: (kg .+)$", line.strip())
            if match:
                found.append((path, shlex.split(match.group(1))[1:]))
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(get_command(app), "")
    return found


def test_every_command_has_an_example() -> None:
    from typer.main import get_command

    group = get_command(app)
    commands = [name for name in group.commands if name not in ("ingest",)] + [
        f"ingest {n}" for n in group.commands["ingest"].commands
    ]
    assert set(commands) <= {path for path, _ in _examples()}


@pytest.mark.parametrize("path, argv", _examples(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_help_example_runs(
    curated_runner: CliRunner, tmp_path, monkeypatch: pytest.MonkeyPatch, path: str, argv: list[str]
) -> None:
    """Run as a user would copy it, on the curated data the examples name, in an empty folder holding
    the files the example names (real fixtures under the example's file names); a --store in an
    example points at a fresh folder."""
    import shutil
    import zipfile
    from pathlib import Path

    command = path.split(" ")[-1] if path else ""
    if command in _NEEDS_A_SERVER:
        pytest.skip(_NEEDS_A_SERVER[command])
    fixtures = Path(__file__).parent / "data"
    monkeypatch.chdir(tmp_path)
    argv = list(argv)
    if "--store" in argv:
        argv[argv.index("--store") + 1] = str(tmp_path / "store")
    if path.startswith("ingest"):  # ingests change a store: never the one the other tests share
        monkeypatch.setenv("THERAPY_KG_STORE", str(tmp_path / "store"))
    for arg in argv:
        if arg == "studies/":
            shutil.copytree(fixtures / "ctgov", tmp_path / "studies", ignore=shutil.ignore_patterns("*.md", "invalid"))
        elif command == "openfda-label":  # a label reply, or a bulk file zipping one
            reply = fixtures / "openfda" / ("carvykti.json" if arg.endswith(".zip") else "kymriah.json")
            if arg.endswith(".zip"):
                with zipfile.ZipFile(tmp_path / arg, "w") as archive:
                    archive.write(reply, arg.removesuffix(".zip"))
            else:
                shutil.copy(reply, tmp_path / arg)
        elif arg.endswith(".zip"):
            with zipfile.ZipFile(tmp_path / arg, "w") as archive:
                for table in (fixtures / "drugsatfda").glob("*.txt"):
                    archive.write(table, table.name)
        elif arg.endswith(".xlsx") and not arg.startswith("-"):
            shutil.copy(fixtures / "ema" / "medicines-output-2025-02-12.xlsx", tmp_path / arg)
        elif command == "diff":  # two versions of the data: here the same one twice
            from kg.resources import DATA_DIR

            shutil.copytree(DATA_DIR, tmp_path / arg)
    result = curated_runner.invoke(app, argv)
    assert result.exit_code == 0, (argv, result.output)


def test_groups_are_found_in_any_case(runner: CliRunner) -> None:
    for spelling in ("safety", "Safety", "SAFETY"):
        result = runner.invoke(app, ["compare", "car-t", "car-nk", "--group", spelling, "--format", "json"])
        assert result.exit_code == 0 and {row["group"] for row in json.loads(result.stdout)["rows"]} == {"safety"}
    unknown = runner.invoke(app, ["compare", "car-t", "car-nk", "--group", "colour"])
    assert unknown.exit_code == 2 and "Groups: manufacturing" in unknown.output


def test_query_names_print_whole_at_80_columns(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.query import named_queries

    monkeypatch.setenv("COLUMNS", "80")
    output = runner.invoke(app, ["queries"]).stdout
    assert all(name in output for name in named_queries())


def test_summary_collapses_evidence_into_ranges(runner: CliRunner) -> None:
    full = json.loads(runner.invoke(app, ["compare", "car-t", "car-nk", "--format", "json"]).stdout)
    short = json.loads(runner.invoke(app, ["compare", "car-t", "car-nk", "--summary", "--format", "json"]).stdout)
    assert [r["property"] for r in full["rows"]] == [r["property"] for r in short["rows"]]
    for before, after in zip(full["rows"], short["rows"], strict=True):
        for cell, collapsed in zip(before["cells"], after["cells"], strict=True):
            if before["property"].startswith(("tkg:", "trial:registered")) or len(cell) <= 1:
                assert collapsed == cell
                continue
            [value] = collapsed
            assert value["value"] == {"items": len(cell)}
            assert {s["id"] for s in value["sources"]} == {s["id"] for v in cell for s in v["sources"]}
    crs = next(
        r
        for r in short["rows"]
        if r["property"].startswith("adverse-event:") and r["property"].endswith("crs:tkg:AnyGrade")
    )
    assert crs["cells"][1][0]["label"] == "0–3 % · 1 trial"  # 0/11 and 1/37
    table = runner.invoke(app, ["compare", "car-t", "car-nk", "--summary", "--no-sources", "--no-pager"]).stdout
    assert len(table.splitlines()) < len(
        runner.invoke(app, ["compare", "car-t", "car-nk", "--no-sources"]).stdout.splitlines()
    )


def test_shell_completion_is_offered(runner: CliRunner) -> None:
    assert "--install-completion" in runner.invoke(app, ["--help"]).stdout


# --- no tracebacks: each mistake gets one line and the documented exit code ------------------------


def _mistakes(tmp: Path) -> list[tuple[list[str], int, str]]:
    a_file = tmp / "a-file"
    a_file.write_text("x", encoding="utf-8")
    return [
        (["compare", "testacel", "cordnk-19", "-o", str(tmp)], 2, "Cannot tell a format"),
        (["compare", "testacel", "cordnk-19", "--format", "csv", "-o", str(tmp)], 2, "is a directory"),
        (["view", "testacel", "cordnk-19", "-o", str(tmp)], 2, "is a directory"),
        (["compare", "testacel", "cordnk-19", "-o", str(tmp / "no" / "such" / "k.csv")], 2, "Cannot write"),
        (["view", "testacel", "cordnk-19", "-o", str(tmp / "no" / "such" / "v.html")], 2, "Cannot write"),
        (["query", "--file", "/bin/ls"], 2, "not UTF-8 text"),
        (["query", "ASK {}", "--endpoint", "not a url"], 1, "not a url"),
        (["serve", "--port", "99999"], 2, "--port must be between 0 and 65535"),
        (["serve", "--workers", "0"], 2, "--workers must be greater than 0"),
        (["--store", str(a_file), "show", "car-t"], 2, "is a file, not a folder"),
        (["--store", str(a_file), "build", "--force"], 2, "is a file, not a folder"),
        (["--store", "/proc/kg-store", "build"], 1, "No such file or directory"),
        (["--store", "/proc/kg-store", "ingest", "ctgov", str(tmp)], 1, "No such file or directory"),
        (["ingest", "ctgov", "/dev/zero"], 2, "Not a regular file or a folder"),
        (["ingest", "drugsatfda", "/dev/zero"], 2, "Not a regular file or a folder"),
        (["ingest", "ema", "/dev/zero"], 2, "Not a regular file or a folder"),
    ]


def test_user_mistakes_get_one_line_errors(runner: CliRunner, tmp_path) -> None:
    for args, code, message in _mistakes(tmp_path):
        result = runner.invoke(app, args)
        assert (result.exit_code, message in result.output, "Traceback" in result.output) == (code, True, False), (
            args,
            result.output,
        )


def test_a_damaged_store_is_built_again(tmp_path) -> None:
    """A truncated store file: kg build (which said "Store is current") and every command detect it and rebuild."""
    from kg import store as stores

    root = tmp_path / "store"
    runner = CliRunner()
    for command in (["build"], ["show", "car-t", "--format", "json"]):
        stores.build(root)
        biggest = max(stores.current_build(root).iterdir(), key=lambda p: p.stat().st_size)  # quads.nq or an .sst
        biggest.write_bytes(biggest.read_bytes()[:100])
        result = runner.invoke(app, ["--store", str(root), *command])
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output
        assert "Store is current" not in result.output
        assert stores._opens(stores.current_build(root))


def test_damaged_ingested_records_are_a_clear_error_and_nothing_changes(tmp_path) -> None:
    from kg import ingest

    fixture = Path(__file__).parent / "data" / "ctgov"
    runner = CliRunner()
    for damaged, message in ((ingest.MANIFEST, "The list of ingested records"), (ingest.RECORDS, "are damaged")):
        root = tmp_path / damaged / "store"
        assert (
            runner.invoke(app, ["--store", str(root), "ingest", "ctgov", str(fixture / "NCT02435849.json")]).exit_code
            == 0
        )
        current = ingest.current_set(root)
        assert current is not None
        path = current.folder / damaged
        path.write_text(path.read_text(encoding="utf-8") + "\n<a> garbage {\n", encoding="utf-8")
        before = {p: p.read_bytes() for p in (root / "ingested").rglob("*") if p.is_file()}
        result = runner.invoke(app, ["--store", str(root), "ingest", "ctgov", str(fixture / "NCT03056339.json")])
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output, result.output
        assert {p: p.read_bytes() for p in (root / "ingested").rglob("*") if p.is_file()} == before


def test_show_table_gives_each_measurement_its_patients(runner: CliRunner) -> None:
    table = runner.invoke(app, ["show", "cordnk-19"]).stdout
    assert "patients: 0/11" in table and "patients: 8/11" in table


def test_show_lists_time_to_event_outcomes_with_their_estimates(runner: CliRunner) -> None:
    table = runner.invoke(app, ["show", "testacel"]).stdout
    assert "Time-to-event outcomes" in table and "estimate: median 5.9 months (95% CI 3.2–15.8)" in table
    document = json.loads(runner.invoke(app, ["show", "testacel", "--format", "json"]).stdout)
    estimates = {e["label"]: e["fields"] for e in document["time_to_event"]}
    assert set(estimates) == {"overall survival, median", "progression-free survival, median"}
    assert estimates["overall survival, median"]["upperBoundNotReached"][0]["value"] is True
