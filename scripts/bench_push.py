"""Measure `kg push` into real servers started here: the push of kg/push.py (one dataset upload,
or batched SPARQL updates) beside one Graph Store PUT per graph (how `kg push` worked before),
at growing numbers of ingested synthetic registry records; every push into a fresh server.

    python scripts/bench_push.py [--sizes 10000 100000] [--per-graph-limit 20000] [--servers Oxigraph Virtuoso]
        [--virtuoso-memory-mb 4096]

Prints, per size and server: the method, requests and seconds of each way, triples per second,
and the per-graph push's time over the batched one. The per-graph push is skipped above
--per-graph-limit graphs (10^5 PUTs take long); the table says so.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402

import kg  # noqa: E402
from kg.push import push  # noqa: E402
from kg.registry import ingest_ctgov  # noqa: E402
from kg.remote import MERGED_GRAPH, request  # noqa: E402
from kg.store import open_build  # noqa: E402
from tests.servers import EXTERNAL, external_server  # noqa: E402


def one_put_per_graph(location: Path, graph_store: str, merge_into_default: bool) -> int:
    """The push before kg/push.py: a Graph Store PUT per named graph, then one for the merge;
    returns the number of requests."""
    store = open_build(location)
    graphs: list[ox.NamedNode | ox.DefaultGraph] = [g for g in store.named_graphs() if isinstance(g, ox.NamedNode)]
    graphs.append(ox.DefaultGraph())
    for graph in graphs:
        triples = [
            ox.Triple(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, graph)
        ]
        if isinstance(graph, ox.NamedNode):
            params = urllib.parse.urlencode({"graph": graph.value})
        else:
            params = "default" if merge_into_default else urllib.parse.urlencode({"graph": MERGED_GRAPH})
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
        request(f"{graph_store}?{params}", data=body, method="PUT", headers={"Content-Type": "application/n-triples"})
    return len(graphs)


def build(size: int, work: Path) -> tuple[Path, int, int]:
    """Generate and ingest `size` synthetic records; the build's location, named graphs, triples."""
    records = work / "records.jsonl"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_ctgov.py"), "-n", str(size), "-o", str(records)], check=True
    )
    ingest_ctgov(work / "store", [records])
    graph = kg.open_graph(work / "store")
    stats = graph.stats()
    assert graph.location is not None
    return graph.location, stats["named_graphs"], stats["triples"]


def rows(sizes: list[int], per_graph_limit: int, servers: list[str], virtuoso_mb: int) -> Iterator[list[str]]:
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            location, graphs, triples = build(size, work)
            for name in servers:
                path = EXTERNAL[name][0]
                with external_server(name, work / f"{name}-batched", virtuoso_mb) as base:
                    start = time.perf_counter()
                    result = push(location, base + path)
                    seconds = time.perf_counter() - start
                row = [
                    f"{size:,}",
                    f"{graphs:,}",
                    f"{triples:,}",
                    name,
                    f"{result.method} ({result.requests:,} requests)",
                ]
                row += [f"{seconds:.1f} s", f"{triples / seconds:,.0f}"]
                if graphs > per_graph_limit:
                    row += ["not run", ""]
                else:
                    with external_server(name, work / f"{name}-per-graph", virtuoso_mb) as base:
                        start = time.perf_counter()
                        requests = one_put_per_graph(location, base + (path or "/store"), name == "Oxigraph")
                        before = time.perf_counter() - start
                    row += [f"{before:.1f} s ({requests:,} requests)", f"{before / seconds:.1f}"]
                yield row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--per-graph-limit", type=int, default=20_000)
    parser.add_argument("--servers", nargs="+", choices=list(EXTERNAL), default=list(EXTERNAL))
    parser.add_argument("--virtuoso-memory-mb", type=int, default=4096, help="Virtuoso's page buffers")
    args = parser.parse_args()
    header = ["records", "graphs", "triples", "server", "kg push", "time", "triples/s", "one PUT per graph", "ratio"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows(args.sizes, args.per_graph_limit, args.servers, args.virtuoso_memory_mb):
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
