"""Helpers shared by the spreadsheet web tests (import, status check, duplicates, completeness);
this module holds no tests."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from html import unescape
from typing import Any

from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from tracker.extensions import db
from tracker.models import AuditEntry, Case, DistinctCasePair, StatusCheck
from tracker.services.casework.cases import CASE_FIELDS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def case_row(**fields: Any) -> dict[str, Any]:
    """A valid open case in the import schema; keyword arguments override cells."""
    row = {"ref": "R-1", "name": "Coopérative Alpha", "national_id": "", "country": "FR", "region": "",
           "nace": "25.62", "employees": "12", "transfer_date": "2015-03-01", "transfer_type": "succession",
           "legal_form": "SCOP", "registered_on": "", "last_verified_on": "2024-12-31", "exit_date": "",
           "exit_reason": ""}
    row.update(fields)
    return row


def csv_bytes(rows: Sequence[dict[str, Any]], columns: Sequence[str] = CASE_FIELDS, delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows: Sequence[Sequence[Any]], columns: Sequence[str] = CASE_FIELDS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(columns))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes, sheet: int = 0) -> list[tuple[Any, ...]]:
    workbook = load_workbook(io.BytesIO(data))
    return [tuple(row) for row in workbook.worksheets[sheet].iter_rows(values_only=True)]


def upload(client: FlaskClient, data: bytes, filename: str = "cases.csv", url: str = "/cases/import",
           **fields: Any) -> TestResponse:
    """POST the file as a browser would (multipart). The body is encoded here, in memory: the test
    client's own encoder spools large files to a temporary file it never closes."""
    boundary = "----tracker-test-boundary-7MA4YWxkTrZu0gW"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def token_of(response: TestResponse) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    match = re.search(r"/(?:import|upload)/([A-Za-z0-9_-]{32})$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def text_of(html: str, element_id: str) -> str:
    """The text inside the element with this id, tags stripped and spaces collapsed."""
    match = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no element with id {element_id!r}"
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", match.group(2)))).strip()


def problem_rows(html: str) -> list[tuple[str, str, str]]:
    """(row, column, message) of the problems table on a review page."""
    return [(row, column, message) for row, _ref, _name, column, _value, message in full_problem_rows(html)]


def full_problem_rows(html: str) -> list[tuple[str, ...]]:
    """(row, ref, name, column, value, message) of the problems table on a review page ('—' when empty)."""
    table = re.search(r'<table[^>]*id="problems".*?<tbody>(.*?)</tbody>', html, re.S)
    assert table, "no problems table"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    return [tuple(unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in row) for row in cells]


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def written() -> tuple[int, int, int, int]:
    """Rows a refused import must not have added: cases, follow-ups, audit entries, confirmed pairs."""
    return count(Case), count(StatusCheck), count(AuditEntry), count(DistinctCasePair)


def checkbox_errors(html: str, control_id: str) -> list[str]:
    """The messages under a checkbox (Bootstrap-Flask puts its label between the box and them)."""
    match = re.search(rf'<input\b[^>]*\bid="{re.escape(control_id)}"[^>]*>(.*?)</div>\s*</div>', html, re.S)
    assert match, f"no checkbox with id {control_id!r} on the page"
    found = re.findall(r'<div class="invalid-feedback d-block"[^>]*>(.*?)</div>', match.group(0) + "</div>", re.S)
    return [unescape(message).strip() for message in found]
