"""Accounts an admin creates on the web default to the staff role and must set their own password
at first login; accounts made at the command line (and the demo's) are not forced, and API
tokens keep working whatever the flag."""

from __future__ import annotations

import re

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Role, User
from tracker.services.accounts import tokens, users

INITIAL = "initial password 2026"
OWN = "my own password 2026"


def test_the_new_user_form_offers_staff_first(client, login):
    login(Role.ADMIN)
    html = client.get("/admin/users/new").get_data(as_text=True)
    assert re.search(r'<option selected value="staff">', html)


def test_a_user_created_on_the_web_sets_a_password_before_anything_else(app, client, login, make_federation):
    login(Role.ADMIN)
    fed = make_federation()
    response = client.post("/admin/users/new", data={"email": "new@example.org", "role": "staff",
                                                      "federation": str(fed.id), "password": INITIAL,
                                                      "confirm": INITIAL})
    assert response.status_code == 302
    staff = app.test_client()
    assert staff.post("/login", data={"email": "new@example.org", "password": INITIAL}).status_code == 302
    for page in ("/cases/", "/cases/new", "/account/tokens"):
        answer = staff.get(page)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/account/password"), page
    form = staff.get("/account/password").get_data(as_text=True)
    assert 'id="first-login"' in form
    same = staff.post("/account/password", data={"current_password": INITIAL, "password": INITIAL,
                                                 "confirm": INITIAL}).get_data(as_text=True)
    assert "Choose a password different from the initial one." in same
    changed = staff.post("/account/password", data={"current_password": INITIAL, "password": OWN, "confirm": OWN})
    assert changed.status_code == 302
    assert staff.get("/cases/").status_code == 200
    assert db.session.scalar(select(User).where(User.email == "new@example.org")).must_change_password is False


def test_command_line_users_and_their_api_tokens_are_not_held_back(app, client):
    user = users.create_user(None, "cli@example.org", INITIAL, Role.RESEARCHER)
    assert user.must_change_password is False
    assert users.create_user(None, "default@example.org", INITIAL, federation=_federation()).role == Role.STAFF
    forced = users.create_user(None, "forced@example.org", INITIAL, Role.RESEARCHER, must_change_password=True)
    _token, secret = tokens.create_token(forced, "notebook", None)
    db.session.commit()
    api = app.test_client()
    assert api.get("/api/v1/survival", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert client.post("/login", data={"email": "cli@example.org", "password": INITIAL}).status_code == 302
    assert client.get("/research/").status_code == 200


def _federation():  # noqa: ANN202
    from tracker.models import Federation

    fed = Federation(code="DEF", name="Default", country="FR")
    db.session.add(fed)
    db.session.flush()
    return fed
