"""Analysts' tables: the tidy long table, DataFrames with typed columns, exports whose format follows
`-o`, cells a spreadsheet will not run, `kg --version`, and the notebook guide run as written."""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

import kg
from kg import report
from kg.cli import app
from kg.compare import Comparison, ComparisonRow, compare
from kg.errors import UsageError
from kg.formats import COMPARE_FORMATS
from kg.frames import TIDY_COLUMNS, tidy_rows
from kg.therapy import Fact, Source, TherapyRef
from tests.conftest import MINI

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def comparison(graph: kg.TherapyGraph) -> Comparison:
    return compare(graph, ["testacel", "cordnk-19"])


def test_the_long_table_has_a_row_per_therapy_row_value_and_source(comparison: Comparison) -> None:
    rows = tidy_rows(comparison)
    facts = [
        (ref, row, fact)
        for row in comparison.rows
        for ref, cell in zip(comparison.therapies, row.cells, strict=True)
        for fact in cell
    ]
    assert len(rows) == sum(max(1, len(fact.sources)) for _, _, fact in facts)
    assert all(tuple(r) == TIDY_COLUMNS for r in rows)
    rates = [r for r in rows if r["row_key"].startswith("adverse-event:") and r["denominator"]]
    assert rates and all(isinstance(r["denominator"], int) for r in rates)
    bounded = [r for r in rates if r["ci_low"] is not None]
    assert bounded and all(r["ci_low"] <= r["percentage"] <= r["ci_high"] for r in bounded)
    counted = [r for r in rates if r["numerator"] is not None]
    assert counted and all(
        r["percentage"] is not None for r in counted
    )  # n/N gives the percentage when none is reported
    cited = {r["source_id"] for r in rows}
    assert cited == {s for _, _, f in facts for s in f.sources} and all(
        r["claim_kind"] == comparison.sources[r["source_id"]].kind for r in rows if r["source_id"] in comparison.sources
    )


def test_to_dataframe_types_the_numbers_and_dates(comparison: Comparison) -> None:
    frame = comparison.to_dataframe()
    assert list(frame.columns) == list(TIDY_COLUMNS) and len(frame) == len(tidy_rows(comparison)) > 20
    assert str(frame.dtypes["numerator"]) == "Int64" and str(frame.dtypes["percentage"]) == "Float64"
    assert str(frame.dtypes["date"]).startswith("datetime64")
    approvals = frame[frame.row_key.str.endswith(":indications")]
    assert approvals.date.notna().all() and approvals.date.min().year == 2017


def test_query_results_as_typed_frames(graph: kg.TherapyGraph) -> None:
    counts = graph.select_df(
        "SELECT ?m (COUNT(?p) AS ?n) (MIN(?d) AS ?first) WHERE { ?p tkg:modality ?m . "
        "OPTIONAL { ?a tkg:approvedProduct ?p ; tkg:approvalDate ?d } } GROUP BY ?m"
    )
    assert list(counts.columns) == ["m", "n", "first"]
    assert str(counts.dtypes["n"]) == "Int64" and str(counts.dtypes["first"]).startswith("datetime64")
    assert counts.m.str.startswith("tkgr:").all()  # IRIs compacted
    named = kg.query_df("approvals-by-disease", disease="NSCLC")
    assert list(named["product"]) == ["Exampa (exampumab)", "Samplo (samplizumab)"]
    assert str(named.dtypes["date"]).startswith("datetime64")
    with pytest.raises(UsageError):
        kg.query_df("approvals-by-disease", colour="red")


def test_without_pandas_the_error_names_the_extra(comparison: Comparison, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(UsageError, match=re.escape("pip install 'therapy-kg[pandas]'")):
        comparison.to_dataframe()


def _hostile() -> Comparison:
    """A comparison whose values would run as formulas in a spreadsheet."""
    source = Source("src:x", "t", "=cmd|' /C calc'!A0", "popular claim", 1)
    row = ComparisonRow(
        "tkg:p", "@SUM(1,1)", "g", "G", [[Fact("=1+1", '=HYPERLINK("x")', ["src:x"])], [Fact("-2", "-2+3", ["src:x"])]]
    )
    refs = [TherapyRef("a", "urn:a", "+A", "product"), TherapyRef("b", "urn:b", "B", "product")]
    return Comparison(refs, [row], {"src:x": source})


def test_no_cell_starts_a_formula_in_csv_markdown_tidy_or_xlsx() -> None:
    hostile = _hostile()
    for text in (report.to_csv(hostile), report.to_tidy_csv(hostile)):
        cells = [cell for line in csv.reader(io.StringIO(text)) for cell in line]
        assert cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
        assert "'=HYPERLINK" in text and "'+A" in text
    markdown = report.to_markdown(hostile)
    assert not re.search(r"\|\s*[=+@-][^-]", markdown) and "'=HYPERLINK" in markdown
    book = load_workbook(io.BytesIO(report.to_xlsx(hostile)))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type != "f" for cell in cells)  # stored as text, not formulas
    assert any(
        cell.value == '=HYPERLINK("x")' and cell.data_type == "s" for cell in cells
    )  # the long sheet keeps the text


def test_every_file_format_has_a_writer() -> None:
    assert set(report.WRITERS) == set(COMPARE_FORMATS) - {"table"}


@pytest.mark.parametrize("name", ["k.csv", "k.md", "k.json", "k.html", "k.xlsx", "k.parquet"])
def test_the_format_follows_the_output_file(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    result = CliRunner().invoke(app, ["compare", "testacel", "cordnk-19", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    expected = {
        ".csv": b"group,property",
        ".md": b"# Testacel",
        ".json": b"{",
        ".html": b"<!DOCTYPE html>",
        ".xlsx": b"PK",
        ".parquet": b"PAR1",
    }[out.suffix]
    assert data.startswith(expected)
    if out.suffix == ".parquet":
        assert list(pd.read_parquet(out).columns) == list(TIDY_COLUMNS)


def test_tidy_on_stdout_and_clear_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    tidy = runner.invoke(app, ["compare", "testacel", "cordnk-19", "--format", "tidy"])
    assert tidy.exit_code == 0 and tidy.stdout.splitlines()[0] == ",".join(TIDY_COLUMNS)
    for args, message in (
        (["-o", str(tmp_path)], "Cannot tell a format"),
        (["--format", "csv", "-o", str(tmp_path)], "is a directory"),
        (["-o", str(tmp_path / "k.txt")], "Cannot tell a format"),
        (["--format", "xlsx"], "writes a file"),
        (["--format", "csv", "-o", str(tmp_path / "missing" / "k.csv")], "Cannot write"),
    ):
        result = runner.invoke(app, ["compare", "testacel", "cordnk-19", *args])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, args


def test_version_names_the_package_the_data_and_the_store() -> None:
    result = CliRunner().invoke(app, ["--version"])
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and lines[0] == f"therapy-kg {kg.__version__}"
    data = r"data: [\w.-]+ \(\d+ files, fingerprint [0-9a-f]{12}, from " + re.escape(str(MINI)) + r"\)"
    assert re.fullmatch(data, lines[1]) and lines[2].startswith("store: ")  # the tests read the invented graph


def test_notebook_displays(comparison: Comparison, graph: kg.TherapyGraph) -> None:
    page = comparison._repr_html_()
    assert '<table class="kg-compare">' in page and "Testacel" in page
    description = graph.therapies.describe("car-nk")._repr_html_()
    assert "CAR-NK cell therapy" in description and "<table" in description
