"""The case page: facts, follow-up timeline, recording follow-ups, withdrawing an exit, history,
soft deletion and restore."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from support_cases import audit_of, errors_next_to, snapshot_counts

from tracker.extensions import db
from tracker.models import Case, ExitReason, Role, StatusCheck

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


def follow_up(case: Case, outcome: str = "operating", checked_on: str = "2025-03-10", **extra: str) -> dict:
    data = {"outcome": outcome, "checked_on": checked_on, "source": "", "note": "", "version": str(case.version)}
    data.update(extra)
    return {f"followup-{k}": v for k, v in data.items()}


def withdrawal(case: Case, note: str = "Confused with a namesake.") -> dict:
    return {"withdraw-note": note, "withdraw-version": str(case.version)}


def checks_of(case_id: int) -> list[StatusCheck]:
    return list(db.session.scalars(select(StatusCheck).where(StatusCheck.case_id == case_id)
                                   .order_by(StatusCheck.id)))


@pytest.fixture
def own_case(make_federation, make_case, login):
    """A case of the logged-in staff user's federation: (case, staff user)."""
    fed = make_federation(code="FR-CGSCOP")
    case = make_case(federation=fed, name="Verrerie Ouvrière", nace="23.13", nace_section="C",
                     contact_name="Ana Lopes", contact_email="ana@example.org")
    staff = login(Role.STAFF, federation=fed)
    return case, staff


def test_the_case_page_shows_the_facts_with_nace_label_and_section(client, own_case):
    case, _ = own_case
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Verrerie Ouvrière" in html and "France (FR)" in html
    text = re.sub(r"<[^>]+>", "", html)  # the classification's labels are marked as data (translate="no")
    assert "23.13 · Manufacture of hollow glass" in text
    assert "Section C · Manufacturing" in text
    french = client.get(f"/cases/{case.id}?lang=fr").get_data(as_text=True)
    assert '<span translate="no" lang="en">Manufacture of hollow glass</span>' in french  # read out in English
    assert "Section C · Industrie manufacturière" in re.sub(r"<[^>]+>", "", french)
    assert "Ana Lopes" in html and "ana@example.org" in html  # own federation: contact shown
    assert "Change history" in html


def test_researchers_see_the_case_without_contact_history_or_forms(client, login, make_case, make_user):
    case = make_case(contact_name="Ana Lopes", contact_email="ana@example.org", contact_phone="+351 1")
    staff = make_user(Role.STAFF, federation=case.federation)
    db.session.add(StatusCheck(case=case, checked_on=date(2024, 12, 31), outcome="operating",
                               source="Annual survey", recorded_by=staff))
    db.session.commit()
    login(Role.RESEARCHER)
    response = client.get(f"/cases/{case.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and case.name in html
    assert "Ana Lopes" not in html and "ana@example.org" not in html and "Contact person" not in html
    assert "Change history" not in html
    assert "Source: Annual survey" in re.sub(r"<[^>]+>", "", html) and staff.email not in html  # timeline, not who
    assert "Record a follow-up" not in html and f"/cases/{case.id}/edit" not in html


def test_confirming_a_case_operating_moves_last_verified_forward(client, own_case):
    case, staff = own_case
    response = client.post(f"/cases/{case.id}/follow-up",
                           data=follow_up(case, checked_on="2025-03-10", source="Registre SIRENE", note="Active"))
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case.id}"
    case = db.session.get(Case, case.id)
    assert (case.last_verified_on, case.exit_date, case.version) == (date(2025, 3, 10), None, 2)
    [check] = checks_of(case.id)
    assert (check.outcome, check.source, check.note, check.recorded_by_id) == ("operating", "Registre SIRENE",
                                                                               "Active", staff.id)
    [entry] = audit_of(case.id)
    assert entry.action == "follow_up" and entry.changes == {"last_verified_on": ["2024-12-31", "2025-03-10"]}
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Follow-up recorded." in html
    assert "<strong>2025-03-10</strong> ·\n            Operating" in html
    assert "Source: Registre SIRENE" in re.sub(r"<[^>]+>", "", html) and staff.email in html


def test_recording_an_exit_closes_the_case_and_the_timeline_is_newest_first(client, own_case):
    case, _ = own_case
    client.post(f"/cases/{case.id}/follow-up", data=follow_up(case, checked_on="2025-01-15"))
    case = db.session.get(Case, case.id)
    client.post(f"/cases/{case.id}/follow-up", data=follow_up(case, "liquidation", "2025-06-30", source="BODACC"))
    case = db.session.get(Case, case.id)
    assert (case.exit_date, case.exit_reason) == (date(2025, 6, 30), ExitReason.LIQUIDATION)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert html.index("Exited: Liquidation") < html.index("<strong>2025-01-15</strong>")
    assert [e.action for e in audit_of(case.id)] == ["follow_up", "follow_up"]


@pytest.mark.parametrize(("outcome", "checked_on", "field", "message"), [
    ("operating", TOMORROW, "followup-checked_on", f"{TOMORROW} is in the future"),
    ("operating", "2014-12-31", "followup-checked_on", "2014-12-31 is before the transfer (2015-03-01)"),
    ("liquidation", "2024-01-01", "followup-checked_on",
     "The case was confirmed operating on 2024-12-31, after 2024-01-01."),
    ("operating", "31/12/2024", "followup-checked_on", "'31/12/2024' is not a date: write it as 2025-12-31"),
    ("operating", "", "followup-checked_on", "This field is required."),
    ("bankrupt", "2025-01-01", "followup-outcome", "Not a valid choice."),
])
def test_bad_follow_ups_are_refused_next_to_the_field(client, own_case, outcome, checked_on, field, message):
    case, _ = own_case
    before = snapshot_counts()
    response = client.post(f"/cases/{case.id}/follow-up", data=follow_up(case, outcome, checked_on))
    assert response.status_code == 200
    assert message in errors_next_to(response.get_data(as_text=True), field)
    assert snapshot_counts() == before
    assert db.session.get(Case, case.id).version == 1


def test_a_case_cannot_be_confirmed_operating_after_its_exit(client, make_federation, make_case, login):
    fed = make_federation()
    case = make_case(federation=fed, exit_date=date(2020, 5, 1), exit_reason=ExitReason.SOLD,
                     last_verified_on=date(2020, 1, 1))
    login(Role.STAFF, federation=fed)
    response = client.post(f"/cases/{case.id}/follow-up", data=follow_up(case, checked_on="2021-01-01"))
    assert errors_next_to(response.get_data(as_text=True), "followup-checked_on") == [
        "The case exited on 2020-05-01; to confirm it operating later, first withdraw the exit."]
    second_exit = client.post(f"/cases/{case.id}/follow-up", data=follow_up(case, "merged", "2020-06-01"))
    assert errors_next_to(second_exit.get_data(as_text=True), "followup-outcome") == [
        "The case already exited on 2020-05-01; withdraw that exit first to record a different one."]
    assert checks_of(case.id) == []


def test_withdrawing_a_wrong_exit_reopens_the_case_and_shows_a_correction(client, own_case):
    case, _ = own_case
    client.post(f"/cases/{case.id}/follow-up", data=follow_up(case, "dissolution", "2025-02-01"))
    case = db.session.get(Case, case.id)
    response = client.post(f"/cases/{case.id}/withdraw-exit", data=withdrawal(case, "It was the other Verrerie."))
    assert response.status_code == 302
    case = db.session.get(Case, case.id)
    assert (case.exit_date, case.exit_reason, case.last_verified_on) == (None, None, date(2024, 12, 31))
    exit_check, correction = checks_of(case.id)
    assert (correction.outcome, correction.corrects_id) == ("exit_withdrawn", exit_check.id)
    assert audit_of(case.id)[-1].action == "exit_withdrawn"
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Exit withdrawn (correction)" in html and "It was the other Verrerie." in html
    assert re.search(r"<del><strong>2025-02-01</strong> ·\s*Exited: Dissolution</del>", html)
    assert '<span class="badge text-bg-warning">withdrawn</span>' in html
    assert "Withdraw a wrongly recorded exit" not in html  # nothing left to withdraw


def test_withdrawing_an_exit_needs_an_explanation(client, make_federation, make_case, login):
    fed = make_federation()
    case = make_case(federation=fed, exit_date=date(2020, 5, 1), exit_reason=ExitReason.SOLD, last_verified_on=None)
    login(Role.STAFF, federation=fed)
    before = snapshot_counts()
    response = client.post(f"/cases/{case.id}/withdraw-exit", data=withdrawal(case, "   "))
    assert errors_next_to(response.get_data(as_text=True), "withdraw-note") == ["Say why the exit was wrong."]
    assert db.session.get(Case, case.id).exit_date == date(2020, 5, 1)
    assert snapshot_counts() == before


def test_withdrawing_when_there_is_no_exit_is_a_message_not_an_error(client, own_case):
    case, _ = own_case
    before = snapshot_counts()
    response = client.post(f"/cases/{case.id}/withdraw-exit", data=withdrawal(case))
    assert response.status_code == 302
    assert "The case has no exit to withdraw." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert snapshot_counts() == before


def test_history_lists_every_change_with_who_and_before_after(client, own_case, login):
    case, staff = own_case
    client.post(f"/cases/{case.id}/follow-up", data=follow_up(case, checked_on="2025-03-10"))
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    history = html[html.index("Change history"):]
    check = db.session.scalars(select(StatusCheck).where(StatusCheck.case_id == case.id)).one()
    assert f'<a href="#check-{check.id}">Follow-up recorded</a>' in history and staff.email in history
    assert f'id="check-{check.id}"' in html  # the link lands on the follow-up it belongs to
    text = re.sub(r"<[^>]+>", "", history)
    assert "Last verified on: 2024-12-31 → 2025-03-10" in text
    assert "last_verified_on" not in text and "follow_up" not in text  # labels, never column names


def test_admins_delete_and_restore_with_audit(client, login, make_case):
    case = make_case(ref="DEL-1")
    admin = login(Role.ADMIN)
    response = client.post(f"/cases/{case.id}/delete")
    assert response.status_code == 302 and response.headers["Location"] == "/cases/"
    assert db.session.get(Case, case.id).deleted_at is not None
    listing = client.get("/cases/").get_data(as_text=True)
    assert "Case DEL-1 deleted." in listing and "/cases/1\">DEL-1" not in listing
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "This case was deleted on" in page and "Restore case" in page and "Record a follow-up" not in page

    assert client.post(f"/cases/{case.id}/restore").status_code == 302
    assert db.session.get(Case, case.id).deleted_at is None
    delete_entry, restore_entry = audit_of(case.id)
    assert (delete_entry.action, restore_entry.action) == ("delete", "restore")
    assert delete_entry.user_id == admin.id and delete_entry.changes["deleted_at"][0] is None
    assert restore_entry.changes["deleted_at"][1] is None


def test_restoring_a_case_that_is_not_deleted_is_a_message(client, login, make_case):
    case = make_case()
    login(Role.ADMIN)
    response = client.post(f"/cases/{case.id}/restore")
    assert response.status_code == 302
    assert "The case is not deleted." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert audit_of(case.id) == []


def test_a_deleted_case_cannot_be_changed_until_restored(client, login, make_case):
    from tracker.models.base import utcnow

    case = make_case(name="Frozen")
    case.deleted_at = utcnow()
    db.session.commit()
    login(Role.ADMIN)
    assert client.get(f"/cases/{case.id}/edit").status_code == 409
    assert client.post(f"/cases/{case.id}/follow-up", data=follow_up(case)).status_code == 409
    assert checks_of(case.id) == []
