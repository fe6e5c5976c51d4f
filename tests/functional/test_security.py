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


def test_repeated_failures_on_one_account_from_one_address_are_throttled(throttled, make_user):
    user = make_user(Role.STAFF)
    client = throttled.test_client()
    for _ in range(3):
        assert attempt(client, user.email, "wrong password!").status_code == 200
    blocked = attempt(client, user.email, PASSWORD)
    assert blocked.status_code == 429
    assert b"Too many attempts" in blocked.data


def test_an_attacker_cannot_lock_the_owner_out_from_another_address(throttled, make_user):
    user = make_user(Role.STAFF)
    attacker, owner = throttled.test_client(), throttled.test_client()
    for _ in range(5):
        attempt(attacker, user.email, "wrong password!", "198.51.100.66")
    assert attempt(attacker, user.email, PASSWORD, "198.51.100.66").status_code == 429
    assert attempt(owner, user.email, PASSWORD, "203.0.113.10").status_code == 302


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


def test_a_cookie_captured_before_logout_no_longer_works(app, client, login):
    login(Role.ADMIN)
    assert client.get("/account/password").status_code == 200
    captured = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", captured)
    assert replay.get("/account/password").status_code == 302  # to the login page
    assert replay.get("/admin/").status_code == 302


def test_login_hashes_a_password_whether_or_not_the_account_exists(client, make_user, monkeypatch):
    """Answering an unknown e-mail without hashing would tell, by its speed, which e-mails have an
    account; every attempt must cost one hash of the configured method."""
    import werkzeug.security

    from tracker.services.accounts import users

    methods = []
    real = werkzeug.security.check_password_hash

    def spy(pwhash, password):
        methods.append(pwhash.split("$")[0])
        return real(pwhash, password)

    monkeypatch.setattr(users, "check_password_hash", spy)
    monkeypatch.setattr("tracker.models.user.check_password_hash", spy)
    user = make_user(Role.STAFF)
    user.active = False
    db.session.commit()
    for email in ("ghost@example.org", user.email):
        methods.clear()
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert b"Unknown email or wrong password." in response.data
        assert methods == [TestingConfig.PASSWORD_HASH_METHOD], email


def test_authenticated_pages_and_downloads_are_not_stored_by_caches(client, login):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login(Role.ADMIN)
    for url in ("/cases/", "/account/password", "/cases/export.csv"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url


def test_production_sends_hsts_and_other_configs_do_not(app, client, monkeypatch):
    from config import ProductionConfig
    from tracker import create_app

    assert "Strict-Transport-Security" not in client.get("/login").headers
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("TRACKER_SINGLE_WORKER", "1")
    production = create_app(ProductionConfig)
    hsts = production.test_client().get("/login", base_url="https://tracker.example").headers
    assert hsts["Strict-Transport-Security"].startswith("max-age=31536000")


def test_production_refuses_per_process_login_throttling(monkeypatch):
    from config import ConfigError, ProductionConfig

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.delenv("TRACKER_SINGLE_WORKER", raising=False)
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI"):
        ProductionConfig()
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    with pytest.raises(ConfigError, match="TRACKER_SINGLE_WORKER=1"):
        ProductionConfig()
    monkeypatch.setenv("TRACKER_SINGLE_WORKER", "1")
    assert ProductionConfig().RATELIMIT_STORAGE_URI == "memory://"
    monkeypatch.delenv("TRACKER_SINGLE_WORKER")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    assert ProductionConfig().RATELIMIT_STORAGE_URI.startswith("redis://")


def test_without_secret_key_a_private_random_key_is_kept_in_the_instance_folder(tmp_path, monkeypatch):
    import os
    import stat

    from config import ConfigError, DevelopmentConfig, instance_secret_key

    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert not DevelopmentConfig().SECRET_KEY  # no fallback key in the source
    key = instance_secret_key(tmp_path)
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(key) >= 32
    assert instance_secret_key(tmp_path) == key  # kept: sessions survive a restart
    assert instance_secret_key(tmp_path / "other") != key  # not shared between installations
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="read by other users"):
        instance_secret_key(tmp_path)


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
