"""Throughput of `kg serve` next to Oxigraph's own server on the same data, same run, loopback only.

    python scripts/bench_serve.py [--clients 8,16,32] [--requests 2000] [--seconds 60]

Builds the store, pushes it (`kg.push.push`) into a fresh `oxigraph` server directory, then serves
it with `oxigraph serve-read-only` (no `--union-default-graph`: the build stores the default graph
as the merge of the named graphs) next to `kg serve`. For each client count and query, each server
gets the same N GET requests, each on a new connection (bounded by `--requests` and `--seconds`),
and the script prints requests/s, p50/p99 latency, errors and the ratio kg/oxigraph.

Cases: a simple SELECT, the `products-by-modality` named query (both repeat one text, so `kg serve`
answers most from its response cache, as a dashboard would see it), and `distinct queries`, where
every request is a different text (a different LIMIT), so every `kg serve` request runs in a worker.
The load generator runs in separate processes, so it does not share a GIL with either server.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kg import store as stores  # noqa: E402
from kg import vocab  # noqa: E402
from kg.push import push  # noqa: E402
from kg.query import named  # noqa: E402
from tests.servers import free_port, kg_server, oxigraph_server  # noqa: E402

PROLOGUE = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in vocab.PREFIXES.items())
SIMPLE = PROLOGUE + "SELECT DISTINCT ?p ?l WHERE { ?p a tkg:Product ; rdfs:label ?l } ORDER BY ?l LIMIT 20"
LOAD_PROCESSES = 4


@dataclass(frozen=True)
class Outcome:
    done: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000 if ordered else float("nan")


def _one_request(host: str, port: int, raw: bytes) -> tuple[bool, float]:
    """Send one request on a new connection and read the answer to the end: (ok, seconds)."""
    start = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=30) as sock:
            sock.sendall(raw)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError:
        return False, time.perf_counter() - start
    return _complete_200(b"".join(chunks)), time.perf_counter() - start


def _complete_200(answer: bytes) -> bool:
    """Whether an HTTP answer is a 200 with its whole body (by Content-Length, or chunked to the end)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    if lines[0].split(b" ")[1:2] != [b"200"]:
        return False
    length = next((int(line.split(b":", 1)[1]) for line in lines if line.startswith(b"content-length:")), None)
    return len(body) == length if length is not None else body.endswith(b"0\r\n\r\n")


def _load_process(args: tuple[str, int, list[bytes], int, float, float]) -> tuple[int, int, list[float], float]:
    """One load-generating process: `threads` clients sharing its slice of the requests, all
    starting at `start_at` (so process start-up is not measured); returns when it finished too."""
    host, port, raws, threads, start_at, deadline = args
    cursor = iter(raws)  # shared by the clients: each request is sent once

    def client() -> tuple[int, int, list[float]]:
        done, errors, latencies = 0, 0, []
        for raw in cursor:
            if time.time() > deadline:
                break
            ok, seconds = _one_request(host, port, raw)
            done, errors = done + ok, errors + (not ok)
            if ok:
                latencies.append(seconds)
        return done, errors, latencies

    time.sleep(max(0.0, start_at - time.time()))
    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(lambda _: client(), range(threads)))
    return (sum(o[0] for o in outcomes), sum(o[1] for o in outcomes), [x for o in outcomes for x in o[2]], time.time())


def load(url: str, texts: Callable[[int], str], clients: int, requests: int, seconds: float) -> Outcome:
    """`requests` GETs of `url?query=texts(i)` from `clients` concurrent clients, new connection each."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    raws = [
        (
            f"GET {parts.path}?{urllib.parse.urlencode({'query': texts(i)})} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Accept: application/sparql-results+json\r\nConnection: close\r\n\r\n"
        ).encode()
        for i in range(requests)
    ]
    processes = min(LOAD_PROCESSES, clients)
    slices = [raws[i::processes] for i in range(processes)]
    threads = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    start_at = time.time() + 3  # every process has started by then
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        outcomes = pool.map(
            _load_process,
            [(host, port, s, t, start_at, start_at + seconds) for s, t in zip(slices, threads, strict=True)],
        )
    return Outcome(
        sum(o[0] for o in outcomes),
        sum(o[1] for o in outcomes),
        max(o[3] for o in outcomes) - start_at,
        [x for o in outcomes for x in o[2]],
    )


@contextmanager
def oxigraph_read_only(location: Path) -> Iterator[str]:
    """`oxigraph serve-read-only` on loopback; yields its query URL."""
    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    port = free_port()
    process = subprocess.Popen(
        [binary, "serve-read-only", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise TimeoutError("oxigraph serve-read-only did not answer within 30 s")
        yield f"http://127.0.0.1:{port}/query"
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="8,16,32", help="Comma-separated client counts.")
    parser.add_argument("--requests", type=int, default=2000, help="Requests per case and server.")
    parser.add_argument("--seconds", type=float, default=60.0, help="Time bound per case and server.")
    parser.add_argument("--workers", type=int, default=2, help="kg serve worker processes.")
    args = parser.parse_args()
    products = PROLOGUE + named("products-by-modality").text
    serial = itertools.count()
    cases: dict[str, Callable[[int], str]] = {
        "simple SELECT": lambda i: SIMPLE,
        "products-by-modality": lambda i: products,
        "distinct queries": lambda i: SIMPLE.replace("LIMIT 20", f"LIMIT {1000 + next(serial)}"),  # never repeated
    }
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        root, oxdir = Path(tmp) / "kg", Path(tmp) / "oxigraph"
        build = stores.build(root)
        with oxigraph_server(oxdir) as base:
            pushed = push(build.location, base)
        print(f"store: {build.location} ({pushed.triples} triples in {pushed.graphs} named graphs, pushed to Oxigraph)")
        with kg_server(root, "--workers", str(args.workers)) as kg_base, oxigraph_read_only(oxdir) as ox_url:
            print(
                f"{'case':22} {'clients':>7} {'server':>8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'kg/ox':>6}"
            )
            for clients in [int(c) for c in args.clients.split(",")]:
                for name, texts in cases.items():
                    kg_outcome = load(kg_base + "sparql", texts, clients, args.requests, args.seconds)
                    ox_outcome = load(ox_url, texts, clients, args.requests, args.seconds)
                    ratio = kg_outcome.rate / ox_outcome.rate if ox_outcome.rate else float("nan")
                    for server, outcome in (("kg", kg_outcome), ("oxigraph", ox_outcome)):
                        print(
                            f"{name:22} {clients:7} {server:>8} {outcome.rate:8.0f} {outcome.percentile(0.5):7.1f} "
                            f"{outcome.percentile(0.99):7.1f} {outcome.errors:6}"
                            + (f" {ratio:6.2f}" if server == "kg" else "")
                        )


if __name__ == "__main__":
    main()
