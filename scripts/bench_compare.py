"""Benchmark: cold `kg compare` (and `kg show`) processes against naive rdflib baselines, in one run.

Every command is timed as users run it: a fresh process, cold Python start, the store already
built. Two times are reported for our commands: the first run after a build, which evaluates the
queries and keeps their answers in the build's memo (kg/memo.py), and later runs, which read them.
Two baselines, also fresh processes:

  rdflib parse        every input file parsed with rdflib into one Dataset, nothing else
  rdflib parse+query  the same comparison code and SPARQL queries, run by rdflib over that Dataset

The baseline must print the same comparison as the command (checked first). Processes alternate
and medians are reported, with ratios (rdflib parse+query: three runs).

    python scripts/bench_compare.py [--runs 9] [THERAPY ...]

Targets (issue "Speed and shape"): compare and show at most 0.2 s, and at most 0.3x the rdflib parse.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def baseline(therapies: list[str]) -> None:
    """Parse every input file with rdflib and compare through rdflib's SPARQL engine."""
    from rdflib_baseline import load_dataset, rdflib_graph

    from kg import report
    from kg.compare import compare
    from kg.render import dumps

    comparison = compare(rdflib_graph(load_dataset()), therapies)
    sys.stdout.write(dumps(report.to_json(comparison)))


def parse_only() -> None:
    from rdflib_baseline import load_dataset

    print(len(load_dataset(derived=False)))


def _time(command: list[str], env: dict[str, str], before: object = None) -> tuple[float, str]:
    if callable(before):
        before()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("therapies", nargs="*", default=["car-t", "car-nk"])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--parse-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        return baseline(args.therapies)
    if args.parse_only:
        return parse_only()

    with tempfile.TemporaryDirectory() as root:
        env = {**os.environ, "THERAPY_KG_STORE": root, "NO_COLOR": "1"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode; so should the source tree
        kg = [sys.executable, "-m", "kg"]
        subprocess.run([*kg, "build"], env=env, check=True, capture_output=True)
        build = Path(root) / (Path(root) / "CURRENT").read_text().strip()

        def forget() -> None:
            shutil.rmtree(build / "memo", ignore_errors=True)

        compare = [*kg, "compare", *args.therapies, "--format", "json"]
        show = [*kg, "show", args.therapies[0], "--format", "json"]
        rdflib_query = [sys.executable, __file__, "--baseline", *args.therapies]
        rdflib_parse = [sys.executable, __file__, "--parse-only"]

        _, ours = _time(compare, env)  # same answer first: the baseline must do the work the command does
        if json.loads(ours) != json.loads(_time(rdflib_query, env)[1]):
            sys.exit("baseline and kg compare disagree; the benchmark would compare different work")

        cases = {
            "kg compare, first after build": (compare, forget),
            "kg compare": (compare, None),
            f"kg show {args.therapies[0]}, first after build": (show, forget),
            f"kg show {args.therapies[0]}": (show, None),
            "rdflib parse": (rdflib_parse, None),
            "rdflib parse+query": (rdflib_query, None),
            "python -c pass": ([sys.executable, "-c", "pass"], None),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for run in range(args.runs):
            for name, (command, before) in cases.items():
                if name != "rdflib parse+query" or run < 3:  # about 25 s a run: three are plenty
                    times[name].append(_time(command, env, before)[0])

    median = {name: statistics.median(t) for name, t in times.items()}
    parse, parse_query = median["rdflib parse"], median["rdflib parse+query"]
    print(f"{' vs '.join(args.therapies)}: {args.runs} runs each, medians of cold processes")
    print(f"  {'':32} {'ms':>6} {'/ parse':>8} {'/ parse+query':>14}")
    for name, value in median.items():
        print(f"  {name:32} {value * 1000:6.0f} {value / parse:8.2f} {value / parse_query:14.2f}")
    for name in ("kg compare", f"kg show {args.therapies[0]}"):
        ok = median[name] <= 0.2 and median[name] / parse <= 0.3
        print(f"  target {name}: <= 200 ms and <= 0.30x rdflib parse: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
