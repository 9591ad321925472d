"""Benchmark the named queries on the embedded Oxigraph store and on an in-memory rdflib Dataset,
side by side, on the curated graph and on a synthetic graph of about 10^6 triples. (`kg serve`
under load is measured by scripts/bench_serve.py.)

    python scripts/bench_queries.py [--products 17000] [--runs 3] [--baseline-runs 1]
                                    [--query-timeout 60]

Each engine runs in its own process (so peak memory is its own): it loads the ontology, the
curated data and the synthetic N-Quads, then runs every named query several times (`--runs` for
Oxigraph, `--baseline-runs` for rdflib, whose queries take seconds to minutes) and reports the
median. rdflib queries that exceed `--query-timeout` seconds, or fail, are reported as such.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))


class QueryTimeout(Exception):
    pass


def engine_run(engine: str, synthetic: Path | None, runs: int, timeout: float) -> dict:
    """Load everything into one engine and time every named query; returns a JSON-able report."""
    from kg import results
    from kg.graph import iri
    from kg.query import named_queries
    from kg.sources import input_files

    files = input_files()
    start = time.perf_counter()
    if engine == "oxigraph":
        import pyoxigraph as ox

        from kg.graph import TherapyGraph
        from kg.sources import parse

        directory = tempfile.mkdtemp(prefix="bench-ox-")
        store = ox.Store(directory)
        store.bulk_extend([q for f in files for q in parse(f)])
        if synthetic:
            store.bulk_load(path=str(synthetic), format=ox.RdfFormat.N_QUADS)
        store.flush()
        graph = TherapyGraph(store)
        triples = len(store)

        def execute(text: str, values: dict) -> int:
            return len(results.read(graph.query(text, values)).rows)
    else:
        import rdflib
        from rdflib.plugins.sparql import prepareQuery

        from kg import vocab

        dataset = rdflib.Dataset(default_union=True)
        for f in files:
            dataset.graph(rdflib.URIRef(f.graph)).parse(f.path, format="turtle")
        if synthetic:
            dataset.parse(synthetic, format="nquads")
        triples = len(dataset)

        def execute(text: str, values: dict) -> int:
            init = {k: rdflib.URIRef(v.value) for k, v in values.items()}
            return len(list(dataset.query(prepareQuery(text, initNs=vocab.PREFIXES), initBindings=init)))

    load_s = time.perf_counter() - start
    report = {"engine": engine, "triples": triples, "load_s": load_s, "queries": {}}

    def on_alarm(signum, frame):
        raise QueryTimeout

    signal.signal(signal.SIGALRM, on_alarm)
    for name, query in named_queries().items():
        values = {p.name: iri("tkgr:car-nk") for p in query.parameters if p.required}
        times, rows = [], None
        try:
            for _ in range(runs):
                signal.setitimer(signal.ITIMER_REAL, timeout)
                t = time.perf_counter()
                rows = execute(query.text, values)
                times.append(time.perf_counter() - t)
                signal.setitimer(signal.ITIMER_REAL, 0)
            report["queries"][name] = {"median_ms": statistics.median(times) * 1000, "rows": rows}
        except QueryTimeout:
            report["queries"][name] = {"timeout_s": timeout}
        except Exception as error:
            signal.setitimer(signal.ITIMER_REAL, 0)
            report["queries"][name] = {"error": f"{type(error).__name__}: {error}"[:80]}
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def _engine_subprocess(engine: str, synthetic: Path | None, runs: int, timeout: float) -> dict:
    command = [sys.executable, __file__, "--engine", engine, "--runs", str(runs), "--query-timeout", str(timeout)]
    if synthetic:
        command += ["--synthetic", str(synthetic)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _print_side_by_side(title: str, ox_report: dict, rdf_report: dict) -> None:
    print(f"\n{title}: {ox_report['triples']:,} triples")
    print(
        f"  load: oxigraph {ox_report['load_s']:.1f} s, rdflib {rdf_report['load_s']:.1f} s "
        f"(ratio {rdf_report['load_s'] / ox_report['load_s']:.1f}x); peak RSS oxigraph "
        f"{ox_report['peak_rss_mb']:.0f} MB, rdflib {rdf_report['peak_rss_mb']:.0f} MB"
    )
    print(f"  {'query':34} {'rows':>6} {'oxigraph ms':>12} {'rdflib ms':>12} {'ratio':>8}")
    for name, ours in ox_report["queries"].items():
        theirs = rdf_report["queries"][name]
        if "timeout_s" in theirs or "error" in theirs:
            failure = f">{int(theirs['timeout_s'])} s" if "timeout_s" in theirs else "fails"
            print(
                f"  {name:34} {ours['rows']:>6} {ours['median_ms']:>12.1f} {failure:>12} {'—':>8}"
                + (f"  ({theirs['error']})" if "error" in theirs else "")
            )
            continue
        mismatch = "" if theirs["rows"] == ours["rows"] else f"  (rdflib rows {theirs['rows']})"
        ratio = theirs["median_ms"] / ours["median_ms"] if ours["median_ms"] else float("inf")
        print(
            f"  {name:34} {ours['rows']:>6} {ours['median_ms']:>12.1f} {theirs['median_ms']:>12.1f} {ratio:>7.1f}x{mismatch}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=17_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-runs", type=int, default=1)
    parser.add_argument("--query-timeout", type=float, default=60.0)
    parser.add_argument("--engine", choices=["oxigraph", "rdflib"], help=argparse.SUPPRESS)
    parser.add_argument("--synthetic", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(engine_run(args.engine, args.synthetic, args.runs, args.query_timeout)))
        return

    sys.path.insert(0, str(ROOT))
    from generate_synthetic import synthetic_quads

    runs = {"oxigraph": args.runs, "rdflib": args.baseline_runs}
    curated = [_engine_subprocess(e, None, runs[e], args.query_timeout) for e in ("oxigraph", "rdflib")]
    _print_side_by_side("curated graph", *curated)
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = Path(tmp) / "synthetic.nq"
        with synthetic.open("w") as out:
            for line in synthetic_quads(args.products):
                out.write(line + "\n")
        big = [_engine_subprocess(e, synthetic, runs[e], args.query_timeout) for e in ("oxigraph", "rdflib")]
        _print_side_by_side(f"curated + synthetic ({args.products:,} products)", *big)


if __name__ == "__main__":
    main()
