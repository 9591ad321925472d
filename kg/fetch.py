"""Fetching study pages from the ClinicalTrials.gov API v2, for `kg ingest ctgov --term ...`.

A search follows `nextPageToken` through every page (1,000 studies each, the API's largest),
asks for gzip, retries 429 and 5xx answers, cut-off bodies and stalled reads with a doubling wait
(or the `Retry-After` the API gives), and keeps every page as fetched under the store's cache,
`<store root>/fetched/<UTC time>-<search hash>/` with a file `SEARCH` saying what was asked, so an
ingest can be read again and checked. The pages are then ingested like downloaded files.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import hashlib
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.atomic import write_file, write_text
from kg.errors import KgError, UsageError

API = "https://clinicaltrials.gov/api/v2"
PAGE_SIZE = 1000
"""The largest page the API serves."""
IDS_PER_REQUEST = 100
"""NCT numbers asked for at once by `--refresh` (they travel in the URL)."""
STATUSES = (
    "ACTIVE_NOT_RECRUITING",
    "AVAILABLE",
    "APPROVED_FOR_MARKETING",
    "COMPLETED",
    "ENROLLING_BY_INVITATION",
    "NO_LONGER_AVAILABLE",
    "NOT_YET_RECRUITING",
    "RECRUITING",
    "SUSPENDED",
    "TEMPORARILY_NOT_AVAILABLE",
    "TERMINATED",
    "UNKNOWN",
    "WITHDRAWN",
    "WITHHELD",
)
"""The API's overall statuses (`filter.overallStatus`)."""


class FetchError(KgError):
    """The registry could not be read: the network, or answers that stayed wrong after retries."""


@dataclass(frozen=True)
class Search:
    """What to ask the API for: its query fields, overall statuses, or NCT numbers."""

    term: str | None = None
    condition: str | None = None
    intervention: str | None = None
    statuses: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [s for s in self.statuses if s not in STATUSES]
        if unknown:
            raise UsageError(f"Unknown status {', '.join(unknown)}; the API knows {', '.join(STATUSES)}.")
        if not (self.term or self.condition or self.intervention or self.ids):
            raise UsageError("Say what to fetch: --term, --condition or --intervention (or --refresh).")

    def params(self) -> dict[str, str]:
        """The API's query parameters for this search."""
        given = {
            "query.term": self.term,
            "query.cond": self.condition,
            "query.intr": self.intervention,
            "filter.overallStatus": ",".join(self.statuses),
            "filter.ids": ",".join(self.ids),
        }
        return {name: value for name, value in given.items() if value}


@dataclass
class Client:
    """GET JSON from the API, patiently: the waits and limits are fields so tests can shorten them."""

    api: str = API
    timeout: float = 60.0  # seconds a connection or a read may stall
    retries: int = 6
    wait: float = 2.0  # the first wait before a retry; it doubles
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        if urllib.parse.urlsplit(self.api).scheme not in ("http", "https"):
            raise UsageError(f"--api must be an http or https URL, not {self.api!r}.")

    def get(self, path: str, params: Mapping[str, str]) -> tuple[bytes, dict[str, Any]]:
        """The body (decompressed) and its JSON object; retried on 429, 5xx, cut-off or stalled answers."""
        url = f"{self.api.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
        attempt = 0
        while True:
            try:
                body = self._read(url)
                document = json.loads(body)
                if not isinstance(document, dict):
                    raise FetchError(f"{url} answered JSON that is not an object")
                return body, document
            except urllib.error.HTTPError as error:
                if error.code != 429 and error.code < 500:
                    detail = error.read(300).decode("utf-8", "replace").strip()
                    raise FetchError(f"{url} answered {error.code} {error.reason}: {detail}") from None
                problem, wait = f"{error.code} {error.reason}", _retry_after(error.headers.get("Retry-After"))
            except (OSError, EOFError, http.client.HTTPException, ValueError) as error:  # refused, stalled, cut off
                problem, wait = _describe(error), None
            if attempt == self.retries:
                raise FetchError(f"{url} failed {attempt + 1} times; the last: {problem}")
            self.sleep(wait if wait is not None else self.wait * 2**attempt)
            attempt += 1

    def _read(self, url: str) -> bytes:
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "Accept-Encoding": "gzip", "User-Agent": "therapy-kg"}
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            body = response.read()  # raises IncompleteRead when the body is shorter than Content-Length
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
        return body


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds, or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    when = email.utils.parsedate_to_datetime(value) if email.utils.parsedate_tz(value) else None
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds()) if when else None


def _describe(error: BaseException) -> str:
    if isinstance(error, http.client.IncompleteRead):
        return f"the answer was cut off after {len(error.partial)} bytes"
    if isinstance(error, json.JSONDecodeError):
        return f"the answer is not whole JSON ({error.msg})"
    reason = getattr(error, "reason", None) or error
    return f"{type(error).__name__}: {reason}"


@dataclass(frozen=True)
class Progress:
    """Where a fetch is, for a progress display."""

    pages: int
    studies: int
    total: int | None  # the API's count of matching studies, when it gave one


def count(client: Client, search: Search) -> int:
    """How many studies match, without fetching them (`--dry-run`)."""
    _, document = client.get("/studies", search.params() | {"countTotal": "true", "pageSize": "1", "fields": "NCTId"})
    total = document.get("totalCount")
    if not isinstance(total, int):
        raise FetchError("the API gave no totalCount")
    return total


def fetch(
    client: Client, searches: Iterable[Search], root: Path, progress: Callable[[Progress], None] | None = None
) -> Path:
    """Fetch every page of the searches into a new folder under `<root>/fetched/`; the folder."""
    searches = list(searches)
    asked = json.dumps([s.params() for s in searches], sort_keys=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = root / "fetched" / f"{stamp}-{hashlib.sha256(asked.encode()).hexdigest()[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    pages = studies = 0
    totals: list[int] = []
    for search in searches:
        token, first = None, True
        while True:
            params = search.params() | {"pageSize": str(PAGE_SIZE), "format": "json"}
            if first:
                params["countTotal"] = "true"
            if token:
                params["pageToken"] = token
            body, document = client.get("/studies", params)
            found = document.get("studies")
            if not isinstance(found, list):
                raise FetchError(f"page {pages + 1} of {client.api} has no list of studies")
            if first and isinstance(document.get("totalCount"), int):
                totals.append(document["totalCount"])
            pages, studies, first = pages + 1, studies + len(found), False
            write_file(folder / f"page-{pages:05d}.json", body)
            if progress:
                progress(Progress(pages, studies, sum(totals) if len(totals) == len(searches) else None))
            token = document.get("nextPageToken")
            if not token:
                break
    record = {"api": client.api, "searches": [s.params() for s in searches], "pages": pages, "studies": studies}
    write_text(folder / "SEARCH", json.dumps(record | {"fetched": stamp}, indent=2) + "\n")  # not *.json: not a page
    return folder


def refresh_searches(nct_ids: Iterable[str]) -> list[Search]:
    """Searches for the given studies again (`--refresh`), a hundred NCT numbers at a time."""
    ids = sorted(nct_ids)
    return [Search(ids=tuple(ids[i : i + IDS_PER_REQUEST])) for i in range(0, len(ids), IDS_PER_REQUEST)]
