"""Arbitrary input into every form, the importer and the API parameters: never a 500, never a
partial write."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import AuditEntry, Case, Role
from tracker.services.casework.cases import CASE_FIELDS
from tracker.services.spreadsheets.imports import import_cases

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
datey = st.one_of(text, st.dates().map(str), st.just("2019-02-29"), st.just("2020-13-01"))


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(Case)),
            db.session.scalar(select(func.count()).select_from(AuditEntry)))


@pytest.fixture
def staff(login, make_federation):
    return login(Role.STAFF, federation=make_federation(code="FZ"))


@FUZZ
@given(values=st.fixed_dictionaries({field: datey if "date" in field or field.endswith("_on") else text
                                     for field in CASE_FIELDS}))
def test_case_form_never_fails(client, staff, values):
    before = counts()
    response = client.post("/cases/new", data=values)
    assert response.status_code in (200, 302, 400), response.status_code
    if response.status_code != 302:
        assert counts() == before


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["q", "country", "transfer_type", "status", "year_from", "year_to",
                                               "federation", "sort", "dir", "page", "show_deleted"]), text))
def test_case_list_filters_never_fail(client, staff, params):
    assert client.get("/cases/?" + urlencode(params)).status_code in (200, 400)


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["as_of", "endpoint", "group_by", "horizons", "delayed_entry",
                                               "cohort_bands", "baselines", "where"]), text))
def test_survival_api_parameters_never_fail(client, staff, params):
    response = client.get("/api/v1/survival?" + urlencode(params))
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    assert response.is_json


@FUZZ
@given(name=text, params=st.dictionaries(st.sampled_from(["q", "country", "status", "year_from", "sort", "dir",
                                                          "federation", "not_verified_since", "other"]), text))
def test_saved_views_never_fail_to_save_or_open(client, staff, name, params):
    from tracker.models import SavedView

    response = client.post("/cases/views", data={"name": name, "query": urlencode(params)})
    assert response.status_code in (302, 303, 400), response.status_code
    for view_id in db.session.scalars(select(SavedView.id).where(SavedView.user_id == staff.id)):
        opened = client.get(f"/cases/views/{view_id}")
        assert opened.status_code == 302
        assert client.get(opened.headers["Location"]).status_code in (200, 400)


@FUZZ
@given(email=text, password=text)
def test_login_form_never_fails(client, email, password):
    assert client.post("/login", data={"email": email, "password": password}).status_code in (200, 302, 400)


@FUZZ
@given(data=st.binary(max_size=2000))
def test_importer_survives_any_bytes(make_federation, data):
    fed = make_federation()
    before = counts()
    result = import_cases(None, fed, data, "fuzz.csv", dry_run=False)
    if result.problems:
        db.session.rollback()
        assert counts() == before
    else:
        db.session.commit()


@FUZZ
@given(rows=st.lists(st.fixed_dictionaries({field: text for field in CASE_FIELDS}), min_size=1, max_size=5))
def test_importer_survives_any_cells(make_federation, rows):
    import csv
    import io

    fed = make_federation()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CASE_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    before = counts()
    result = import_cases(None, fed, buffer.getvalue().encode(), "fuzz.csv", dry_run=False)
    if result.problems:
        db.session.rollback()
        assert counts() == before
        assert all(p.row >= 0 and p.message for p in result.problems)
    else:
        db.session.commit()


def _post_routes():
    from tests.functional.test_authorization_matrix import ROUTES

    return sorted(name for name, route in ROUTES.items() if "POST" in route.methods)


@pytest.mark.parametrize("endpoint", _post_routes())
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30), text,
                            max_size=6))
def test_every_form_survives_arbitrary_fields(client, login, make_case, endpoint, data):
    from tests.functional.test_authorization_matrix import ROUTES

    login(Role.ADMIN)
    case = make_case()
    route = ROUTES[endpoint]
    before = counts()
    path = route.path.format(case=case.id, fed=case.federation_id, user=1, edition=1)
    response = client.post(path, data={**(route.data or {}), **data})
    assert response.status_code < 500, f"{endpoint}: {response.status_code}"
    if response.status_code >= 400:  # refused: nothing may have been written
        assert counts() == before, f"{endpoint}: {response.status_code} but data changed"
