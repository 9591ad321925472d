"""Real servers for tests: `kg serve` and the Oxigraph server, as subprocesses on loopback."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


@contextmanager
def kg_server(store: Path, *args: str) -> Iterator[str]:
    """`kg serve --port 0 ...`; yields the base URL it announces."""
    env = {**os.environ, "THERAPY_KG_STORE": str(store)}
    process = subprocess.Popen([sys.executable, "-m", "kg", "serve", "--port", "0", *args],
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stderr is not None
        for line in process.stderr:
            match = re.search(r"(http://\S+/)sparql", line)
            if match:
                break
        else:
            raise RuntimeError("kg serve did not announce its URL")
        _wait_for(match.group(1), process)
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def oxigraph_server(location: Path) -> Iterator[str]:
    """The `oxigraph` server from PyPI, as it comes (no union default graph: `kg push` writes the merge)."""
    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    port = free_port()
    process = subprocess.Popen([binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/", process)
        yield base
    finally:
        process.terminate()
        process.wait(10)
