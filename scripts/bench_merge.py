"""What the stored merged default graph costs: build time and store size, with and without it.

The build writes the RDF merge of all named graphs into the default graph (kg/derive.py) so that
counts are counts on every engine. For the curated graph and for synthetic registry records
(generate_ctgov.py) this builds a store, then copies its named graphs into a second store without
the merge, and reports side by side in one run: the time the merge step takes against the whole
build, and the size on disk of both stores.

    python scripts/bench_merge.py [--sizes 0 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kg import derive, store
from kg.registry import ingest_ctgov


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure(records: int, work: Path) -> dict[str, float]:
    root = work / f"store-{records}"
    if records:
        from generate_ctgov import studies

        lines = work / f"records-{records}.jsonl"
        lines.write_text("".join(json.dumps(s) + "\n" for s in studies(records)), encoding="utf-8")
        ingest_ctgov(root, [lines])
    start = time.perf_counter()
    built = store.build(root, force=True)
    build_seconds = time.perf_counter() - start

    merged = store.open_build(built.location)
    default_triples = len(merged) - built.quads
    bare_dir = work / f"bare-{records}"
    bare = ox.Store(str(bare_dir))
    bare.bulk_extend(q for q in merged.quads_for_pattern(None, None, None, None) if q.graph_name != ox.DefaultGraph())
    bare.flush()
    bare_size = _size(bare_dir)
    start = time.perf_counter()
    derive.merge_into_default_graph(bare)
    bare.flush()
    merge_seconds = time.perf_counter() - start
    return {
        "named-graph quads": built.quads,
        "default-graph triples": default_triples,
        "build s": build_seconds,
        "merge s": merge_seconds,
        "store MB with merge": _size(built.location) / 1e6,
        "store MB without": bare_size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 10_000], help="synthetic records (0: curated only)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for records in args.sizes:
            m = measure(records, Path(tmp))
            print(
                f"{records:>7} records: {m['named-graph quads']:,} quads in named graphs, "
                f"{m['default-graph triples']:,} distinct triples in the default graph"
            )
            print(
                f"         build {m['build s']:.1f} s, of which the merge {m['merge s']:.1f} s "
                f"({m['merge s'] / m['build s']:.0%}); store {m['store MB with merge']:.1f} MB with the merge vs "
                f"{m['store MB without']:.1f} MB without ({m['store MB with merge'] / m['store MB without']:.2f}x)"
            )


if __name__ == "__main__":
    main()
