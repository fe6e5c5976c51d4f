"""Who may reach which case URL: anonymous → login, researchers read only (403 on writes),
staff of another federation get 404 everywhere, deleted cases are 404 for non-admins."""

from __future__ import annotations

from datetime import date

import pytest
from support_cases import edit_form_of, snapshot_counts, valid_case_form

from tracker.extensions import db
from tracker.models import Case, ExitReason, Role
from tracker.models.base import utcnow


def case_urls(case_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", f"/cases/{case_id}"),
        ("GET", f"/cases/{case_id}/edit"),
        ("POST", f"/cases/{case_id}/edit"),
        ("POST", f"/cases/{case_id}/follow-up"),
        ("POST", f"/cases/{case_id}/withdraw-exit"),
        ("POST", f"/cases/{case_id}/delete"),
        ("POST", f"/cases/{case_id}/restore"),
    ]


def post_data(case: Case, url: str) -> dict[str, str]:
    """A request body that would succeed for someone allowed: the refusal is about who asks."""
    if url.endswith("/edit"):
        return edit_form_of(case, name="Hijacked")
    if url.endswith("/follow-up"):
        return {"followup-outcome": "liquidation", "followup-checked_on": "2025-01-02",
                "followup-version": str(case.version)}
    if url.endswith("/withdraw-exit"):
        return {"withdraw-note": "because", "withdraw-version": str(case.version)}
    return {}


def request(client, method: str, url: str, case: Case):
    return client.get(url) if method == "GET" else client.post(url, data=post_data(case, url))


def state(case_id: int) -> tuple:
    """What a refused request must leave as it was: the case's fields and the row counts."""
    case = db.session.get(Case, case_id)
    return (case.name, case.version, case.exit_date, case.deleted_at, *snapshot_counts())


@pytest.fixture
def their_case(make_federation, make_case):
    """A case of federation A, with an exit (so a withdrawal would apply)."""
    return make_case(federation=make_federation(code="FED-A"), name="Theirs", exit_date=date(2024, 1, 1),
                     exit_reason=ExitReason.SOLD, last_verified_on=date(2023, 6, 1))


def test_anonymous_users_are_sent_to_the_login_page(client, their_case):
    for method, url in [("GET", "/cases/"), ("GET", "/cases/new"), ("POST", "/cases/new"),
                        *case_urls(their_case.id)]:
        response = request(client, method, url, their_case)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url


def test_staff_of_another_federation_get_404_on_every_case_url(client, login, make_federation, their_case):
    login(Role.STAFF, federation=make_federation(code="FED-B"))
    before = state(their_case.id)
    for method, url in case_urls(their_case.id):
        assert request(client, method, url, their_case).status_code == 404, (method, url)
    assert state(their_case.id) == before


def test_staff_of_another_federation_cannot_tell_a_foreign_case_from_a_missing_one(client, login, make_federation,
                                                                                  their_case):
    login(Role.STAFF, federation=make_federation())
    foreign = client.get(f"/cases/{their_case.id}")
    missing = client.get("/cases/99999")
    assert foreign.status_code == missing.status_code == 404
    assert "Theirs" not in foreign.get_data(as_text=True)


@pytest.mark.parametrize(("method", "url"), [
    ("GET", "/cases/new"), ("POST", "/cases/new"), ("GET", "/cases/{id}/edit"), ("POST", "/cases/{id}/edit"),
    ("POST", "/cases/{id}/follow-up"), ("POST", "/cases/{id}/withdraw-exit"), ("POST", "/cases/{id}/delete"),
    ("POST", "/cases/{id}/restore"),
])
def test_researchers_cannot_write(client, login, their_case, method, url):
    login(Role.RESEARCHER)
    before = state(their_case.id)
    url = url.format(id=their_case.id)
    response = (client.post(url, data=valid_case_form()) if url == "/cases/new" and method == "POST"
                else request(client, method, url, their_case))
    assert response.status_code == 403
    assert state(their_case.id) == before


def test_researchers_read_every_federations_case(client, login, their_case):
    login(Role.RESEARCHER)
    assert client.get(f"/cases/{their_case.id}").status_code == 200


def test_staff_may_not_delete_or_restore_even_their_own_cases(client, login, their_case):
    login(Role.STAFF, federation=their_case.federation)
    before = state(their_case.id)
    assert client.post(f"/cases/{their_case.id}/delete").status_code == 403
    assert state(their_case.id) == before
    assert "Delete case" not in client.get(f"/cases/{their_case.id}").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.STAFF, Role.RESEARCHER])
def test_deleted_cases_are_404_for_non_admins(client, login, their_case, role):
    their_case.deleted_at = utcnow()
    db.session.commit()
    login(role, federation=their_case.federation if role == Role.STAFF else None)
    before = state(their_case.id)
    for method, url in case_urls(their_case.id):
        assert request(client, method, url, their_case).status_code == 404, (method, url)
    assert state(their_case.id) == before


def test_admins_see_deleted_cases(client, login, their_case):
    their_case.deleted_at = utcnow()
    db.session.commit()
    login(Role.ADMIN)
    assert client.get(f"/cases/{their_case.id}").status_code == 200


def test_state_changes_need_post(client, login, their_case):
    login(Role.ADMIN)
    for url in ("follow-up", "withdraw-exit", "delete", "restore"):
        assert client.get(f"/cases/{their_case.id}/{url}").status_code == 405, url


def test_the_delete_button_is_a_csrf_protected_form(app, client, login, their_case):
    login(Role.ADMIN)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/cases/{their_case.id}/delete").status_code == 400
    assert db.session.get(Case, their_case.id).deleted_at is None
    html = client.get(f"/cases/{their_case.id}").get_data(as_text=True)
    assert f'action="/cases/{their_case.id}/delete"' in html and 'name="csrf_token"' in html
