"""EMA's medicines data as RDF: EU marketing authorisations of the products in the graph.

EMA publishes every centrally authorised medicine as a spreadsheet, "Medicines output: European
public assessment reports" (https://www.ema.europa.eu/en/medicines/download-medicine-data): a
preamble with the date it was generated, a header row starting `Category`, one row per medicine.
`read_records` takes that xlsx (or the same table saved as CSV), keeps the human medicines whose
name, INN or active substance names a product in the graph, and turns each into the quads of its
own graph `src:ema-emea-h-c-003820`: the medicine's EPAR page as a source, its EMA product number,
holder, status (authorised, withdrawn, application withdrawn) and whether it is an orphan medicine,
and its marketing authorisation as a `tkg:Approval` by EMA with the authorisation date — on the
curated node for the product's first EU approval, so both meet. A medicine that is conditionally
authorised today was conditionally authorised at first (a conditional authorisation can become a
standard one, not the reverse); one that is not may have been, so no pathway is stated for it.
Indication texts are EMA's prose and are not copied.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.ctgov import InterventionMatcher
from kg.errors import UsageError
from kg.graph import iri
from kg.ingest import Problem
from kg.regdata import DATE, Quads, Record, approval_node, first_authorisations, iso_date, match_product, term

HOME = "https://www.ema.europa.eu/en/medicines/download-medicine-data"
COLUMNS = (
    "Category",
    "Name of medicine",
    "EMA product number",
    "Medicine status",
    "International non-proprietary name (INN) / common name",
    "Active substance",
    "Conditional approval",
    "Orphan medicine",
    "Marketing authorisation developer / applicant / holder",
    "Marketing authorisation date",
    "Withdrawal / expiry / revocation / lapse of marketing authorisation date",
    "Last updated date",
    "Medicine URL",
)
_DATES = ("%d/%m/%Y", "%Y-%m-%d")

Row = dict[str, str]


def read_records(path: Path, matcher: InterventionMatcher, products: set[str]) -> Iterator[Record | Problem]:
    """Records of the EU medicines whose name, INN or substance is one of `products` (IRIs); a
    medicine with malformed cells is a Problem."""
    rows = _read_rows(path)
    found: list[tuple[int, Row, str]] = []
    for line, row in rows:
        names = [
            row["Name of medicine"],
            row["International non-proprietary name (INN) / common name"],
            *row["Active substance"].split(";"),
        ]
        product = match_product(names, matcher, products) if row["Category"] == "Human" else None
        if product is not None:
            found.append((line, row, product))
    first = first_authorisations(
        (product, row["EMA product number"], _date(row, "Marketing authorisation date"))
        for _, row, product in found
        if _valid(row, "Marketing authorisation date")
    )
    for line, row, product in found:
        try:
            yield _convert(row, product, first)
        except ValueError as error:
            yield Problem(f"{path}:{line} ({row['Name of medicine']})", str(error))


def _read_rows(path: Path) -> list[tuple[int, Row]]:
    """(line, row) for every row below the header, as text; UsageError if this is not the table."""
    if not path.is_file():
        raise UsageError(f"No such file: {path}")
    table = _xlsx(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _csv(path)
    for position, cells in enumerate(table):
        if cells and cells[0] == "Category":
            header = [" ".join(cell.split()) for cell in cells]  # EMA's headers hold line breaks
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise UsageError(
                    f"{path} lacks the column(s) {', '.join(missing)}: download the current medicines"
                    f" table from {HOME}."
                )
            return [
                (position + 2 + offset, dict(zip(header, cells, strict=False)))
                for offset, cells in enumerate(table[position + 1 :])
                if any(cells)
            ]
    raise UsageError(f"{path} has no header row starting with 'Category': is it EMA's medicines table ({HOME})?")


def _xlsx(path: Path) -> list[list[str]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError) as error:
        raise UsageError(f"{path} cannot be read as an xlsx workbook: {error}") from None
    try:
        return [[_text(cell) for cell in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _csv(path: Path) -> list[list[str]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return [[cell.strip() for cell in row] for row in csv.reader(handle)]
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text: give EMA's xlsx or save the table as UTF-8 CSV.") from None


def _text(cell: Any) -> str:
    """A cell as text; a date cell as YYYY-MM-DD (the current table has text dates, older ones do not)."""
    if cell is None:
        return ""
    if hasattr(cell, "date") and callable(cell.date):
        return cell.date().isoformat()
    return str(cell).strip()


def _valid(row: Row, column: str) -> bool:
    try:
        return bool(_date(row, column))
    except ValueError:
        return False


def _date(row: Row, column: str) -> str:
    """The date in `column` as YYYY-MM-DD, "" if empty; ValueError naming the column otherwise."""
    text = row.get(column, "")
    if not text:
        return ""
    try:
        return iso_date(text, _DATES)
    except ValueError as error:
        raise ValueError(f"{column}: {error}") from None


def _convert(row: Row, product: str, first: dict[str, tuple[str, str]]) -> Record:
    number, name = row["EMA product number"], row["Name of medicine"]
    if not number.startswith("EMEA/"):
        raise ValueError(f"EMA product number: expected EMEA/H/C/..., found {number!r}")
    updated = _date(row, "Last updated date")
    authorised = _date(row, "Marketing authorisation date")
    withdrawn = _date(row, "Withdrawal / expiry / revocation / lapse of marketing authorisation date")
    if not updated:
        raise ValueError("Last updated date: empty")
    slug = number.lower().replace("/", "-")
    out = Quads(iri(f"src:ema-{slug}"))
    out.describe_source(
        f"EMA: {name} ({number})",
        f"European Medicines Agency. Medicines data: {name} ({number}), last updated {updated}.",
        row["Medicine URL"] or HOME,
        updated,
    )
    node = iri(f"tkgr:ema-{slug}")
    out.add(node, "rdf:type", term("tkg:MarketingApplication"))
    out.add(node, "rdfs:label", f"{name} ({number})")
    out.add(node, "tkg:applicationNumber", number)
    out.add(node, "tkg:applicationFor", ox.NamedNode(product))
    out.add(node, "tkg:applicant", row["Marketing authorisation developer / applicant / holder"] or None)
    out.add(node, "tkg:authorisationStatus", row["Medicine status"] or None)
    out.add(node, "tkg:orphanMedicine", _flag(row, "Orphan medicine"))
    if authorised:
        approval = (
            approval_node(product, "ema", authorised)
            if first.get(product) == (number, authorised)
            else iri(f"tkgr:ema-{slug}-authorisation")
        )
        out.add(approval, "rdf:type", term("tkg:Approval"))
        out.add(approval, "tkg:approvedProduct", ox.NamedNode(product))
        out.add(approval, "tkg:agency", term("tkgr:ema"))
        out.add(approval, "tkg:approvalDate", ox.Literal(authorised, datatype=DATE))
        if _flag(row, "Conditional approval") == _TRUE:
            out.add(approval, "tkg:approvalPathway", term("tkg:ConditionalApproval"))
        if withdrawn:
            out.add(approval, "tkg:withdrawalDate", ox.Literal(withdrawn, datatype=DATE))
        out.add(node, "tkg:approval", approval)
    return out.record(number, updated)


_TRUE = ox.Literal("true", datatype=term("xsd:boolean"))
_FALSE = ox.Literal("false", datatype=term("xsd:boolean"))


def _flag(row: Row, column: str) -> ox.Literal | None:
    """EMA's Yes/No (older tables: yes/no) as a boolean; ValueError for anything else."""
    value = row.get(column, "").lower()
    if value in ("", "yes", "no"):
        return {"yes": _TRUE, "no": _FALSE}.get(value)
    raise ValueError(f"{column}: expected Yes or No, found {row[column]!r}")
