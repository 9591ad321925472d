"""A comparison in every output format: rich table, Markdown, CSV, JSON and standalone HTML.

All formats share one reading of a cell: each value, whether it is inherited, and the sources
that state it with each source's kind of claim and date (`[n review 2021-08-06]` in the table,
Markdown and HTML, whose legends give the citations; ids, kinds and dates in CSV and JSON). A value
that rests on popular claims only is shown weaker: dim in the terminal, in italics in Markdown and
HTML.
The HTML page is self-contained: inline styles, no scripts, no external `src`/`href`, and every
text from the data is escaped.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from kg.compare import Comparison, ComparisonRow
from kg.errors import UsageError
from kg.frames import TIDY_COLUMNS, comparison_frame, tidy_rows
from kg.render import TABLE_STYLE, Citations, dumps, fact_json, fact_text, table_html, to_jsonable

if TYPE_CHECKING:
    from rich.console import Console

    from kg.therapy import Source


def to_json(comparison: Comparison) -> dict[str, Any]:
    """The stable JSON shape documented in the README."""
    sources = comparison.sources
    return to_jsonable(
        {
            "therapies": [{"id": t.id, "label": t.label, "level": t.level} for t in comparison.therapies],
            "rows": [
                {
                    "property": row.key,
                    "label": row.label,
                    "group": row.group,
                    "differs": row.differs,
                    "conflict": row.conflict,
                    "cells": [[fact_json(fact, sources) for fact in cell] for cell in row.cells],
                    "applicable": [i not in row.not_applicable for i in range(len(row.cells))],
                }
                for row in comparison.rows
            ],
            "sources": [
                {
                    "id": s.id,
                    "citation": s.citation,
                    "kind": s.kind,
                    "date": s.date,
                    "link": s.link,
                    "read_at": list(s.read_at),
                }
                for s in sources.values()
            ],
        }
    )


def _cell_texts(
    row: ComparisonRow, sources: dict[str, Source], citations: Citations | None
) -> list[list[tuple[str, bool]]]:
    """Each value's text, and whether it rests on popular claims only (shown weaker where sources are shown)."""
    texts = [[fact_text(f, sources, citations) for f in cell] for cell in row.cells]
    return [[(str(t), citations is not None and t.weak) for t in cell] for cell in texts]


def safe_cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula: a cell starting with =, +, -, @, a tab or a
    carriage return gets a leading apostrophe, as spreadsheet-safe exporters do.

    >>> safe_cell("=HYPERLINK(1)"), safe_cell("autologous"), safe_cell("-")
    ("'=HYPERLINK(1)", 'autologous', "'-")
    """
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(header: list[str], rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(v) if isinstance(v, str) else "" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def _wide(comparison: Comparison, sources: bool) -> tuple[list[str], list[list[Any]]]:
    """The table as CSV and the workbook's first sheet hold it: a line per row, a cell's values joined
    by ' | ' with their source ids."""
    rows = []
    for row in comparison.rows:
        cells = [
            " | ".join(str(fact_text(fact, comparison.sources, ids=sources)) for fact in cell) or row.blank(i)
            for i, cell in enumerate(row.cells)
        ]
        rows.append([row.group, row.key, row.label, "yes" if row.differs else "no", *cells])
    return ["group", "property", "label", "differs", *(t.label for t in comparison.therapies)], rows


def _long(comparison: Comparison) -> tuple[list[str], list[list[Any]]]:
    """The long table (kg.frames.tidy_rows) as a header and rows."""
    return list(TIDY_COLUMNS), [[row[c] for c in TIDY_COLUMNS] for row in tidy_rows(comparison)]


def to_csv(comparison: Comparison, *, sources: bool = True) -> str:
    """One line per row; a cell's values are separated by ' | ' and carry their source ids."""
    return _csv(*_wide(comparison, sources))


def to_tidy_csv(comparison: Comparison, *, sources: bool = True) -> str:
    """The long table as CSV: one line per therapy, row, value and source."""
    return _csv(*_long(comparison))


def to_xlsx(comparison: Comparison, *, sources: bool = True) -> bytes:
    """A workbook with the table (as in CSV) and the long table, numbers as numbers; every text cell
    is stored as text, so nothing from the data runs as a formula."""
    from openpyxl import Workbook

    book = Workbook()
    for sheet, title, (header, rows) in (
        (book.active, "comparison", _wide(comparison, sources)),
        (book.create_sheet(), "long", _long(comparison)),
    ):
        sheet.title = title
        for values in [header, *rows]:
            sheet.append(values)
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_parquet(comparison: Comparison, *, sources: bool = True) -> bytes:
    """The long table as Parquet (pandas and pyarrow, the `pandas` extra)."""
    out = io.BytesIO()
    try:
        comparison_frame(comparison).to_parquet(out, index=False)
    except ImportError as error:
        raise UsageError(f"Parquet needs pyarrow: pip install 'therapy-kg[pandas]' ({error})") from None
    return out.getvalue()


def _md(text: str) -> str:
    return safe_cell(text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " "))


def to_markdown(comparison: Comparison, *, sources: bool = True) -> str:
    """A GitHub-flavoured Markdown table per group, differing rows in bold, sources as a numbered list."""
    citations = Citations(comparison.sources) if sources else None
    header = "| Property | " + " | ".join(_md(t.label) for t in comparison.therapies) + " |"
    rule = "|---" * (len(comparison.therapies) + 1) + "|"
    lines = [f"# {' vs '.join(_md(t.label) for t in comparison.therapies)}", ""]
    for key, label in comparison.groups:
        lines += [f"## {_md(label)}", "", header, rule]
        for row in (r for r in comparison.rows if r.group == key):
            name = f"**{_md(row.label)}**" if row.differs else _md(row.label)
            cells = [
                "<br>".join(f"*{_md(t)}*" if weak else _md(t) for t, weak in texts) or f"*{row.blank(i)}*"
                for i, texts in enumerate(_cell_texts(row, comparison.sources, citations))
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("Rows in **bold** differ between the therapies; values in *italics* rest on popular claims only.")
    if citations is not None and citations.numbers:
        lines += ["", "## Sources", ""]
        lines += [f"{_md(line)}  " for line in citations.legend()]
    return "\n".join(lines) + "\n"


def print_table(comparison: Comparison, console: Console, *, sources: bool = True) -> None:
    """A rich table: groups as section headings, differing rows highlighted, then the source legend."""
    from rich.markup import escape
    from rich.table import Table

    citations = Citations(comparison.sources) if sources else None
    table = Table(show_lines=True, title=" vs ".join(t.label for t in comparison.therapies))
    table.add_column("Property", style="bold", ratio=1)
    for therapy in comparison.therapies:
        table.add_column(escape(therapy.label), ratio=2)
    for key, label in comparison.groups:
        table.add_row(f"[reverse] {escape(label)} [/reverse]", *([""] * len(comparison.therapies)))
        for row in (r for r in comparison.rows if r.group == key):
            cells = [
                "\n".join(f"[dim italic]{escape(t)}[/dim italic]" if weak else escape(t) for t, weak in texts)
                or f"[dim]{row.blank(i)}[/dim]"
                for i, texts in enumerate(_cell_texts(row, comparison.sources, citations))
            ]
            name = escape(row.label) + (" [yellow]≠[/yellow]" if row.differs else "")
            if row.conflict:
                name += " [red](sources disagree)[/red]"
            table.add_row(name, *cells, style="yellow" if row.differs else None)
    console.print(table)
    console.print(
        escape(
            "≠ marks rows where the therapies differ; values marked 'inherited' come from a modality; "
            "[n kind date] gives each source's kind of claim and date; dim values rest on popular claims only."
        )
    )
    if citations is not None and citations.numbers:
        console.print("[bold]Sources[/bold]")
        for line in citations.legend():
            console.print(escape(line))


def to_html(comparison: Comparison, *, sources: bool = True) -> str:
    """A standalone page: the table and a legend, no scripts and no links to anything outside it."""
    title = html.escape(" vs ".join(t.label for t in comparison.therapies))
    return (
        "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en"><head><meta charset="utf-8">',
                f"<title>{title}</title>",
                f"<style>body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1b1f24; }}{TABLE_STYLE}</style>",
                "</head><body>",
                f"<h1>{title}</h1>",
                table_html(comparison, sources=sources),
                "</body></html>",
            ]
        )
        + "\n"
    )


WRITERS: dict[str, Callable[..., str | bytes]] = {
    "markdown": to_markdown,
    "csv": to_csv,
    "tidy": to_tidy_csv,
    "json": lambda comparison, sources=True: render_json(comparison),
    "html": to_html,
    "xlsx": to_xlsx,
    "parquet": to_parquet,
}
"""Every file format of kg.formats.COMPARE_FORMATS but the terminal table, by name."""


def render_json(comparison: Comparison) -> str:
    return dumps(to_json(comparison)) + "\n"
