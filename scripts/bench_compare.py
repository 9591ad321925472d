"""Benchmark: `kg compare car-t car-nk` against a naive in-memory rdflib baseline, in one run.

The command is timed as users run it: a fresh process, cold Python start, the store already
built. The baseline is the same comparison code and the same SPARQL queries, but run by rdflib
over all Turtle files parsed into an in-memory Dataset on every call. Both are run as
subprocesses, alternately, and the medians and their ratio are reported.

    python scripts/bench_compare.py [--runs 7] [THERAPY ...]

The target in the issue: the command takes at most half the baseline's time (ratio >= 2).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def baseline(therapies: list[str]) -> None:
    """Parse every input file with rdflib and compare through rdflib's SPARQL engine."""
    from rdflib_baseline import RdflibGraph, load_dataset

    from kg import report
    from kg.compare import compare
    from kg.render import dumps

    comparison = compare(RdflibGraph(load_dataset()), therapies)
    sys.stdout.write(dumps(report.to_json(comparison)))


def _time(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("therapies", nargs="*", default=["car-t", "car-nk"])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        baseline(args.therapies)
        return

    import json
    import os

    with tempfile.TemporaryDirectory() as store:
        env = {**os.environ, "THERAPY_KG_STORE": store, "NO_COLOR": "1"}
        kg_cmd = [sys.executable, "-m", "kg", "compare", *args.therapies]
        subprocess.run([sys.executable, "-m", "kg", "build"], env=env, check=True, capture_output=True)
        base_cmd = [sys.executable, __file__, "--baseline", *args.therapies]

        # Same answer first: the baseline must compute the comparison the command prints.
        _, ours = _time([*kg_cmd, "--format", "json"], env)
        _, theirs = _time(base_cmd, env)
        if json.loads(ours) != json.loads(theirs):
            sys.exit("baseline and kg compare disagree; the benchmark would compare different work")

        kg_times, base_times = [], []
        for _ in range(args.runs):
            kg_times.append(_time(kg_cmd, env)[0])
            base_times.append(_time(base_cmd, env)[0])
        python_start = statistics.median(_time([sys.executable, "-c", "pass"], env)[0] for _ in range(args.runs))

    ours_ms, base_ms = statistics.median(kg_times) * 1000, statistics.median(base_times) * 1000
    print(f"comparison: {' vs '.join(args.therapies)}  ({args.runs} runs each, medians, cold processes)")
    print(f"  python -c pass                 {python_start * 1000:8.0f} ms")
    print(f"  kg compare (Oxigraph store)    {ours_ms:8.0f} ms   (min {min(kg_times) * 1000:.0f}, max {max(kg_times) * 1000:.0f})")
    print(f"  baseline (rdflib, parse + query) {base_ms:6.0f} ms   (min {min(base_times) * 1000:.0f}, max {max(base_times) * 1000:.0f})")
    ratio = base_ms / ours_ms
    print(f"  ratio baseline / kg compare    {ratio:8.2f}x   target >= 2.00x: {'met' if ratio >= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
