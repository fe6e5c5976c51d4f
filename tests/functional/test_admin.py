"""The admin area as an admin (and an intruder) would use it: real form posts, what the page shows
afterwards, what the database and the audit trail hold."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import AuditEntry, Federation, Role, User

NEW_PASSWORD = "a long enough secret"
XSS_NAME = '<script>alert("pwned")</script> & Co'


# --- helpers -----------------------------------------------------------------------------------

def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def field_errors(html: str, name: str) -> list[str]:
    """Error messages rendered right after the input/select named `name` (before the next field)."""
    match = re.search(rf'<(?:input|select)[^>]*\bname="{re.escape(name)}"', html)
    assert match, f"no field named {name!r} on the page"
    following = html[match.end():]
    next_field = re.search(r'<(?:input|select|textarea)[^>]*\bname="', following)
    chunk = following[: next_field.start() if next_field else None]
    return [m.strip() for m in re.findall(r'<div class="invalid-feedback d-block">(.*?)</div>', chunk, re.S)]


def log_in(client, email: str, password: str):  # noqa: ANN001, ANN201
    return client.post("/login", data={"email": email, "password": password})


def post_and_follow(client, url: str, **kwargs):  # noqa: ANN001, ANN201
    """POST, then GET the page it redirects to (the conftest client cannot follow_redirects: its
    nested request runs outside the test's app context)."""
    response = client.post(url, **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client.get(response.headers["Location"])


def new_user_data(**overrides: str) -> dict[str, str]:
    data = {"email": "new.staff@example.org", "role": "staff", "federation": "", "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD}
    data.update(overrides)
    return data


# --- federations and users: the happy path -----------------------------------------------------

def test_admin_creates_a_federation_and_a_staff_user_who_can_then_log_in(app, client, login):
    admin = login(Role.ADMIN)
    response = client.post("/admin/federations/new",
                           data={"code": "fr-cgscop", "name": "Confédération générale des Scop", "country": "FR"})
    assert response.status_code == 302
    listing = client.get("/admin/federations").get_data(as_text=True)
    assert "FR-CGSCOP" in listing and "Confédération générale des Scop" in listing
    fed = db.session.scalar(select(Federation).where(Federation.code == "FR-CGSCOP"))
    assert (fed.country, fed.active) == ("FR", True)

    response = client.post("/admin/users/new", data=new_user_data(email="Marie@Example.org",
                                                                   federation=str(fed.id)))
    assert response.status_code == 302
    users_page = client.get("/admin/users").get_data(as_text=True)
    assert "marie@example.org" in users_page and "FR-CGSCOP" in users_page

    staff_client = app.test_client()
    assert log_in(staff_client, "marie@example.org", NEW_PASSWORD).status_code == 302
    assert staff_client.get("/account/password").status_code == 200
    created = db.session.scalar(select(User).where(User.email == "marie@example.org"))
    assert (created.role, created.federation_id, created.last_login_at is not None) == (Role.STAFF, fed.id, True)
    assert {(e.table_name, e.action, e.user_id) for e in db.session.scalars(select(AuditEntry))} == {
        ("federations", "create", admin.id), ("users", "create", admin.id)}


def test_federation_list_counts_active_staff_and_cases_that_are_not_deleted(client, login, make_federation,
                                                                            make_user, make_case):
    fed = make_federation(code="IT-LEGA")
    make_user(Role.STAFF, federation=fed)
    make_user(Role.STAFF, federation=fed)
    gone = make_user(Role.STAFF, federation=fed)
    gone.active = False
    make_case(federation=fed)
    make_case(federation=fed, deleted_at=datetime(2024, 1, 1, tzinfo=UTC))
    db.session.commit()
    login(Role.ADMIN)
    html = client.get("/admin/federations").get_data(as_text=True)
    row = re.search(r"IT-LEGA</a></th>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r'<td class="text-end">(\d+)</td>', row) == ["2", "1"]
    overview = client.get("/admin/").get_data(as_text=True)
    assert re.search(r'id="count-cases">1<', overview)


def test_editing_a_federation_changes_name_and_country_and_is_audited(client, login, make_federation):
    fed = make_federation(code="ES-COCETA", country="FR", name="Old name")
    login(Role.ADMIN)
    form = client.get(f"/admin/federations/{fed.id}").get_data(as_text=True)
    assert 'value="Old name"' in form and re.search(r'<option selected value="FR">|<option value="FR" selected', form)
    response = client.post(f"/admin/federations/{fed.id}", data={"name": "COCETA", "country": "ES"})
    assert response.status_code == 302
    assert (fed.name, fed.country, fed.code) == ("COCETA", "ES", "ES-COCETA")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.table_name == "federations")).one()
    assert entry.changes == {"name": ["Old name", "COCETA"], "country": ["FR", "ES"]}


def test_a_deactivated_federation_is_no_longer_offered_for_new_staff(client, login, make_federation):
    fed = make_federation(code="DE-INNOVA")
    login(Role.ADMIN)
    response = post_and_follow(client, f"/admin/federations/{fed.id}/deactivate")
    assert "Federation DE-INNOVA deactivated." in response.get_data(as_text=True)
    assert fed.active is False
    assert "DE-INNOVA" not in client.get("/admin/users/new").get_data(as_text=True)
    response = client.post("/admin/users/new", data=new_user_data(federation=str(fed.id)))
    assert response.status_code == 200 and count(User) == 1  # only the admin
    assert client.post(f"/admin/federations/{fed.id}/reactivate").status_code == 302
    assert fed.active is True
    assert "DE-INNOVA" in client.get("/admin/users/new").get_data(as_text=True)


# --- refused input: the message is next to the field and nothing is written -------------------

def test_duplicate_federation_code_is_shown_next_to_the_code_and_writes_nothing(client, login, make_federation):
    make_federation(code="BE-FEBECOOP")
    login(Role.ADMIN)
    before = (count(Federation), count(AuditEntry))
    response = client.post("/admin/federations/new", data={"code": "be-febecoop", "name": "Twin", "country": "BE"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "code") == ["A federation with code BE-FEBECOOP already exists."]
    assert field_errors(html, "name") == []
    assert 'value="Twin"' in html  # the admin's input is kept
    assert (count(Federation), count(AuditEntry)) == before


def test_duplicate_email_is_shown_next_to_the_email_and_writes_nothing(client, login, make_user):
    make_user(Role.RESEARCHER, email="taken@example.org")
    login(Role.ADMIN)
    before = (count(User), count(AuditEntry))
    response = client.post("/admin/users/new", data=new_user_data(email="TAKEN@example.org", role="researcher"))
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "email") == [
        "A user with email taken@example.org already exists."]
    assert (count(User), count(AuditEntry)) == before


@pytest.mark.parametrize("country", ["XX", "fr-x", ""])
def test_an_invalid_country_is_refused_next_to_the_country(client, login, country):
    login(Role.ADMIN)
    response = client.post("/admin/federations/new", data={"code": "ZZ-TEST", "name": "Test", "country": country})
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True), "country")
    assert errors and ("ISO 3166-1" in errors[0] or errors[0] == "Choose a country.")
    assert count(Federation) == 0


def test_the_country_is_chosen_from_a_labelled_select_of_iso_countries(client, login):
    login(Role.ADMIN)
    html = client.get("/admin/federations/new").get_data(as_text=True)
    assert re.search(r'<label[^>]*for="country"[^>]*>Country</label>', html)
    assert re.search(r'<select[^>]*id="country"', html)
    assert '<option value="FR">France (FR)</option>' in html


def test_a_staff_account_without_federation_is_refused(client, login):
    login(Role.ADMIN)
    response = client.post("/admin/users/new", data=new_user_data(role="staff", federation=""))
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "federation") == [
        "A staff account must belong to a federation."]
    assert count(User) == 1


def test_a_weak_or_mistyped_initial_password_is_refused(client, login, make_federation):
    fed = make_federation()
    login(Role.ADMIN)
    weak = client.post("/admin/users/new", data=new_user_data(federation=str(fed.id), password="short",
                                                              confirm="short"))
    assert field_errors(weak.get_data(as_text=True), "password")[0].startswith("Password must be at least 10")
    mistyped = client.post("/admin/users/new", data=new_user_data(federation=str(fed.id), confirm="something else"))
    assert field_errors(mistyped.get_data(as_text=True), "confirm") == ["The passwords differ."]
    assert count(User) == 1


# --- access control ----------------------------------------------------------------------------

def admin_urls(app, fed_id: int, user_id: int) -> list[tuple[str, str]]:  # noqa: ANN001
    """(method, url) for every route of the blueprint, so a new view cannot be left unguarded."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        args = {"federation_id": fed_id, "user_id": user_id}
        path = rule.build({k: v for k, v in args.items() if k in rule.arguments})[1]
        urls += [(method, path) for method in ("GET", "POST") if method in rule.methods]
    return urls


@pytest.mark.parametrize("role", [Role.STAFF, Role.RESEARCHER])
def test_staff_and_researchers_get_403_on_every_admin_url(app, client, login, make_federation, make_user, role):
    fed = make_federation(code="PT-CONFECOOP", country="PT", name="Confecoop")
    victim = make_user(Role.STAFF, federation=fed)
    login(role)
    before = (count(Federation), count(User))
    urls = admin_urls(app, fed.id, victim.id)
    assert len(urls) >= 14
    for method, url in urls:
        response = client.open(url, method=method, data={"name": "Hijacked", "country": "DE", "role": "admin",
                                                        "federation": "", "code": "EVIL", "email": "x@evil.org",
                                                        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert response.status_code == 403, (method, url)
    assert (fed.name, fed.country, fed.active) == ("Confecoop", "PT", True)
    assert (victim.role, victim.active, victim.check_password("correct horse battery")) == (Role.STAFF, True, True)
    assert (count(Federation), count(User)) == before
    assert count(AuditEntry) == 0


def test_anonymous_visitors_are_sent_to_the_login_page(app, client, make_federation, make_user):
    fed, user = make_federation(), make_user(Role.ADMIN)
    for method, url in admin_urls(app, fed.id, user.id):
        response = client.open(url, method=method, data={"name": "Hijacked", "country": "DE"})
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login"), (method, url)
    assert count(AuditEntry) == 0


def test_the_admin_link_is_shown_to_admins_only(client, login):
    login(Role.RESEARCHER)
    assert 'href="/admin/"' not in client.get("/account/password").get_data(as_text=True)
    login(Role.ADMIN)
    assert 'href="/admin/"' in client.get("/account/password").get_data(as_text=True)


# --- sessions, self-protection, audit ----------------------------------------------------------

def test_deactivating_a_user_ends_their_session(app, client, login, make_user):
    staff = make_user(Role.STAFF)
    staff_client = app.test_client()
    assert log_in(staff_client, staff.email, "correct horse battery").status_code == 302
    assert staff_client.get("/account/password").status_code == 200
    login(Role.ADMIN)

    assert client.post(f"/admin/users/{staff.id}/deactivate").status_code == 302
    response = staff_client.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert log_in(staff_client, staff.email, "correct horse battery").status_code == 200  # refused

    assert client.post(f"/admin/users/{staff.id}/reactivate").status_code == 302
    assert log_in(staff_client, staff.email, "correct horse battery").status_code == 302


def test_an_admin_cannot_deactivate_or_demote_themselves(client, login):
    admin = login(Role.ADMIN)
    response = post_and_follow(client, f"/admin/users/{admin.id}/deactivate")
    assert "You cannot remove your own admin rights or deactivate yourself." in response.get_data(as_text=True)
    response = client.post(f"/admin/users/{admin.id}", data={"role": "researcher", "federation": ""})
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "role") == [
        "You cannot remove your own admin rights or deactivate yourself."]
    assert (admin.active, admin.role) == (True, Role.ADMIN)
    assert client.get("/admin/").status_code == 200  # still logged in, still admin
    assert count(AuditEntry) == 0


def test_a_role_change_is_audited_with_before_and_after_and_shown_on_the_overview(app, client, login,
                                                                                  make_federation, make_user):
    fed = make_federation(code="UK-CO-OPS")
    staff = make_user(Role.STAFF, federation=fed)
    staff_client = app.test_client()
    assert log_in(staff_client, staff.email, "correct horse battery").status_code == 302
    admin = login(Role.ADMIN)

    response = client.post(f"/admin/users/{staff.id}", data={"role": "researcher", "federation": ""})
    assert response.status_code == 302
    assert (staff.role, staff.federation_id) == (Role.RESEARCHER, None)
    entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.user_id, entry.table_name, entry.row_id, entry.action) == (admin.id, "users", staff.id, "update")
    assert entry.changes == {"role": ["staff", "researcher"], "federation_id": [fed.id, None]}
    assert staff_client.get("/account/password").status_code == 302  # the old session is gone

    overview = client.get("/admin/").get_data(as_text=True)
    assert admin.email in overview and f"User #{staff.id}" in overview
    assert re.search(r"role</code>: Federation staff → Researcher", overview)
    assert re.search(r"federation</code>: UK-CO-OPS → —", overview)


def test_changing_a_staff_users_federation(client, login, make_federation, make_user):
    old, new = make_federation(code="OLD-FED"), make_federation(code="NEW-FED")
    staff = make_user(Role.STAFF, federation=old)
    login(Role.ADMIN)
    page = client.get(f"/admin/users/{staff.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{old.id}">|<option value="{old.id}" selected', page)
    assert client.post(f"/admin/users/{staff.id}", data={"role": "staff", "federation": str(new.id)}).status_code == 302
    assert staff.federation_id == new.id
    assert db.session.scalars(select(AuditEntry)).one().changes == {"federation_id": [old.id, new.id]}


def test_an_admin_resets_a_password_the_old_one_stops_working(app, client, login, make_user):
    user = make_user(Role.RESEARCHER)
    login(Role.ADMIN)
    response = client.post(f"/admin/users/{user.id}/password", data={"password": NEW_PASSWORD,
                                                                     "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    other = app.test_client()
    assert log_in(other, user.email, "correct horse battery").status_code == 200
    assert log_in(other, user.email, NEW_PASSWORD).status_code == 302
    entry = db.session.scalars(select(AuditEntry)).one()
    assert entry.action == "password_change" and NEW_PASSWORD not in str(entry.changes)


# --- CSRF and escaping -------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


@pytest.fixture
def csrf_client(app, make_user):  # noqa: ANN001, ANN201
    """A client of an app with CSRF protection on (TestingConfig turns it off), logged in as an admin."""
    app.config["WTF_CSRF_ENABLED"] = True
    admin = make_user(Role.ADMIN)
    client = app.test_client()
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": admin.email, "password": "correct horse battery",
                                           "csrf_token": token})
    assert response.status_code == 302
    return client


def test_a_post_without_csrf_token_is_refused_when_csrf_is_enabled(csrf_client, make_user):
    victim = make_user(Role.RESEARCHER)
    data = {"code": "CSRF-FED", "name": "Forged", "country": "FR"}
    refused = csrf_client.post("/admin/federations/new", data=data)
    assert refused.status_code == 400 and "CSRF token" in refused.get_data(as_text=True)
    assert csrf_client.post(f"/admin/users/{victim.id}/deactivate").status_code == 400
    assert csrf_client.post(f"/admin/users/{victim.id}/deactivate", data={"csrf_token": "forged"}).status_code == 400
    assert (count(Federation), victim.active, count(AuditEntry)) == (0, True, 0)

    # The same requests with the page's token go through: the refusal was about the token.
    users_page = csrf_client.get("/admin/users").get_data(as_text=True)
    assert f'action="/admin/users/{victim.id}/deactivate"' in users_page
    token = csrf_token_of(users_page)
    assert csrf_client.post(f"/admin/users/{victim.id}/deactivate", data={"csrf_token": token}).status_code == 302
    token = csrf_token_of(csrf_client.get("/admin/federations/new").get_data(as_text=True))
    assert csrf_client.post("/admin/federations/new", data={**data, "csrf_token": token}).status_code == 302
    assert (count(Federation), victim.active) == (1, False)


def test_html_in_a_federation_name_is_shown_escaped(client, login):
    login(Role.ADMIN)
    response = post_and_follow(client, "/admin/federations/new",
                               data={"code": "XSS", "name": XSS_NAME, "country": "FR"})
    assert response.status_code == 200
    fed = db.session.scalar(select(Federation).where(Federation.code == "XSS"))
    assert fed.name == XSS_NAME  # stored as typed, escaped only on output
    escaped = "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; Co"
    for url in ("/admin/federations", "/admin/", f"/admin/federations/{fed.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html, url
        assert escaped in html, url


def test_an_admin_resetting_their_own_password_stays_logged_in(client, login):
    admin = login(Role.ADMIN)
    response = client.post(f"/admin/users/{admin.id}/password", data={"password": NEW_PASSWORD,
                                                                      "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 200
    assert admin.check_password(NEW_PASSWORD)


def test_unknown_ids_are_404(client, login):
    login(Role.ADMIN)
    for url in ("/admin/users/999", "/admin/federations/999", "/admin/users/999/password"):
        assert client.get(url).status_code == 404, url
    assert client.post("/admin/users/999/deactivate").status_code == 404
