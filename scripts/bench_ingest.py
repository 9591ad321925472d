"""Benchmark the registry at growing sizes: `kg ingest ctgov`, then every named query, `compare`
and `show` on the embedded store, on the rdflib baseline and on real servers after `kg push`.

For each size (default 10^3, 10^4, 10^5 synthetic study records from generate_ctgov.py):
  - ingest into a fresh store in a child process: records/s, triples/s, peak memory, store size,
    and then the time of a full rebuild (`kg build --force`, as after any change to the data);
  - on the embedded store: the latency of every named query (required parameters bound to car-nk),
    of `compare car-t car-nk` and of `show car-t`, medians of `--runs`;
  - the baseline (unless --no-baseline): curated Turtle plus the ingested N-Quads parsed into an
    in-memory rdflib Dataset, two of the queries and the same comparison code through rdflib;
  - on each of --servers (the Oxigraph server and Virtuoso, each started here on a fresh
    directory): the time of `kg push`, the server's peak memory and disk, and the same latencies
    through its SPARQL endpoint, every answer checked against the embedded store's;
and prints them side by side, and whether the goals at 10^5 records hold (every named query and
compare under 1 s, ingest under 60 s, the store under 250 bytes per triple).

    python scripts/bench_ingest.py [--sizes 1000 10000 100000] [--runs 3] [--query-timeout 300]
        [--no-baseline] [--servers Oxigraph Virtuoso] [--virtuoso-memory-mb 4096]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kg.graph import TherapyGraph  # noqa: E402
from tests.servers import EXTERNAL, external_server  # noqa: E402

BASELINE_QUERIES = ["trials-by-modality-and-phase", "adverse-event-rates"]  # rdflib takes minutes on the rest
T = TypeVar("T")
Measured = dict[str, dict[str, float | str | None]]  # name: {"seconds": median or None, "answer": digest}


class _OverTime(Exception):
    """Raised by the alarm; not an OSError, so no HTTP client mistakes it for a network failure."""


def _timed(
    function: Callable[[], T], digest: Callable[[T], str], runs: int, timeout: float
) -> dict[str, float | str | None]:
    """Median seconds of `runs` calls (None if one passes the timeout) and a digest of the last
    answer. A call is what a program waits for: the query with its whole answer read into Python, or
    the command's JSON; the answer's normal form for the comparison between stores is made after
    the clock stops (for answers of tens of thousands of rows it took as long as the query). The
    embedded engine cannot be interrupted inside one query, so there the timeout is noticed when it
    returns."""

    def on_alarm(signum: int, frame: object) -> None:
        raise _OverTime

    signal.signal(signal.SIGALRM, on_alarm)
    times: list[float] = []
    try:
        for _ in range(runs):
            signal.setitimer(signal.ITIMER_REAL, timeout)
            start = time.perf_counter()
            answer = function()
            times.append(time.perf_counter() - start)
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _OverTime:
        return {"seconds": None, "answer": None}
    except Exception as error:  # a store that fails a query is a result to report, not a crash
        signal.setitimer(signal.ITIMER_REAL, 0)
        return {"seconds": None, "answer": f"error: {str(error)[:200]}"}
    return {"seconds": statistics.median(times), "answer": digest(answer)}


def _digest(document: object) -> str:
    return hashlib.md5(json.dumps(document, default=str, sort_keys=True).encode()).hexdigest()[:12]


def _measure(graph: TherapyGraph, runs: int, timeout: float, names: list[str], show: bool = True) -> Measured:
    """Every query in `names`, `compare car-t car-nk` and (with `show`) `show car-t` on `graph`;
    answers as engines must agree on them (tests/parity.py), so stores can be compared."""
    from kg import render, report, results
    from kg.compare import compare
    from kg.query import bindings, named
    from tests.parity import comparable_rows

    measured: Measured = {}
    for name in names:
        query = named(name)
        values = bindings(graph, query, {p.name: "car-nk" for p in query.parameters if p.required})

        measured[name] = _timed(
            lambda q=query.text, v=values: results.read(graph.query(q, v)),
            lambda answer, q=query.text: _digest(comparable_rows(q, answer)),
            runs,
            timeout,
        )
    measured["compare car-t car-nk"] = _timed(
        lambda: report.render_json(compare(graph, ["car-t", "car-nk"])),
        lambda text: _digest(json.loads(text)),
        runs,
        timeout,
    )
    if show:
        measured["show car-t"] = _timed(
            lambda: render.description_json(graph.describe("car-t")), _digest, runs, timeout
        )
    return measured


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _size_mb(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 2**20


def child_ingest(store: Path, records: Path) -> dict:
    from kg.registry import ingest_ctgov
    from kg.store import build, current_build

    start = time.perf_counter()
    report = ingest_ctgov(store, [records])
    seconds = time.perf_counter() - start
    database = current_build(store)
    assert database is not None
    store_mb, database_mb = _size_mb(store), _size_mb(database)
    start = time.perf_counter()
    build(store, force=True)  # what every change to data/ or the ontology costs at this size
    return {
        "seconds": seconds,
        "rebuild_s": time.perf_counter() - start,
        "records": len(report.ingested) + len(report.updated),
        "triples": report.triples,
        "problems": len(report.problems),
        "store_mb": store_mb,
        "database_mb": database_mb,
        "peak_rss_mb": _peak_rss_mb(),  # of the ingest and the rebuild after it
    }


def child_oxigraph(store: Path, runs: int, timeout: float) -> dict:
    import kg
    from kg.query import named_queries

    return {
        "queries": _measure(kg.open_graph(store), runs, timeout, sorted(named_queries())),
        "peak_rss_mb": _peak_rss_mb(),
    }


def child_rdflib(store: Path, runs: int, timeout: float) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    from rdflib_baseline import load_dataset, rdflib_graph

    from kg.ingest import records_file

    start = time.perf_counter()
    dataset = load_dataset(records_file(store))
    load = time.perf_counter() - start
    return {
        "load_s": load,
        "queries": _measure(rdflib_graph(dataset), runs, timeout, BASELINE_QUERIES, show=False),
        "peak_rss_mb": _peak_rss_mb(),
    }


def child_remote(endpoint: str, runs: int, timeout: float) -> dict:
    from kg.query import named_queries
    from kg.remote import RemoteStore

    graph = TherapyGraph(RemoteStore(endpoint, timeout=timeout))  # HTTP waits as long as the alarm
    return {"queries": _measure(graph, runs, timeout, sorted(named_queries()))}


def on_server(name: str, store: Path, work: Path, args: argparse.Namespace) -> dict:
    """Start `name` on a fresh directory, `kg push` the store into it, time the queries through it."""
    import kg
    from kg.push import push

    push_path, query_path = EXTERNAL[name]
    directory = work / name
    location = kg.open_graph(store).location
    assert location is not None
    with external_server(name, directory, args.virtuoso_memory_mb) as base:
        start = time.perf_counter()
        result = push(location, base + push_path)
        pushed = time.perf_counter() - start
        measured = _child("--child", "remote", "--endpoint", base + query_path, *_common(args))
        return {
            "push_s": pushed,
            "method": f"{result.method}, {result.requests:,} requests",
            "server_rss_mb": base.peak_memory_mb(),
            "server_disk_mb": _size_mb(directory),
            **measured,
        }


def _common(args: argparse.Namespace) -> list[str]:
    return ["--runs", str(args.runs), "--query-timeout", str(args.query_timeout)]


def _child(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"child {args[:2]} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _ms(result: dict[str, float | str | None] | None, timeout: float) -> str:
    if result is None:
        return "not run"
    if result["seconds"] is None:
        return "error" if result["answer"] else f">{timeout:.0f} s"
    return f"{result['seconds'] * 1000:,.0f} ms"


def print_size(
    size: int, ingested: dict, ours: dict, theirs: dict | None, servers: dict[str, dict], timeout: float
) -> None:
    print(
        f"\n{size:,} study records: ingested {ingested['records']:,} in {ingested['seconds']:.1f} s "
        f"({ingested['records'] / ingested['seconds']:,.0f} records/s, "
        f"{ingested['triples'] / ingested['seconds']:,.0f} triples/s; {ingested['triples']:,} triples), "
        f"{ingested['problems']} skipped; store {ingested['store_mb']:,.0f} MB after the ingest (the build's database {ingested['database_mb']:,.0f} MB,"
        f" the rest the ingested records kept for rebuilds); peak RSS (ingest, rebuild) {ingested['peak_rss_mb']:,.0f} MB;"
        f" full rebuild (kg build --force) {ingested['rebuild_s']:.1f} s"
    )
    print(f"  embedded queries: peak RSS {ours['peak_rss_mb']:,.0f} MB")
    if theirs:
        print(f"  rdflib baseline: load {theirs['load_s']:.1f} s, peak RSS {theirs['peak_rss_mb']:,.0f} MB")
    for name, server in servers.items():
        print(
            f"  {name}: kg push {server['push_s']:.1f} s ({server['method']}); server peak RSS "
            f"{server['server_rss_mb']:,.0f} MB, disk {server['server_disk_mb']:,.0f} MB"
        )
    header = ["query", "embedded", *(["rdflib", "rdflib/embedded"] if theirs else []), *servers]
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    differ = []
    for name, result in ours["queries"].items():
        cells = [name, _ms(result, timeout)]
        if theirs:
            base = theirs["queries"].get(name)
            ratio = base and base["seconds"] and result["seconds"] and base["seconds"] / result["seconds"]
            cells += [_ms(base, timeout), f"{ratio:.1f}" if ratio else "—"]
        for server_name, server in servers.items():
            remote = server["queries"][name]
            cells.append(_ms(remote, timeout))
            if remote["answer"] != result["answer"]:
                differ.append(f"{name} on {server_name}: {remote['answer'] or 'no answer'}")
        print("| " + " | ".join(cells) + " |")
    for line in differ:
        print(f"  answer differs from the embedded store's: {line}")
    slowest = max(
        ((n, r) for n, r in ours["queries"].items() if n != "show car-t"),
        key=lambda item: float("inf") if item[1]["seconds"] is None else item[1]["seconds"],
    )
    per_triple = ingested["database_mb"] * 2**20 / max(ingested["triples"], 1)
    print(
        f"  goals: every query and compare < 1 s: {'met' if (slowest[1]['seconds'] or 99) < 1 else f'not met ({slowest[0]})'};"
        f" ingest < 60 s: {'met' if ingested['seconds'] < 60 else 'not met'};"
        f" database {per_triple:.0f} B/triple < 250: {'met' if per_triple < 250 else 'not met'}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--query-timeout", type=float, default=300.0)
    parser.add_argument("--no-baseline", action="store_true", help="skip rdflib (it needs minutes and GBs at 10^5)")
    parser.add_argument("--servers", nargs="*", choices=list(EXTERNAL), default=list(EXTERNAL))
    parser.add_argument("--virtuoso-memory-mb", type=int, default=4096, help="Virtuoso's page buffers")
    parser.add_argument("--child", choices=["ingest", "oxigraph", "rdflib", "remote"], help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--records", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        children = {
            "ingest": lambda: child_ingest(args.store, args.records),
            "oxigraph": lambda: child_oxigraph(args.store, args.runs, args.query_timeout),
            "rdflib": lambda: child_rdflib(args.store, args.runs, args.query_timeout),
            "remote": lambda: child_remote(args.endpoint, args.runs, args.query_timeout),
        }
        print(json.dumps(children[args.child]()))
        return

    sys.path.insert(0, str(Path(__file__).parent))
    from generate_ctgov import studies

    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            records = work / "studies.jsonl"
            with records.open("w") as out:
                for study in studies(size):
                    out.write(json.dumps(study) + "\n")
            store = work / "store"
            ingested = _child("--child", "ingest", "--store", str(store), "--records", str(records))
            records.unlink()
            ours = _child("--child", "oxigraph", "--store", str(store), *_common(args))
            theirs = None if args.no_baseline else _child("--child", "rdflib", "--store", str(store), *_common(args))
            servers = {name: on_server(name, store, work, args) for name in args.servers}
        print_size(size, ingested, ours, theirs, servers, args.query_timeout)


if __name__ == "__main__":
    main()
