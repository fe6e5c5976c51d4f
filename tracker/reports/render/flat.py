"""Tables flattened for spreadsheets and CSV: an estimate becomes its value and the bounds of its
95 % CI, every value column stays numeric (empty where withheld or not available), and the marks
of the printed report (c, :) go into a flag column of their own, next to the value."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _

from tracker.reports.content import (
    CONFIDENTIAL,
    CONFIDENTIAL_MARK,
    NOT_AVAILABLE_MARK,
    AnnualReport,
    Estimate,
    Table,
)
from tracker.reports.render.formatting import has_interval

NUMERIC = ("year", "count", "pct", "ratio", "years", "est_pct", "est_ratio")


def draft_words() -> str:
    return _("Draft: not an official edition (no edition number); figures may change before publication.")


@dataclass(frozen=True)
class FlatColumn:
    header: str
    kind: str  # text, url, year, count, pct, ratio, years, flag


def _flagged(table: Table, index: int) -> bool:
    return any(row[index] is CONFIDENTIAL or row[index] is None for row in table.rows)


def flat_columns(table: Table) -> list[FlatColumn]:
    out = []
    for i, column in enumerate(table.columns):
        if column.kind in ("est_pct", "est_ratio"):
            kind = "pct" if column.kind == "est_pct" else "ratio"
            out += [FlatColumn(column.label, kind),
                    FlatColumn(_("%(column)s: 95 %% CI lower", column=column.label), kind),
                    FlatColumn(_("%(column)s: 95 %% CI upper", column=column.label), kind)]
        else:
            out.append(FlatColumn(column.label, column.kind))
        if column.kind in NUMERIC and _flagged(table, i):
            out.append(FlatColumn(_("%(column)s: flag", column=column.label), "flag"))
    return out


def flat_rows(table: Table) -> Iterator[list[Any]]:
    """Rows of plain values: numbers (fractions for percentages) or None in value columns, str
    in text columns, the c / : mark in the flag column after a value that has one."""
    flagged = [column.kind in NUMERIC and _flagged(table, i) for i, column in enumerate(table.columns)]
    for row in table.rows:
        out: list[Any] = []
        for column, value, flag in zip(table.columns, row, flagged, strict=True):
            if column.kind in ("est_pct", "est_ratio"):
                if isinstance(value, Estimate):
                    defined = has_interval(value)
                    out += [value.value, value.lower if defined else None, value.upper if defined else None]
                else:
                    out += [None, None, None]
            elif column.kind in NUMERIC:
                out.append(None if value is CONFIDENTIAL else value)
            else:
                out.append(value)
            if flag:
                mark = CONFIDENTIAL_MARK if value is CONFIDENTIAL else NOT_AVAILABLE_MARK if value is None else None
                out.append(mark)
        yield out


def sheet_name(table: Table) -> str:
    """Excel sheet names in words: 'A.5 Survival by sector' (at most 31 characters, none of : \\ / ? * [ ])."""
    words = re.sub(r"[:\\/?*\[\]]", " ", table.short or table.title)
    return f"{table.number} {words}"[:31].strip()


def file_name(table: Table) -> str:
    return f"table_{table.number.replace('.', '_')}_{table.slug}.csv"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value


def about_lines(report: AnnualReport) -> list[tuple[str, str]]:
    """(label, value) pairs describing the edition, for the XLSX 'About' sheet and the CSV README."""
    from tracker.i18n import format_date
    from tracker.reports.changes import change_text

    lines = [(_("Title"), report.title), (_("Finding"), report.headline), (_("Scope"), report.scope_label),
             (_("Reference date"), format_date(report.as_of)),
             (_("Application"), f"Transfer Tracker {report.app_version}"),
             (_("Data fingerprint (SHA-256)"), report.fingerprint)]
    if report.edition is not None:
        e = report.edition
        lines += [(_("Edition"), _("%(number)s for %(year)s", number=e.number, year=report.year)
                   if e.official else draft_words()),
                  (_("Generated"), _("%(when)s UTC by %(who)s", when=_utc(e.generated_at).strftime("%Y-%m-%d %H:%M"),
                                     who=e.author))]
        if e.official:
            lines += [(_("Change since the previous edition") if i == 0 else "", change_text(c, e.previous_number))
                      for i, c in enumerate(e.changes)]
    lines += [(_("Flags"), _("c: confidential (withheld in the public edition); :: not available (beyond the longest "
                             "follow-up, or no baseline). A flag is in the column after its value, which is then "
                             "empty.")),
              (_("Units"), _("Percentages are shares of enterprises (0.612 = 61.2 %); CI: 95 % confidence interval, "
                             "empty where it is not defined; relative survival is a ratio (observed ÷ expected)."))]
    if report.confidential_note:
        lines.append((_("Confidentiality"), report.confidential_note))
    return lines
