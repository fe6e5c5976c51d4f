"""The Reports page: generate the annual report, list kept editions, download them; staff get
their own federation's report and editions only."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import openpyxl
import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import ReportEdition, Role
from tracker.services.analytics import queries as analytics
from tracker.services.analytics.baselines import import_baselines, shipped_baselines


@pytest.fixture
def two_federations(app, make_federation, make_case):
    analytics.clear_cache()
    assert not import_baselines(None, shipped_baselines()).problems
    db.session.commit()
    feds = {code: make_federation(code=code, name=f"{code} federation", country=country)
            for code, country in (("FR-ONE", "FR"), ("BE-TWO", "BE"))}
    for code, count in (("FR-ONE", 12), ("BE-TWO", 7)):
        for i in range(count):
            make_case(feds[code], country=feds[code].country, transfer_date=date(2014, 1 + i % 12, 1),
                      registered_on=date(2014, 1 + i % 12, 1), last_verified_on=date(2025, 9, 30))
    return feds


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get("/reports/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_admin_generates_and_downloads_the_report(client, login, two_federations):
    login(Role.ADMIN)
    page = client.get("/reports/")
    assert page.status_code == 200 and "Generate the report" in page.get_data(as_text=True)
    response = client.post("/reports/annual", data={"year": "2025", "as_of": "", "format": "xlsx"})
    assert response.status_code == 302
    edition = db.session.scalars(select(ReportEdition)).one()
    assert (edition.scope, edition.year, edition.as_of, edition.number) == ("ALL", 2025, date(2025, 12, 31), 1)
    listing = client.get("/reports/").get_data(as_text=True)
    assert f'id="edition-{edition.id}"' in listing and edition.fingerprint[:12] in listing
    download = client.get(f"/reports/editions/{edition.id}/download?format=xlsx&language=en")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    book = openpyxl.load_workbook(io.BytesIO(download.data))
    rows = list(book["A.2 Transfers by country"].iter_rows(min_row=4, values_only=True))
    assert next(r for r in rows if r[0] == "All transfers")[1] == 19


def test_researchers_may_generate_csv(client, login, two_federations):
    login(Role.RESEARCHER)
    assert client.post("/reports/annual", data={"year": "2025", "format": "csv"}).status_code == 302
    edition = db.session.scalars(select(ReportEdition)).one()
    assert (edition.number, edition.official) == (None, False)
    assert "Draft" in client.get("/reports/").get_data(as_text=True)
    download = client.get(f"/reports/editions/{edition.id}/download?format=csv")
    assert download.mimetype == "application/zip"
    assert "table_2_survival_by_transfer_type.csv" in zipfile.ZipFile(io.BytesIO(download.data)).namelist()


def test_staff_get_their_federations_report_and_editions_only(client, login, make_user, two_federations):
    login(Role.ADMIN)
    client.post("/reports/annual", data={"year": "2025", "format": "html"})
    everyone = db.session.scalars(select(ReportEdition)).one()
    login(Role.STAFF, federation=two_federations["BE-TWO"])
    page = client.get("/reports/").get_data(as_text=True)
    assert "your federation (BE-TWO)" in page and f'id="edition-{everyone.id}"' not in page
    assert client.get(f"/reports/editions/{everyone.id}/download").status_code == 404
    assert client.post("/reports/annual", data={"year": "2025", "format": "html"}).status_code == 302
    own = db.session.scalars(select(ReportEdition).where(ReportEdition.scope == "BE-TWO")).one()
    assert own.figures["inputs"]["transfers"] == 7
    html = client.get(f"/reports/editions/{own.id}/download?format=html").get_data(as_text=True)
    assert "BE-TWO federation (BE-TWO)" in html and "FR-ONE" not in html


def test_a_future_reference_date_is_refused_next_to_the_field(client, login, two_federations):
    login(Role.ADMIN)
    response = client.post("/reports/annual", data={"year": "2025", "as_of": "2999-01-01", "format": "pdf"})
    assert response.status_code == 400
    assert "in the future" in response.get_data(as_text=True)
    assert db.session.scalars(select(ReportEdition)).first() is None
