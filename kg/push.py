"""Push the built graph to an external SPARQL 1.1 store, and check that it arrived.

Each way leaves the store's project graphs as the build has them, however often it runs (graphs
the build no longer has are dropped too, where a query URL lists them); the fastest the store
allows is used:

- a dataset upload, on an Oxigraph server that holds nothing but the project's graphs: the store
  emptied (`DELETE /store`), then the whole build POSTed as N-Quads to its bulk loader
  (`/store?no_transaction`), about three times faster than a transactional PUT — but the store is
  empty, then partly filled, while the upload runs;
- batched SPARQL 1.1 Update: `DROP` and `INSERT DATA` for many graphs per request (any store with
  an update endpoint: Virtuoso, Fuseki, GraphDB, Oxigraph beside other data);
- one Graph Store `PUT ?graph=` per graph, when only a Graph Store URL is known.

The merged default graph goes to the store's default graph, or, where the store has none of its
own (Virtuoso answers every query over all its graphs), to the named graph `MERGED_GRAPH`, which
`kg.remote.RemoteStore` then names as the default graph of every query. Last, the triples of every
project graph are counted on both sides; a difference is an error that lists the graphs.
"""

from __future__ import annotations

import hashlib
import itertools
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from kg import vocab
from kg.errors import KgError
from kg.graph import solutions
from kg.remote import MERGED_GRAPH, EndpointError, RemoteStore, request
from kg.resources import load_query
from kg.sparqltext import with_values
from kg.store import open_build

BATCH_TRIPLES = 10_000
BATCH_GRAPHS = 250
MERGE_BLOCK = 2_000
"""Limits of one update request: about BATCH_TRIPLES triples, at most BATCH_GRAPHS graphs, and the
merge in GRAPH blocks of MERGE_BLOCK triples. Virtuoso 7 refused a GRAPH block of 8,000 triples
(its parser runs out of stack near 5,000) and 1,000 graphs in one request (its generated SQL grows
too long); 500 graphs of 37 triples took 1.5 s. A named graph is never split, so a request holds
at least one."""
CHECK_TIMEOUT = 900.0
"""Seconds an upload or a count may keep the store busy before it answers: at 10^5 records
Virtuoso's count took over a minute."""
PARALLEL = 2
"""Requests in flight at once. Four is slower on Virtuoso, whose writers wait on each other's
locks: 10^4 records took 29.7 s one request at a time, 29.9 s two and 42.1 s four."""
RETRIES = 3
DEFAULT = "default"


class PushError(KgError):
    """The store did not end up holding what the build holds."""


@dataclass(frozen=True)
class Endpoints:
    """Where a store takes graphs, queries and updates (None when not known), and whether it is an
    Oxigraph server, whose `/store` takes a whole dataset."""

    graph_store: str
    query: str | None
    update: str | None
    oxigraph: bool = False

    @classmethod
    def of(cls, endpoint: str, query: str | None = None, update: str | None = None) -> Endpoints:
        """The URLs of a store from the one a user gives: a bare server address is Oxigraph's
        (`/store`, `/query`, `/update`), a Virtuoso Graph Store URL implies its `/sparql`, any
        other URL is a Graph Store URL taken as given.

        >>> Endpoints.of("http://127.0.0.1:7878")
        Endpoints(graph_store='http://127.0.0.1:7878/store', query='http://127.0.0.1:7878/query', update='http://127.0.0.1:7878/update', oxigraph=True)
        >>> Endpoints.of("http://h:8890/sparql-graph-crud").update
        'http://h:8890/sparql'
        >>> Endpoints.of("http://h:7200/repositories/kg/rdf-graphs/service").query is None
        True
        """
        parts = urllib.parse.urlsplit(endpoint)
        path = parts.path.rstrip("/")
        server = f"{parts.scheme}://{parts.netloc}"
        if path == "":
            found = cls(server + "/store", server + "/query", server + "/update", oxigraph=True)
        elif path.endswith("/sparql-graph-crud"):
            sparql = server + path.removesuffix("-graph-crud")
            found = cls(endpoint, sparql, sparql)
        else:
            found = cls(endpoint, None, None)
        return cls(found.graph_store, query or found.query, update or found.update, found.oxigraph)


@dataclass(frozen=True)
class PushResult:
    endpoint: str
    graphs: int
    triples: int
    default_graph: str  # "default" or the IRI of the named graph holding the merge
    method: str  # "dataset", "update" or "graph store"
    requests: int
    checked: bool  # whether every graph's triples were counted on the store


Progress = Callable[[int, int], None]
"""Called with (triples sent, triples to send)."""


def push(
    location: Path,
    endpoint: str,
    *,
    query: str | None = None,
    update: str | None = None,
    progress: Progress | None = None,
) -> PushResult:
    """Upload every graph of the build at `location` to the store at `endpoint`, then compare
    counts (when a query endpoint is known)."""
    store = open_build(location)
    urls = Endpoints.of(endpoint, query, update)
    local = _counts(store)
    total = sum(local.values())
    remote = _Remote(RemoteStore(urls.query, timeout=CHECK_TIMEOUT)) if urls.query else None
    sender = _Sender(total, progress)
    if urls.oxigraph and remote is not None and not remote.foreign() and _load_dataset(store, urls, sender):
        method, where = "dataset", DEFAULT
    else:
        where = _default_graph_target(urls.graph_store, sender)
        if urls.update:
            method = "update"
            expected = _expected(local, where)
            stale = [g for g in remote.differing(expected) if g not in expected] if remote else []
            _update_in_batches(store, urls, local, where, stale, sender)
        else:
            method = "graph store"
            _in_parallel(partial(_put_graph, store, urls.graph_store, graph, where, sender) for graph in local)
    if remote is not None:
        _check(_expected(local, where), remote, where)
    named = sum(n for g, n in local.items() if g != DEFAULT)
    return PushResult(urls.graph_store, len(local) - 1, named, where, method, sender.requests, remote is not None)


def _counts(store: ox.Store) -> dict[str, int]:
    """Triples per named graph of the build, and of its default graph (the merge), by IRI."""
    counts = {row["g"].value: int(row["n"].value) for row in solutions(store.query(load_query("graph-counts")))}
    counts[DEFAULT] = len(store) - sum(counts.values())
    return counts


def _expected(local: dict[str, int], merge_target: str) -> dict[str, int]:
    """The triples each graph of the store should hold: the build's graphs, the merge under the
    name it has on the store."""
    return {(merge_target if g == DEFAULT else g): n for g, n in local.items()}


def _bucket(graph: str) -> str:
    return hashlib.md5(graph.encode()).hexdigest()[:2]


class _Remote:
    """What a store holds of the project's graphs, asked in buckets (graph-buckets.rq) with an
    empty dataset, so that a store holding a merged graph is not sent a FROM clause per graph."""

    def __init__(self, store: RemoteStore) -> None:
        self.store = store

    def _rows(self, name: str, bucket: str | None = None) -> list[ox.QuerySolution]:
        text = load_query(name)
        if bucket is not None:
            text = with_values(text, {"bucket": ox.Literal(bucket)})
        answer = self.store.query(text, prefixes=vocab.PREFIXES, default_graph=[], named_graphs=[])
        return list(solutions(answer))

    def foreign(self) -> bool:
        """Whether the store holds graphs that are not the project's."""
        return bool(self._rows("foreign-graphs"))

    def default_graph(self) -> int:
        [row] = self._rows("triple-count")
        return int(row["n"].value)

    def differing(self, expected: dict[str, int]) -> dict[str, int]:
        """The store's project graphs in every bucket whose graph or triple count differs from
        `expected`, with their counts; graphs of `expected` missing there count 0."""
        graphs: dict[str, dict[str, int]] = defaultdict(dict)
        for graph, triples in expected.items():
            if graph != DEFAULT:
                graphs[_bucket(graph)][graph] = triples
        buckets = {bucket: [len(held), sum(held.values())] for bucket, held in graphs.items()}
        found = {
            row["bucket"].value: [int(row["graphs"].value), int(row["triples"].value)]
            for row in self._rows("graph-buckets")
        }
        differ: dict[str, int] = {}
        for bucket in sorted(set(buckets) | set(found)):
            if buckets.get(bucket, [0, 0]) != found.get(bucket, [0, 0]):
                rows = self._rows("graphs-in-bucket", bucket) if found.get(bucket) else []
                differ |= dict.fromkeys(graphs.get(bucket, {}), 0)
                differ |= {row["g"].value: int(row["n"].value) for row in rows}
        return differ


class _Sender:
    """Sends requests with retries, counting requests and triples sent."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.sent, self.requests, self.progress = total, 0, 0, progress
        self.lock = threading.Lock()

    def send(self, url: str, body: bytes | BinaryIO, *, method: str, content_type: str, triples: int = 0) -> None:
        headers = {"Content-Type": content_type}
        if not isinstance(body, bytes):
            headers["Content-Length"] = str(body.seek(0, 2))
            body.seek(0)
        for attempt in range(RETRIES):
            try:
                request(url, data=body, method=method, headers=headers, timeout=CHECK_TIMEOUT)
                break
            except EndpointError as error:  # refusals (4xx) are final; a busy or failing server is tried again
                if (error.status is not None and error.status < 500) or attempt == RETRIES - 1:
                    raise
                time.sleep(2**attempt)
                if not isinstance(body, bytes):
                    body.seek(0)
        with self.lock:  # batches go out from several threads
            self.requests += 1
            self.sent += triples
            if self.progress:
                self.progress(self.sent, self.total)


def _load_dataset(store: ox.Store, urls: Endpoints, sender: _Sender) -> bool:
    """Empty the Oxigraph server and bulk-load the whole build into it as N-Quads; False, with
    nothing changed, when it does not take `DELETE /store` (the caller then sends graph by graph)."""
    try:
        request(urls.graph_store, method="DELETE")
    except EndpointError as error:
        if error.status is not None and 400 <= error.status < 500:
            return False
        raise
    sender.requests += 1
    with tempfile.TemporaryFile() as dump:
        store.dump(dump, format=ox.RdfFormat.N_QUADS)
        sender.send(
            urls.graph_store + "?no_transaction",
            dump,
            method="POST",
            content_type="application/n-quads",
            triples=sender.total,
        )
    return True


def _default_graph_target(graph_store: str, sender: _Sender) -> str:
    """Where the merge goes: the store's default graph if its Graph Store takes `PUT ?default`
    (tried with an empty graph, which the push then fills), else `MERGED_GRAPH`."""
    try:
        request(f"{graph_store}?default", data=b"", method="PUT", headers={"Content-Type": "application/n-triples"})
    except EndpointError as error:
        if error.status is None:
            raise
        return MERGED_GRAPH
    sender.requests += 1
    return DEFAULT


def _triples(store: ox.Store, graph: str) -> Iterator[ox.Triple]:
    """One graph of the build (DEFAULT: the merge), read as it is consumed."""
    name = ox.DefaultGraph() if graph == DEFAULT else ox.NamedNode(graph)
    return (ox.Triple(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, name))


def _put_graph(store: ox.Store, graph_store: str, graph: str, merge_target: str, sender: _Sender) -> None:
    """One Graph Store PUT, which replaces the graph."""
    target = merge_target if graph == DEFAULT else graph
    _send_graph(sender, graph_store, target, list(_triples(store, graph)), "PUT")


def _send_graph(sender: _Sender, graph_store: str, target: str, triples: list[ox.Triple], method: str) -> None:
    """PUT (replace) or POST (add to) one graph's triples through the Graph Store."""
    body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
    sender.send(
        f"{graph_store}?{_graph_param(target)}",
        body,
        method=method,
        content_type="application/n-triples",
        triples=len(triples),
    )


def _update_in_batches(
    store: ox.Store, urls: Endpoints, local: dict[str, int], merge_target: str, stale: list[str], sender: _Sender
) -> None:
    """Drop the stale graphs and the old merge, then replace the build's graphs, many to a request
    and PARALLEL requests at a time, reading one graph (or one slice of the merge) at a time.
    Triples with blank nodes go through the Graph Store instead (Virtuoso refuses blank nodes in
    INSERT DATA): a graph holding any, or too big for one GRAPH block, is PUT whole; the merge's
    few (the ontology's lists) are POSTed last."""
    update = str(urls.update)

    def post(statements: str, triples: int = 0) -> None:
        sender.send(
            update, statements.encode(), method="POST", content_type="application/sparql-update", triples=triples
        )

    drops = [f"DROP SILENT GRAPH <{g}>" for g in stale]
    drops.append("DROP SILENT DEFAULT" if merge_target == DEFAULT else f"DROP SILENT GRAPH <{merge_target}>")
    for start in range(0, len(drops), 500):
        post(" ;\n".join(drops[start : start + 500]))
    merge_blanks: list[ox.Triple] = []

    def parts() -> Iterator[tuple[str, list[ox.Triple], bool]]:
        """(graph to write, triples, whether to drop the graph first)."""
        for graph in (g for g in local if g != DEFAULT):
            triples = list(_triples(store, graph))
            if len(triples) > MERGE_BLOCK or any(map(_blank, triples)):  # too big for one GRAPH block
                _send_graph(sender, urls.graph_store, graph, triples, "PUT")
            else:
                yield graph, triples, True
        merge = _triples(store, DEFAULT)
        while part := list(itertools.islice(merge, MERGE_BLOCK)):
            merge_blanks.extend(t for t in part if _blank(t))
            yield merge_target, [t for t in part if not _blank(t)], False

    _in_parallel(partial(post, statements, triples) for statements, triples in _batches(parts()))
    if merge_blanks:
        _send_graph(sender, urls.graph_store, merge_target, merge_blanks, "POST")


def _in_parallel(tasks: Iterator[Callable[[], None]]) -> None:
    """Run `tasks` (each makes one request) PARALLEL at a time, taking the next one only when few
    wait, so that the build is not all read into memory ahead of the store; on the first failure
    the tasks not yet started are dropped and the failure raised."""
    pool = ThreadPoolExecutor(PARALLEL)
    try:
        pending: set[Future[None]] = set()
        for task in tasks:
            if len(pending) >= 2 * PARALLEL:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
            pending.add(pool.submit(task))
        for future in pending:
            future.result()
    finally:
        pool.shutdown(cancel_futures=True)


def _blank(triple: ox.Triple) -> bool:
    return isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode)


def _graph_param(target: str) -> str:
    return "default" if target == DEFAULT else urllib.parse.urlencode({"graph": target})


def _batches(parts: Iterator[tuple[str, list[ox.Triple], bool]]) -> Iterator[tuple[str, int]]:
    """SPARQL updates of about BATCH_TRIPLES triples or BATCH_GRAPHS graphs each: a DROP of each
    graph a part replaces, then one INSERT DATA for all the parts of the batch."""
    drops: list[str] = []
    blocks: list[str] = []
    size = 0
    for target, triples, drop in parts:
        if drop:
            drops.append(f"DROP SILENT GRAPH <{target}>")  # named graphs only: the merge was dropped before
        text = (ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"").decode()
        blocks.append(text if target == DEFAULT else f"GRAPH <{target}> {{\n{text}}}")
        size += len(triples)
        if size >= BATCH_TRIPLES or len(blocks) >= BATCH_GRAPHS:
            yield _update(drops, blocks), size
            drops, blocks, size = [], [], 0
    if drops or blocks:
        yield _update(drops, blocks), size


def _update(drops: list[str], blocks: list[str]) -> str:
    return " ;\n".join([*drops, "INSERT DATA {\n" + "\n".join(blocks) + "\n}"])


def _check(expected: dict[str, int], remote: _Remote, merge_target: str) -> None:
    """Every graph of the build holds as many triples on the store; raise with the ones that do not."""
    found = remote.differing(expected)
    if merge_target == DEFAULT:
        found[DEFAULT] = remote.default_graph()
    differ = [(g, expected.get(g, 0), found[g]) for g in sorted(found) if expected.get(g, 0) != found[g]]
    if differ:
        listed = "; ".join(f"{g}: {n} in the build, {m} on the store" for g, n, m in differ[:10])
        more = f" (and {len(differ) - 10} more)" if len(differ) > 10 else ""
        raise PushError(f"{len(differ)} graph(s) differ after the push: {listed}{more}.")
