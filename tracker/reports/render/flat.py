"""Tables flattened for spreadsheets and CSV: an estimate becomes three columns (value, CI lower,
CI upper), every value stays a real number, and the marks of the printed report are kept for
suppressed (c) and not available (:) cells."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tracker.reports.content import (
    CONFIDENTIAL,
    CONFIDENTIAL_MARK,
    NOT_AVAILABLE_MARK,
    AnnualReport,
    Estimate,
    Table,
)

DRAFT_WORDS = "Draft: not an official edition (no edition number); figures may change before publication."


@dataclass(frozen=True)
class FlatColumn:
    header: str
    kind: str  # text, url, year, count, pct, ratio, years


def flat_columns(table: Table) -> list[FlatColumn]:
    out = []
    for column in table.columns:
        if column.kind in ("est_pct", "est_ratio"):
            kind = "pct" if column.kind == "est_pct" else "ratio"
            unit = " (%)" if kind == "pct" else ""
            measure = "survival" if kind == "pct" else "relative survival"
            out += [FlatColumn(f"{column.label}: {measure}{unit}", kind),
                    FlatColumn(f"{column.label}: 95 % CI lower{unit}", kind),
                    FlatColumn(f"{column.label}: 95 % CI upper{unit}", kind)]
        else:
            out.append(FlatColumn(column.label, column.kind))
    return out


def flat_rows(table: Table) -> Iterator[list[Any]]:
    """Rows of plain values: numbers (fractions for percentages), str, or the c / : marks."""
    for row in table.rows:
        out: list[Any] = []
        for column, value in zip(table.columns, row, strict=True):
            if column.kind in ("est_pct", "est_ratio"):
                if isinstance(value, Estimate):
                    out += [value.value, _mark(value.lower), _mark(value.upper)]
                else:
                    out += [_mark(value)] * 3
            else:
                out.append(_mark(value))
        yield out


def _mark(value: Any) -> Any:
    if value is CONFIDENTIAL:
        return CONFIDENTIAL_MARK
    if value is None:
        return NOT_AVAILABLE_MARK
    return value


def sheet_name(table: Table) -> str:
    """Excel sheet names: at most 31 characters, none of : \\ / ? * [ ]."""
    return f"{table.number} {table.slug}"[:31]


def file_name(table: Table) -> str:
    return f"table_{table.number.replace('.', '_')}_{table.slug}.csv"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value


def about_lines(report: AnnualReport) -> list[tuple[str, str]]:
    """(label, value) pairs describing the edition, for the XLSX 'About' sheet and the CSV README."""
    lines = [("Title", report.title), ("Scope", report.scope_label), ("Reference date", report.as_of.isoformat()),
             ("Application", f"Transfer Tracker {report.app_version}"),
             ("Data fingerprint (SHA-256)", report.fingerprint)]
    if report.edition is not None:
        from tracker.reports.changes import change_text

        e = report.edition
        lines += [("Edition", f"{e.number} for {report.year}" if e.official else DRAFT_WORDS),
                  ("Generated", f"{_utc(e.generated_at):%Y-%m-%d %H:%M} UTC by {e.generated_by}")]
        lines += [("Change since the previous edition" if i == 0 else "", change_text(c, e.previous_number))
                  for i, c in enumerate(e.changes)]
    lines += [("Marks", f"{CONFIDENTIAL_MARK}: confidential (fewer than 5 enterprises); {NOT_AVAILABLE_MARK}: "
                        "not available (beyond the longest follow-up, or no baseline)"),
              ("Units", "Percentages are shares of enterprises; CI: 95 % confidence interval; ratios: observed ÷ "
                        "expected survival.")]
    return lines
