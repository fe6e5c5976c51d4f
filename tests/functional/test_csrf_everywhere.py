"""With CSRF protection on (as in production), every state-changing request without a valid token
is refused and changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.functional.test_authorization_matrix import ROUTES
from tracker.extensions import db
from tracker.models import AuditEntry, Case, Role

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
POSTS = sorted(name for name, route in ROUTES.items() if "POST" in route.methods and name != "auth.login")


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


@pytest.fixture
def admin_client(csrf_app, make_user, make_case, make_federation):
    user = make_user(Role.ADMIN)
    make_case(make_federation(code="FED-B"))
    client = csrf_app.test_client()
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"email": user.email, "password": "correct horse battery",
                                       "csrf_token": token}).status_code == 302
    return client


@pytest.mark.parametrize("endpoint", POSTS)
def test_posts_without_a_valid_token_are_refused(admin_client, endpoint):
    route = ROUTES[endpoint]
    case_id = db.session.scalar(select(Case.id))
    path = route.path.format(case=case_id, fed=1, user=1, edition=1)
    before = (db.session.scalar(select(func.count()).select_from(AuditEntry)),
              db.session.scalar(select(Case.version)))
    for token in (None, "forged-token"):
        data = dict(route.data or {})
        if token:
            data["csrf_token"] = token
        response = admin_client.post(path, data=data)
        assert response.status_code == 400, f"{endpoint}: {response.status_code}"
    after = (db.session.scalar(select(func.count()).select_from(AuditEntry)),
             db.session.scalar(select(Case.version)))
    assert after == before


def test_login_itself_needs_the_token(csrf_app, make_user):
    user = make_user(Role.RESEARCHER)
    assert csrf_app.test_client().post("/login", data={"email": user.email, "password": "correct horse battery"}
                                       ).status_code == 400
