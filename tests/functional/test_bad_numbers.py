"""Numbers no database column holds — ids beyond 64 bits in URLs, page numbers whose offset
overflows, employees beyond 2^31, dates before 1900 — get a clear 404 or a message, never a 500."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Case, Role, StatusCheck

HUGE = [2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**30]


def int_rules(app):
    for rule in app.url_map.iter_rules():
        names = [name for name, converter in rule._converters.items() if type(converter).__name__.endswith("Int"
                                                                                                          "Converter")]
        if names and len(names) == len(rule.arguments):
            yield rule, names


def test_every_id_in_a_url_beyond_the_database_integers_is_a_404(app, client, login):
    login(Role.ADMIN)
    rules = list(int_rules(app))
    assert len(rules) >= 15
    for rule, names in rules:
        method = "GET" if "GET" in rule.methods else "POST"
        for number in HUGE:
            url = rule.rule
            for name in names:
                url = url.replace(f"<int:{name}>", str(number))
            response = client.open(url, method=method)
            assert response.status_code == 404, (url, method, response.status_code)


@pytest.mark.parametrize("url", ["/cases/", "/cases/duplicates", "/research/"])
def test_huge_page_numbers_are_a_404(client, login, url):
    login(Role.ADMIN)
    for page in ("99999999999999999999", str(2**63), "10000001"):
        response = client.get(f"{url}?page={page}")
        assert response.status_code == 404, (url, page)
        assert "There is no page" in response.get_data(as_text=True)
    assert client.get(f"{url}?page=500").status_code == 200  # past the end, but a number a list may have


FORM = {"ref": "R-1", "name": "Coop", "country": "FR", "transfer_date": "2015-03-01",
        "transfer_type": "rescue", "last_verified_on": "2024-12-31"}


def test_employees_beyond_what_a_column_holds_are_refused_on_the_form(client, login, make_federation):
    fed = make_federation()
    login(Role.ADMIN)
    for employees in (str(2**31), "999999999", "9" * 40):
        page = client.post("/cases/new", data={**FORM, "federation": fed.id, "employees": employees})
        assert page.status_code == 200
        assert "is more than 10,000,000" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_dates_before_1900_are_refused_with_a_message(client, login, make_federation):
    fed = make_federation()
    login(Role.ADMIN)
    page = client.post("/cases/new", data={**FORM, "federation": fed.id, "transfer_date": "1850-06-01"})
    assert "1850-06-01 is before 1900" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_an_xlsx_with_huge_employees_or_old_dates_never_passes_the_check(client, login, make_federation):
    from datetime import date

    from openpyxl import Workbook

    from tracker.services.spreadsheets.imports import import_cases

    fed = make_federation()
    book = Workbook()
    sheet = book.active
    sheet.append(["ref", "name", "country", "employees", "transfer_date", "transfer_type", "last_verified_on"])
    sheet.append(["X-1", "Big", "FR", 2**40, date(2015, 1, 1), "rescue", date(2024, 1, 1)])
    sheet.append(["X-2", "Old", "FR", 3, "1850-06-01", "rescue", date(2024, 1, 1)])  # Excel has no such date
    buffer = io.BytesIO()
    book.save(buffer)
    result = import_cases(None, fed, buffer.getvalue(), "cases.xlsx", dry_run=True)
    problems = {(p.row, p.column): p.message for p in result.problems}
    assert "is more than 10,000,000" in problems[(2, "employees")]
    assert "is before 1900" in problems[(3, "transfer_date")]


# --- every paginated page and API, with the page numbers int() accepts --------------------------

PAGED = ["/cases/", "/cases/duplicates", "/cases/follow-up", "/research/", "/research/cases",
         "/api/v1/survival", "/api/v1/survival/competing", "/api/v1/microdata"]
# int() reads all of these: signs, spaces, underscores, leading zeros, other scripts' digits
HUGE_PAGES = ["99999999999999999999", str(2**63), "+99999999999999999999", " 99999999999999999999 ",
              "1_000_000_000_000_000_000", "000000000099999999999", "٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩", "9" * 5000]
ODD_PAGES = ["-99999999999999999999", "-1", "0", "1e30", "NaN", "inf", "0x7fffffffffffffff", ""]


@pytest.fixture
def some_cases(make_federation, make_case):
    fed = make_federation()
    for i in range(3):
        make_case(federation=fed, ref=f"P-{i}")
    return fed


@pytest.mark.parametrize("url", PAGED)
def test_no_page_number_fails_any_list_or_api(client, login, some_cases, url):
    login(Role.ADMIN)
    for page in HUGE_PAGES:
        response = client.get(url, query_string={"page": page})
        assert response.status_code in (400, 404), (url, page, response.status_code)
    for page in ODD_PAGES:
        response = client.get(url, query_string={"page": page})
        assert response.status_code in (200, 400, 404), (url, page, response.status_code)


def test_ids_beyond_the_database_integers_in_query_strings_and_forms_are_refused(client, login, some_cases):
    login(Role.ADMIN)
    gets = ["/cases/?federation={}", "/cases/follow-up?federation={}", "/cases/export.csv?federation={}",
            "/research/?federation={}", "/research/cases?federation={}", "/api/v1/survival?federation={}"]
    for number in HUGE:
        for url in gets:
            response = client.get(url.format(number))
            assert response.status_code < 500, (url, number, response.status_code)
        case = db.session.scalars(select(Case)).first()
        posts = {"/cases/duplicates/confirm": {"case_id": number, "other_id": case.id},
                 "/cases/new": {**FORM, "federation": number},
                 f"/cases/{case.id}/edit": {**FORM, "ref": case.ref, "version": number},
                 f"/cases/{case.id}/follow-up": {"followup-outcome": "operating", "followup-checked_on": "2024-01-01",
                                                 "followup-version": number},
                 "/reports/annual": {"year": number, "format": "csv", "language": "en"}}
        for url, data in posts.items():
            response = client.post(url, data=data)
            assert response.status_code < 500, (url, number, response.status_code)


# --- employees beyond 2^31 and dates before 1900 in every way in --------------------------------

def _csv(rows):
    from support_import import case_row, csv_bytes

    return csv_bytes([case_row(**row) for row in rows])


def test_employees_beyond_a_column_and_old_dates_in_a_csv_upload_are_problems(app, client, login, make_federation,
                                                                             tmp_path):
    from support_import import token_of, upload

    app.config["IMPORT_STAGING_DIR"] = str(tmp_path)
    fed = make_federation()
    login(Role.STAFF, federation=fed)
    rows = [{"ref": "E-1", "employees": str(2**31)}, {"ref": "E-2", "employees": str(2**63)},
            {"ref": "E-3", "employees": "9" * 40}, {"ref": "D-1", "transfer_date": "1850-06-01"},
            {"ref": "D-2", "registered_on": "0001-01-01"}, {"ref": "D-3", "exit_date": "1899-12-31",
                                                            "exit_reason": "sold"},
            {"ref": "D-4", "last_verified_on": "01/01/1850"}, {"ref": "D-5", "founded_on": "1066-10-14"}]
    token = token_of(upload(client, _csv(rows)))
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    # the same words as the form, however many digits
    assert html.count("is more than 10,000,000") == 3 and "is not a whole number" not in html
    assert "2,147,483,648 is more than" in html and "999999999999… is more than" in html
    assert html.count("is before 1900") == 4, html  # D-5: a founding date may be older than 1900
    assert client.post(f"/cases/import/{token}", data={}).status_code == 409
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_every_date_field_of_the_form_refuses_dates_before_1900(client, login, make_federation):
    """founded_on excepted: an enterprise may be older than 1900 (it is only checked to be on or
    before the transfer)."""
    fed = make_federation()
    login(Role.ADMIN)
    for name in ("transfer_date", "registered_on", "last_verified_on", "exit_date"):
        for value in ("1899-12-31", "0001-01-01"):
            data = {**FORM, "federation": fed.id, name: value}
            if name == "exit_date":
                data["exit_reason"] = "sold"
            page = client.post("/cases/new", data=data)
            assert page.status_code == 200, (name, value)
            assert "is before 1900" in page.get_data(as_text=True), (name, value)
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_follow_up_and_a_status_sheet_before_1900_are_refused(app, client, login, make_federation, make_case,
                                                               tmp_path):
    from support_import import upload

    app.config["IMPORT_STAGING_DIR"] = str(tmp_path)
    fed = make_federation(code="FR-OLD")
    case = make_case(federation=fed, ref="OLD-1")
    login(Role.STAFF, federation=fed)
    response = client.post(f"/cases/{case.id}/follow-up", data={
        "followup-outcome": "operating", "followup-checked_on": "1850-01-01", "followup-source": "",
        "followup-note": "", "followup-version": str(case.version)})
    assert response.status_code in (200, 400) and "1850-01-01" in response.get_data(as_text=True)
    sheet = (b"federation,ref,operating_on,exit_date,exit_reason\r\n"
             b"FR-OLD,OLD-1,1850-01-01,,\r\nFR-OLD,OLD-1,,0001-01-01,sold\r\n")
    checked = upload(client, sheet, filename="check.csv", url="/cases/follow-up/upload")
    assert checked.status_code in (200, 303)
    page = client.get(checked.headers["Location"]) if checked.status_code == 303 else checked
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "is before the transfer (2015-03-01)" in html, html
    assert not db.session.scalars(select(StatusCheck)).first()


@pytest.mark.parametrize("as_of", ["1850-01-01", "0001-01-01", "1899-12-31", "9999-12-31", "99999-01-01",
                                   "2025-02-30", "-2025-01-01"])
def test_analysis_dates_out_of_range_are_a_400_or_a_message(client, login, some_cases, as_of):
    login(Role.ADMIN)
    for url in ("/api/v1/survival", "/api/v1/survival/competing", "/api/v1/microdata", "/research/",
                "/research/cases", "/research/steps.csv"):
        response = client.get(url, query_string={"as_of": as_of})
        assert response.status_code in (200, 400), (url, as_of, response.status_code)
        if url.startswith("/api/") and as_of != "9999-12-31":
            assert response.status_code == 400, (url, as_of)


@pytest.mark.parametrize("as_of", ["1850-01-01", "0001-01-01", "99999-01-01"])
def test_the_command_line_refuses_old_analysis_dates_with_a_message(runner, some_cases, as_of):
    for args in (["stats", "survival", "--as-of", as_of], ["report", "annual", "2024", "--as-of", as_of]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and result.exception is None or isinstance(result.exception, SystemExit), (
            args, result.output, result.exception)
        assert "Traceback" not in result.output


def test_an_xlsx_that_passes_the_check_imports_at_confirm(app, client, login, make_federation, tmp_path):
    """The extremes the check accepts (10,000,000 employees, 1900-01-01, the longest texts, Excel
    numbers in text columns) are written as checked, on every database."""
    from datetime import date

    from openpyxl import Workbook
    from support_import import token_of, upload

    app.config["IMPORT_STAGING_DIR"] = str(tmp_path)
    fed = make_federation()
    login(Role.STAFF, federation=fed)
    book = Workbook()
    sheet = book.active
    sheet.append(["ref", "name", "national_id", "country", "employees", "transfer_date", "transfer_type",
                  "registered_on", "founded_on", "last_verified_on", "exit_date", "exit_reason"])
    sheet.append(["X-1", "N" * 200, 552100554, "FR", 10_000_000, date(1900, 1, 1), "rescue", date(1900, 1, 1),
                  date(1900, 1, 1), date(2024, 1, 1), None, None])
    sheet.append(["X-2", "Small", "", "FR", 0, date(2015, 1, 1), "succession", None, None, date(2024, 1, 1),
                  date(2024, 1, 1), "sold"])
    sheet.append([2**40, "Ref as a number", "", "FR", 12.0, "1900-01-01", "rescue", None, None, "2024-01-01",
                  None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    token = token_of(upload(client, buffer.getvalue(), filename="cases.xlsx"))
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    assert "would create 3" in html or "create 3" in html, html[:3000]
    confirmed = client.post(f"/cases/import/{token}", data={})
    assert confirmed.status_code == 303, confirmed.get_data(as_text=True)[:3000]
    assert db.session.scalar(select(func.count()).select_from(Case)) == 3
    big = db.session.scalars(select(Case).where(Case.ref == "X-1")).one()
    assert big.employees == 10_000_000 and big.transfer_date == date(1900, 1, 1)


def test_a_founding_date_before_1900_goes_out_and_back_in_by_xlsx(app, client, login, make_federation, make_case,
                                                                 tmp_path):
    """Excel has no date before 1900: such a cell must still come back as the same date."""
    from datetime import date

    from support_import import token_of, upload

    app.config["IMPORT_STAGING_DIR"] = str(tmp_path)
    fed = make_federation()
    case = make_case(federation=fed, ref="OLD-1", founded_on=date(1850, 6, 1))
    login(Role.STAFF, federation=fed)
    exported = client.get("/cases/export.xlsx")
    assert exported.status_code == 200
    token = token_of(upload(client, exported.data, filename="cases.xlsx"))
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    assert "leave 1 unchanged" in html, html[:4000]
    assert client.post(f"/cases/import/{token}", data={}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Case, case.id).founded_on == date(1850, 6, 1)


def test_a_census_date_before_1900_or_out_of_range_is_a_400_with_its_message(client, login, some_cases):
    login(Role.ADMIN)
    for value in ("1850-01-01", "0001-01-01", "1899-12-31", "99999-01-01", "2025-02-30"):
        for fmt in ("csv", "xlsx"):
            response = client.get(f"/cases/follow-up/census.{fmt}", query_string={"census_date": value})
            assert response.status_code == 400, (value, fmt, response.status_code)
            assert 'id="census_date"' in response.get_data(as_text=True) or "census" in response.get_data(
                as_text=True)
