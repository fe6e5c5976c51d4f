"""What national spreadsheets write imports as it is: Windows-1252 or Latin-1 text, `;` as the
delimiter, dates day first (31/12/2023) — and the result says how the file was read."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.integration.test_imports import case_row, csv_bytes, run
from tracker.extensions import db
from tracker.models import Case
from tracker.services.spreadsheets import csv_dialect


@pytest.fixture
def fed(make_federation):
    return make_federation(code="FR-X", country="FR")


def french_excel(rows: list[dict[str, str]]) -> bytes:
    """What French Excel writes for "CSV (séparateur : point-virgule)": Windows-1252, `;`, CRLF."""
    return csv_bytes(rows, delimiter=";").decode("utf-8").encode("cp1252")


def test_a_french_excel_file_imports_with_its_accents_and_day_first_dates(fed):
    data = french_excel([case_row(ref="A", name="Menuiserie Lefèvre — Œuvre", transfer_date="31/12/2013",
                                  last_verified_on="15/03/2024")])
    result = run(fed, data)
    assert result.ok, result.problems
    assert (result.source.encoding, result.source.delimiter) == ("cp1252", ";")
    assert result.source.encoding_label == "Windows-1252"
    assert (result.dates.order, result.dates.evidence) == (csv_dialect.DAY_FIRST, "file")
    assert (result.dates.sample, result.dates.sample_read) == ("31/12/2013", date(2013, 12, 31))
    case = db.session.scalar(select(Case).where(Case.ref == "A"))
    assert case.name == "Menuiserie Lefèvre — Œuvre"
    assert (case.transfer_date, case.last_verified_on) == (date(2013, 12, 31), date(2024, 3, 15))


def test_an_ambiguous_file_is_read_in_the_national_order_and_says_so(fed):
    result = run(fed, french_excel([case_row(transfer_date="05/04/2013", last_verified_on="01/02/2024")]))
    assert result.ok, result.problems
    assert result.dates.ambiguous and result.dates.order == csv_dialect.DAY_FIRST
    assert db.session.scalar(select(Case.transfer_date)) == date(2013, 4, 5)


def test_month_first_dates_shown_by_the_file_are_read_month_first(make_federation):
    fed = make_federation(country="FR")
    result = run(fed, csv_bytes([case_row(ref="A", transfer_date="03/31/2013", last_verified_on="12/15/2024")]))
    assert result.ok, result.problems
    assert result.dates.order == csv_dialect.MONTH_FIRST and not result.dates.ambiguous
    assert db.session.scalar(select(Case.transfer_date)) == date(2013, 3, 31)


def test_a_date_that_contradicts_the_files_order_is_a_problem_at_its_cell(fed):
    rows = [case_row(ref="A", transfer_date="31/01/2013"), case_row(ref="B", transfer_date="31/03/2014"),
            case_row(ref="C", transfer_date="01/31/2015")]
    result = run(fed, csv_bytes(rows))
    assert {(p.row, p.column) for p in result.problems} == {(4, "transfer_date")}


@pytest.mark.parametrize(("first", "later", "sample"), [
    ("2024-13-01", "2020-05-01", ("2024-12-31", date(2024, 12, 31))),  # ISO: row A verified
    ("32/12/2013", "31/12/2013", ("31/12/2013", date(2013, 12, 31))),
    ("45/13/2013", "05/04/2013", ("05/04/2013", date(2013, 4, 5))),
])
def test_the_date_shown_as_read_is_one_the_file_writes_right(fed, first, later, sample):
    """The review says "dates are …: 31/12/2013 was read as 31 December 2013". It took the file's
    first date, so a file whose first date was the wrong one read "2024-13-01 was read as —"."""
    result = run(fed, csv_bytes([case_row(ref="A", transfer_date=first), case_row(ref="B", transfer_date=later)]))
    assert (result.dates.sample, result.dates.sample_read) == sample
    assert {(p.row, p.column) for p in result.problems} == {(2, "transfer_date")}


def test_a_file_without_a_right_date_shows_none_as_read(fed):
    result = run(fed, csv_bytes([case_row(ref="A", transfer_date="2024-13-01", last_verified_on="")]))
    assert (result.dates.sample, result.dates.sample_read) == (None, None)


def test_utf8_with_and_without_bom_and_latin1_are_detected(fed):
    row = [case_row(name="Société Générale d'Études")]
    assert run(fed, csv_bytes(row, bom=True), dry_run=True).source.encoding == "utf-8-sig"
    assert run(fed, csv_bytes(row), dry_run=True).source.encoding == "utf-8"
    assert run(fed, csv_bytes(row).decode().encode("latin-1"), dry_run=True).source.encoding == "cp1252"
    undefined_in_cp1252 = csv_bytes([case_row(name="Caf\u00e9 \u008d")]).decode().encode("latin-1")
    result = run(fed, undefined_in_cp1252, dry_run=True)
    assert result.source.encoding == "latin-1" and result.source.encoding_label == "ISO-8859-1 (Latin-1)"


def test_iso_dates_stay_iso_whatever_the_country(fed):
    result = run(fed, csv_bytes([case_row()]), dry_run=True)
    assert result.ok and result.dates.evidence == "iso" and result.dates.sample == "2015-03-01"


@pytest.mark.parametrize(("text", "order", "expected"), [
    ("31/12/2023", csv_dialect.DAY_FIRST, date(2023, 12, 31)),
    ("31.12.2023", csv_dialect.DAY_FIRST, date(2023, 12, 31)),
    ("31-12-2023", csv_dialect.DAY_FIRST, date(2023, 12, 31)),
    ("12/31/2023", csv_dialect.MONTH_FIRST, date(2023, 12, 31)),
    ("2023-12-31", csv_dialect.MONTH_FIRST, date(2023, 12, 31)),
    ("31/12/23", csv_dialect.DAY_FIRST, None),
    ("30/02/2023", csv_dialect.DAY_FIRST, None),
    ("12/31/2023", csv_dialect.DAY_FIRST, None),
])
def test_read_date(text, order, expected):
    assert csv_dialect.read_date(text, order) == expected


def test_the_national_order_of_the_federations_countries_is_day_first():
    for country in ("FR", "IT", "ES", "BE", "PL", "PT", "DE"):
        assert csv_dialect.national_date_order(country) == csv_dialect.DAY_FIRST
    assert csv_dialect.national_date_order("US") == csv_dialect.MONTH_FIRST


def test_the_delimiter_is_the_one_the_header_holds_most_of():
    assert csv_dialect.sniff_delimiter("ref;name;country") == ";"
    assert csv_dialect.sniff_delimiter("ref,name;country,x") == ","
    assert csv_dialect.sniff_delimiter("ref\tname\tcountry") == "\t"
    assert csv_dialect.sniff_delimiter("ref") == ","
