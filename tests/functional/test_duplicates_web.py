"""Possible duplicates in the browser: on create, edit and import; confirming that two
cases are different enterprises; the admins' cross-federation report; what staff may learn."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from support_cases import edit_form_of, valid_case_form
from support_import import case_row, checkbox_errors, count, csv_bytes, text_of, token_of, upload, written

from tracker.extensions import db
from tracker.models import Case, DistinctCasePair, Role

CHECKBOX_ERROR = "Check the possible duplicates listed, then tick this box to save."


@pytest.fixture(autouse=True)
def staging_dir(app, tmp_path):
    app.config["IMPORT_STAGING_DIR"] = str(tmp_path / "staging")


@pytest.fixture
def feds(make_federation):
    return make_federation(code="FR-MINE", country="FR"), make_federation(code="FR-THEIRS", country="FR")


@pytest.fixture
def existing(feds, make_case):
    """Two cases of another federation and one of mine that a new case may duplicate."""
    mine, theirs = feds
    own = make_case(federation=mine, ref="MINE-1", name="Atelier Coopératif", national_id="999888777",
                    transfer_date=date(2016, 1, 10))
    foreign = make_case(federation=theirs, ref="SECRET-REF", name="Secret Enterprise Name",
                        national_id="FR 552 100 554", transfer_date=date(2011, 1, 1))
    return own, foreign


def pairs() -> set[tuple[int, int]]:
    return {(p.case_id, p.other_case_id) for p in db.session.scalars(select(DistinctCasePair))}


def case_by_ref(ref: str) -> Case:
    return db.session.scalars(select(Case).where(Case.ref == ref)).one()


# --- create and edit --------------------------------------------------------------------------

def test_a_similar_name_in_the_same_year_stops_the_create_form_until_confirmed(client, login, feds, existing):
    mine, _ = feds
    own, _ = existing
    login(Role.STAFF, federation=mine)
    data = valid_case_form(national_id="", name="Atelier Cooperatif SCOP")
    response = client.post("/cases/new", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "MINE-1" in text_of(html, "duplicates") and "very similar name, transfer in the same year" in html
    assert checkbox_errors(html, "confirm_distinct") == [CHECKBOX_ERROR]
    assert count(Case) == 2 and pairs() == set()
    confirmed = client.post("/cases/new", data={**data, "confirm_distinct": "y"})
    assert confirmed.status_code == 302
    new = case_by_ref("NEW-1")
    assert pairs() == {(own.id, new.id)}
    assert 'id="duplicates"' not in client.get(f"/cases/{new.id}").get_data(as_text=True)  # not reported again


def test_no_warning_for_a_similar_name_in_another_year(client, login, feds, existing):
    mine, _ = feds
    login(Role.STAFF, federation=mine)
    response = client.post("/cases/new", data=valid_case_form(national_id="", name="Atelier Cooperatif",
                                                               transfer_date="2017-01-10"))
    assert response.status_code == 302 and pairs() == set()


def test_staff_are_told_only_that_a_duplicate_exists_elsewhere(client, login, feds, existing):
    mine, _ = feds
    login(Role.STAFF, federation=mine)
    response = client.post("/cases/new", data=valid_case_form(national_id="552100554", name="Totally New"))
    assert response.status_code == 302  # nothing for them to confirm: the secretariat reviews it
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "A possible duplicate of this case exists in another federation" in page
    assert "a possible duplicate exists in another federation" in text_of(page, "duplicates")
    for secret in ("SECRET-REF", "Secret Enterprise", "FR-THEIRS", "FR 552 100 554"):
        assert secret not in page
    assert pairs() == set()


def test_admins_see_and_confirm_duplicates_of_any_federation(client, login, feds, existing):
    mine, _ = feds
    _, foreign = existing
    login(Role.ADMIN)
    data = valid_case_form(national_id="552100554", federation=str(mine.id), name="Totally New")
    html = client.post("/cases/new", data=data).get_data(as_text=True)
    assert "SECRET-REF" in text_of(html, "duplicates") and "FR-THEIRS" in html and "same national id" in html
    assert client.post("/cases/new", data={**data, "confirm_distinct": "y"}).status_code == 302
    assert pairs() == {(foreign.id, case_by_ref("NEW-1").id)}


def test_an_edit_that_makes_a_case_look_like_another_is_reported(client, login, feds, existing, make_case):
    mine, _ = feds
    other = make_case(federation=mine, ref="MINE-2", name="Scierie Alpine", transfer_date=date(2016, 5, 1))
    login(Role.STAFF, federation=mine)
    form = edit_form_of(other, name="Atelier Cooperatif")
    response = client.post(f"/cases/{other.id}/edit", data=form)
    assert checkbox_errors(response.get_data(as_text=True), "confirm_distinct") == [CHECKBOX_ERROR]
    assert db.session.get(Case, other.id).name == "Scierie Alpine"
    assert client.post(f"/cases/{other.id}/edit", data={**form, "confirm_distinct": "y"}).status_code == 302
    assert db.session.get(Case, other.id).name == "Atelier Cooperatif" and len(pairs()) == 1


# --- the case page, the report and confirming a pair -----------------------------------------

def test_the_case_page_offers_to_confirm_a_visible_pair(app, client, login, feds, existing, make_case):
    mine, _ = feds
    own, _ = existing
    twin = make_case(federation=mine, ref="MINE-3", name="Atelier Cooperatif SA", transfer_date=date(2016, 2, 2))
    login(Role.STAFF, federation=mine)
    html = client.get(f"/cases/{twin.id}").get_data(as_text=True)
    assert "MINE-1" in text_of(html, "duplicates")
    assert f'name="other_id" value="{own.id}"' in html and 'action="/cases/duplicates/confirm"' in html
    response = client.post("/cases/duplicates/confirm", data={"case_id": twin.id, "other_id": own.id,
                                                              "next": f"/cases/{twin.id}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{twin.id}"
    assert pairs() == {(own.id, twin.id)}
    assert 'id="duplicates"' not in client.get(f"/cases/{twin.id}").get_data(as_text=True)


def test_the_admin_report_lists_pairs_across_federations(client, login, feds, existing, make_case):
    mine, theirs = feds
    _, foreign = existing
    twin = make_case(federation=mine, ref="MINE-9", name="Secret Enterprise Name SCOP", transfer_date=date(2011, 6, 6))
    make_case(federation=mine, ref="MINE-10", name="Atelier Cooperatif", transfer_date=date(2016, 6, 6))
    login(Role.ADMIN)
    html = client.get("/cases/duplicates").get_data(as_text=True)
    table = text_of(html, "pairs")
    assert "MINE-9" in table and "SECRET-REF" in table and "FR-THEIRS" in table
    assert "MINE-10" not in table  # within one federation: shown with "All pairs"
    assert "MINE-10" in text_of(client.get("/cases/duplicates?scope=all").get_data(as_text=True), "pairs")
    client.post("/cases/duplicates/confirm", data={"case_id": twin.id, "other_id": foreign.id})
    assert "MINE-9" not in client.get("/cases/duplicates").get_data(as_text=True)


def test_the_staff_report_never_shows_the_other_federations_case(client, login, feds, existing, make_case):
    mine, _ = feds
    _, foreign = existing
    twin = make_case(federation=mine, ref="MINE-9", name="Secret Enterprise Name", transfer_date=date(2011, 6, 6))
    login(Role.STAFF, federation=mine)
    html = client.get("/cases/duplicates").get_data(as_text=True)
    assert "MINE-9" in text_of(html, "elsewhere")
    for secret in ("SECRET-REF", "FR-THEIRS", "552 100 554"):
        assert secret not in html
    assert 'name="scope"' not in html  # the across-federations report is the admins'
    response = client.post("/cases/duplicates/confirm", data={"case_id": twin.id, "other_id": foreign.id})
    assert response.status_code == 404 and pairs() == set()


def test_researchers_have_no_duplicates_report(client, login):
    login(Role.RESEARCHER)
    assert client.get("/cases/duplicates").status_code == 403
    assert client.post("/cases/duplicates/confirm", data={"case_id": 1, "other_id": 2}).status_code == 403


def test_confirming_goes_back_only_to_a_page_of_this_site(client, login, feds, existing, make_case):
    mine, _ = feds
    own, _ = existing
    twin = make_case(federation=mine, ref="MINE-3", name="Atelier Cooperatif", transfer_date=date(2016, 2, 2))
    login(Role.ADMIN)
    response = client.post("/cases/duplicates/confirm", data={"case_id": twin.id, "other_id": own.id,
                                                              "next": "//evil.example/x"})
    assert response.headers["Location"] == "/cases/duplicates"


def test_confirming_needs_the_csrf_token(app, client, login, feds, existing, make_case):
    mine, _ = feds
    own, _ = existing
    twin = make_case(federation=mine, ref="MINE-3", name="Atelier Cooperatif", transfer_date=date(2016, 2, 2))
    login(Role.ADMIN)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/cases/duplicates/confirm", data={"case_id": twin.id, "other_id": own.id}).status_code == 400
    assert pairs() == set()


# --- import -----------------------------------------------------------------------------------

def test_the_import_check_lists_possible_duplicates_and_the_import_needs_the_confirmation(client, login, feds,
                                                                                         existing):
    mine, _ = feds
    own, _ = existing
    login(Role.STAFF, federation=mine)
    data = csv_bytes([case_row(ref="NEW-1", name="Atelier Coopératif SA", transfer_date="2016-03-01"),
                      case_row(ref="NEW-2", name="Scierie"), case_row(ref="NEW-3", name="Scierie SCOP")])
    token = token_of(upload(client, data))
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    listed = text_of(html, "duplicates")
    assert "NEW-1 · Atelier Coopératif SA · FR-MINE · transfer 2016 (row 2 of the file) — MINE-1" in listed
    assert "NEW-2" in listed and "NEW-3" in listed  # two rows of the file alike
    before = written()
    refused = client.post(f"/cases/import/{token}", data={})
    assert refused.status_code == 200 and written() == before
    assert checkbox_errors(refused.get_data(as_text=True), "confirm_distinct")[0].startswith(
        "2 possible duplicates: confirm that they are different enterprises")
    assert client.post(f"/cases/import/{token}", data={"confirm_distinct": "y"}).status_code == 303
    new1, new2, new3 = (case_by_ref(ref) for ref in ("NEW-1", "NEW-2", "NEW-3"))
    assert pairs() == {(own.id, new1.id), (new2.id, new3.id)}


def test_a_staff_import_reports_a_duplicate_elsewhere_without_its_data_and_needs_no_confirmation(
        client, login, feds, existing):
    mine, _ = feds
    login(Role.STAFF, federation=mine)
    token = token_of(upload(client, csv_bytes([case_row(ref="NEW-1", national_id="552100554")])))
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    assert "a possible duplicate exists in another federation" in text_of(html, "duplicates")
    for secret in ("SECRET-REF", "Secret Enterprise", "FR-THEIRS"):
        assert secret not in html
    assert 'name="confirm_distinct"' not in html
    assert client.post(f"/cases/import/{token}", data={}).status_code == 303
    assert case_by_ref("NEW-1") and pairs() == set()


def test_reimporting_unchanged_cases_does_not_report_them_again(client, login, feds, make_case):
    mine, _ = feds
    make_case(federation=mine, ref="A", name="Verrerie Unie", transfer_date=date(2015, 3, 1))
    make_case(federation=mine, ref="B", name="Verrerie Unie SCOP", transfer_date=date(2015, 3, 1))
    login(Role.STAFF, federation=mine)
    data = client.get("/cases/export.csv").data
    token = token_of(upload(client, data))
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    assert 'id="duplicates"' not in html and "leave 2 unchanged" in html
