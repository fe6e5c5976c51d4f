"""Hand-made XLSX workbooks for the readers' tests: the smallest package openpyxl opens, with a
first sheet written as raw XML (what an attacker writes, not what a spreadsheet program would)."""

from __future__ import annotations

import io
import zipfile

from tests.integration.test_imports import case_row
from tracker.services.casework.cases import CASE_FIELDS
from tracker.services.spreadsheets import readers

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
        '<sheet name="cases" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
}


def workbook(sheet_data: bytes, before: bytes = b"") -> bytes:
    """A minimal XLSX whose first sheet is `before` (e.g. a dimension) and `sheet_data` (rows)."""
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}">'.encode() + before
             + b"<sheetData>" + sheet_data + b"</sheetData></worksheet>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def text_row(number: int, values: list[str]) -> bytes:
    cells = "".join(f'<c r="{readers.column_letter(i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
                    for i, v in enumerate(values) if v)
    return f'<row r="{number}">{cells}</row>'.encode()


def header_and_case() -> bytes:
    row = case_row()
    return text_row(1, list(CASE_FIELDS)) + text_row(2, [row[name] for name in CASE_FIELDS])
