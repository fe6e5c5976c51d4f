"""The case list: scope, search, filters, sort, pagination, deleted cases."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select
from support_cases import errors_next_to

from tracker.extensions import db
from tracker.models import Case, ExitReason, Role, TransferType
from tracker.services.casework.case_list import CaseFilters, build_case_query


def refs_on(response) -> list[str]:
    """Refs in table order (each row's first cell links to the case)."""
    html = response.get_data(as_text=True)
    return re.findall(r'<td[^>]*><a href="/cases/\d+">([^<]+)</a></td>', html)


@pytest.fixture
def two_federations(make_federation, make_case):
    fr = make_federation(code="FR-CGSCOP", country="FR")
    es = make_federation(code="ES-COCETA", country="ES")
    make_case(federation=fr, ref="FR-001", name="Acier Ouvrier", national_id="552100554",
              transfer_date=date(2012, 6, 1), transfer_type=TransferType.RESCUE, last_verified_on=date(2023, 1, 5))
    make_case(federation=fr, ref="FR-002", name="boulangerie du Port", transfer_date=date(2016, 3, 1),
              exit_date=date(2019, 4, 1), exit_reason=ExitReason.LIQUIDATION, last_verified_on=date(2018, 12, 1))
    make_case(federation=fr, ref="FR-003", name="Chantier 100% Naval", transfer_date=date(2019, 9, 1),
              last_verified_on=None, exit_date=date(2021, 2, 1), exit_reason=ExitReason.SOLD)
    make_case(federation=es, ref="ES-001", name="Cooperativa Mondragón", country="ES",
              transfer_date=date(2014, 1, 15), transfer_type=TransferType.CONVERSION,
              last_verified_on=date(2024, 2, 1))
    return fr, es


def test_anonymous_is_sent_to_login(client):
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_staff_see_only_their_federation(client, login, two_federations):
    fr, _ = two_federations
    login(Role.STAFF, federation=fr)
    response = client.get("/cases/")
    assert response.status_code == 200
    assert refs_on(response) == ["FR-001", "FR-002", "FR-003"]
    assert 'id="federation"' not in response.get_data(as_text=True)  # no federation filter for staff


def test_staff_cannot_widen_their_scope_with_the_federation_parameter(client, login, two_federations):
    fr, es = two_federations
    login(Role.STAFF, federation=fr)
    response = client.get(f"/cases/?federation={es.id}")
    assert "ES-001" not in refs_on(response)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.RESEARCHER])
def test_admins_and_researchers_see_every_federation_and_can_filter_by_one(client, login, two_federations, role):
    _, es = two_federations
    login(role)
    everything = client.get("/cases/")
    assert refs_on(everything) == ["ES-001", "FR-001", "FR-002", "FR-003"]
    assert "ES-COCETA" in everything.get_data(as_text=True)
    assert refs_on(client.get(f"/cases/?federation={es.id}")) == ["ES-001"]


@pytest.mark.parametrize(("query", "expected"), [
    ("acier", ["FR-001"]),  # name, case-insensitive
    ("BOULANGERIE", ["FR-002"]),
    ("fr-00", ["FR-001", "FR-002", "FR-003"]),  # ref, case-insensitive
    ("2100", ["FR-001"]),  # national id
    ("100%", ["FR-003"]),  # % is matched literally, not as a wildcard
    ("_", []),
    ("nothing like it", []),
])
def test_search_by_name_ref_or_national_id(client, login, two_federations, query, expected):
    login(Role.ADMIN)
    response = client.get("/cases/", query_string={"q": query})
    assert refs_on(response) == expected
    if not expected:
        assert "No cases match these filters." in response.get_data(as_text=True)


@pytest.mark.parametrize(("args", "expected"), [
    ({"country": "ES"}, ["ES-001"]),
    ({"country": "es"}, ["ES-001"]),
    ({"transfer_type": "rescue"}, ["FR-001"]),
    ({"status": "open"}, ["ES-001", "FR-001"]),
    ({"status": "closed"}, ["FR-002", "FR-003"]),
    ({"year_from": "2014", "year_to": "2016"}, ["ES-001", "FR-002"]),
    ({"year_from": "2016"}, ["FR-002", "FR-003"]),
    ({"year_to": "2012"}, ["FR-001"]),
    ({"country": "FR", "status": "closed", "year_from": "2017"}, ["FR-003"]),
])
def test_filters(client, login, two_federations, args, expected):
    login(Role.RESEARCHER)
    assert refs_on(client.get("/cases/", query_string=args)) == expected


@pytest.mark.parametrize(("sort", "direction", "expected"), [
    ("name", "asc", ["FR-001", "FR-002", "FR-003", "ES-001"]),  # case-insensitive: "boulangerie" after "Acier"
    ("name", "desc", ["ES-001", "FR-003", "FR-002", "FR-001"]),
    ("country", "asc", ["ES-001", "FR-001", "FR-002", "FR-003"]),
    ("transfer_date", "desc", ["FR-003", "FR-002", "ES-001", "FR-001"]),
    ("last_verified", "asc", ["FR-002", "FR-001", "ES-001", "FR-003"]),  # never verified: last
    ("last_verified", "desc", ["ES-001", "FR-001", "FR-002", "FR-003"]),  # ... in both directions
    ("ref", "desc", ["FR-003", "FR-002", "FR-001", "ES-001"]),
])
def test_sorting(client, login, two_federations, sort, direction, expected):
    login(Role.ADMIN)
    assert refs_on(client.get("/cases/", query_string={"sort": sort, "dir": direction})) == expected


def test_sort_links_keep_the_filters_and_flip_the_direction(client, login, two_federations):
    login(Role.ADMIN)
    html = client.get("/cases/?country=FR&sort=name&dir=asc").get_data(as_text=True)
    assert 'href="/cases/?sort=name&amp;dir=desc&amp;country=FR"' in html
    assert 'aria-sort="ascending"' in html


@pytest.mark.parametrize("args", [
    {"sort": "name; DROP TABLE cases"}, {"dir": "sideways"}, {"country": "ZZ"}, {"transfer_type": "merger"},
    {"status": "maybe"}, {"year_from": "abc"}, {"year_from": "1200"}, {"federation": "x"}, {"page": "many"},
])
def test_invalid_filter_values_give_a_message_not_an_error(client, login, two_federations, args):
    login(Role.ADMIN)
    response = client.get("/cases/", query_string=args)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if "page" not in args:
        assert "Some filters could not be understood and are not applied" in html
    assert len(refs_on(response)) == 4  # the bad filter is left out, not turned into an empty list


def test_an_inverted_year_range_is_reported_next_to_the_field(client, login, two_federations):
    login(Role.ADMIN)
    response = client.get("/cases/?year_from=2016&year_to=2010")
    assert errors_next_to(response.get_data(as_text=True), "year_to") == ["must not be before the 'from' year"]
    assert refs_on(response) == ["FR-002", "FR-003"]  # the valid bound still applies


def test_pagination_keeps_the_filters(app, client, login, make_federation, make_case):
    app.config["CASES_PER_PAGE"] = 2
    fed = make_federation()
    for n in range(5):
        make_case(federation=fed, ref=f"P-{n}", country="DE")
    make_case(federation=fed, ref="Q-0", country="IT")
    login(Role.ADMIN)
    first = client.get("/cases/?country=DE")
    assert refs_on(first) == ["P-0", "P-1"]
    html = first.get_data(as_text=True)
    assert "5 cases · page 1 of 3" in html
    assert re.search(r'href="\s*/cases/\?country=DE&amp;sort=ref&amp;dir=asc&amp;page=2"', html)
    assert refs_on(client.get("/cases/?country=DE&page=3")) == ["P-4"]
    beyond = client.get("/cases/?country=DE&page=9")
    assert beyond.status_code == 200 and "There is no page 9." in beyond.get_data(as_text=True)


def test_names_are_escaped_in_the_list(client, login, make_case):
    make_case(name="<script>alert(1)</script>")
    login(Role.RESEARCHER)
    html = client.get("/cases/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_deleted_cases_are_listed_only_for_admins_who_ask(client, login, make_federation, make_case, make_user):
    from tracker.models.base import utcnow

    fed = make_federation()
    make_case(federation=fed, ref="LIVE")
    gone = make_case(federation=fed, ref="GONE")
    gone.deleted_at = utcnow()
    db.session.commit()

    login(Role.STAFF, federation=fed)
    assert refs_on(client.get("/cases/?show_deleted=y")) == ["LIVE"]
    login(Role.RESEARCHER)
    assert refs_on(client.get("/cases/?show_deleted=y")) == ["LIVE"]

    login(Role.ADMIN)
    assert refs_on(client.get("/cases/")) == ["LIVE"]
    response = client.get("/cases/?show_deleted=y")
    assert refs_on(response) == ["GONE", "LIVE"]
    html = response.get_data(as_text=True)
    assert html.count(">Deleted</span>") == 1
    assert f'action="/cases/{gone.id}/restore"' in html  # restore button on the marked row


def test_build_case_query_refuses_sort_keys_outside_the_whitelist(app, make_user):
    admin = make_user(Role.ADMIN)
    with pytest.raises(ValueError):
        build_case_query(admin, CaseFilters(sort="name; DROP TABLE cases"))
    with pytest.raises(ValueError):
        build_case_query(admin, CaseFilters(direction="up"))


def test_build_case_query_is_scoped_for_the_export_too(app, make_user, two_federations):
    fr, es = two_federations
    staff = make_user(Role.STAFF, federation=es)
    stmt = build_case_query(staff, CaseFilters(federation_id=fr.id))
    assert db.session.scalars(stmt).all() == []
    refs = db.session.scalars(build_case_query(staff, CaseFilters()).with_only_columns(Case.ref)).all()
    assert refs == ["ES-001"]
    assert db.session.scalars(select(Case.ref)).all()  # sanity: the other federation's cases exist
