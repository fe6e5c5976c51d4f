"""Login throttling, security headers and session handling, tried as an attacker would."""

from __future__ import annotations

import pytest

from config import TestingConfig
from tracker.extensions import db
from tracker.models import Role

PASSWORD = "correct horse battery"


class ThrottledConfig(TestingConfig):
    RATELIMIT_ENABLED = True
    LOGIN_LIMIT_PER_ACCOUNT = "3 per minute"
    LOGIN_LIMIT_PER_ADDRESS = "6 per minute"


@pytest.fixture
def app_config(request):
    return ThrottledConfig if "throttled" in request.fixturenames else TestingConfig


@pytest.fixture
def throttled(app):
    return app


def attempt(client, email, password, address="198.51.100.7"):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_repeated_failures_on_one_account_are_throttled_from_any_address(throttled, make_user):
    user = make_user(Role.STAFF)
    client = throttled.test_client()
    for i in range(3):
        assert attempt(client, user.email, "wrong password!", f"198.51.100.{i}").status_code == 200
    blocked = attempt(client, user.email, PASSWORD, "198.51.100.99")
    assert blocked.status_code == 429
    assert b"Too many attempts" in blocked.data


def test_repeated_failures_from_one_address_are_throttled_across_accounts(throttled, make_user):
    client = throttled.test_client()
    for i in range(6):
        assert attempt(client, f"ghost{i}@example.org", "whatever-password").status_code == 200
    user = make_user(Role.RESEARCHER)
    assert attempt(client, user.email, PASSWORD).status_code == 429
    assert attempt(client, user.email, PASSWORD, "203.0.113.5").status_code == 302  # another address


def test_successful_logins_are_not_counted(throttled, make_user):
    user = make_user(Role.ADMIN)
    for _ in range(5):
        client = throttled.test_client()
        assert attempt(client, user.email, PASSWORD).status_code == 302


def test_security_headers_on_every_page(client):
    for url in ("/login", "/healthz", "/no-such-page"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_no_inline_script_in_pages(client, login, make_case):
    login(Role.ADMIN)
    case = make_case()
    for url in ("/cases/", f"/cases/{case.id}", "/cases/new", "/admin/", "/account/password"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>" not in body and "onclick=" not in body and "javascript:" not in body, url


def test_login_with_csrf_enabled_needs_the_token(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user(Role.ADMIN)
    client = app.test_client()
    refused = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    accepted = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert accepted.status_code == 302


def test_session_is_renewed_at_login(client, make_user):
    user = make_user(Role.RESEARCHER)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session


def test_production_cookies_are_secure():
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.REMEMBER_COOKIE_SECURE
    assert TestingConfig.SESSION_COOKIE_HTTPONLY and TestingConfig.SESSION_COOKIE_SAMESITE == "Lax"


def test_deactivated_user_session_ends(client, login):
    user = login(Role.STAFF)
    user.active = False
    db.session.commit()
    assert client.get("/cases/").status_code == 302


@pytest.mark.parametrize("method, url, data", [
    ("GET", "/cases/?q=%00", None),
    ("GET", "/research/?country=F%00R", None),
    ("POST", "/cases/new", {"ref": "R-1", "name": "Coop\x00", "country": "FR", "transfer_date": "2015-01-01"}),
    ("POST", "/account/tokens", {"name\x00": "x"}),
])
def test_nul_characters_are_refused_with_the_name_of_the_input(client, login, method, url, data):
    """PostgreSQL refuses NUL in text: it must be a 400 naming the input, never a 500, on any database."""
    login(Role.ADMIN)
    response = client.open(url, method=method, data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "NUL character" in body


def test_nul_characters_in_api_parameters_get_a_json_400(client, login):
    login(Role.RESEARCHER)
    response = client.get("/api/v1/survival?where=country%3DF%00R")
    assert response.status_code == 400
    assert response.get_json()["parameter"] == "where" and "NUL" in response.get_json()["error"]


def test_an_uploaded_file_name_with_a_nul_character_is_refused(client, login):
    import io

    login(Role.ADMIN)
    response = client.post("/cases/import", data={"file": (io.BytesIO(b"ref\n"), "cases\x00.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)
