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
