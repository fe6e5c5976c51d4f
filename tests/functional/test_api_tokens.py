"""Personal API tokens: hashed, scoped to their owner's permissions, API only, revocable."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import ApiToken, Role


def create_token(client, name="notebook") -> str:
    page = client.post("/account/tokens", data={"name": name}).get_data(as_text=True)
    match = re.search(r'data-testid="new-token">(tt_[^<]+)<', page)
    assert match, page[:2000]
    return match.group(1)


def test_researcher_creates_uses_and_revokes_a_token(app, client, login):
    login(Role.RESEARCHER)
    token = create_token(client)
    stored = db.session.scalars(select(ApiToken)).one()
    assert token not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
    api = app.test_client()  # no session: only the token
    assert api.get("/api/v1/survival").status_code == 401
    assert api.get("/api/v1/survival", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    page = client.get("/account/tokens").get_data(as_text=True)
    assert token not in page  # shown once only
    client.post(f"/account/tokens/{stored.id}/revoke")
    assert api.get("/api/v1/survival", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_token_opens_the_api_only(app, client, login):
    login(Role.ADMIN)
    token = create_token(client)
    other = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert other.get("/cases/", headers=headers).status_code == 302  # to the login page
    assert other.get("/admin/", headers=headers).status_code == 302


def test_a_staff_token_keeps_the_federation_boundary(app, client, login, make_federation, make_case):
    mine, theirs = make_federation(code="MINE"), make_federation(code="THEIRS")
    for fed in (mine, theirs, theirs):
        make_case(fed, transfer_date=date(2012, 1, 1), registered_on=date(2012, 1, 1),
                  last_verified_on=date(2025, 1, 1))
    login(Role.STAFF, federation=mine)
    token = create_token(client)
    got = app.test_client().get("/api/v1/survival?as_of=2025-12-31&group_by=federation",
                                headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [(g["group"], g["n"]) for g in got["groups"]] == [("MINE", 1)]


def test_wrong_revoked_or_deactivated_tokens_are_refused(app, client, login):
    user = login(Role.RESEARCHER)
    token = create_token(client)
    api = app.test_client()
    for bad in ("tt_wrong", token + "x", "Bearer", "x" * 500):
        assert api.get("/api/v1/survival", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
    user.active = False
    db.session.commit()
    assert api.get("/api/v1/survival", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(app, client, login, make_user):
    login(Role.RESEARCHER)
    create_token(client)
    token_id = db.session.scalars(select(ApiToken.id)).one()
    login(Role.RESEARCHER)
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert db.session.get(ApiToken, token_id).revoked_at is None


def test_token_needs_a_name(client, login):
    login(Role.RESEARCHER)
    page = client.post("/account/tokens", data={"name": "  "}).get_data(as_text=True)
    assert "This field is required" in page or "Give the token a name" in page
    assert db.session.scalars(select(ApiToken)).first() is None


def test_a_valid_token_works_alongside_an_anonymous_session_cookie(app, client, login):
    """A browser that once opened the login page sends its (anonymous) session cookie with every
    request; a script reusing that cookie jar must still be let in by its token."""
    login(Role.RESEARCHER)
    token = create_token(client)
    api = app.test_client()
    with api.session_transaction() as session:  # what the login page leaves: a CSRF token, no user
        session["csrf_token"] = "0" * 40
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/survival", headers=headers).status_code == 200
    with api.session_transaction() as session:  # a stale login of someone else in the cookie
        session["_user_id"], session["_id"] = "999:0", "not this client"
    assert api.get("/api/v1/survival", headers=headers).status_code == 200
    # and a cookie does not rescue a wrong token
    assert client.get("/api/v1/survival", headers={"Authorization": "Bearer tt_wrong"}).status_code == 401


def test_tokens_expire_a_year_after_creation_by_default(app, client, login):
    from tracker.services.accounts import tokens

    login(Role.RESEARCHER)
    page = client.get("/account/tokens").get_data(as_text=True)
    assert f'value="{tokens.default_expiry().isoformat()}"' in page  # the form proposes a year
    token = create_token(client)
    stored = db.session.scalars(select(ApiToken)).one()
    assert stored.expires_on == tokens.default_expiry()
    assert stored.expires_on.isoformat() in client.get("/account/tokens").get_data(as_text=True)
    headers = {"Authorization": f"Bearer {token}"}
    api = app.test_client()
    assert api.get("/api/v1/survival", headers=headers).status_code == 200
    stored.expires_on = tokens.today_utc()  # the expiry day has come
    db.session.commit()
    assert api.get("/api/v1/survival", headers=headers).status_code == 401
    row = client.get("/account/tokens").get_data(as_text=True).split("<tbody>")[1]
    assert "expired" in row and "Revoke" not in row


def test_a_token_may_be_made_without_expiry_or_with_a_chosen_one(client, login):
    from datetime import timedelta

    from tracker.services.accounts import tokens

    login(Role.RESEARCHER)
    client.post("/account/tokens", data={"name": "forever", "expires_on": ""})
    chosen = tokens.today_utc() + timedelta(days=30)
    client.post("/account/tokens", data={"name": "a month", "expires_on": chosen.isoformat()})
    stored = {t.name: t.expires_on for t in db.session.scalars(select(ApiToken))}
    assert stored == {"forever": None, "a month": chosen}
    assert "never" in client.get("/account/tokens").get_data(as_text=True).split("<tbody>")[1]


def test_an_expiry_date_in_the_past_is_refused_next_to_the_field(client, login):
    login(Role.RESEARCHER)
    page = client.post("/account/tokens", data={"name": "old", "expires_on": "2001-01-01"}).get_data(as_text=True)
    assert "The expiry date must be after today" in page
    assert db.session.scalars(select(ApiToken)).first() is None
