"""`kg ingest ctgov`: records land as named graphs, newer ones replace older, bad ones are skipped."""

from __future__ import annotations

import errno
import importlib.util
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

import kg
from kg import ingest, registry, vocab
from kg import store as stores
from kg.cli import app
from kg.compare import compare
from kg.ingest import Problem

# Real records name real products: their ingest runs on the curated catalogue (names only, no facts).
pytestmark = pytest.mark.usefixtures("catalogue_env")

FIXTURES = Path(__file__).parent / "data" / "ctgov"
SCRIPT = Path(__file__).parents[1] / "scripts" / "generate_ctgov.py"
GOOD = [
    FIXTURES / "NCT02435849.json",
    FIXTURES / "NCT03056339.json",
    FIXTURES / "page.json",
    FIXTURES / "studies.jsonl",
]


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "store"
    monkeypatch.setenv("THERAPY_KG_STORE", str(root))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return root


def _graph_triples(graph: kg.TherapyGraph, nct: str) -> int:
    rows = graph.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH src:ctgov-{nct} {{ ?s ?p ?o }} }}")
    return rows[0]["n"]


def test_records_become_named_graphs_with_provenance(store: Path) -> None:
    report = registry.ingest_ctgov(store, GOOD)
    assert len(report.ingested) == 6 and not report.problems and not report.updated
    graph = kg.open_graph(store)
    [source] = graph.select("""
        SELECT ?url ?modified ?registry WHERE { GRAPH src:ctgov-NCT02435849 {
          src:ctgov-NCT02435849 a tkg:IngestedRecord ; tkg:url ?url ; dcterms:modified ?modified ;
                                dcterms:isPartOf ?registry } }""")
    assert source["url"] == "https://clinicaltrials.gov/study/NCT02435849"
    assert source["registry"].endswith("/source/clinicaltrials-gov")
    linked = graph.select("SELECT ?t WHERE { GRAPH src:ctgov-NCT02435849 { tkgr:NCT02435849 tkg:evaluates ?t } }")
    assert [r["t"].rsplit("/", 1)[1] for r in linked] == ["tisagenlecleucel"]


def test_registered_trials_are_counted_in_comparisons_and_queries(store: Path) -> None:
    registry.ingest_ctgov(store, GOOD)
    graph = kg.open_graph(store)
    row = next(r for r in compare(graph, ["car-t", "car-nk"]).rows if r.key == "trial:registered")
    car_t, car_nk = ([f.value for f in cell] for cell in row.cells)
    assert car_t and car_nk
    assert all(f.sources == ["src:clinicaltrials-gov"] for cell in row.cells for f in cell)
    from kg.query import named

    counts = graph.select(named("trials-by-modality-and-phase").text)
    assert any(r["modality"] == "CAR-NK cell therapy" for r in counts)
    # an ingested record's status holds as of the record's last update
    [eliana] = [
        r
        for r in graph.select(named("trials-by-status").text, {"therapy": kg.graph.iri("tkgr:car-t")})
        if r["nct"] == "NCT02435849"
    ]
    [modified] = graph.select("SELECT ?m WHERE { src:ctgov-NCT02435849 dcterms:modified ?m }")
    assert eliana["statusAsOf"] == modified["m"]
    # the catalogue alone has no curated source, and ingested records are not listed one by one
    assert graph.select(named("sources-by-kind").text) == []


def test_ingesting_again_changes_nothing(store: Path) -> None:
    registry.ingest_ctgov(store, GOOD)
    before = _ingested_state(store)
    report = registry.ingest_ctgov(store, GOOD)
    assert (len(report.ingested), len(report.updated), len(report.unchanged)) == (0, 0, 6)
    assert _ingested_state(store) == before


def test_newer_record_replaces_the_older_one(store: Path) -> None:
    registry.ingest_ctgov(store, GOOD)
    old_count = _graph_triples(kg.open_graph(store), "NCT02435849")
    report = registry.ingest_ctgov(store, [FIXTURES / "updated"])
    assert report.updated == ["NCT02435849"]
    manifest = ingest.manifest(store)
    newer = json.loads((FIXTURES / "updated" / "NCT02435849.json").read_text())
    assert manifest["NCT02435849"] == newer["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]
    graph = kg.open_graph(store)
    modified = graph.select(
        "SELECT ?m WHERE { GRAPH src:ctgov-NCT02435849 { src:ctgov-NCT02435849 dcterms:modified ?m } }"
    )
    assert len(modified) == 1, "the old version's graph is gone, not merged"
    assert _graph_triples(graph, "NCT02435849") > 0 and old_count > 0
    older_again = registry.ingest_ctgov(store, [FIXTURES / "NCT02435849.json"])
    assert (older_again.older, older_again.unchanged) == (["NCT02435849"], []), "older, not unchanged"


def test_bad_records_are_skipped_and_good_ones_still_land(store: Path) -> None:
    report = registry.ingest_ctgov(store, [FIXTURES / "invalid", FIXTURES / "NCT03056339.json"])
    assert report.ingested == ["NCT03056339"] or set(report.ingested) >= {"NCT03056339"}
    wheres = [p.where for p in report.problems]
    assert any(w.endswith("broken.json") for w in wheres)
    assert any(w.endswith("mixed.ndjson:4") for w in wheres)
    manifest = ingest.manifest(store)
    assert "NCT00000123" not in manifest and all(len(k) == 11 for k in manifest)


def test_failure_while_writing_leaves_the_ingested_set_untouched(store: Path) -> None:
    registry.ingest_ctgov(store, GOOD)
    before = _ingested_state(store)

    class Boom(Exception):
        pass

    class Record:
        key, last_update, graph, unmatched, unattributed = "NCT02435849", "2999-01-01", "urn:x", [], []

        @property
        def quads(self):
            raise Boom

    with pytest.raises(Boom):
        ingest.store_records(store, [Record()])
    assert _ingested_state(store) == before  # no new set, no half-written folder


def _ingested_state(root: Path) -> dict[str, bytes]:
    """Every file of the ingested sets (the lock aside) and the store's CURRENT."""
    files = sorted(p for p in root.glob("ingested/**/*") if p.is_file() and p.name != ingest.LOCK)
    return {str(p.relative_to(root)): p.read_bytes() for p in files} | {"CURRENT": (root / "CURRENT").read_bytes()}


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB file system (a test fills it to leave room for one build, not for a second one)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        for build in list(mount.glob("store/*")):
            stores.release(build)
        subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_during_ingest_leaves_the_last_good_build_in_use(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = small_disk / "store"
    monkeypatch.setenv("THERAPY_KG_STORE", str(root))
    runner = CliRunner()
    assert runner.invoke(app, ["build"]).exit_code == 0
    build = stores.current_build(root)
    assert build is not None
    room = sum(f.stat().st_size for f in build.rglob("*") if f.is_file()) // 2
    (small_disk / "filler").write_bytes(
        bytes(max(0, shutil.disk_usage(small_disk).free - room))
    )  # no room for a second
    before = _ingested_state(root)
    failed = runner.invoke(app, ["ingest", "ctgov", *map(str, GOOD)])
    assert failed.exit_code == 1 and "No space left on device" in failed.output and "Traceback" not in failed.output
    assert "Nothing was ingested" in failed.output and "as they were" in failed.output
    assert _ingested_state(root) == before, "records, manifest and CURRENT are the last good ones"
    shown = runner.invoke(app, ["show", "kymriah", "--format", "json"])
    assert shown.exit_code == 0 and "Building" not in shown.output, "later commands open the last good build"


def test_failure_while_rebuilding_puts_the_ingested_set_back(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same rollback without a small disk (a fault injected into the rebuild), so it runs anywhere."""

    registry.ingest_ctgov(store, [FIXTURES / "NCT03056339.json"])
    before = _ingested_state(store)
    real_build = stores.build
    calls = []

    def failing_second_build(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_build(*args, **kwargs)

    monkeypatch.setattr(stores, "build", failing_second_build)
    with pytest.raises(kg.errors.BuildError, match=r"Nothing was ingested .No space left on device"):
        registry.ingest_ctgov(store, GOOD)
    assert _ingested_state(store) == before  # the set written for the failed build is gone
    monkeypatch.setattr(stores, "build", real_build)
    assert stores.is_current(store)


def test_problem_objects_pass_through(store: Path) -> None:
    report = ingest.store_records(store, [Problem("x.json", "broken")])
    assert report.problems == [Problem("x.json", "broken")] and report.triples == 0
    assert ingest.current_set(store) is None


def test_cli_summary_and_exit_codes(store: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["ingest", "ctgov", *map(str, GOOD)])
    assert good.exit_code == 0, good.output
    assert "6 records ingested, 0 updated, 0 unchanged, 0 older than kept, 0 skipped" in good.stdout
    assert "not linked to a known therapy" in good.stdout and "Placebo" in good.stdout
    bad = runner.invoke(app, ["ingest", "ctgov", str(FIXTURES / "invalid")])
    assert bad.exit_code == 1 and "skipped" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(app, ["ingest", "ctgov", str(FIXTURES / "no-such-dir")])
    assert missing.exit_code == 2 and "No such file" in missing.output
    xml = tmp_path / "xml"
    xml.mkdir()
    for nct in ("NCT02435849", "NCT03056339"):
        (xml / f"{nct}.xml").write_text("<clinical_study/>\n")
    counted = runner.invoke(app, ["ingest", "ctgov", str(xml)])
    assert counted.exit_code == 1 and "2 skipped: ClinicalTrials.gov's classic XML" in counted.output
    device = runner.invoke(app, ["ingest", "ctgov", str(FIXTURES / "NCT02435849.json"), "/dev/zero"])
    assert device.exit_code == 1 and "skipped /dev/zero: not a regular file (a pipe or a device)" in device.output
    assert (
        "0 records ingested, 0 updated, 1 unchanged, 0 older than kept, 1 skipped" in device.output
        and "Traceback" not in device.output
    )


def test_rebuilt_store_keeps_ingested_records_when_curated_data_change(
    store: Path, tmp_path: Path, catalogue_dir: Path
) -> None:
    registry.ingest_ctgov(store, GOOD)
    data = tmp_path / "data"
    shutil.copytree(catalogue_dir, data)
    (data / "catalogue" / "modalities.ttl").open("a").write("\n# edited\n")
    result = stores.build(store, data_dir=data)
    assert result.rebuilt
    graph = kg.TherapyGraph(stores.open_build(result.location))
    assert _graph_triples(graph, "NCT02435849") > 0


# --- one ingest at a time, and a kill at any step leaves a consistent store ------------------------

KG = [sys.executable, "-m", "kg"]


def test_a_second_ingest_waits_for_the_first_and_says_so(store: Path) -> None:
    registry.ingest_ctgov(store, [FIXTURES / "NCT03056339.json"])
    with ingest.exclusive(store):  # as a first kg ingest would hold it
        second = subprocess.Popen(
            [*KG, "ingest", "ctgov", str(FIXTURES / "NCT02435849.json")], stderr=subprocess.PIPE, text=True
        )
        time.sleep(1.5)
        assert second.poll() is None, "it waits while the lock is held"
    assert second.wait(60) == 0
    assert "Another kg ingest is writing to this store; waiting for it to finish..." in second.stderr.read()
    assert set(ingest.manifest(store)) == {"NCT03056339", "NCT02435849"}


def test_concurrent_ingests_lose_no_record(store: Path, tmp_path: Path) -> None:
    """Two runs of 300 synthetic records each, started together: both succeed and all 600 land."""
    spec = importlib.util.spec_from_file_location("generate_ctgov", SCRIPT)
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    studies = list(generator.studies(600))
    halves = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for half, part in zip(halves, (studies[:300], studies[300:]), strict=True):
        half.write_text("".join(json.dumps(s) + "\n" for s in part))
    runs = [subprocess.Popen([*KG, "ingest", "ctgov", str(half)], stdout=subprocess.DEVNULL) for half in halves]
    assert [run.wait(300) for run in runs] == [0, 0]
    assert len(ingest.manifest(store)) == 600
    [count] = kg.open_graph(store).select(
        "SELECT (COUNT(DISTINCT ?t) AS ?n) WHERE { ?t a tkg:ClinicalTrial ; tkg:nctId ?id FILTER(STRSTARTS(?id, 'NCT9')) }"
    )
    assert count["n"] == 600


_KILLED_AT = """
import os, signal, sys
from pathlib import Path

step, calls = int(sys.argv[1]), [0]


def kill_before(real):
    def step_of_the_run(source, target, **kwargs):
        if "/memo/" not in str(target):  # answers kept beside a build are not steps of the ingest
            calls[0] += 1
            if calls[0] == step:
                os.kill(os.getpid(), signal.SIGKILL)
        return real(source, target, **kwargs)

    return step_of_the_run


os.replace, os.rename = kill_before(os.replace), kill_before(os.rename)  # every file and folder switch
from kg import registry

registry.ingest_ctgov(Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
"""


def test_a_kill_at_any_step_leaves_records_manifest_and_store_consistent(store: Path, tmp_path: Path) -> None:
    """An ingest is killed before each rename it makes, in turn, each time from the same start; after
    each kill the current set's manifest lists exactly the records in it, the store opens, and the
    next ingest of a newer version replaces the record whole (one modification date, not two)."""
    registry.ingest_ctgov(store, [FIXTURES / "NCT03056339.json"])
    start = tmp_path / "start"
    shutil.copytree(store, start)
    killed = 0
    for step in range(1, 30):
        shutil.rmtree(store)
        shutil.copytree(start, store)
        run = subprocess.run(
            [sys.executable, "-c", _KILLED_AT, str(step), str(store), *map(str, GOOD)], capture_output=True
        )
        if run.returncode == 0:
            break  # the run has fewer renames than `step`: every one of them was a place it was killed
        assert run.returncode == -signal.SIGKILL, run.stderr.decode()
        killed += 1
        current = ingest.current_set(store)
        assert current is not None
        graphs = {q.graph_name.value for q in ox.parse(path=str(current.records), format=ox.RdfFormat.N_QUADS)}
        assert graphs == {f"{vocab.SOURCE}ctgov-{key}" for key in ingest.manifest(store)}, f"killed at step {step}"
        shown = subprocess.run([*KG, "--store", str(store), "show", "kymriah", "--format", "json"], capture_output=True)
        assert shown.returncode == 0, (step, shown.stderr.decode())
        registry.ingest_ctgov(store, [FIXTURES / "updated"])
        modified = kg.open_graph(store).select(
            "SELECT ?m WHERE { GRAPH src:ctgov-NCT02435849 { src:ctgov-NCT02435849 dcterms:modified ?m } }"
        )
        assert len(modified) == 1, f"killed at step {step}"
    assert killed >= 5, "the set, its manifest, the build, its CURRENT and the set's CURRENT are written in turn"


def test_records_kept_before_sets_had_folders_are_read_and_moved_on_the_next_ingest(store: Path) -> None:
    registry.ingest_ctgov(store, [FIXTURES / "NCT03056339.json"])
    current = ingest.current_set(store)
    assert current is not None
    directory = ingest.ingested_dir(store)
    for name in (ingest.RECORDS, ingest.MANIFEST):  # the layout of earlier versions
        shutil.move(current.folder / name, directory / name)
    current.folder.rmdir()
    (directory / ingest.CURRENT).unlink()
    assert ingest.manifest(store) == {"NCT03056339": "2023-06-22"} and stores.is_current(store)
    registry.ingest_ctgov(store, [FIXTURES / "NCT02435849.json"])
    assert set(ingest.manifest(store)) == {"NCT03056339", "NCT02435849"}
    assert sorted(p.name for p in directory.iterdir()) == [ingest.LOCK, ingest.CURRENT, "v1"]


def test_the_summary_adds_up_to_the_studies_read(store: Path, tmp_path: Path) -> None:
    """Every study read is counted once: ingested, updated, unchanged, older than the version kept
    (the stored one, or a newer one read in the same run) or skipped; names not linked count records."""
    registry.ingest_ctgov(store, [FIXTURES / "updated" / "NCT02435849.json"])
    study = json.loads((FIXTURES / "NCT03056339.json").read_text())
    earlier = json.loads(json.dumps(study))
    earlier["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2020-01-01"
    (tmp_path / "two-versions.jsonl").write_text(json.dumps(earlier) + "\n" + json.dumps(study) + "\n")
    inputs = [
        FIXTURES / "NCT02435849.json",  # older than the stored version
        FIXTURES / "updated" / "NCT02435849.json",  # the stored version
        tmp_path / "two-versions.jsonl",  # the same study twice: an old version, then a newer one
        FIXTURES / "invalid" / "missing-nct.json",
    ]
    report = registry.ingest_ctgov(store, inputs)
    assert report.ingested == ["NCT03056339"] and report.updated == []
    assert (report.unchanged, sorted(report.older), len(report.problems)) == (
        ["NCT02435849"],
        ["NCT02435849", "NCT03056339"],
        1,
    )
    counted = len(report.ingested) + len(report.updated) + len(report.unchanged) + len(report.older)
    assert counted + len(report.problems) == 5
    assert report.unmatched["Cyclophosphamide"] == 1, "a name counts the records naming it, not the versions read"


def test_results_groups_tied_to_no_arm_are_named_in_the_summary(store: Path, tmp_path: Path) -> None:
    study = json.loads((FIXTURES / "NCT03056339.json").read_text())
    for group in study["resultsSection"]["adverseEventsModule"]["eventGroups"]:
        group["title"], group["description"] = f"Cohort {group['id']}", "All participants"
    cells = study["protocolSection"]["armsInterventionsModule"]["interventions"][2]
    cells["armGroupLabels"] = cells["armGroupLabels"][:1]  # the arms now differ: the cohorts say nothing
    (tmp_path / "study.json").write_text(json.dumps(study))
    result = CliRunner().invoke(app, ["ingest", "ctgov", str(tmp_path / "study.json")])
    assert result.exit_code == 0, result.output
    assert "Results groups tied to no arm or therapy, their adverse events left out: 2 in 1 records" in result.output
    assert "NCT03056339 'Cohort EG000'" in result.output


def test_show_lists_a_products_registered_trials(store: Path) -> None:
    """An ingested trial that evaluates Kymriah appears under Kymriah: all of them in JSON, the first
    ten in the table with the count."""
    import dataclasses

    from rich.console import Console

    from kg import render
    from kg.therapy import RegisteredTrial

    registry.ingest_ctgov(store, [FIXTURES / "NCT02435849.json", FIXTURES / "NCT03056339.json"])
    shown = CliRunner().invoke(app, ["show", "kymriah", "--format", "json"])
    registered = json.loads(shown.stdout)["registered_trials"]
    assert registered == {
        "count": 1,
        "trials": [
            {
                "nct": "NCT02435849",
                "title": "Study of Efficacy and Safety of CTL019 in Pediatric ALL Patients",
                "status": "ACTIVE_NOT_RECRUITING",
                "phases": "phase 2",
                "start": "2015-04-08",
                "completion": "2023-11-30",
                "source": "src:ctgov-NCT02435849",
            }
        ],
    }
    description = kg.open_graph(store).describe("kymriah")
    many = [dataclasses.replace(description.registered[0], nct=f"NCT0{n:07d}") for n in range(12)]
    console = Console(record=True, width=200)
    render.print_description(dataclasses.replace(description, registered=many), console, sources=False)
    text = console.export_text()
    assert "Registered trials (12; the first 10 shown, --format json lists all)" in text
    assert "NCT00000009" in text and "NCT00000010" not in text and "active not recruiting" in text
    assert isinstance(description.registered[0], RegisteredTrial)
