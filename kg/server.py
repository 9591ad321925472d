"""`kg serve`: a read-only SPARQL 1.1 Protocol endpoint over the built store.

- `/sparql`: GET `?query=`, POST `application/sparql-query`, POST form `query=`; results by content
  negotiation (Accept) or `?format=`; `default-graph-uri` / `named-graph-uri` honoured.
- Safe by default: binds 127.0.0.1; SPARQL Update and SERVICE are refused with 403 / 400; each
  query runs in a worker process that is terminated when the timeout passes (pyoxigraph cannot
  cancel a running query, a process can be stopped); results are capped at `max_rows`.
- `/view?therapies=car-t,car-nk[&sources=1][&all=1]`: the interactive comparison graph of `kg view`.
- `/` lists therapies and named queries; CORS only when an origin is configured.

Only the standard library serves HTTP: the endpoint is small, and a framework would add start-up
time and a dependency for no gain here.
"""

from __future__ import annotations

import html
import multiprocessing
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg import results, vocab
from kg.errors import KgError, QueryError, UnknownTherapy
from kg.query import check_read_only, named_queries

MAX_BODY = 1_000_000
_MEDIA = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "text/turtle": "turtle",
    "application/n-triples": "ntriples",
    "application/ld+json": "jsonld",
}


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 7070
    timeout: float = 10.0
    max_rows: int = 10_000
    cors: str | None = None
    workers: int = 2


def negotiate(kind: str, accept: str, requested: str | None) -> str | None:
    """The format to answer in: `?format=` if given, else the best Accept match, else the default."""
    allowed = results.formats_for(kind)
    if requested:
        return requested if requested in allowed else None
    choices = []
    for position, part in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        quality = next((float(p[2:]) for p in params if p.startswith("q=") and _is_number(p[2:])), 1.0)
        fmt = allowed[0] if media in {"*/*", "application/*", "text/*", ""} else _MEDIA.get(media)
        if fmt in allowed and quality > 0:
            choices.append((-quality, position, fmt))
    if not accept.strip():
        return allowed[0]
    return min(choices)[2] if choices else None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- worker processes -------------------------------------------------------------------------

_STORE: ox.Store | None = None


def _open_store(location: str) -> None:
    global _STORE
    _STORE = ox.Store.read_only(location)


def _execute(text: str, accept: str, requested: str | None, max_rows: int, default_graphs: list[str],
             named_graphs: list[str]) -> tuple[int, str, bytes]:
    """Run one query in a worker: (HTTP status, content type, body)."""
    assert _STORE is not None
    try:
        check_read_only(text)
        options: dict[str, Any] = {"prefixes": vocab.PREFIXES}
        if default_graphs:
            options["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
        else:
            options["use_default_graph_as_union"] = True
        if named_graphs:
            options["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
        result = results.read(_STORE.query(text, **options), max_rows)
    except SyntaxError as error:
        return 400, "text/plain", f"Invalid SPARQL: {error}\n".encode()
    except results.TooManyResults as error:
        return 400, "text/plain", f"{error}\n".encode()
    except QueryError as error:
        status = 403 if "Updates are refused" in str(error) else 400
        return status, "text/plain", f"{error}\n".encode()
    except (ValueError, RuntimeError, OSError) as error:
        return 400, "text/plain", f"Query failed: {error}\n".encode()
    fmt = negotiate(result.kind, accept, requested)
    if fmt is None:
        offered = ", ".join(results.media_type(result, f) for f in results.formats_for(result.kind))
        return 406, "text/plain", f"Cannot answer in the requested format; available: {offered}\n".encode()
    return 200, results.media_type(result, fmt), results.serialize(result, fmt)


def _view(therapies: list[str], all_therapies: bool, sources: bool) -> tuple[int, str, bytes]:
    """Render an interactive comparison graph in a worker: (HTTP status, content type, body)."""
    from kg.graph import TherapyGraph
    from kg.view import build_view_graph, render_html

    assert _STORE is not None
    try:
        view = build_view_graph(TherapyGraph(_STORE), therapies, all_therapies=all_therapies, sources=sources)
    except KgError as error:
        return (404 if isinstance(error, UnknownTherapy) else 400), "text/plain", f"{error}\n".encode()
    return 200, "text/html", render_html(view).encode()


class QueryPool:
    """Worker processes holding the store open; a worker stuck past the timeout is replaced."""

    def __init__(self, location: Path, config: ServerConfig) -> None:
        self.location, self.config = str(location), config
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self) -> Any:
        return self._context.Pool(self.config.workers, initializer=_open_store, initargs=(self.location,))

    def call(self, function: Callable[..., tuple[int, str, bytes]], *args: Any) -> tuple[int, str, bytes]:
        """Run `function(*args)` in a worker; past the timeout, replace the worker and answer 503."""
        pool = self._pool
        pending = pool.apply_async(function, args)
        try:
            return pending.get(self.config.timeout)
        except multiprocessing.TimeoutError:
            with self._lock:
                if self._pool is pool:
                    pool.terminate()
                    self._pool = self._start()
            message = f"The request ran longer than {self.config.timeout:g} s and was stopped; narrow it.\n"
            return 503, "text/plain", message.encode()

    def run(self, text: str, accept: str, requested: str | None, default_graphs: list[str],
            named_graphs: list[str]) -> tuple[int, str, bytes]:
        return self.call(_execute, text, accept, requested, self.config.max_rows, default_graphs, named_graphs)

    def close(self) -> None:
        self._pool.terminate()


# --- HTTP -------------------------------------------------------------------------------------


def front_page(location: Path) -> bytes:
    """The HTML index: therapies and named queries, with links that run queries on this endpoint."""
    from kg.graph import TherapyGraph

    graph = TherapyGraph(ox.Store.read_only(str(location)), location)
    esc = html.escape
    therapies = "".join(
        f"<li><b>{esc(t.label)}</b> <code>{esc(t.id)}</code> ({esc(t.level)})</li>" for t in graph.therapies.all()
    )
    views = '<a href="view?therapies=car-t,car-nk">CAR-T vs CAR-NK</a>, <a href="view?all=1">all therapies</a>'
    queries = []
    for q in named_queries().values():
        link = "sparql?" + urllib.parse.urlencode({"query": q.text, "format": "json"})
        params = ", ".join(p.name for p in q.parameters)
        run = f' <a href="{esc(link)}">run (JSON)</a>' if not any(p.required for p in q.parameters) else f" (parameters: {esc(params)})"
        queries.append(f"<li><b>{esc(q.name)}</b>: {esc(q.summary)}{run}<details><pre>{esc(q.text)}</pre></details></li>")
    prefixes = "\n".join(f"PREFIX {p}: &lt;{esc(ns)}&gt;" for p, ns in vocab.PREFIXES.items())
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Therapy KG SPARQL endpoint</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}code,pre{{background:#f0f3f6}}</style></head>
<body><h1>Therapy KG SPARQL endpoint</h1>
<p>Read-only SPARQL 1.1 Protocol endpoint at <code>/sparql</code> (GET <code>?query=</code>, POST
<code>application/sparql-query</code> or form <code>query=</code>). Results: JSON, XML, CSV, TSV; CONSTRUCT:
Turtle, N-Triples, JSON-LD. The default graph is the union of the named graphs; each source is a named graph.</p>
<p>Interactive comparison graphs: {views} (<code>/view?therapies=A,B</code>).</p>
<h2>Predeclared prefixes</h2><pre>{prefixes}</pre>
<h2>Named queries</h2><ul>{''.join(queries)}</ul>
<h2>Therapies</h2><ul>{therapies}</ul></body></html>"""
    return page.encode()


def make_handler(pool: QueryPool, config: ServerConfig, index: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "TherapyKG"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
            pass

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8" if content_type.startswith("text/") else content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Vary", "Accept")
            if config.cors:
                self.send_header("Access-Control-Allow-Origin", config.cors)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status: int, message: str) -> None:
            self._send(status, "text/plain", (message + "\n").encode())

        def do_OPTIONS(self) -> None:  # noqa: N802 - http.server naming
            self.send_response(HTTPStatus.NO_CONTENT)
            if config.cors:
                self.send_header("Access-Control-Allow-Origin", config.cors)
                self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
                self.send_header("Access-Control-Allow-Headers", "Content-Type, Accept")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            params = urllib.parse.parse_qs(url.query)
            if url.path == "/":
                self._send(200, "text/html", index)
            elif url.path == "/sparql":
                self._query(params)
            elif url.path == "/view":
                names = [n.strip() for v in params.get("therapies", []) for n in v.split(",") if n.strip()]

                def flag(key: str) -> bool:
                    return (params.get(key) or [""])[-1].lower() in {"1", "true", "yes"}

                self._send(*pool.call(_view, names, flag("all"), flag("sources")))
            else:
                self._error(404, f"Not found: {url.path}. The endpoint is /sparql.")

        do_HEAD = do_GET

        def do_POST(self) -> None:  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/sparql":
                self._error(404, f"Not found: {url.path}. The endpoint is /sparql.")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._error(413, f"Request body larger than {MAX_BODY} bytes.")
                return
            body = self.rfile.read(length).decode("utf-8", "replace")
            content_type = self.headers.get_content_type()
            params = urllib.parse.parse_qs(url.query)
            if content_type == "application/sparql-query":
                params["query"] = [body]
            elif content_type == "application/x-www-form-urlencoded":
                for key, values in urllib.parse.parse_qs(body).items():
                    params.setdefault(key, []).extend(values)
            elif content_type == "application/sparql-update":
                params["update"] = [body]
            else:
                self._error(415, "Send application/sparql-query or a form with query=.")
                return
            self._query(params)

        def _query(self, params: dict[str, list[str]]) -> None:
            if "update" in params:
                self._error(403, "SPARQL Update is refused: this endpoint is read-only.")
                return
            queries = params.get("query", [])
            if len(queries) != 1:
                self._error(400, "Give exactly one 'query' parameter.")
                return
            requested = (params.get("format") or [None])[0]
            status, content_type, body = pool.run(
                queries[0],
                self.headers.get("Accept", ""),
                requested,
                params.get("default-graph-uri", []),
                params.get("named-graph-uri", []),
            )
            self._send(status, content_type, body)

    return Handler


def run_server(location: Path, config: ServerConfig, announce: Callable[[str], None] | None = None) -> None:
    """Serve until interrupted; `announce` receives the base URL once the socket listens."""
    pool = QueryPool(location, config)
    try:
        server = ThreadingHTTPServer((config.host, config.port), make_handler(pool, config, front_page(location)))
    except OSError as error:
        pool.close()
        raise KgError(f"Cannot listen on {config.host}:{config.port}: {error.strerror}") from None
    server.daemon_threads = True
    host, port = server.server_address[:2]
    if announce:
        announce(f"http://{host}:{port}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        pool.close()
