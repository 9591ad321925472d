"""The formats a comparison (and its view) is written in: name, file extension, and whether the file
is binary.

One table for the CLI's `--format` choices, the inference of a format from `-o`'s extension and
`kg.report.WRITERS` (which maps each name to its writer); kept free of imports so the CLI can read
it without loading the library.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    binary: bool = False
    extra: str | None = None  # the optional dependency set it needs (`pip install 'therapy-kg[EXTRA]'`)
    summary: str = ""


COMPARE_FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("table", "", summary="a table on the terminal"),
        Format("markdown", ".md", summary="a Markdown table per group, sources listed"),
        Format("csv", ".csv", summary="one line per row, a column per therapy"),
        Format(
            "tidy", ".csv", summary="the long table: one line per therapy, row, value and source, numbers in columns"
        ),
        Format("json", ".json", summary="the JSON document described in the README"),
        Format("html", ".html", summary="a standalone page with the table"),
        Format("xlsx", ".xlsx", binary=True, summary="a workbook: the table and the long table"),
        Format("parquet", ".parquet", binary=True, extra="pandas", summary="the long table for pandas, R or Arrow"),
    )
}


VIEW_FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("html", ".html", summary="the page: graph, evidence, approvals, table"),
        Format("svg", ".svg", summary="the comparison graph alone, for slides"),
    )
}


def format_for(path: Path, formats: dict[str, Format] = COMPARE_FORMATS) -> str | None:
    """The format a file name asks for by its extension (`.csv` is the table's CSV; ask for tidy by name).

    >>> format_for(Path("k.csv")), format_for(Path("k.XLSX")), format_for(Path("k.txt"))
    ('csv', 'xlsx', None)
    >>> format_for(Path("slide.svg"), VIEW_FORMATS)
    'svg'
    """
    suffix = path.suffix.lower()
    return next((f.name for f in formats.values() if f.extension == suffix), None)
