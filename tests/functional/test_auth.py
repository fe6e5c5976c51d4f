from tracker.models import Role


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Log in" in response.data


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_wrong_password_and_unknown_user_get_the_same_message(client, make_user):
    user = make_user(Role.ADMIN)
    wrong = client.post("/login", data={"email": user.email, "password": "nope-nope-nope"})
    unknown = client.post("/login", data={"email": "ghost@example.org", "password": "whatever1234"})
    assert b"Unknown email or wrong password." in wrong.data
    assert b"Unknown email or wrong password." in unknown.data


def test_login_is_case_insensitive_on_email(client, make_user):
    user = make_user(Role.RESEARCHER, email="mixed@example.org")
    response = client.post("/login", data={"email": "MIXED@Example.org", "password": "correct horse battery"})
    assert response.status_code == 302
    assert user.email == "mixed@example.org"


def test_next_may_not_leave_the_site(client, make_user):
    user = make_user(Role.ADMIN)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        client.post("/logout")
        response = client.post(f"/login?next={target}",
                               data={"email": user.email, "password": "correct horse battery"})
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"] and "javascript" not in response.headers["Location"]


def test_next_on_site_is_followed(client, make_user):
    user = make_user(Role.ADMIN)
    response = client.post("/login?next=/account/password",
                           data={"email": user.email, "password": "correct horse battery"})
    assert response.headers["Location"] == "/account/password"


def test_inactive_user_cannot_log_in(client, make_user, app):
    from tracker.extensions import db

    user = make_user(Role.STAFF)
    user.active = False
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    assert response.status_code == 200
    assert b"Unknown email or wrong password." in response.data


def test_password_change_logs_out_other_sessions(app, make_user):
    user = make_user(Role.RESEARCHER)
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        assert c.post("/login", data={"email": user.email, "password": "correct horse battery"}).status_code == 302
    response = first.post("/account/password", data={
        "current_password": "correct horse battery", "password": "a much better secret",
        "confirm": "a much better secret"})
    assert response.status_code == 302
    assert first.get("/account/password").status_code == 200
    assert second.get("/account/password").status_code == 302  # sent to the login page


def test_staff_of_a_deactivated_federation_lose_access(client, make_user, app):
    from tracker.extensions import db

    user = make_user(Role.STAFF)
    assert client.post("/login", data={"email": user.email, "password": "correct horse battery"}).status_code == 302
    user.federation.active = False
    db.session.commit()
    assert client.get("/account/password").status_code == 302  # session no longer valid
    response = client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    assert b"Unknown email or wrong password." in response.data


def _with_demo_users(make_user):
    from tracker.services.ops.quickstart import demo_logins

    for login in demo_logins()[:2]:
        make_user(login.role, email=login.email)


def test_development_login_page_offers_the_demo_logins(app, client, make_user):
    from tracker.services.ops.demo import DEMO_PASSWORD

    app.config["SHOW_DEMO_LOGINS"] = True  # as DevelopmentConfig
    assert 'data-testid="demo-logins"' not in client.get("/login").get_data(as_text=True)  # no demo users yet
    _with_demo_users(make_user)
    page = client.get("/login").get_data(as_text=True)
    assert 'data-testid="demo-logins"' in page
    assert "admin@demo.coop" in page and "researcher@demo.coop" in page and DEMO_PASSWORD in page
    assert "staff.fr@demo.coop" not in page  # only accounts that exist


def test_demo_logins_are_never_shown_outside_development(app, client, make_user):
    from config import DevelopmentConfig, ProductionConfig, TestingConfig

    assert DevelopmentConfig.SHOW_DEMO_LOGINS and not TestingConfig.SHOW_DEMO_LOGINS
    assert not ProductionConfig.SHOW_DEMO_LOGINS
    _with_demo_users(make_user)
    assert "admin@demo.coop" not in client.get("/login").get_data(as_text=True)
    app.config.update(SHOW_DEMO_LOGINS=True, ENV_NAME="production")  # even if someone switches it on
    assert "admin@demo.coop" not in client.get("/login").get_data(as_text=True)
