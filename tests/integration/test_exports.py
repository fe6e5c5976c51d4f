"""Case export (services.spreadsheets.exports): the import schema, round trips through the import, scope and
the formula guard."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import ORACLE_DIR
from tracker.extensions import db
from tracker.models import Case, ExitReason, Role
from tracker.services.casework.cases import CASE_FIELDS
from tracker.services.errors import PermissionDenied
from tracker.services.spreadsheets.exports import export_cases, iter_csv
from tracker.services.spreadsheets.imports import import_cases


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes):
    return load_workbook(io.BytesIO(data)).worksheets[0]


@pytest.fixture
def oracle_fed(make_federation):
    fed = make_federation(code="ORACLE", country="FR")
    result = import_cases(None, fed, (ORACLE_DIR / "cases.csv").read_bytes(), "cases.csv", dry_run=False)
    assert result.created == 600
    db.session.commit()
    return fed


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_reimport_changes_nothing(oracle_fed, fmt):
    data = export_cases(None, oracle_fed, fmt)
    result = import_cases(None, oracle_fed, data, f"export.{fmt}", dry_run=False)
    assert result.problems == ()
    assert (result.created, result.updated, result.unchanged) == (0, 0, 600)


def test_an_edited_export_updates_only_the_edited_case(oracle_fed):
    rows = read_csv(export_cases(None, oracle_fed))
    employees = rows[0].index("employees")
    rows[5][employees] = str(int(rows[5][employees] or 0) + 1)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    result = import_cases(None, oracle_fed, buffer.getvalue().encode(), "edited.csv", dry_run=False)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 599)


def test_csv_has_the_schema_header_iso_dates_and_empty_cells(make_federation, make_case):
    fed = make_federation(code="EXP")
    make_case(fed, ref="A", employees=None, national_id=None, exit_date=date(2020, 5, 4),
              exit_reason=ExitReason.MERGED, last_verified_on=None, contact_name="Jeanne Dupont",
              contact_email="jeanne@example.org", contact_phone="+33 1 23 45 67 89", notes="private note")
    rows = read_csv(export_cases(None, fed))
    assert rows[0] == list(CASE_FIELDS)
    assert dict(zip(rows[0], rows[1], strict=True)) == {
        "ref": "A", "name": rows[1][1], "national_id": "", "country": "FR", "region": "", "nace": "25.62",
        "employees": "", "transfer_date": "2015-03-01", "transfer_type": "succession", "legal_form": "",
        "registered_on": "2015-03-01", "last_verified_on": "", "exit_date": "2020-05-04", "exit_reason": "merged",
        "founded_on": ""}
    text = export_cases(None, fed).decode("utf-8-sig")
    assert "Jeanne" not in text and "example.org" not in text and "private note" not in text


def test_deleted_cases_are_not_exported(make_federation, make_case):
    fed = make_federation()
    make_case(fed, ref="KEEP")
    make_case(fed, ref="GONE", deleted_at=datetime(2025, 1, 1))
    assert [row[0] for row in read_csv(export_cases(None, fed))[1:]] == ["KEEP"]


def test_staff_export_holds_only_their_federation(make_federation, make_case, make_user):
    mine, theirs = make_federation(code="MINE"), make_federation(code="THEIRS")
    make_case(mine, ref="M-1")
    make_case(theirs, ref="T-1")
    staff = make_user(Role.STAFF, federation=mine)
    assert [row[0] for row in read_csv(export_cases(staff))[1:]] == ["M-1"]
    with pytest.raises(PermissionDenied):
        export_cases(staff, theirs)
    researcher = make_user(Role.RESEARCHER)
    assert sorted(row[0] for row in read_csv(export_cases(researcher))[1:]) == ["M-1", "T-1"]


def test_a_query_narrows_the_export(make_federation, make_case):
    fed = make_federation()
    make_case(fed, ref="FR-1", country="FR")
    make_case(fed, ref="IT-1", country="IT")
    data = export_cases(None, fed, stmt=select(Case).where(Case.country == "IT"))
    assert [row[0] for row in read_csv(data)[1:]] == ["IT-1"]


def test_formula_looking_cells_are_neutralised_and_round_trip(make_federation, make_case):
    fed = make_federation()
    make_case(fed, ref="=cmd|' /C calc'!A0", name='=HYPERLINK("http://evil.example","x")', legal_form="+SCOP",
              national_id="@123", region=None)
    data = export_cases(None, fed)
    row = read_csv(data)[1]
    assert row[0] == "'=cmd|' /C calc'!A0"
    assert row[1] == '\'=HYPERLINK("http://evil.example","x")'
    assert (row[2], row[9]) == ("'@123", "'+SCOP")
    sheet = read_xlsx(export_cases(None, fed, "xlsx"))
    cell = sheet["B2"]
    assert cell.value == '=HYPERLINK("http://evil.example","x")'
    assert cell.data_type == "s" and cell.quotePrefix
    for fmt in ("csv", "xlsx"):
        result = import_cases(None, fed, export_cases(None, fed, fmt), f"x.{fmt}", dry_run=False)
        assert (result.problems, result.unchanged) == ((), 1), fmt


def test_xlsx_has_date_cells_numbers_and_a_frozen_header(make_federation, make_case):
    fed = make_federation()
    make_case(fed, ref="A", employees=7, transfer_date=date(2016, 2, 29))
    sheet = read_xlsx(export_cases(None, fed, "xlsx"))
    assert [cell.value for cell in sheet[1]] == list(CASE_FIELDS)
    assert sheet.freeze_panes == "A2"
    assert sheet["G2"].value == 7 and sheet["G2"].data_type == "n"
    assert sheet["H2"].is_date and sheet["H2"].value == datetime(2016, 2, 29)
    assert sheet["H2"].number_format == "yyyy-mm-dd"
    assert sheet["N2"].value is None


def test_streamed_csv_equals_the_export(oracle_fed):
    assert b"".join(iter_csv(None, oracle_fed)) == export_cases(None, oracle_fed)
