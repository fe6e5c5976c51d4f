"""CSV of the annual report: a .zip with one CSV per table (UTF-8 with BOM, comma-separated, `.`
decimals whatever the language, header row, percentages in %, the c / : flags in their own
column) and a README.txt with the edition, the flags and every table's Reading / Scope / Source
note. Text from data never starts a cell with a formula character."""

from __future__ import annotations

import csv
import io
import zipfile

from flask_babel import gettext as _

from tracker.reports.content import AnnualReport, Table
from tracker.reports.render.flat import about_lines, file_name, flat_columns, flat_rows
from tracker.services.spreadsheets.exports import neutralise

DIGITS = {"pct": 2, "ratio": 4, "years": 1}


def render_csv_zip(report: AnnualReport) -> bytes:
    buffer = io.BytesIO()
    stamp = (report.as_of.year, report.as_of.month, report.as_of.day, 0, 0, 0)  # same edition, same bytes
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("README.txt", stamp), _readme(report).encode("utf-8"),
                         zipfile.ZIP_DEFLATED)
        for table in report.tables:
            archive.writestr(zipfile.ZipInfo(file_name(table), stamp), table_csv(table).encode("utf-8-sig"),
                             zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def table_csv(table: Table) -> str:
    columns = flat_columns(table)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(c.header) for c in columns])
    for row in flat_rows(table):
        writer.writerow([_value(v, c.kind) for v, c in zip(row, columns, strict=True)])
    return out.getvalue()


def _value(value: object, kind: str) -> object:
    if value is None:
        return ""
    if isinstance(value, float) and kind in DIGITS:
        scaled = 100 * value if kind == "pct" else value
        if kind == "years":
            return f"{value:.1f}"
        return f"{scaled:.{DIGITS[kind]}f}"
    if isinstance(value, str):  # names and labels come from data: never a live formula in a spreadsheet
        return neutralise(value)
    return value


def _readme(report: AnnualReport) -> str:
    lines = [report.title, "=" * len(report.title), ""]
    lines += [f"{label}: {value}" if label else f"  {value}" for label, value in about_lines(report)]
    lines += ["", _("Percentages are written in % (61.23 means 61.23 %), with two decimals and a point as the "
                    "decimal mark; ratios with four."), ""]
    for table in report.tables:
        lines += [f"{file_name(table)}",
                  "  " + _("Table %(number)s. %(title)s", number=table.number, title=table.title),
                  "  " + _("Reading: %(text)s", text=table.note.reading),
                  "  " + _("Scope: %(text)s", text=table.note.scope),
                  "  " + _("Source: %(text)s", text=table.note.source),
                  *("  " + _("Note: %(text)s", text=f) for f in table.footnotes), ""]
    return "\r\n".join(lines)
