"""Create and edit forms: every field of the import schema, the rules' messages next to their
field with nothing written, federation choice, escaping, CSRF, audit."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from support_cases import (
    audit_of,
    csrf_token_from,
    edit_form_of,
    errors_next_to,
    snapshot_counts,
    valid_case_form,
)

from tracker.extensions import db
from tracker.models import Case, ExitReason, Role, TransferType

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


def only_case() -> Case:
    return db.session.scalars(select(Case)).one()


# --- create -----------------------------------------------------------------------------------

def test_the_new_case_form_has_every_field_labelled(client, login):
    login(Role.STAFF)
    html = client.get("/cases/new").get_data(as_text=True)
    for name in ("ref", "name", "national_id", "country", "region", "nace", "employees", "transfer_date",
                 "transfer_type", "legal_form", "registered_on", "last_verified_on", "exit_date", "exit_reason",
                 "notes", "contact_name", "contact_email", "contact_phone"):
        assert f'<label class="form-label" for="{name}">' in html, name
    for name in ("transfer_date", "registered_on", "last_verified_on", "exit_date"):
        assert re.search(rf'<input [^>]*id="{name}" name="{name}" (required )?type="date"', html), name
    assert '<option selected value="FR">France (FR)</option>' in html  # the federation's country
    assert '<datalist id="nace-options">' in html and '<option value="25.62">' in html
    assert '<option value="rescue">' in html and '<option value="demutualised">' in html
    assert 'id="federation"' not in html  # staff create in their own federation only


def test_staff_create_a_case_in_their_federation(client, login, make_federation):
    fed = make_federation(code="FR-CGSCOP")
    staff = login(Role.STAFF, federation=fed)
    response = client.post("/cases/new", data=valid_case_form(nace="C25.6", region="frk"))
    case = only_case()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{case.id}"
    assert (case.federation_id, case.ref, case.name, case.country) == (fed.id, "NEW-1", "Atelier Coopératif", "FR")
    assert (case.nace, case.nace_section, case.region) == ("25.6", "C", "FRK")  # canonical forms
    assert case.registered_on == date(2016, 5, 2)  # defaults to the transfer date
    assert (case.employees, case.transfer_type, case.contact_email) == (14, TransferType.SUCCESSION,
                                                                        "jeanne@example.org")
    assert case.created_by_id == staff.id
    [entry] = audit_of(case.id)
    assert entry.action == "create" and entry.user_id == staff.id
    assert entry.changes["name"] == [None, "Atelier Coopératif"]
    assert "Case NEW-1 created." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_closed_case_can_be_created(client, login):
    login(Role.STAFF)
    client.post("/cases/new", data=valid_case_form(last_verified_on="", exit_date="2020-01-31",
                                                   exit_reason="demutualised"))
    case = only_case()
    assert (case.exit_date, case.exit_reason, case.last_verified_on) == (date(2020, 1, 31),
                                                                        ExitReason.DEMUTUALISED, None)


def test_staff_posting_another_federations_id_still_create_in_their_own(client, login, make_federation):
    mine, other = make_federation(), make_federation()
    login(Role.STAFF, federation=mine)
    response = client.post("/cases/new", data=valid_case_form(federation=str(other.id)))
    assert response.status_code == 302
    assert only_case().federation_id == mine.id


def test_admins_choose_the_federation(client, login, make_federation):
    make_federation(code="FR-A")
    chosen = make_federation(code="ES-B", country="ES")
    login(Role.ADMIN)
    html = client.get("/cases/new").get_data(as_text=True)
    assert f'<option value="{chosen.id}">ES-B' in html
    missing = client.post("/cases/new", data=valid_case_form())
    assert errors_next_to(missing.get_data(as_text=True), "federation") == ["This field is required."]
    assert client.post("/cases/new", data=valid_case_form(federation="999")).status_code == 200
    assert snapshot_counts() == (0, 0, 0)
    response = client.post("/cases/new", data=valid_case_form(federation=str(chosen.id), country="ES", region=""))
    assert response.status_code == 302
    assert only_case().federation_id == chosen.id


# --- each bad input: its message next to its field, nothing written ----------------------------

@pytest.mark.parametrize(("overrides", "field", "message"), [
    pytest.param({"transfer_date": TOMORROW}, "transfer_date", f"{TOMORROW} is in the future", id="future-transfer"),
    pytest.param({"last_verified_on": TOMORROW}, "last_verified_on", f"{TOMORROW} is in the future",
                 id="future-verification"),
    pytest.param({"exit_date": TOMORROW, "exit_reason": "liquidation", "last_verified_on": ""}, "exit_date",
                 f"{TOMORROW} is in the future", id="future-exit"),
    pytest.param({"exit_date": "2015-01-01", "exit_reason": "liquidation", "last_verified_on": ""}, "exit_date",
                 "exit 2015-01-01 is before the transfer (2016-05-02)", id="exit-before-transfer"),
    pytest.param({"exit_date": "2020-01-01", "exit_reason": "sold", "last_verified_on": "2021-06-01"},
                 "last_verified_on", "confirmed operating on 2021-06-01, after its exit on 2020-01-01",
                 id="verification-after-exit"),
    pytest.param({"exit_date": "2020-01-01", "exit_reason": "", "last_verified_on": ""}, "exit_reason",
                 "is required when there is an exit date", id="exit-without-reason"),
    pytest.param({"exit_reason": "sold"}, "exit_date", "is required when there is an exit reason",
                 id="reason-without-exit"),
    pytest.param({"last_verified_on": ""}, "last_verified_on",
                 "is required for an open case (the latest date it was confirmed operating)", id="open-unverified"),
    pytest.param({"country": "ZZ", "region": ""}, "country", "'ZZ' is not an ISO 3166-1 alpha-2 country code",
                 id="unknown-country"),
    pytest.param({"nace": "99.99"}, "nace", "'99.99' is not in the NACE Rev. 2 classification", id="unknown-nace"),
    pytest.param({"nace": "B25"}, "nace", "'B25': 25 belongs to section C, not B", id="nace-wrong-section"),
    pytest.param({"transfer_type": "merger"}, "transfer_type",
                 "'merger' is not one of: succession, rescue, conversion, other", id="unknown-transfer-type"),
    pytest.param({"exit_date": "2020-01-01", "exit_reason": "vanished", "last_verified_on": ""}, "exit_reason",
                 "'vanished' is not one of: liquidation, dissolution, sold, merged, demutualised, other",
                 id="unknown-exit-reason"),
    pytest.param({"employees": "-3"}, "employees", "must be 0 or more", id="negative-employees"),
    pytest.param({"employees": "a dozen"}, "employees", "'a dozen' is not a whole number", id="employees-not-a-number"),
    pytest.param({"transfer_date": "2020-13-45"}, "transfer_date",
                 "'2020-13-45' is not a date: write it as 2025-12-31", id="malformed-date"),
    pytest.param({"registered_on": "02/05/2016"}, "registered_on", "'02/05/2016' is not a date: write it as 2025-12-31",
                 id="malformed-date-format"),  # an English page reads ISO only: 02/05 is May or February
    pytest.param({"name": "   "}, "name", "This field is required.", id="blank-name"),
    pytest.param({"ref": "x" * 65}, "ref", "Field cannot be longer than 64 characters.", id="long-ref"),
    pytest.param({"region": "DE1"}, "region", "'DE1' is not a NUTS or ISO 3166-2 code of country FR",
                 id="region-of-another-country"),
    pytest.param({"contact_email": "not-an-address"}, "contact_email", "'not-an-address' is not an email address",
                 id="bad-contact-email"),
])
def test_bad_input_is_refused_next_to_its_field(client, login, overrides, field, message):
    login(Role.STAFF)
    response = client.post("/cases/new", data=valid_case_form(**overrides))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in errors_next_to(html, field)
    assert snapshot_counts() == (0, 0, 0)


@pytest.mark.parametrize(("lang", "typed", "message"), [
    ("fr", "31/12/2021", None), ("it", "31.12.2021", None), ("es", "31-12-2021", None), ("fr", "2021-12-31", None),
    ("fr", "12/31/2021",
     "«\u00a012/31/2021\u00a0» n’est pas une date\u00a0: écrivez-la sous la forme 31/12/2025 ou 2025-12-31"),
    ("es", "31 dic 2021", "«31 dic 2021» no es una fecha: escríbala como 31/12/2025 o 2025-12-31"),
    ("en", "31/12/2021", "'31/12/2021' is not a date: write it as 2025-12-31"),
])
def test_a_date_typed_as_the_pages_language_writes_it_is_read(client, login, lang, typed, message):
    """A browser without a date picker (or a pasted value) sends what the user typed: a French,
    Italian or Spanish page reads it day first, as it writes dates; anything else is named."""
    login(Role.STAFF)
    response = client.post(f"/cases/new?lang={lang}", data=valid_case_form(transfer_date=typed,
                                                                            last_verified_on="2022-01-10"))
    if message is None:
        assert response.status_code == 302, errors_next_to(response.get_data(as_text=True), "transfer_date")
        assert db.session.scalars(select(Case)).one().transfer_date == date(2021, 12, 31)
    else:
        assert html.unescape(message) in html.unescape(errors_next_to(response.get_data(as_text=True),
                                                                      "transfer_date"))
        assert snapshot_counts() == (0, 0, 0)


def test_the_users_input_is_kept_when_refused(client, login):
    login(Role.STAFF)
    html = client.post("/cases/new", data=valid_case_form(employees="-3", name="Kept Name")).get_data(as_text=True)
    assert 'value="Kept Name"' in html
    assert '<option selected value="FR">' in html


def test_duplicate_ref_in_the_same_federation_is_refused_on_the_ref_field(client, login, make_federation,
                                                                          make_case):
    fed = make_federation(code="FR-X")
    make_case(federation=fed, ref="NEW-1")
    login(Role.STAFF, federation=fed)
    before = snapshot_counts()
    response = client.post("/cases/new", data=valid_case_form(ref="NEW-1"))
    assert errors_next_to(response.get_data(as_text=True), "ref") == ["ref NEW-1 already exists in federation FR-X"]
    assert snapshot_counts() == before


def test_the_same_ref_in_another_federation_is_fine(client, login, make_federation, make_case):
    make_case(federation=make_federation(), ref="NEW-1")
    login(Role.STAFF)
    assert client.post("/cases/new", data=valid_case_form(ref="NEW-1")).status_code == 302


def test_html_in_fields_is_shown_escaped(client, login):
    login(Role.STAFF)
    payload = "<script>alert(1)</script>"
    response = client.post("/cases/new", data=valid_case_form(name=payload, notes=f"<b>bold</b> {payload}",
                                                              legal_form='"><img src=x onerror=alert(1)>'))
    assert response.status_code == 302
    assert only_case().name == payload  # stored as typed
    for url in (response.headers["Location"], "/cases/", f"{response.headers['Location']}/edit"):
        html = client.get(url).get_data(as_text=True)
        assert payload not in html and "<img src=x" not in html and "<b>bold</b>" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_a_form_without_csrf_token_is_refused_when_csrf_is_on(app, client, login):
    login(Role.STAFF)
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/cases/new", data=valid_case_form())
    assert response.status_code == 400
    assert "missing or invalid CSRF token" in response.get_data(as_text=True)
    assert snapshot_counts() == (0, 0, 0)
    token = csrf_token_from(client.get("/cases/new").get_data(as_text=True))
    assert client.post("/cases/new", data=valid_case_form(csrf_token=token)).status_code == 302


# --- edit -------------------------------------------------------------------------------------

def test_the_edit_form_is_filled_with_the_case(client, login, make_case):
    case = make_case(name="Filled In", contact_name="Ana", exit_date=None, notes="hello")
    login(Role.ADMIN)
    html = client.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    assert 'value="Filled In"' in html and 'value="Ana"' in html and 'value="2015-03-01"' in html
    assert '<option selected value="succession">' in html
    assert f'id="version" name="version" type="hidden" value="{case.version}"' in html


def test_edit_saves_and_audits_before_and_after(client, login, make_federation, make_case):
    fed = make_federation()
    case = make_case(federation=fed, name="Old Name", employees=12)
    staff = login(Role.STAFF, federation=fed)
    response = client.post(f"/cases/{case.id}/edit", data=edit_form_of(case, name="New Name", employees="15"))
    assert response.status_code == 302
    case = db.session.get(Case, case.id)
    assert (case.name, case.employees, case.version, case.updated_by_id) == ("New Name", 15, 2, staff.id)
    [entry] = audit_of(case.id)
    assert entry.action == "update" and entry.user_id == staff.id
    assert entry.changes == {"name": ["Old Name", "New Name"], "employees": [12, 15]}
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Name</span>: <span class=\"text-nowrap\">Old Name</span> → <span class=\"text-nowrap\">New Name" in html


def test_an_unchanged_edit_writes_nothing(client, login, make_case):
    case = make_case()
    login(Role.ADMIN)
    response = client.post(f"/cases/{case.id}/edit", data=edit_form_of(case))
    assert "Nothing changed." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.get(Case, case.id).version == 1 and audit_of(case.id) == []


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"exit_date": "2010-01-01", "exit_reason": "merged", "last_verified_on": ""}, "exit_date",
     "exit 2010-01-01 is before the transfer (2015-03-01)"),
    ({"transfer_date": TOMORROW}, "transfer_date", f"{TOMORROW} is in the future"),
    ({"employees": "-1"}, "employees", "must be 0 or more"),
    ({"ref": "TAKEN"}, "ref", "ref TAKEN already exists in federation TAKEN-FED"),
])
def test_bad_edits_are_refused_next_to_the_field_and_change_nothing(client, login, make_federation, make_case,
                                                                     overrides, field, message):
    fed = make_federation(code="TAKEN-FED")
    make_case(federation=fed, ref="TAKEN")
    case = make_case(federation=fed, name="Unchanged")
    login(Role.STAFF, federation=fed)
    before = snapshot_counts()
    response = client.post(f"/cases/{case.id}/edit", data=edit_form_of(case, name="Changed", **overrides))
    assert errors_next_to(response.get_data(as_text=True), field) == [message]
    case = db.session.get(Case, case.id)
    assert (case.name, case.version) == ("Unchanged", 1)
    assert snapshot_counts() == before


def test_edit_without_version_is_refused(client, login, make_case):
    case = make_case(name="Unchanged")
    login(Role.ADMIN)
    data = edit_form_of(case, name="Changed")
    del data["version"]
    html = client.post(f"/cases/{case.id}/edit", data=data).get_data(as_text=True)
    assert "This field is required." in html
    assert db.session.get(Case, case.id).name == "Unchanged"


def test_staff_can_clear_contact_fields_and_the_history_keeps_them(client, login, make_federation, make_case):
    fed = make_federation()
    case = make_case(federation=fed, contact_name="Ana", contact_phone="123")
    login(Role.STAFF, federation=fed)
    client.post(f"/cases/{case.id}/edit", data=edit_form_of(case, contact_name="", contact_phone=""))
    case = db.session.get(Case, case.id)
    assert (case.contact_name, case.contact_phone) == (None, None)
    assert audit_of(case.id)[-1].changes["contact_name"] == ["Ana", None]
