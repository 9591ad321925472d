"""Real servers for tests: `kg serve` and the Oxigraph server, as subprocesses on loopback."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TypeVar


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {deadline} s")


S = TypeVar("S", bound="Server")


class Server(str):
    """The base URL of a running server, with its process (for its memory, in benchmarks)."""

    process: subprocess.Popen

    @classmethod
    def at(cls: type[S], url: str, process: subprocess.Popen) -> S:
        server = cls(url)
        server.process = process
        return server

    def peak_memory_mb(self) -> float:
        """The process's peak resident memory so far (Linux `VmHWM`)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


class KgServer(Server):
    """A running `kg serve`, with what it wrote to stderr after announcing the URL (read all
    along, so the server never blocks on a full pipe)."""

    stderr: list[str]


@contextmanager
def kg_server(store: Path, *args: str) -> Iterator[KgServer]:
    """`kg serve --port 0 ...`; yields the base URL it announces (a str with `.process`, `.stderr`)."""
    env = {**os.environ, "THERAPY_KG_STORE": str(store)}
    process = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", "--port", "0", *args], stderr=subprocess.PIPE, text=True, env=env
    )
    reader = None
    try:
        assert process.stderr is not None
        for line in process.stderr:
            match = re.search(r"(http://\S+/)sparql", line)
            if match:
                break
        else:
            raise RuntimeError("kg serve did not announce its URL")
        server = KgServer.at(match.group(1), process)
        server.stderr = []
        reader = threading.Thread(target=lambda: server.stderr.extend(process.stderr or []), daemon=True)
        reader.start()
        _wait_for(server, process)
        yield server
    finally:
        process.terminate()
        process.wait(10)
        if reader is not None:
            reader.join(10)


@contextmanager
def oxigraph_server(location: Path, *, read_only: bool = False) -> Iterator[Server]:
    """The `oxigraph` server from PyPI, as it comes (no union default graph: `kg push` writes the
    merge); `read_only` starts `serve-read-only`, of which several may share one directory."""
    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    port = free_port()
    command = "serve-read-only" if read_only else "serve"
    process = subprocess.Popen(
        [binary, command, "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = Server.at(f"http://127.0.0.1:{port}", process)
    try:
        _wait_for(base + "/", process)
        yield base
    finally:
        process.terminate()
        process.wait(10)


_VIRTUOSO_INI = """[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{sql}
DisableUnixSocket = 1
ServerThreads = 10
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
DirsAllowed = ., {d}

[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = {d}/www
ServerThreads = 10
MaxClientConnections = 10

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 60
"""


@contextmanager
def virtuoso_server(directory: Path, memory_mb: int = 80, max_rows: int = 100_000) -> Iterator[Server]:
    """Debian's Virtuoso 7 on loopback (installed by scripts/install_system.sh), its Graph Store
    open to unauthenticated PUT, with `memory_mb` of page buffers (Virtuoso's own advice: about
    two thirds of the memory it may use) and answers cut at `max_rows` rows, as Virtuoso does
    without saying so; yields the base URL (`/sparql`, `/sparql-graph-crud`)."""
    binary, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    if not (binary and isql):
        raise RuntimeError("Virtuoso is not installed: run scripts/install_system.sh")
    sql, http = free_port(), free_port()
    new = not (directory / "virtuoso.db").exists()  # a directory served before keeps its database
    (directory / "www").mkdir(parents=True, exist_ok=True)
    (directory / "virtuoso.ini").write_text(
        _VIRTUOSO_INI.format(
            d=directory, sql=sql, http=http, buffers=memory_mb * 128, dirty=memory_mb * 75, max_rows=max_rows
        )
    )
    process = subprocess.Popen(
        [binary, "+foreground", "+configfile", str(directory / "virtuoso.ini")],
        cwd=directory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = Server.at(f"http://127.0.0.1:{http}", process)
    try:
        _wait_for_status(base + "/sparql", process, deadline=90.0)
        if new:
            _isql(isql, sql, 'GRANT SPARQL_UPDATE TO "SPARQL";')
        yield base
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_for_status(url: str, process: subprocess.Popen, deadline: float) -> None:
    """Like `_wait_for`, but any HTTP answer (even an error status) means the server is up."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {deadline} s")


def _isql(isql: str, port: int, statement: str, attempts: int = 20) -> None:
    """Run one SQL statement as the fresh database's `dba`, retried while the SQL port comes up."""
    output = ""
    for _ in range(attempts):
        done = subprocess.run(
            [isql, f"127.0.0.1:{port}", "dba", "dba", f"exec={statement}"],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        output = done.stdout + done.stderr
        if done.returncode == 0 and "*** Error" not in output:
            return
        time.sleep(0.5)
    raise RuntimeError(f"isql-vt could not run {statement!r}: {output.strip()[-200:]}")


EXTERNAL = {"Oxigraph": ("", "/query"), "Virtuoso": ("/sparql-graph-crud", "/sparql")}
"""The real triplestores the benchmarks start: the path of the URL `kg push` is given, and of the
query endpoint, after the base URL."""


def external_server(name: str, directory: Path, virtuoso_memory_mb: int = 80) -> AbstractContextManager[Server]:
    """One of `EXTERNAL`, started on `directory` (a new one for an empty store)."""
    return oxigraph_server(directory) if name == "Oxigraph" else virtuoso_server(directory, virtuoso_memory_mb)
