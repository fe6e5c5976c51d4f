"""Numbers no database column holds — ids beyond 64 bits in URLs, page numbers whose offset
overflows, employees beyond 2^31, dates before 1900 — get a clear 404 or a message, never a 500."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Case, Role

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
    for employees in (str(2**31), "999999999"):
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
