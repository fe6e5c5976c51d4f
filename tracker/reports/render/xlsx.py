"""XLSX of the annual report (openpyxl): an 'About' sheet with the edition and a linked list of the
tables, then one sheet per table, named in words, with a title, frozen headers, an autofilter,
real numbers with number formats, flags (c, :) in their own column, and the table's notes below."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from tracker.reports.content import AnnualReport, Paragraph, Table
from tracker.reports.render.flat import FlatColumn, about_lines, draft_words, flat_columns, flat_rows, sheet_name
from tracker.services.spreadsheets.exports import FORMULA_PREFIXES

FORMATS = {"count": "#,##0", "pct": "0.0%", "ratio": "0.00", "year": "0", "years": "#,##0"}
HEADER_ROW = 3
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=12, color="1F4E79")
HEADER_FILL = PatternFill("solid", fgColor="EEF2F6")
RULE = Border(bottom=Side(style="thin"))


def render_xlsx(report: AnnualReport) -> bytes:
    book = Workbook()
    about = book.active
    assert isinstance(about, Worksheet)  # a new workbook's one sheet
    about.title = _("About")[:31]
    _about(about, report)
    draft = draft_words() if report.edition is not None and not report.edition.official else ""
    for table in report.tables:
        _table(book.create_sheet(sheet_name(table)), table, draft)
    book.properties.title = report.title
    book.properties.creator = f"Transfer Tracker {report.app_version}"
    # Fixed timestamps: the same edition gives the same workbook content.
    stamp = datetime(report.as_of.year, report.as_of.month, report.as_of.day)
    book.properties.created = book.properties.modified = stamp
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def put(sheet: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write a cell; a text that a spreadsheet would run as a formula (names, sources and labels
    come from data) is stored as text with a quote prefix, as the case exports do."""
    cell = sheet.cell(row, column, value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        cell.value = value
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def _about(sheet: Worksheet, report: AnnualReport) -> None:
    put(sheet, 1, 1, report.title).font = TITLE
    row = 3
    for label, value in about_lines(report):
        put(sheet, row, 1, label).font = BOLD
        put(sheet, row, 2, value).alignment = Alignment(wrap_text=True, vertical="top")
        row += 1
    row += 1
    put(sheet, row, 1, _("Tables")).font = TITLE
    row += 1
    for table in report.tables:
        link = put(sheet, row, 1, sheet_name(table))
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{sheet_name(table)}'!A1")
        link.style = "Hyperlink"
        put(sheet, row, 2, _("Table %(number)s. %(title)s", number=table.number, title=table.title))
        row += 1
    row += 1
    for section in report.sections[-1:]:
        for block in section.blocks:
            if isinstance(block, Paragraph) and block.kind in ("citations", "caveat"):
                put(sheet, row, 1, block.title).font = TITLE
                row += 1
                for item in block.items or (block.text,):
                    put(sheet, row, 2, item).alignment = Alignment(wrap_text=True, vertical="top")
                    row += 1
                row += 1
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 120


def _table(sheet: Worksheet, table: Table, draft: str) -> None:
    columns = flat_columns(table)
    put(sheet, 1, 1, _("Table %(number)s. %(title)s", number=table.number, title=table.title)).font = TITLE
    if draft:
        put(sheet, 2, 1, draft).font = Font(bold=True, color="B00020")
    for c, column in enumerate(columns, start=1):
        cell = put(sheet, HEADER_ROW, c, column.header)
        cell.font, cell.fill, cell.border = BOLD, HEADER_FILL, RULE
        cell.alignment = Alignment(wrap_text=True, vertical="bottom",
                                   horizontal="left" if column.kind in ("text", "url", "flag") else "right")
        sheet.column_dimensions[get_column_letter(c)].width = _width(column, c)
    rows = list(flat_rows(table))
    for r, values in enumerate(rows, start=HEADER_ROW + 1):
        total = r > HEADER_ROW + len(rows) - table.total_rows
        for c, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
            _write(sheet, r, c, column, value, total)
    last = HEADER_ROW + max(len(rows), 1)
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(columns))}{last}"
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 2).coordinate
    sheet.row_dimensions[HEADER_ROW].height = 45
    notes = [(_("Reading"), table.note.reading), (_("Scope"), table.note.scope), (_("Source"), table.note.source),
             *((_("Note"), f) for f in table.footnotes)]
    row = last + 2
    for label, text in notes:
        put(sheet, row, 1, _("%(label)s: %(text)s", label=label, text=text))
        row += 1


def _write(sheet: Worksheet, r: int, c: int, column: FlatColumn, value: str | float | None, total: bool) -> None:
    cell = put(sheet, r, c, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        cell.number_format = FORMATS.get(column.kind, "General")
    elif column.kind == "url" and isinstance(value, str) and value.startswith("http"):
        cell.hyperlink = value
        cell.style = "Hyperlink"
    if total:
        cell.font = BOLD


def _width(column: FlatColumn, index: int) -> float:
    if column.kind in ("text", "url"):
        return 42 if index == 1 else 28
    if column.kind == "flag":
        return 8
    return 14
