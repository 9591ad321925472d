"""FDA's Drugs@FDA data files as RDF: every approval action on the applications of known products.

FDA publishes Drugs@FDA as a zip of tab-separated tables, refreshed weekly
(https://www.fda.gov/drugs/drug-approvals-and-databases/drugsfda-data-files). `read_records` takes
that zip or the folder it unpacks to, keeps the applications whose brand or active ingredient names
a product in the graph, and turns each into the quads of its own graph `src:drugsatfda-bla-125514`:
the application as a source (a regulatory document), and one `tkg:RegulatoryAction` per approved
submission — the original application and every supplement, with its date, FDA's class for it
(efficacy, labeling, manufacturing, REMS), review priority and the letters and labels FDA links.

The product's earliest original approval is also stated as the `tkg:Approval` curated sources
describe (`approval-<product>-fda-<year>`), so the two meet and a disagreement on the date shows.
An efficacy supplement is not stated as an approval: FDA's class covers new indications, new
populations and new dosing alike, and the tables do not say which.

Cell-therapy products are licensed by FDA's biologics centre (CBER) and are not in Drugs@FDA.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyoxigraph as ox

from kg.ctgov import InterventionMatcher, Problem
from kg.errors import UsageError
from kg.graph import iri

HOME = "https://www.fda.gov/drugs/drug-approvals-and-databases/drugsfda-data-files"
TABLES = {  # file -> columns read
    "Applications.txt": ("ApplNo", "ApplType", "SponsorName"),
    "Products.txt": ("ApplNo", "DrugName", "ActiveIngredient"),
    "Submissions.txt": ("ApplNo", "SubmissionClassCodeID", "SubmissionType", "SubmissionNo", "SubmissionStatus",
                        "SubmissionStatusDate", "ReviewPriority"),
    "SubmissionClass_Lookup.txt": ("SubmissionClassCodeID", "SubmissionClassCodeDescription"),
    "ApplicationDocs.txt": ("ApplNo", "SubmissionType", "SubmissionNo", "ApplicationDocsURL"),
}
_SUFFIX = re.compile(r"-[a-z]{4}$", re.IGNORECASE)  # FDA's four-letter suffix of biologic names (cemiplimab-rwlc)
_KINDS = {"ORIG": "original application", "SUPPL": "supplement"}
_iri = cache(iri)


@dataclass(frozen=True)
class ApplicationRecord:
    """One application's graph, ready for `kg.ingest.store_records`."""

    key: str  # "BLA125514"
    last_update: str  # the newest action date, YYYY-MM-DD
    graph: str
    quads: list[ox.Quad]
    unmatched: list[str] = field(default_factory=list)


Row = dict[str, str]


def read_records(path: Path, matcher: InterventionMatcher, products: set[str]) -> Iterator[ApplicationRecord | Problem]:
    """Records of the applications whose drug is one of `products` (IRIs), from a Drugs@FDA zip or
    folder; an application whose rows are malformed is a Problem."""
    tables = _read_tables(path)
    classes = {r["SubmissionClassCodeID"]: r["SubmissionClassCodeDescription"] for r in tables["SubmissionClass_Lookup.txt"]}
    by_application: dict[str, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for name in ("Products.txt", "Submissions.txt", "ApplicationDocs.txt"):
        for row in tables[name]:
            by_application[row["ApplNo"]][name].append(row)
    found: dict[str, tuple[Row, str, list[Row]]] = {}
    for application in tables["Applications.txt"]:
        rows = by_application.get(application["ApplNo"], {})
        product = _product(rows.get("Products.txt", []), matcher, products)
        if product is not None:
            found[application["ApplNo"]] = (application, product, rows.get("Submissions.txt", []))
    first = _first_approvals(found.values())
    for number, (application, product, submissions) in sorted(found.items()):
        where = f"{path}: {application['ApplType']} {number}"
        try:
            yield _convert(application, product, submissions, by_application[number]["ApplicationDocs.txt"],
                           classes, first)
        except ValueError as error:
            yield Problem(where, str(error))


def _read_tables(path: Path) -> dict[str, list[Row]]:
    """Each needed table as rows of the columns read; UsageError naming what is missing."""
    if not path.exists():
        raise UsageError(f"No such file or directory: {path}")
    opened: Callable[[str], bytes | None]
    if path.is_dir():
        opened = lambda name: (path / name).read_bytes() if (path / name).is_file() else None  # noqa: E731
    else:
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise UsageError(f"{path} is neither the Drugs@FDA zip nor a folder of its tables.") from None
        names = set(archive.namelist())
        opened = lambda name: archive.read(name) if name in names else None  # noqa: E731
    tables = {}
    for name, columns in TABLES.items():
        data = opened(name)
        if data is None:
            raise UsageError(f"{path} has no {name}: give the Drugs@FDA zip or the folder it unpacks to ({HOME}).")
        tables[name] = _rows(name, data, columns)
    return tables


def _rows(name: str, data: bytes, columns: tuple[str, ...]) -> list[Row]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # older exports are Windows-1252
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise UsageError(f"{name} lacks the column(s) {', '.join(missing)}: is this a Drugs@FDA table?")
    return [{c: (row[c] or "").strip() for c in columns} for row in reader]


def _product(rows: list[Row], matcher: InterventionMatcher, products: set[str]) -> str | None:
    """The graph's product an application is for, by brand name, then active ingredient."""
    for row in rows:
        for name in (row["DrugName"], row["ActiveIngredient"], _SUFFIX.sub("", row["ActiveIngredient"])):
            therapy = matcher.match(name)
            if therapy in products:
                return therapy
    return None


def _first_approvals(found: Iterable[tuple[Row, str, list[Row]]]) -> dict[str, tuple[str, str]]:
    """Product -> (application number, date) of its earliest approved original application."""
    first: dict[str, tuple[str, str]] = {}
    for application, product, submissions in found:
        for row in submissions:
            if row["SubmissionType"] == "ORIG" and row["SubmissionStatus"] == "AP":
                date = row["SubmissionStatusDate"][:10]
                if product not in first or date < first[product][1]:
                    first[product] = (application["ApplNo"], date)
    return first


def _convert(application: Row, product: str, submissions: list[Row], docs: list[Row], classes: dict[str, str],
             first: dict[str, tuple[str, str]]) -> ApplicationRecord:
    kind, number = application["ApplType"], application["ApplNo"]
    if not kind or not number.isdigit():
        raise ValueError(f"an application needs a type and a number, found {kind!r} {number!r}")
    approved = [s for s in submissions if s["SubmissionStatus"] == "AP"]
    if not approved:
        raise ValueError("no approved submission")
    graph = _iri(f"src:drugsatfda-{kind.lower()}-{number}")
    quads: list[ox.Quad] = []

    def add(subject: ox.NamedNode, predicate: str, value: ox.NamedNode | ox.Literal | str) -> None:
        quads.append(ox.Quad(subject, _iri(predicate), ox.Literal(value) if isinstance(value, str) else value, graph))

    dates = {id(s): _date(s) for s in approved}
    newest = max(d.value for d in dates.values())
    title = f"Drugs@FDA: {kind} {number} ({application['SponsorName'].title()})"
    add(graph, "rdf:type", _iri("tkg:RegulatoryDocument"))
    add(graph, "dcterms:title", title)
    add(graph, "dcterms:bibliographicCitation",
        f"US Food and Drug Administration. Drugs@FDA data files, {kind} {number} ({application['SponsorName']}):"
        f" approval actions to {newest}.")
    add(graph, "dcterms:modified", ox.Literal(newest, datatype=_iri("xsd:date")))
    add(graph, "tkg:url", ox.Literal(HOME, datatype=_iri("xsd:anyURI")))
    add(graph, "tkg:claimKind", _iri("tkg:RegulatoryClaim"))

    node = _iri(f"tkgr:{kind.lower()}-{number}")
    add(node, "rdf:type", _iri("tkg:MarketingApplication"))
    add(node, "rdfs:label", f"{kind} {number}")
    add(node, "tkg:applicationNumber", f"{kind} {number}")
    add(node, "tkg:applicationFor", ox.NamedNode(product))
    add(node, "tkg:applicant", application["SponsorName"])
    links = defaultdict(list)
    for doc in docs:
        if doc["ApplicationDocsURL"]:
            links[doc["SubmissionType"], doc["SubmissionNo"]].append(doc)
    for submission in approved:
        type_, serial = submission["SubmissionType"], submission["SubmissionNo"]
        if type_ not in _KINDS or not serial.isdigit():
            raise ValueError(f"unknown submission {type_!r} {serial!r}")
        action = _iri(f"tkgr:{kind.lower()}-{number}-{type_.lower()}-{int(serial)}")
        add(action, "rdf:type", _iri("tkg:RegulatoryAction"))
        add(action, "rdfs:label", f"{kind} {number} {_KINDS[type_]} {int(serial)}")
        add(action, "tkg:application", node)
        add(action, "tkg:actionDate", dates[id(submission)])
        add(action, "tkg:submissionKind", _KINDS[type_])
        add(action, "tkg:submissionNumber", ox.Literal(str(int(serial)), datatype=_iri("xsd:nonNegativeInteger")))
        if classes.get(submission["SubmissionClassCodeID"]):
            add(action, "tkg:submissionClass", classes[submission["SubmissionClassCodeID"]])
        if submission["ReviewPriority"] in ("PRIORITY", "STANDARD"):
            add(action, "tkg:reviewPriority", submission["ReviewPriority"].lower())
        for doc in links.get((type_, serial), []):
            add(action, "tkg:actionDocument", ox.Literal(doc["ApplicationDocsURL"], datatype=_iri("xsd:anyURI")))
        if type_ == "ORIG" and first.get(product) == (number, dates[id(submission)].value):
            _first_approval(add, product, action, dates[id(submission)])
    return ApplicationRecord(f"{kind}{number}", newest, graph.value, quads)


def _first_approval(add: Callable[..., None], product: str, action: ox.NamedNode, date: ox.Literal) -> None:
    """State the product's first FDA approval on the node curated sources use for it."""
    approval = _iri(f"tkgr:approval-{product.rsplit('/', 1)[-1]}-fda-{date.value[:4]}")
    add(approval, "rdf:type", _iri("tkg:Approval"))
    add(approval, "tkg:approvedProduct", ox.NamedNode(product))
    add(approval, "tkg:agency", _iri("tkgr:fda"))
    add(approval, "tkg:approvalDate", date)
    add(action, "tkg:approval", approval)


def _date(submission: Row) -> ox.Literal:
    """`2014-09-04 00:00:00` as an xsd:date; ValueError naming the value otherwise."""
    text = submission["SubmissionStatusDate"][:10]
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"submission {submission['SubmissionNo']}: not a date: {submission['SubmissionStatusDate']!r}") from None
    return ox.Literal(text, datatype=_iri("xsd:date"))
