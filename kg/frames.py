"""Comparisons and query results as tables for analysts: the tidy long table, and pandas DataFrames.

An analyst's first question of a comparison is usually a filter or a group-by, which a wide table
with citations inside its cells makes hard. The tidy table has one row per therapy × comparison
row × value × source, with the measurement in numeric columns (n, N, % — as reported, or n/N — and
the 95 % interval), so it
goes straight into pandas, R or a spreadsheet. pandas is optional (`pip install 'therapy-kg[pandas]'`);
the rows themselves need nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kg.terms import IRI
from kg.vocab import compact

if TYPE_CHECKING:
    import pandas

    from kg.compare import Comparison

TIDY_COLUMNS = (
    "therapy_id",
    "therapy_label",
    "therapy_level",
    "group",
    "row_key",
    "row_label",
    "value_id",
    "value_label",
    "note",
    "inherited_from",
    "applies_to",
    "claim_kind",
    "source_id",
    "source_citation",
    "source_date",
    "source_link",
    "numerator",
    "denominator",
    "percentage",
    "ci_low",
    "ci_high",
    "product",
    "trial",
    "context",
    "date",
)
INTEGER_COLUMNS = ("numerator", "denominator")
FLOAT_COLUMNS = ("percentage", "ci_low", "ci_high")


def tidy_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """The comparison as a long table: one row per therapy, comparison row, value and source (a value
    with no recorded source still has one row)."""
    rows = []
    for row in comparison.rows:
        for ref, cell in zip(comparison.therapies, row.cells, strict=True):
            for fact in cell:
                value = fact.value if isinstance(fact.value, dict) else {}
                interval = value.get("interval") or [None, None]
                measured = {
                    "numerator": _number(value.get("numerator"), int),
                    "denominator": _number(value.get("denominator"), int),
                    "percentage": rate_percentage(value),
                    "ci_low": _number(interval[0], float),
                    "ci_high": _number(interval[1], float),
                    "product": value.get("product") or None,
                    "trial": value.get("trial") or None,
                    "context": value.get("context") or None,
                    "date": value.get("date") or None,
                }
                base = {
                    "therapy_id": ref.id,
                    "therapy_label": ref.label,
                    "therapy_level": ref.level,
                    "group": row.group,
                    "row_key": row.key,
                    "row_label": row.label,
                    "value_id": _value_id(fact.value),
                    "value_label": fact.label,
                    "note": fact.note or None,
                    "inherited_from": fact.inherited_from,
                    "applies_to": fact.applies_to,
                    **measured,
                }
                for source_id in fact.sources or [""]:
                    source = comparison.sources.get(source_id) if source_id else None
                    rows.append(
                        {
                            **base,
                            "claim_kind": source.kind if source else None,
                            "source_id": source_id,
                            "source_citation": source.citation if source else None,
                            "source_date": source.date if source else None,
                            "source_link": source.link if source else None,
                        }
                    )
    return [{column: row[column] for column in TIDY_COLUMNS} for row in rows]


def comparison_frame(comparison: Comparison) -> pandas.DataFrame:
    """The tidy table as a DataFrame: n and N as nullable integers, % and interval bounds as floats,
    dates as dates."""
    pd = _pandas()
    frame = pd.DataFrame(tidy_rows(comparison), columns=list(TIDY_COLUMNS))
    for column in INTEGER_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    for column in FLOAT_COLUMNS:
        frame[column] = frame[column].astype("Float64")
    frame["date"] = pd.to_datetime(frame["date"], errors="coerce")
    return frame


def results_frame(variables: Sequence[str], rows: Iterable[dict[str, Any]]) -> pandas.DataFrame:
    """Query rows as a DataFrame with a type per column read from its values: whole numbers as
    nullable integers, other numbers as floats, dates as datetimes, booleans as booleans, IRIs in
    their compact form (`tkgr:car-t`), text as text; unbound values are missing."""
    pd = _pandas()
    rows = list(rows)
    columns = {}
    for name in variables:
        values = [row.get(name) for row in rows]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, bool) for v in present):
            columns[name] = pd.array(values, dtype="boolean")
        elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            columns[name] = pd.array(values, dtype="Int64")
        elif present and all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in present):
            columns[name] = pd.array([None if v is None else float(v) for v in values], dtype="Float64")
        elif present and all(isinstance(v, (dt.date, dt.datetime)) for v in present):
            columns[name] = pd.to_datetime(pd.Series(values, dtype="object"), errors="coerce")
        else:
            columns[name] = pd.array(
                [compact(v) if isinstance(v, IRI) else (None if v is None else str(v)) for v in values], dtype="string"
            )
    return pd.DataFrame(columns, columns=list(variables))


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        from kg.errors import UsageError

        raise UsageError("DataFrames need pandas: pip install 'therapy-kg[pandas]'") from None
    return pandas


def rate_percentage(value: Any) -> float | None:
    """The rate a measurement reports, in percent: the reported percentage, else n/N × 100."""
    if not isinstance(value, dict):
        return None
    if value.get("percentage") is not None:
        return float(value["percentage"])
    if value.get("numerator") is not None and value.get("denominator"):
        return 100 * float(value["numerator"]) / float(value["denominator"])
    return None


def _number(value: Any, kind: type) -> int | float | None:
    return None if value is None else kind(value)


def _value_id(value: Any) -> str:
    """The value's identity: the compact IRI of a term, an approval's or event's node, a trial's NCT."""
    if isinstance(value, dict):
        return value.get("approval") or value.get("event") or ""
    return compact(value) if isinstance(value, IRI) else str(value)
