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
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox

from kg.ctgov import InterventionMatcher
from kg.errors import UsageError
from kg.graph import iri
from kg.ingest import Problem
from kg.regdata import DATE, Quads, Record, approval_node, first_authorisations, iso_date, match_product, term

HOME = "https://www.fda.gov/drugs/drug-approvals-and-databases/drugsfda-data-files"
TABLES = {  # file -> columns read
    "Applications.txt": ("ApplNo", "ApplType", "SponsorName"),
    "Products.txt": ("ApplNo", "DrugName", "ActiveIngredient"),
    "Submissions.txt": (
        "ApplNo",
        "SubmissionClassCodeID",
        "SubmissionType",
        "SubmissionNo",
        "SubmissionStatus",
        "SubmissionStatusDate",
        "ReviewPriority",
    ),
    "SubmissionClass_Lookup.txt": ("SubmissionClassCodeID", "SubmissionClassCodeDescription"),
    "ApplicationDocs.txt": ("ApplNo", "SubmissionType", "SubmissionNo", "ApplicationDocsURL"),
}
_SUFFIX = re.compile(r"-[a-z]{4}$", re.IGNORECASE)  # FDA's four-letter suffix of biologic names (cemiplimab-rwlc)
_KINDS = {"ORIG": "original application", "SUPPL": "supplement"}

Row = dict[str, str]


def read_records(path: Path, matcher: InterventionMatcher, products: set[str]) -> Iterator[Record | Problem]:
    """Records of the applications whose drug is one of `products` (IRIs), from a Drugs@FDA zip or
    folder; an application whose rows are malformed is a Problem."""
    tables = _read_tables(path)
    classes = {
        r["SubmissionClassCodeID"]: r["SubmissionClassCodeDescription"] for r in tables["SubmissionClass_Lookup.txt"]
    }
    by_application: dict[str, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for name in ("Products.txt", "Submissions.txt", "ApplicationDocs.txt"):
        for row in tables[name]:
            by_application[row["ApplNo"]][name].append(row)
    found: dict[str, tuple[Row, str, list[Row]]] = {}
    for application in tables["Applications.txt"]:
        rows = by_application.get(application["ApplNo"], {})
        names = [
            n
            for r in rows.get("Products.txt", [])
            for n in (r["DrugName"], r["ActiveIngredient"], _SUFFIX.sub("", r["ActiveIngredient"]))
        ]
        product = match_product(names, matcher, products)
        if product is not None:
            found[application["ApplNo"]] = (application, product, rows.get("Submissions.txt", []))
    first = first_authorisations(
        (product, number, s["SubmissionStatusDate"][:10])
        for number, (_, product, submissions) in found.items()
        for s in submissions
        if s["SubmissionType"] == "ORIG" and s["SubmissionStatus"] == "AP"
    )
    for number, (application, product, submissions) in sorted(found.items()):
        where = f"{path}: {application['ApplType']} {number}"
        try:
            yield _convert(
                application, product, submissions, by_application[number]["ApplicationDocs.txt"], classes, first
            )
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


def _convert(
    application: Row,
    product: str,
    submissions: list[Row],
    docs: list[Row],
    classes: dict[str, str],
    first: dict[str, tuple[str, str]],
) -> Record:
    kind, number = application["ApplType"], application["ApplNo"]
    if not kind or not number.isdigit():
        raise ValueError(f"an application needs a type and a number, found {kind!r} {number!r}")
    approved = [s for s in submissions if s["SubmissionStatus"] == "AP"]
    if not approved:
        raise ValueError("no approved submission")
    dates = {id(s): _date(s) for s in approved}
    newest = max(dates.values())
    out = Quads(iri(f"src:drugsatfda-{kind.lower()}-{number}"))
    out.describe_source(
        f"Drugs@FDA: {kind} {number} ({application['SponsorName'].title()})",
        f"US Food and Drug Administration. Drugs@FDA data files, {kind} {number} ({application['SponsorName']}):"
        f" approval actions to {newest}.",
        HOME,
        newest,
    )
    node = iri(f"tkgr:{kind.lower()}-{number}")
    out.add(node, "rdf:type", term("tkg:MarketingApplication"))
    out.add(node, "rdfs:label", f"{kind} {number}")
    out.add(node, "tkg:applicationNumber", f"{kind} {number}")
    out.add(node, "tkg:applicationFor", ox.NamedNode(product))
    out.add(node, "tkg:applicant", application["SponsorName"])
    links = defaultdict(list)
    for doc in docs:
        if doc["ApplicationDocsURL"]:
            links[doc["SubmissionType"], doc["SubmissionNo"]].append(doc["ApplicationDocsURL"])
    for submission in approved:
        type_, serial = submission["SubmissionType"], submission["SubmissionNo"]
        if type_ not in _KINDS or not serial.isdigit():
            raise ValueError(f"unknown submission {type_!r} {serial!r}")
        action, date = iri(f"tkgr:{kind.lower()}-{number}-{type_.lower()}-{int(serial)}"), dates[id(submission)]
        out.add(action, "rdf:type", term("tkg:RegulatoryAction"))
        out.add(action, "rdfs:label", f"{kind} {number} {_KINDS[type_]} {int(serial)}")
        out.add(action, "tkg:application", node)
        out.add(action, "tkg:actionDate", ox.Literal(date, datatype=DATE))
        out.add(action, "tkg:submissionKind", _KINDS[type_])
        out.add(action, "tkg:submissionNumber", int(serial))
        out.add(action, "tkg:submissionClass", classes.get(submission["SubmissionClassCodeID"]) or None)
        if submission["ReviewPriority"] in ("PRIORITY", "STANDARD"):
            out.add(action, "tkg:reviewPriority", submission["ReviewPriority"].lower())
        for url in links.get((type_, serial), []):
            out.add(action, "tkg:actionDocument", ox.Literal(url, datatype=term("xsd:anyURI")))
        if type_ == "ORIG" and first.get(product) == (number, date):
            approval = approval_node(product, "fda", date)
            out.add(approval, "rdf:type", term("tkg:Approval"))
            out.add(approval, "tkg:approvedProduct", ox.NamedNode(product))
            out.add(approval, "tkg:agency", term("tkgr:fda"))
            out.add(approval, "tkg:approvalDate", ox.Literal(date, datatype=DATE))
            out.add(action, "tkg:approval", approval)
    return out.record(f"{kind}{number}", newest)


def _date(submission: Row) -> str:
    """`2014-09-04 00:00:00` as 2014-09-04; ValueError naming the submission otherwise."""
    try:
        return iso_date(submission["SubmissionStatusDate"][:10])
    except ValueError as error:
        raise ValueError(f"submission {submission['SubmissionNo']}: {error}") from None
