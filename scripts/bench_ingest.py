"""Benchmark `kg ingest ctgov` at growing sizes, and queries on the result, against rdflib.

For each size (default 10^3, 10^4, 10^5 synthetic study records from generate_ctgov.py):
  - ingest into a fresh store in a child process: records/s, triples/s, peak memory, store size;
  - on the embedded store: the latency of every named query (required parameters bound to car-nk)
    and of `compare car-t car-nk`, medians of `--runs`;
  - the baseline in another child process: curated Turtle plus the ingested N-Quads parsed into an
    in-memory rdflib Dataset, two of the queries and the same comparison code through rdflib;
and prints them side by side with the ratios, and whether the goals at 10^5 records hold (every
named query and compare under 1 s, ingest under 60 s, the store under 250 bytes per triple).

    python scripts/bench_ingest.py [--sizes 1000 10000 100000] [--runs 3] [--query-timeout 300]
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE_QUERIES = ["trials-by-modality-and-phase", "adverse-event-rates"]  # rdflib takes minutes on the rest


def _timed(function, runs: int, timeout: float) -> float | None:
    """Median seconds of `runs` calls, or None if one passes the timeout."""

    def on_alarm(signum, frame):
        raise TimeoutError

    signal.signal(signal.SIGALRM, on_alarm)
    times = []
    try:
        for _ in range(runs):
            signal.setitimer(signal.ITIMER_REAL, timeout)
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
            signal.setitimer(signal.ITIMER_REAL, 0)
    except TimeoutError:
        return None
    return statistics.median(times)


def _measure(graph, runs: int, timeout: float, names: list[str]) -> dict[str, float | None]:
    from kg.compare import compare
    from kg.query import bindings, named

    results = {}
    for name in names:
        query = named(name)
        values = bindings(graph, query, {p.name: "car-nk" for p in query.parameters if p.required})
        results[name] = _timed(lambda q=query.text, v=values: graph.select(q, v), runs, timeout)
    results["compare car-t car-nk"] = _timed(lambda: compare(graph, ["car-t", "car-nk"]), runs, timeout)
    return results


def child_ingest(store: Path, records: Path) -> dict:
    from kg.registry import ingest_ctgov

    start = time.perf_counter()
    report = ingest_ctgov(store, [records])
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
    return {
        "seconds": seconds,
        "records": len(report.ingested) + len(report.updated),
        "triples": report.triples,
        "problems": len(report.problems),
        "store_mb": size / 2**20,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def child_oxigraph(store: Path, runs: int, timeout: float) -> dict:
    import kg
    from kg.query import named_queries

    return {
        "queries": _measure(kg.open_graph(store), runs, timeout, sorted(named_queries())),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
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
        "queries": _measure(rdflib_graph(dataset), runs, timeout, BASELINE_QUERIES),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _child(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"child {args[:2]} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _ms(seconds: float | None, timeout: float) -> str:
    return f">{timeout:.0f} s" if seconds is None else f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--query-timeout", type=float, default=300.0)
    parser.add_argument("--child", choices=["ingest", "oxigraph", "rdflib"], help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--records", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "ingest":
        print(json.dumps(child_ingest(args.store, args.records)))
        return
    if args.child:
        child = child_oxigraph if args.child == "oxigraph" else child_rdflib
        print(json.dumps(child(args.store, args.runs, args.query_timeout)))
        return

    sys.path.insert(0, str(Path(__file__).parent))
    from generate_ctgov import studies

    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            records = Path(tmp) / "studies.jsonl"
            with records.open("w") as out:
                for study in studies(size):
                    out.write(json.dumps(study) + "\n")
            store = Path(tmp) / "store"
            common = ["--store", str(store), "--runs", str(args.runs), "--query-timeout", str(args.query_timeout)]
            ingested = _child("--child", "ingest", "--store", str(store), "--records", str(records))
            ours = _child("--child", "oxigraph", *common)
            theirs = _child("--child", "rdflib", *common)
        print(
            f"\n{size:,} study records: ingested {ingested['records']:,} in {ingested['seconds']:.1f} s "
            f"({ingested['records'] / ingested['seconds']:,.0f} records/s, "
            f"{ingested['triples'] / ingested['seconds']:,.0f} triples/s; {ingested['triples']:,} triples), "
            f"{ingested['problems']} skipped; store {ingested['store_mb']:.0f} MB; peak RSS {ingested['peak_rss_mb']:.0f} MB"
        )
        print(
            f"  rdflib baseline load: {theirs['load_s']:.1f} s; peak RSS oxigraph queries "
            f"{ours['peak_rss_mb']:.0f} MB, rdflib {theirs['peak_rss_mb']:.0f} MB"
        )
        print(f"  {'query':42} {'oxigraph':>10} {'rdflib':>10} {'ratio':>8}")
        for name, seconds in ours["queries"].items():
            base = theirs["queries"].get(name, "not run")
            ratio = f"{base / seconds:.1f}x" if isinstance(base, float) and seconds else "—"
            shown = base if isinstance(base, str) else _ms(base, args.query_timeout)
            print(f"  {name:42} {_ms(seconds, args.query_timeout):>10} {shown:>10} {ratio:>8}")
        slowest = max(ours["queries"].items(), key=lambda item: float("inf") if item[1] is None else item[1])
        per_triple = ingested["store_mb"] * 2**20 / max(ingested["triples"], 1)
        print(
            f"  goals: every query and compare < 1 s: {'met' if (slowest[1] or 99) < 1 else f'not met ({slowest[0]})'};"
            f" ingest < 60 s: {'met' if ingested['seconds'] < 60 else 'not met'};"
            f" store {per_triple:.0f} B/triple < 250: {'met' if per_triple < 250 else 'not met'}"
        )


if __name__ == "__main__":
    main()
