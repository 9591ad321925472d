"""`kg serve`: a read-only SPARQL 1.1 Protocol endpoint over the built store.

Routes
- `/sparql`: GET `?query=`, POST `application/sparql-query` or a form (`application/x-www-form-
  urlencoded`) with `query=`; `default-graph-uri` / `named-graph-uri` make the dataset exactly the
  graphs they name. The answer's format comes from `?format=` (any spelling in
  `kg.results.FORMATS`: `json`, `xml`, `csv`, `tsv`, `turtle`/`ttl`/`n3`, `nt`, `json-ld`, `rdfxml`,
  or a media type) or else from Accept. GET or HEAD without a query answers the SPARQL 1.1 Service
  Description (Turtle unless Accept or `format=` asks for RDF/XML, N-Triples or JSON-LD).
- `/view?therapies=car-t,car-nk` or `/view?all=1`: the comparison page of `kg view`.
- `/`: therapies, named queries, the dataset and the limits.

Every error is a short text/plain message with its status: 400 bad request (syntax, SERVICE, no or
several `query`, a result over the row or byte cap, a bad Content-Length or chunked body, text not
UTF-8), 403 SPARQL Update, 404 unknown path or therapy, 405 methods other than GET, HEAD, POST and
OPTIONS, 406 no acceptable format, 408 a request not complete within the socket timeout, 413 a
body over `MAX_BODY`, 415 other content types or charsets, 431 a head over `HEAD_LIMIT`, 500 a
worker crashed, 503 the query ran past the timeout or the memory cap, or no worker became free.

Design
- The main process speaks HTTP only (asyncio, one thread: HTTP/1.1 with keep-alive, at most
  `MAX_CONNECTIONS` connections, a listen backlog of `BACKLOG`, `SOCKET_TIMEOUT` seconds to send a
  request). It keeps a response cache bounded by bytes: a build never changes, so a cached answer
  is exact until CURRENT names another build. Measured with scripts/bench_serve.py, threads per
  connection (`http.server`) topped out at about half the requests/s of this loop.
- Queries run in worker processes (spawn), each with its own pipe and a leased read-only store of
  the build, one request at a time. pyoxigraph cannot cancel a query, so a worker that runs past
  the timeout or grows past the memory cap (RSS polled from /proc while waiting) is killed alone,
  its request answered 503, and a replacement started; the other workers keep answering.
- A newer build is picked up by the first request after `<store>/CURRENT` names it (one stat per
  request): the server leases the build and starts workers on it while the old ones keep
  answering; then that request and every later one go to the new workers (and the cache, keyed by
  build, answers from the new build only),
  old workers are stopped as they finish their running requests, and the old lease is released.
  Rebuilds (`kg build`, `kg ingest`) therefore never remove a build the server still reads.

Only the standard library serves HTTP: a framework would add start-up time and a dependency, and
would not help with what matters here (stopping a runaway query without stopping the others).
"""

from __future__ import annotations

import asyncio
import html
import multiprocessing
import os
import pickle
import re
import signal
import socket
import sys
import time
import traceback
import urllib.parse
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from typing import Any, NamedTuple

import pyoxigraph as ox

from kg import results, vocab
from kg import store as stores
from kg.editor import EDITOR_STYLE, editor_html
from kg.errors import KgError, QueryError, UnknownTherapy, UsageError
from kg.graph import BASE_IRI, Term, TherapyGraph, solutions
from kg.guard import UpdateRefused, parse_check
from kg.page import policy
from kg.query import named_queries, run
from kg.resources import load_query

MB = 1_000_000
MAX_BODY = 1_000_000
HEAD_LIMIT = 64 * 1024
SOCKET_TIMEOUT = 10.0
MAX_CONNECTIONS = 256
BACKLOG = 128
CACHE_BYTES = 64 * MB
ALLOW = "GET, HEAD, POST, OPTIONS"
_START_TIMEOUT = 60.0  # seconds a worker may take to start and open the store
_POLL = 0.05  # seconds between memory checks while a worker runs
_CURRENT = "CURRENT"  # kg.store's pointer to the build in use
_SD = "http://www.w3.org/ns/sparql-service-description#"
_CONTEXT = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class ServerConfig:
    """What `kg serve` was asked for; invalid values are a usage error (exit 2)."""

    host: str = "127.0.0.1"
    port: int = 7070
    timeout: float = 10.0
    max_rows: int = 10_000
    max_bytes: int = 50 * MB
    max_memory: int = 1024  # MB of resident memory per worker
    cors: str | None = None
    workers: int = 2

    def __post_init__(self) -> None:
        for option in ("timeout", "max_rows", "max_bytes", "max_memory", "workers"):
            value = getattr(self, option)
            if not value > 0:
                raise UsageError(f"--{option.replace('_', '-')} must be greater than 0, got {value}.")
        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port must be between 0 and 65535, got {self.port}.")


# --- answers ----------------------------------------------------------------------------------


class Reply(NamedTuple):
    """An HTTP answer; `kind` and `fmt` say what a query answer holds, for the cache."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    kind: str = ""
    fmt: str = ""


def _text(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, "text/plain", (message.rstrip() + "\n").encode(), headers)


def _error_reply(error: KgError) -> Reply:
    """The status an error's type calls for: a refused update 403, an unknown therapy 404, any
    other mistake in the request 400."""
    status = 403 if isinstance(error, UpdateRefused) else 404 if isinstance(error, UnknownTherapy) else 400
    return _text(status, str(error))


def negotiate(kind: str, accept: str, requested: Sequence[str] = ()) -> str | None:
    """The format to answer a result of `kind` in: the first `format=` value naming one (a value
    may list several, comma-separated, as SPARQLWrapper sends), else the best Accept match (case
    does not matter), else the default; None if nothing acceptable is offered."""
    return _negotiate(kind, accept, tuple(requested))


@lru_cache(maxsize=256)
def _negotiate(kind: str, accept: str, requested: tuple[str, ...]) -> str | None:
    if requested:
        spellings = (part.split(";")[0] for value in requested for part in value.split(","))
        return next((fmt for fmt in (results.resolve(kind, s) for s in spellings) if fmt), None)
    if not accept.strip():
        return results.formats_for(kind)[0]
    choices = []
    for position, part in enumerate(accept.lower().split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        quality = next((_number(p[2:]) for p in params if p.startswith("q=")), 1.0)
        fmt = _wildcard(kind, media) if media.endswith("/*") else results.resolve(kind, media)
        if fmt and quality > 0:
            choices.append((-quality, position, fmt))
    return min(choices)[2] if choices else None


def _wildcard(kind: str, media: str) -> str | None:
    """The first format of `kind` that `*/*`, `text/*`, `application/*` ... covers."""
    family = media[:-1]
    return next(
        (
            name
            for name in results.formats_for(kind)
            if family == "*/" or results.BY_NAME[name].media_type.startswith(family)
        ),
        None,
    )


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def not_acceptable(kind: str) -> Reply:
    offered = ", ".join(results.BY_NAME[name].media_type for name in results.formats_for(kind))
    return _text(406, f"Cannot answer in the requested format; available: {offered} (or ?format=NAME).")


# --- worker processes -------------------------------------------------------------------------

_READY = "ready"


@dataclass(frozen=True)
class Limits:
    max_rows: int
    max_bytes: int


def _worker_main(conn: Any, build_dir: str, limits: Limits) -> None:
    """A worker process: lease and open the build, say ready, answer one job at a time until the
    server sends None or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group; the server stops us
    try:
        stores.lease(Path(build_dir))
        graph = TherapyGraph(stores.open_build(Path(build_dir)), Path(build_dir))
        parse_check("ASK {}")  # load the parser now rather than in the first request that needs it
    except Exception as error:
        conn.send(("failed", f"{type(error).__name__}: {error}"))
        return
    conn.send(_READY)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        conn.send(_answer(graph, limits, job))


def _answer(graph: TherapyGraph, limits: Limits, job: tuple) -> Reply:
    name, *args = job
    try:
        return _JOBS[name](graph, limits, *args)
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        return _text(500, f"Internal error while answering: {type(error).__name__}: {error}")


def _execute(
    graph: TherapyGraph,
    limits: Limits,
    text: str,
    accept: str,
    requested: tuple[str, ...],
    default_graphs: tuple[str, ...],
    named_graphs: tuple[str, ...],
) -> Reply:
    """Check, run and serialise one query."""
    try:
        answer = run(graph, text, default_graphs=list(default_graphs) or None, named_graphs=list(named_graphs) or None)
        result = results.read(answer, limits.max_rows, limits.max_bytes)
    except QueryError as error:
        return _error_reply(error)
    except (ValueError, RuntimeError, OSError) as error:  # raised by pyoxigraph while results are read
        return _text(400, f"Query failed: {error}")
    fmt = negotiate(result.kind, accept, requested)
    if fmt is None:
        return not_acceptable(result.kind)
    try:
        body = results.serialize(result, fmt, limits.max_bytes)
    except QueryError as error:
        return _error_reply(error)
    return Reply(200, results.BY_NAME[fmt].media_type, body, kind=result.kind, fmt=fmt)


def _view(graph: TherapyGraph, limits: Limits, therapies: tuple[str, ...], all_therapies: bool) -> Reply:
    """The comparison page of `kg view` (graph, evidence, approvals, table), or the overview of every therapy."""
    from kg.view import comparison_view, overview_view, render_html

    try:
        view = overview_view(graph) if all_therapies else comparison_view(graph, list(therapies))
    except KgError as error:
        return _error_reply(error)
    return Reply(200, "text/html", render_html(view).encode())


_JOBS: dict[str, Callable[..., Reply]] = {"query": _execute, "view": _view}


def _resident_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc (0 where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Worker:
    """The server's handle on one worker process and its own pipe. Its methods block: the server
    calls them in threads."""

    def __init__(self, build: Path, limits: Limits) -> None:
        parent, child = _CONTEXT.Pipe()
        try:
            self.process = _CONTEXT.Process(
                target=_worker_main, args=(child, str(build), limits), daemon=True, name="kg-serve-worker"
            )
            self.process.start()
        except BaseException:  # e.g. out of processes or descriptors: leave no pipe behind
            parent.close()
            raise
        finally:
            child.close()
        self.conn = parent
        self.alive = True

    def wait_ready(self) -> None:
        """Wait until the worker has opened the store; KgError (and the worker ended) if it could not."""
        try:
            message = self.conn.recv() if self.conn.poll(_START_TIMEOUT) else ("failed", "it did not start in time")
        except (EOFError, OSError):
            message = ("failed", "it exited")
        if message != _READY:
            self.end()
            raise KgError(f"A query worker could not open the store: {message[1]}")

    def run(self, job: tuple, timeout: float, max_memory: int) -> Reply:
        """Send one job and wait for its answer; past `timeout` seconds or `max_memory` MB of
        resident memory, kill the worker and answer 503."""
        deadline = time.monotonic() + timeout
        try:
            self.conn.send(job)
            while not self.conn.poll(max(0.0, min(_POLL, deadline - time.monotonic()))):
                if time.monotonic() >= deadline:
                    self.end()
                    return _text(
                        503, f"The query ran longer than {timeout:g} s and was stopped; add a LIMIT or narrow it."
                    )
                if _resident_bytes(self.process.pid or 0) > max_memory * MB:
                    self.end()
                    return _text(
                        503,
                        f"The query needed more than {max_memory} MB of memory and was stopped; add a LIMIT or narrow it.",
                    )
            return self.conn.recv()
        except (EOFError, OSError, pickle.UnpicklingError):
            self.end()
            return _text(500, "The query worker stopped while answering; the query was not completed.")

    def stop(self) -> None:
        """Ask an idle worker to exit (it drops its lease), then end it."""
        with suppress(OSError):
            self.conn.send(None)
        self.process.join(5)
        self.end()

    def interrupt(self) -> None:
        """Kill a busy worker (on shutdown); the thread waiting in `run` then ends it."""
        with suppress(ValueError, OSError):
            self.process.kill()

    def end(self) -> None:
        """Stop the process if it still runs and free its pipe and process handles (no fd leak)."""
        if not self.alive:
            return
        self.alive = False
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
        self.process.close()


# --- builds and their workers -----------------------------------------------------------------


@dataclass(frozen=True)
class Pages:
    """What the main process renders once per build: the front page and the dataset's shape."""

    front: bytes
    named_graphs: tuple[str, ...]
    default_triples: int


@dataclass(eq=False)
class Generation:
    """One build being served (or retiring), its workers and how many are starting; the server
    holds the build's lease until it is retired and has neither."""

    build: Path
    pages: Pages
    workers: set[Worker] = field(default_factory=set)
    starting: int = 0
    retired: bool = False


class Pool:
    """Worker processes of the build in use: one request per idle worker, a replacement for each
    killed one, and the switch to a newer build."""

    def __init__(self, root: Path, config: ServerConfig) -> None:
        self.root, self.config = root, config
        self.limits = Limits(config.max_rows, config.max_bytes)
        self.threads = ThreadPoolExecutor(2 * config.workers + 4, thread_name_prefix="kg-serve")
        self.current: Generation | None = None
        self.closing = False
        self._owner: dict[Worker, Generation] = {}
        self._idle: deque[Worker] = deque()
        self._waiters: deque[asyncio.Future[Worker]] = deque()
        self._leases: Counter[Path] = Counter()
        self._stamp: tuple[int, int] | None = None
        self._switch: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def _blocking(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.threads, function, *args)

    async def start(self) -> None:
        self._stamp = _stamp(self.root)
        build = stores.current_build(self.root)
        if build is None:
            raise KgError(f"No built store in {self.root}; run kg build.")
        try:
            self._serve(await self._start_generation(build))
        except OSError as error:
            raise KgError(f"Cannot serve {build}: {error}") from None

    async def generation(self) -> Generation:
        """The generation to answer from, after switching to a newer build if CURRENT names one."""
        stamp = _stamp(self.root)
        if stamp != self._stamp:
            if self._switch is None:
                self._switch = asyncio.create_task(self._switch_to_current(stamp))
            await asyncio.shield(self._switch)
        assert self.current is not None
        return self.current

    async def _switch_to_current(self, stamp: tuple[int, int] | None) -> None:
        try:
            build = stores.current_build(self.root)
            if build is not None and self.current is not None and build != self.current.build:
                try:
                    self._serve(await self._start_generation(build))
                except Exception as error:
                    print(f"kg serve: still serving {self.current.build.name}: {error}", file=sys.stderr)
        finally:
            self._stamp, self._switch = stamp, None

    async def _start_generation(self, build: Path) -> Generation:
        """Lease `build`, render its pages and start its workers (the current ones keep answering)."""
        self._hold(build)
        try:
            if not build.is_dir():
                raise KgError(f"{build} was removed before it could be opened.")
            generation = Generation(build, await self._blocking(render_pages, build, self.config))
            started = await asyncio.gather(
                *(self._blocking(self._new_worker, build) for _ in range(self.config.workers)), return_exceptions=True
            )
            workers = [w for w in started if isinstance(w, Worker)]
            failed = [e for e in started if isinstance(e, BaseException)]
            if failed:
                await asyncio.gather(*(self._blocking(w.stop) for w in workers))
                raise failed[0]
        except BaseException:
            self._drop(build)
            raise
        for worker in workers:
            self._adopt(generation, worker)
        return generation

    def _new_worker(self, build: Path) -> Worker:
        worker = Worker(build, self.limits)
        worker.wait_ready()
        return worker

    def _adopt(self, generation: Generation, worker: Worker) -> None:
        generation.workers.add(worker)
        self._owner[worker] = generation

    def _serve(self, generation: Generation) -> None:
        """Send every request from now on to `generation`; retire the previous one."""
        old, self.current = self.current, generation
        retiring = list(self._idle)
        self._idle.clear()
        for worker in generation.workers:
            self._release(worker)
        if old is not None:
            old.retired = True
            print(f"kg serve: now serving build {generation.build.name}", file=sys.stderr)
            for worker in retiring:
                self._background(self._retire(worker))
            self._drop_if_done(old)

    def _hold(self, build: Path) -> None:
        if not self._leases[build]:
            stores.lease(build)
        self._leases[build] += 1

    def _drop(self, build: Path) -> None:
        self._leases[build] -= 1
        if not self._leases[build]:
            del self._leases[build]
            stores.release(build)

    def _drop_if_done(self, generation: Generation) -> None:
        if generation.retired and not generation.workers and not generation.starting:
            self._drop(generation.build)

    def _forget(self, worker: Worker) -> Generation:
        generation = self._owner.pop(worker)
        generation.workers.discard(worker)
        self._drop_if_done(generation)
        return generation

    async def _retire(self, worker: Worker) -> None:
        await self._blocking(worker.stop)
        self._forget(worker)

    def _background(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _release(self, worker: Worker) -> None:
        """Hand an idle worker of the current build to the longest waiting request, or park it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    async def _acquire(self, wait: float) -> Worker | None:
        if self._idle:
            return self._idle.popleft()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait([waiter], timeout=wait)
        except asyncio.CancelledError:
            if waiter.done():
                self._release(waiter.result())
            waiter.cancel()
            raise
        if waiter.done():
            return waiter.result()
        waiter.cancel()
        return None

    async def call(self, job: tuple) -> tuple[Reply, Generation | None]:
        """Run `job` in an idle worker; the answer and the generation that answered it."""
        wait = self.config.timeout + _START_TIMEOUT  # time for busy workers to finish or be replaced
        worker = await self._acquire(wait)
        if worker is None:
            return _text(503, f"No query worker became free within {wait:g} s; try again later."), None
        reply = await self._blocking(worker.run, job, self.config.timeout, self.config.max_memory)
        owner = self._owner[worker]
        if not worker.alive:
            self._forget(worker)
            if owner is self.current and not self.closing:
                self._background(self._replace(owner))
        elif owner is self.current and not self.closing:
            self._release(worker)
        else:
            self._background(self._retire(worker))
        return reply, owner

    async def _replace(self, generation: Generation) -> None:
        """Start a worker in place of a killed one (a few attempts, then give up and say so)."""
        generation.starting += 1
        try:
            for attempt in range(3):
                if generation is not self.current or self.closing:
                    return
                try:
                    worker = await self._blocking(self._new_worker, generation.build)
                except (KgError, OSError) as error:
                    print(f"kg serve: {error} (attempt {attempt + 1} of 3)", file=sys.stderr)
                    await asyncio.sleep(1.0)
                    continue
                self._adopt(generation, worker)
                if generation is self.current and not self.closing:
                    self._release(worker)
                else:
                    await self._retire(worker)
                return
        finally:
            generation.starting -= 1
            self._drop_if_done(generation)

    async def close(self) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones killed; then drop the leases."""
        self.closing = True
        if self._switch is not None:
            await asyncio.gather(self._switch, return_exceptions=True)
        for worker in list(self._owner):
            if worker not in self._idle:
                worker.interrupt()
        idle = list(self._idle)
        self._idle.clear()
        await asyncio.gather(*(self._retire(w) for w in idle), *self._tasks, return_exceptions=True)
        self.threads.shutdown(wait=True)
        for worker in list(self._owner):
            worker.end()
            self._forget(worker)
        if self.current is not None:
            self.current.retired = True
            self._drop_if_done(self.current)


def _stamp(root: Path) -> tuple[int, int] | None:
    """What identifies the content of CURRENT (replaced by rename, so a new inode)."""
    try:
        status = os.stat(root / _CURRENT)
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns


# --- pages ------------------------------------------------------------------------------------


def render_pages(build: Path, config: ServerConfig) -> Pages:
    """Open the (leased) build briefly and render what the main process serves itself."""
    store = stores.open_build(build)
    with TherapyGraph(store, build) as graph:
        count = next(iter(solutions(store.query(load_query("triple-count")))))["n"]
        named = tuple(sorted(g.value for g in store.named_graphs()))
        return Pages(front_page(graph, config, len(named)), named, int(count.value))


def front_page(graph: TherapyGraph, config: ServerConfig, graphs: int) -> bytes:
    """The HTML index: a query editor, the dataset, the limits, therapies and named queries with links that run them."""
    esc = html.escape
    therapies = "".join(
        f"<li><b>{esc(t.label)}</b> <code>{esc(t.id)}</code> ({esc(t.level)})</li>" for t in graph.therapies.all()
    )
    views = '<a href="view?therapies=car-t,car-nk">CAR-T vs CAR-NK</a>, <a href="view?all=1">all therapies</a>'
    queries = []
    for q in named_queries().values():
        link = "sparql?" + urllib.parse.urlencode({"query": q.text, "format": "json"})
        params = ", ".join(p.name for p in q.parameters)
        run = (
            f' <a href="{esc(link)}">run (JSON)</a>'
            if not any(p.required for p in q.parameters)
            else f" (parameters: {esc(params)})"
        )
        queries.append(
            f"<li><b>{esc(q.name)}</b>: {esc(q.summary)}{run}<details><pre>{esc(q.text)}</pre></details></li>"
        )
    prefixes = "\n".join(f"PREFIX {p}: &lt;{esc(ns)}&gt;" for p, ns in vocab.PREFIXES.items())
    formats = ", ".join(f"<code>{esc(f.name)}</code> ({esc(f.media_type)})" for f in results.FORMATS)
    editor, scripts = editor_html()
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Therapy KG SPARQL endpoint</title>
<meta http-equiv="Content-Security-Policy" content="{esc(policy(scripts, connect_self=True))}">
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}code,pre{{background:#f0f3f6}}{EDITOR_STYLE}</style></head>
<body><h1>Therapy KG SPARQL endpoint</h1>
{editor}
<p>Read-only SPARQL 1.1 Protocol endpoint at <code>/sparql</code> (GET <code>?query=</code>, POST
<code>application/sparql-query</code> or form <code>query=</code>); GET <code>/sparql</code> without a query
gives its SPARQL 1.1 Service Description. Formats by Accept or <code>?format=</code>: {formats}.</p>
<p>Dataset: {graphs} named graphs, one per source or registry record. The default graph is the RDF merge of
the named graphs: a set, so a triple stated by several sources is there once; <code>GRAPH ?g</code> says
who states what. <code>default-graph-uri</code> and <code>named-graph-uri</code> make the dataset exactly
the graphs they name. Relative IRIs resolve against the base IRI <code>{esc(BASE_IRI)}</code>.</p>
<p>Limits: a query runs at most {config.timeout:g} s and {config.max_memory} MB of memory; a result has at most
{config.max_rows:,} rows and {config.max_bytes:,} bytes (add LIMIT); request bodies up to {MAX_BODY:,} bytes.
Updates and SERVICE are refused.</p>
<p>Comparison pages (graph, evidence, approvals, table): {views} (<code>/view?therapies=A,B</code>).</p>
<h2>Predeclared prefixes</h2><pre>{prefixes}</pre>
<h2>Named queries</h2><ul>{"".join(queries)}</ul>
<h2>Therapies</h2><ul>{therapies}</ul></body></html>"""
    return page.encode()


def service_description(endpoint: str, pages: Pages) -> list[ox.Triple]:
    """The SPARQL 1.1 Service Description of the endpoint at `endpoint` serving a build."""
    iri, sd = ox.NamedNode, (lambda term: ox.NamedNode(_SD + term))
    rdf_type = iri(vocab.PREFIXES["rdf"] + "type")
    service, dataset, default = iri(endpoint), ox.BlankNode(), ox.BlankNode()
    merge = "The RDF merge of the named graphs: each distinct triple once."
    statements: list[tuple[ox.NamedNode | ox.BlankNode, ox.NamedNode, Term]] = [
        (service, rdf_type, sd("Service")),
        (service, sd("endpoint"), service),
        (service, sd("supportedLanguage"), sd("SPARQL11Query")),
        (service, sd("feature"), sd("UnionDefaultGraph")),
        (service, sd("defaultEntailmentRegime"), iri("http://www.w3.org/ns/entailment/Simple")),
        *((service, sd("resultFormat"), iri(results.W3C_FORMATS + f.w3c)) for f in results.FORMATS),
        (service, sd("defaultDataset"), dataset),
        (dataset, rdf_type, sd("Dataset")),
        (dataset, sd("defaultGraph"), default),
        (default, rdf_type, sd("Graph")),
        (default, iri(vocab.PREFIXES["rdfs"] + "comment"), ox.Literal(merge)),
        (
            default,
            iri("http://rdfs.org/ns/void#triples"),
            ox.Literal(str(pages.default_triples), datatype=iri(vocab.PREFIXES["xsd"] + "integer")),
        ),
    ]
    for name in pages.named_graphs:
        node = ox.BlankNode()
        statements += [
            (dataset, sd("namedGraph"), node),
            (node, rdf_type, sd("NamedGraph")),
            (node, sd("name"), iri(name)),
        ]
    return [ox.Triple(*statement) for statement in statements]


# --- HTTP -------------------------------------------------------------------------------------


class HttpError(Exception):
    """A request that cannot be read to its end: it is answered, then the connection closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        return "keep-alive" in connection if self.version == "HTTP/1.0" else "close" not in connection


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request | None:
    """The next request on a connection; None when the client closed it or sent nothing for
    `SOCKET_TIMEOUT` seconds. A request begun must be complete within that time too (else 408)."""
    try:
        first = await asyncio.wait_for(reader.read(1), SOCKET_TIMEOUT)
    except (asyncio.TimeoutError, ConnectionError):
        return None
    if not first:
        return None
    try:
        return await asyncio.wait_for(_read_rest(reader, writer, first), SOCKET_TIMEOUT)
    except asyncio.TimeoutError:
        raise HttpError(408, f"The request was not complete within {SOCKET_TIMEOUT:g} s.") from None
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError:
        raise HttpError(
            431, f"The request head is larger than {HEAD_LIMIT:,} bytes; send long queries in a POST body."
        ) from None


async def _read_rest(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first: bytes) -> Request:
    head = first + await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or _FORBIDDEN_IN_HEAD.search(lines[0]):
        raise HttpError(400, "Malformed request line; expected: METHOD /path HTTP/1.1")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name) or _FORBIDDEN_IN_HEAD.search(value):
            raise HttpError(400, f"Malformed header line (a field value may not hold CR, LF or NUL): {line[:100]!r}")
        name, value = name.lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    method, target, version = parts
    path, _, query = target.partition("?")
    return Request(method, path, query, version, headers, await _read_body(reader, writer, headers, version))


async def _read_body(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str], version: str
) -> bytes:
    """The body by Content-Length or chunked; a client that waits for `100 Continue` (curl does,
    for bodies over 1 KB) is told to go on once the length is known to be acceptable."""
    length = None  # chunked
    if "transfer-encoding" in headers and ("content-length" in headers or version == "HTTP/1.0"):
        # RFC 9112 §6.1: such framing is how requests are smuggled past a proxy; refuse and close
        raise HttpError(400, "A request may not carry Transfer-Encoding with Content-Length, nor in HTTP/1.0.")
    if "transfer-encoding" in headers:
        if headers["transfer-encoding"].lower() != "chunked":
            raise HttpError(
                400,
                f"Unsupported Transfer-Encoding {headers['transfer-encoding'][:40]!r}; use chunked or Content-Length.",
            )
    elif "content-length" not in headers:
        return b""
    else:
        length = headers["content-length"]
        if not (length.isascii() and length.isdigit()):
            raise HttpError(400, f"Content-Length must be a whole number of bytes, not {length[:40]!r}.")
        if int(length) > MAX_BODY:
            raise HttpError(413, f"The request body is larger than {MAX_BODY:,} bytes.")
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    return await _read_chunked(reader) if length is None else await reader.readexactly(int(length))


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A body in chunked transfer coding, at most `MAX_BODY` bytes; trailers are read and ignored."""
    body = bytearray()
    while True:
        size_text = (await reader.readuntil(b"\r\n")).split(b";")[0].strip()
        if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
            raise HttpError(400, f"Malformed chunk size {size_text[:20]!r} in a chunked body.")
        size = int(size_text, 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise HttpError(413, f"The request body is larger than {MAX_BODY:,} bytes.")
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise HttpError(400, "Malformed chunked body: a chunk does not end with CRLF.")


_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")  # a Host header naming a server
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # a header name (RFC 9110 §5.1)
_FORBIDDEN_IN_HEAD = re.compile(r"[\r\n\0]")  # left in a line split at CRLF: bare CR or LF, NUL
_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}


class HttpServer:
    """The HTTP side: connections, parsing, routes and the response cache."""

    def __init__(self, pool: Pool, config: ServerConfig, listener: socket.socket) -> None:
        self.pool, self.config, self.listener = pool, config, listener
        self.cache = ResponseCache(CACHE_BYTES)
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._connections: set[asyncio.Task[None]] = set()
        self._fixed = b"Server: TherapyKG\r\nVary: Accept\r\n" + (
            f"Access-Control-Allow-Origin: {config.cors}\r\n".encode() if config.cors else b""
        )
        self._date = (0, b"")

    async def accept_forever(self) -> None:
        """Accept connections, at most `MAX_CONNECTIONS` at a time; the rest wait in the backlog."""
        loop = asyncio.get_running_loop()
        while True:
            await self._slots.acquire()
            try:
                sock, _ = await loop.sock_accept(self.listener)
            except OSError as error:  # e.g. out of file descriptors: say so, wait, go on
                self._slots.release()
                print(f"kg serve: cannot accept a connection: {error}", file=sys.stderr)
                await asyncio.sleep(0.1)
                continue
            except BaseException:
                self._slots.release()
                raise
            task = loop.create_task(self._connection(sock))
            self._connections.add(task)
            task.add_done_callback(self._closed)

    def _closed(self, task: asyncio.Task[None]) -> None:
        self._connections.discard(task)
        self._slots.release()

    async def close(self) -> None:
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _connection(self, sock: socket.socket) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=sock, limit=HEAD_LIMIT)
        except OSError:
            sock.close()
            return
        try:
            while True:
                try:
                    request = await read_request(reader, writer)
                except HttpError as error:
                    writer.write(self._encode(_text(error.status, str(error)), head=False, close=True))
                    break
                if request is None:
                    break
                try:
                    reply = await self.respond(request)
                except Exception as error:
                    traceback.print_exc(file=sys.stderr)
                    reply = _text(500, f"Internal error: {type(error).__name__}: {error}")
                writer.write(self._encode(reply, head=request.method == "HEAD", close=not request.keep_alive))
                if writer.transport.get_write_buffer_size():
                    await asyncio.wait_for(writer.drain(), SOCKET_TIMEOUT)
                if not request.keep_alive:
                    break
        except (ConnectionError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    def _encode(self, reply: Reply, *, head: bool, close: bool) -> bytes:
        now = int(time.time())
        if now != self._date[0]:
            self._date = (now, f"Date: {formatdate(now, usegmt=True)}\r\n".encode())
        content_type = reply.content_type + ("; charset=utf-8" if reply.content_type.startswith("text/") else "")
        parts = [_STATUS_LINES[reply.status], self._date[1], self._fixed]
        if reply.status != 204:
            parts.append(f"Content-Type: {content_type}\r\nContent-Length: {len(reply.body)}\r\n".encode())
        parts += [f"{name}: {value}\r\n".encode() for name, value in reply.headers]
        parts.append(b"Connection: close\r\n\r\n" if close else b"\r\n")
        if not head:
            parts.append(reply.body)
        return b"".join(parts)

    async def respond(self, request: Request) -> Reply:
        if request.method not in ALLOW.split(", "):
            return _text(
                405,
                f"{request.method[:20]} is not allowed here; this endpoint is read-only ({ALLOW}).",
                (("Allow", ALLOW),),
            )
        if request.method == "OPTIONS":
            headers = [("Allow", ALLOW)]
            if self.config.cors:
                headers += [
                    ("Access-Control-Allow-Methods", ALLOW),
                    ("Access-Control-Allow-Headers", "Content-Type, Accept"),
                ]
            return Reply(204, "", b"", tuple(headers))
        if request.path in ("/sparql", "/sparql/"):
            return await self._sparql(request)
        if request.path not in ("/", "/view"):
            return _text(404, f"Not found: {request.path[:200]}. The endpoint is /sparql.")
        if request.method == "POST":
            return _text(
                405, f"POST goes to /sparql; {request.path} answers GET and HEAD.", (("Allow", "GET, HEAD, OPTIONS"),)
            )
        generation = await self.pool.generation()
        if request.path == "/":
            return Reply(200, "text/html", generation.pages.front)
        params = urllib.parse.parse_qs(request.query)
        names = tuple(n.strip() for v in params.get("therapies", []) for n in v.split(",") if n.strip())

        def flag(key: str) -> bool:
            return (params.get(key) or [""])[-1].lower() in {"1", "true", "yes"}

        view = ("view", names, flag("all"))
        return self.cache.get((generation.build, *view)) or await self._run(view, lambda reply: view)

    async def _run(self, job: tuple, key: Callable[[Reply], tuple]) -> Reply:
        """Run `job` in a worker; a 200 from the current build is cached under (build, *key(reply))."""
        reply, owner = await self.pool.call(job)
        if reply.status == 200 and owner is not None and owner is self.pool.current:
            self.cache.put((owner.build, *key(reply)), reply)
        return reply

    async def _sparql(self, request: Request) -> Reply:
        try:
            params = urllib.parse.parse_qs(request.query, keep_blank_values=True, errors="strict", max_num_fields=1000)
            if request.method == "POST":
                problem = _post_params(request, params)
                if problem is not None:
                    return problem
        except UnicodeDecodeError:
            return _text(400, "The request is not UTF-8 text.")
        except ValueError as error:
            return _text(400, f"Malformed parameters: {error}")
        if "update" in params:
            if "query" in params:
                return _text(400, "Give either a query or an update, not both.")
            return _text(403, "SPARQL Update is refused: this endpoint is read-only.")
        queries = params.get("query", [])
        formats = tuple(params.get("format", []))
        accept = request.headers.get("accept", "")
        generation = await self.pool.generation()
        if not queries:
            if request.method == "POST":
                return _text(400, "Give a query: a body of type application/sparql-query, or a form with query=.")
            return self._description(generation, request.headers.get("host", ""), accept, formats)
        if len(queries) > 1:
            return _text(400, f"Give exactly one 'query' parameter; this request has {len(queries)}.")
        text = queries[0]
        if not text.strip():
            return _text(400, "The query is empty.")
        dataset = (tuple(params.get("default-graph-uri", [])), tuple(params.get("named-graph-uri", [])))
        kind = self.cache.kinds.get(text)
        if kind is not None:
            fmt = negotiate(kind, accept, formats)
            if fmt is None:
                return not_acceptable(kind)
            hit = self.cache.get((generation.build, text, fmt, *dataset))
            if hit is not None:
                return hit
        reply = await self._run(("query", text, accept, formats, *dataset), lambda reply: (text, reply.fmt, *dataset))
        if reply.status == 200:
            self.cache.remember_kind(text, reply.kind)
        return reply

    def _description(self, generation: Generation, host: str, accept: str, formats: tuple[str, ...]) -> Reply:
        fmt = negotiate(results.GRAPH, accept, formats)
        if fmt is None:
            return not_acceptable(results.GRAPH)
        endpoint = f"http://{host if _HOST.fullmatch(host) else _authority(self.listener)}/sparql"
        key = (generation.build, "service-description", endpoint, fmt)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        prefixes = {
            "sd": _SD,
            "formats": results.W3C_FORMATS,
            "void": "http://rdfs.org/ns/void#",
            "rdfs": vocab.PREFIXES["rdfs"],
        }
        body = ox.serialize(
            service_description(endpoint, generation.pages), format=results.BY_NAME[fmt].rdf, prefixes=prefixes
        )
        reply = Reply(200, results.BY_NAME[fmt].media_type, body or b"")
        self.cache.put(key, reply)
        return reply


def _post_params(request: Request, params: dict[str, list[str]]) -> Reply | None:
    """Add a POST body's parameters to `params`; a Reply if the body cannot be taken."""
    media, _, options = request.headers.get("content-type", "").partition(";")
    media = media.strip().lower()
    charset = next(
        (
            o.split("=", 1)[1].strip().strip('"').lower()
            for o in options.split(";")
            if o.strip().lower().startswith("charset=")
        ),
        "utf-8",
    )
    if charset not in ("utf-8", "utf8"):
        return _text(415, f"Send the request as UTF-8, not {charset[:40]}.")
    if media == "application/x-www-form-urlencoded":
        form = urllib.parse.parse_qs(
            request.body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=1000
        )
        for key, values in form.items():
            params.setdefault(key, []).extend(values)
    elif media == "application/sparql-query":
        params.setdefault("query", []).append(request.body.decode("utf-8"))
    elif media == "application/sparql-update":
        params.setdefault("update", []).append(request.body.decode("utf-8"))
    else:
        return _text(
            415,
            "Send a query as application/sparql-query, or as a form (application/x-www-form-urlencoded) with query=.",
        )
    return None


class ResponseCache:
    """Answers by key, the least recently used dropped first, at most `capacity` bytes in all. Exact
    because a build never changes; keys start with the build. `kinds` remembers each query's result kind (the same on every build), so a
    repeated query is negotiated and answered without a worker."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.kinds: dict[str, str] = {}
        self._kinds_size = 0
        self._entries: OrderedDict[tuple[Any, ...], Reply] = OrderedDict()
        self._size = 0
        self._build: Path | None = None

    def get(self, key: tuple[Any, ...]) -> Reply | None:
        reply = self._entries.get(key)
        if reply is not None:
            self._entries.move_to_end(key)
        return reply

    def put(self, key: tuple[Any, ...], reply: Reply) -> None:
        """Keep `reply` under `key` = (build, ...); the first answer of another build drops the rest."""
        if key[0] != self._build:
            self._entries.clear()
            self._size, self._build = 0, key[0]
        cost = _cost(key, reply)
        if cost > self.capacity // 8 or key in self._entries:
            return
        self._entries[key] = reply
        self._size += cost
        while self._size > self.capacity:
            self._size -= _cost(*self._entries.popitem(last=False))

    def remember_kind(self, text: str, kind: str) -> None:
        """Remember a query's result kind (all are forgotten when their texts reach a quarter of the capacity)."""
        if self._kinds_size + len(text) > self.capacity // 4:
            self.kinds.clear()
            self._kinds_size = 0
        self.kinds[text] = kind
        self._kinds_size += len(text)


def _cost(key: tuple[Any, ...], reply: Reply) -> int:
    return len(reply.body) + sum(len(part) for part in key[1:] if isinstance(part, str))


# --- running ----------------------------------------------------------------------------------


def _listen(config: ServerConfig) -> socket.socket:
    try:
        family = socket.getaddrinfo(config.host, config.port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.create_server((config.host, config.port), family=family, backlog=BACKLOG)
    except OSError as error:
        raise KgError(f"Cannot listen on {config.host}:{config.port}: {error.strerror or error}") from None
    listener.setblocking(False)
    return listener


def _authority(listener: socket.socket) -> str:
    """The listener's `host:port` as a URL writes it (`[::1]:8000` for IPv6)."""
    host, port = listener.getsockname()[:2]
    return f"{f'[{host}]' if ':' in host else host}:{port}"


def run_server(root: Path, config: ServerConfig, announce: Callable[[str], None] | None = None) -> None:
    """Serve the store under `root` until SIGTERM or Ctrl-C; `announce` receives the base URL once
    the workers are ready."""
    asyncio.run(_serve(root, config, announce))


async def _serve(root: Path, config: ServerConfig, announce: Callable[[str], None] | None) -> None:
    listener = _listen(config)
    pool = Pool(root, config)
    server = HttpServer(pool, config, listener)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    accepting: asyncio.Task[None] | None = None
    try:
        await pool.start()
        accepting = loop.create_task(server.accept_forever())
        if announce:
            announce(f"http://{_authority(listener)}/")
        stopping = loop.create_task(stop.wait())
        done, _ = await asyncio.wait([accepting, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if accepting in done:
            accepting.result()  # raises what stopped the accept loop
    finally:
        listener.close()
        if accepting is not None:
            accepting.cancel()
        await server.close()
        await pool.close()
