"""`kg ingest ctgov --term ...`: fetching API v2 pages from a local server that replays them and
injects what the real API does on a bad day (429 with Retry-After, 503, a cut-off body, a stalled
read)."""

from __future__ import annotations

import gzip
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kg import fetch, ingest
from kg.cli import app

# Real records name real products: their ingest runs on the curated catalogue (names only, no facts).
pytestmark = pytest.mark.usefixtures("catalogue_env")

FIXTURES = Path(__file__).parent / "data" / "ctgov"


def _studies(*names: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name in names:
        path = FIXTURES / name
        if path.suffix == ".jsonl":
            found += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        else:
            document = json.loads(path.read_text())
            found += document["studies"] if "studies" in document else [document]
    return found


PAGES = [
    _studies("NCT02435849.json", "NCT03056339.json"),
    _studies("page.json"),
    _studies("studies.jsonl"),
]


def _nct(study: dict[str, Any]) -> str:
    return study["protocolSection"]["identificationModule"]["nctId"]


class Replay(ThreadingHTTPServer):
    """Serves PAGES at /api/v2/studies (pageToken p2, p3), `filter.ids` from `pool`; each request
    first takes the next of `faults` ("429", "503", "400", "truncated", "cut-gzip", "slow"); records requests."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.faults: list[str] = []
        self.requests: list[tuple[dict[str, str], dict[str, str]]] = []
        self.pool = [study for page in PAGES for study in page]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that stopped waiting (the stalled read) closed its end: not an error here."""

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/v2"


class _Handler(BaseHTTPRequestHandler):
    server: Replay

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        self.server.requests.append((params, dict(self.headers)))
        fault = self.server.faults.pop(0) if self.server.faults else None
        if fault in ("429", "503", "400"):
            self.send_response(int(fault))
            if fault == "429":
                self.send_header("Retry-After", "7")
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.write(b"try later")
            return
        if fault == "slow":
            time.sleep(1.0)  # longer than the client's timeout
        assert url.path == "/api/v2/studies"
        if "filter.ids" in params:
            wanted = params["filter.ids"].split(",")
            document: dict[str, Any] = {"studies": [s for s in self.server.pool if _nct(s) in wanted]}
        else:
            number = {"p2": 1, "p3": 2}.get(params.get("pageToken", ""), 0)
            document = {"studies": PAGES[number]}
            if number + 1 < len(PAGES):
                document["nextPageToken"] = f"p{number + 2}"
        if params.get("countTotal") == "true":
            document["totalCount"] = sum(len(page) for page in PAGES)
        body = json.dumps(document).encode()
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            self.send_header("Content-Encoding", "gzip")
        if fault == "cut-gzip":  # a whole HTTP body holding half a gzip stream
            body = body[: len(body) // 2]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if fault == "truncated" else body)


@pytest.fixture()
def replay() -> Iterator[Replay]:
    server = Replay()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "store"
    monkeypatch.setenv("THERAPY_KG_STORE", str(root))
    monkeypatch.setenv("COLUMNS", "200")
    return root


def test_a_search_follows_every_page_asks_for_gzip_and_keeps_the_pages(replay: Replay, store: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", "ctgov", "--term", "CAR", "--api", replay.api])
    assert result.exit_code == 0, result.output
    assert "6 records ingested, 0 updated" in result.output and "Fetched 3 pages into" in result.output
    asked = [params for params, _ in replay.requests]
    assert [p.get("pageToken") for p in asked] == [None, "p2", "p3"]
    assert all(p["query.term"] == "CAR" and p["pageSize"] == "1000" for p in asked)
    assert [p.get("countTotal") for p in asked] == ["true", None, None]
    assert all("gzip" in headers["Accept-Encoding"] for _, headers in replay.requests)
    [folder] = (store / "fetched").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == [
        "SEARCH",
        "page-00001.json",
        "page-00002.json",
        "page-00003.json",
    ]
    assert json.loads((folder / "page-00002.json").read_text())["studies"] == PAGES[1]  # as served, unzipped
    assert json.loads((folder / "SEARCH").read_text())["searches"] == [{"query.term": "CAR"}]
    again = CliRunner().invoke(app, ["ingest", "ctgov", str(folder)])  # the kept pages read again
    assert again.exit_code == 0 and "0 records ingested, 0 updated, 6 unchanged" in again.output


def test_429_503_a_cut_off_body_and_a_stalled_read_are_retried(replay: Replay, tmp_path: Path) -> None:
    waits: list[float] = []
    client = fetch.Client(api=replay.api, timeout=0.3, wait=0.01, sleep=waits.append)
    replay.faults = ["429", "503", "truncated", "slow"]
    folder = fetch.fetch(client, [fetch.Search(condition="lymphoma")], tmp_path)
    assert waits == [7.0, 0.02, 0.04, 0.08]  # Retry-After honoured; otherwise the wait doubles
    pages = [json.loads(p.read_text())["studies"] for p in sorted(folder.glob("page-*.json"))]
    assert pages == PAGES
    assert len(replay.requests) == 4 + 3


def test_a_gzip_stream_cut_inside_a_whole_body_is_retried(replay: Replay, tmp_path: Path) -> None:
    waits: list[float] = []
    replay.faults = ["cut-gzip"]
    folder = fetch.fetch(
        fetch.Client(api=replay.api, wait=0.01, sleep=waits.append), [fetch.Search(term="x")], tmp_path
    )
    assert waits == [0.01] and len(list(folder.glob("page-*.json"))) == 3


def test_an_answer_that_stays_wrong_is_a_clear_error(replay: Replay, store: Path) -> None:
    client = fetch.Client(api=replay.api, retries=2, wait=0, sleep=lambda _: None)
    replay.faults = ["503"] * 3
    with pytest.raises(fetch.FetchError, match=r"failed 3 times; the last: 503 Service Unavailable"):
        fetch.count(client, fetch.Search(term="x"))
    replay.faults = ["400"]
    with pytest.raises(fetch.FetchError, match=r"answered 400 Bad Request: try later"):
        fetch.count(client, fetch.Search(term="x"))
    assert len(replay.requests) == 4, "a 400 is not retried"
    replay.faults = ["400"]
    result = CliRunner().invoke(app, ["ingest", "ctgov", "--term", "x", "--api", replay.api])
    assert result.exit_code == 1 and "answered 400 Bad Request" in result.output and "Traceback" not in result.output


def test_dry_run_counts_and_fetches_nothing(replay: Replay, store: Path) -> None:
    args = ["ingest", "ctgov", "--condition", "lymphoma", "--status", "recruiting", "--status", "COMPLETED"]
    result = CliRunner().invoke(app, [*args, "--dry-run", "--api", replay.api])
    assert result.exit_code == 0 and result.output.strip() == "6 studies match."
    [(params, _)] = replay.requests
    assert params["filter.overallStatus"] == "RECRUITING,COMPLETED" and params["pageSize"] == "1"
    assert not (store / "fetched").exists() and ingest.manifest(store) == {}


def test_refresh_fetches_the_ingested_studies_and_keeps_what_changed(replay: Replay, store: Path) -> None:
    runner = CliRunner()
    files = [FIXTURES / "NCT02435849.json", FIXTURES / "NCT03056339.json"]
    assert runner.invoke(app, ["ingest", "ctgov", *map(str, files)]).exit_code == 0
    replay.pool = _studies("updated/NCT02435849.json", "NCT03056339.json", "page.json")
    result = runner.invoke(app, ["ingest", "ctgov", "--refresh", "--api", replay.api])
    assert result.exit_code == 0, result.output
    assert "0 records ingested, 1 updated, 1 unchanged" in result.output
    [(params, _)] = replay.requests
    assert params["filter.ids"] == "NCT02435849,NCT03056339"
    assert ingest.manifest(store)["NCT02435849"] == "2024-06-21"  # the newer version


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--status", "RECRUITING"], "--status narrows a search"),
        (["--term", "x", "--status", "OPEN"], "Unknown status OPEN"),
        (["--term", "x", "--api", "file:///etc"], "--api must be an http or https URL"),
        ([], "Give files or folders to read, or a search to fetch"),
    ],
)
def test_usage_errors(store: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["ingest", "ctgov", *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_retry_after_may_be_a_date() -> None:
    assert fetch._retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert fetch._retry_after("120") == 120.0 and fetch._retry_after(None) is None
