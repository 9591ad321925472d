"""Benchmark `kg ingest ctgov` at growing sizes, and queries on the result, against rdflib.

For each size (default 10^3, 10^4, 10^5 synthetic study records from generate_ctgov.py):
  - ingest into a fresh store in a child process: records/s, triples/s, peak memory, store size;
  - on the embedded store: named-query latency (trials by modality and phase, adverse-event rates)
    and `compare car-t car-nk`, medians of `--runs`;
  - the baseline in another child process: curated Turtle plus the ingested N-Quads parsed into an
    in-memory rdflib Dataset, the same queries and the same comparison code through rdflib;
and prints them side by side with the ratios.

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

QUERIES = ["trials-by-modality-and-phase", "adverse-event-rates"]


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


def _measure(graph, runs: int, timeout: float) -> dict[str, float | None]:
    from kg.compare import compare
    from kg.query import named

    results = {name: _timed(lambda q=named(name).text: graph.select(q), runs, timeout) for name in QUERIES}
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

    return {
        "queries": _measure(kg.open_graph(store), runs, timeout),
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
        "queries": _measure(rdflib_graph(dataset), runs, timeout),
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
        print(f"  {'query':32} {'oxigraph':>10} {'rdflib':>10} {'ratio':>8}")
        for name, seconds in ours["queries"].items():
            base = theirs["queries"][name]
            ratio = f"{base / seconds:.1f}x" if base and seconds else "—"
            print(f"  {name:32} {_ms(seconds, args.query_timeout):>10} {_ms(base, args.query_timeout):>10} {ratio:>8}")


if __name__ == "__main__":
    main()
