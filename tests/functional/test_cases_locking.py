"""Optimistic locking: a change made on a stale page is refused, the other person's change stands,
the user's input stays on screen."""

from __future__ import annotations

import re

from support_cases import audit_of, edit_form_of, log_in, snapshot_counts

from tracker.extensions import db
from tracker.models import Case, Role


def version_on(html: str, field: str = "version") -> str:
    return re.search(rf'name="{field}" type="hidden" value="(\d+)"', html).group(1)


def test_the_second_of_two_concurrent_edits_gets_a_conflict_and_the_first_stands(app, make_federation,
                                                                                 make_user, make_case):
    fed = make_federation()
    case = make_case(federation=fed, name="Original", employees=10)
    alice, bob = make_user(Role.STAFF, federation=fed), make_user(Role.STAFF, federation=fed)
    first, second = app.test_client(), app.test_client()
    log_in(first, alice)
    log_in(second, bob)

    form_a = first.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    form_b = second.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    assert version_on(form_a) == version_on(form_b) == "1"

    saved = first.post(f"/cases/{case.id}/edit",
                       data=edit_form_of(case, name="Alice's name", version=version_on(form_a)))
    assert saved.status_code == 302
    before = snapshot_counts()

    conflict = second.post(f"/cases/{case.id}/edit",
                           data=edit_form_of(case, name="Bob's name", employees="11", version=version_on(form_b)))
    assert conflict.status_code == 409
    html = conflict.get_data(as_text=True)
    assert "changed by someone else since you opened it" in html
    assert f'href="/cases/{case.id}/edit">Load the current version</a>' in html
    assert 'value="Bob&#39;s name"' in html and 'value="11"' in html  # Bob's input is still there
    assert "<td>Alice&#39;s name</td><td>Bob&#39;s name</td>" in html  # and what he would overwrite

    case = db.session.get(Case, case.id)
    assert (case.name, case.employees, case.version) == ("Alice's name", 10, 2)
    assert snapshot_counts() == before
    assert [e.user_id for e in audit_of(case.id)] == [alice.id]

    # Reloading gives the current version, and then the change goes through.
    fresh = second.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    assert version_on(fresh) == "2" and 'value="Alice&#39;s name"' in fresh
    retry = second.post(f"/cases/{case.id}/edit", data=edit_form_of(case, employees="11"))
    assert retry.status_code == 302
    assert db.session.get(Case, case.id).employees == 11


def test_a_follow_up_recorded_on_a_stale_page_is_refused(app, make_federation, make_user, make_case):
    fed = make_federation()
    case = make_case(federation=fed)
    first, second = app.test_client(), app.test_client()
    log_in(first, make_user(Role.STAFF, federation=fed))
    log_in(second, make_user(Role.ADMIN))
    stale = version_on(second.get(f"/cases/{case.id}").get_data(as_text=True), "followup-version")

    first.post(f"/cases/{case.id}/edit", data=edit_form_of(case, name="Renamed"))
    before = snapshot_counts()
    response = second.post(f"/cases/{case.id}/follow-up", data={
        "followup-outcome": "liquidation", "followup-checked_on": "2025-02-01", "followup-note": "Kept note",
        "followup-version": stale})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "changed by someone else since you opened it" in html and "Kept note" in html
    assert f'href="/cases/{case.id}">Reload the current version</a>' in html
    assert db.session.get(Case, case.id).exit_date is None
    assert snapshot_counts() == before


def test_a_withdrawal_on_a_stale_page_is_refused(app, login, client, make_case):
    from datetime import date

    from tracker.models import ExitReason

    case = make_case(exit_date=date(2024, 2, 1), exit_reason=ExitReason.LIQUIDATION, last_verified_on=None)
    login(Role.ADMIN)
    response = client.post(f"/cases/{case.id}/withdraw-exit", data={"withdraw-note": "wrong firm",
                                                                     "withdraw-version": "0"})
    assert response.status_code == 409
    assert db.session.get(Case, case.id).exit_date == date(2024, 2, 1)
