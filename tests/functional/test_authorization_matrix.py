"""Every route, requested by anonymous, staff of federation A, staff of federation B, a researcher
and an admin, on objects of A and of B. The test fails when a route is added without being listed
here, and when any cross-federation read or write gets through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from tracker.extensions import db
from tracker.models import Case, ReportEdition, ReportFile, ReportJob, Role

ROLES = ("anonymous", "staff_a", "staff_b", "researcher", "admin")
ALL = frozenset(ROLES) - {"anonymous"}
WRITERS = frozenset({"staff_a", "staff_b", "admin"})
ADMIN = frozenset({"admin"})
PUBLIC = frozenset(ROLES)


@dataclass(frozen=True)
class Route:
    path: str  # {case}, {fed}, {user}, {edition}, {job} are filled per object
    methods: tuple[str, ...]
    allowed: frozenset[str]
    owned: bool = False  # the object belongs to a federation: staff of the other one get 404
    data: dict | None = None
    ends_at_login: bool = False  # logging out sends everyone to the login page


ROUTES: dict[str, Route] = {
    "static": Route("/static/missing.css", ("GET",), PUBLIC),
    "bootstrap.static": Route("/bootstrap/static/css/bootstrap.min.css", ("GET",), PUBLIC),
    "auth.index": Route("/", ("GET",), ALL),  # anonymous visitors are sent to the login page
    "auth.login": Route("/login", ("GET", "POST"), PUBLIC),
    "auth.healthz": Route("/healthz", ("GET",), PUBLIC),
    "auth.logout": Route("/logout", ("POST",), PUBLIC, ends_at_login=True),
    "auth.change_password": Route("/account/password", ("GET", "POST"), ALL),
    "auth.api_tokens": Route("/account/tokens", ("GET", "POST"), ALL),
    "auth.profile": Route("/account/profile", ("GET", "POST"), ALL),
    "auth.switch_language": Route("/language", ("POST",), PUBLIC, data={"language": "fr", "next": "/healthz"}),
    "auth.revoke_api_token": Route("/account/tokens/999999/revoke", ("POST",), ALL),
    "api.survival": Route("/api/v1/survival", ("GET",), ALL),
    "api.competing": Route("/api/v1/survival/competing", ("GET",), ALL),
    "api.microdata": Route("/api/v1/microdata", ("GET",), ALL),
    "cases.index": Route("/cases/", ("GET",), ALL),
    "cases.new": Route("/cases/new", ("GET", "POST"), WRITERS),
    "cases.detail": Route("/cases/{case}", ("GET",), ALL, owned=True),
    "cases.edit": Route("/cases/{case}/edit", ("GET", "POST"), WRITERS, owned=True,
                        data={"name": "Hijacked", "version": "1"}),
    "cases.follow_up": Route("/cases/{case}/follow-up", ("POST",), WRITERS, owned=True,
                             data={"followup-outcome": "liquidation", "followup-checked_on": "2025-01-01",
                                   "followup-version": "1"}),
    "cases.withdraw_exit": Route("/cases/{case}/withdraw-exit", ("POST",), WRITERS, owned=True,
                                 data={"withdraw-note": "x", "withdraw-version": "1"}),
    "cases.confirmed_today": Route("/cases/{case}/confirmed-today", ("POST",), WRITERS, owned=True,
                                   data={"confirm-source": "phone call", "confirm-version": "1"}),
    "cases.start": Route("/cases/start", ("GET",), WRITERS),
    "cases.delete": Route("/cases/{case}/delete", ("POST",), ADMIN, owned=True),
    "cases.restore": Route("/cases/{case}/restore", ("POST",), ADMIN, owned=True),
    "cases.export": Route("/cases/export.csv", ("GET",), ALL),
    "cases.import_upload": Route("/cases/import", ("GET", "POST"), WRITERS),
    "cases.import_review": Route("/cases/import/not-a-token", ("GET", "POST"), WRITERS),
    "cases.import_problems": Route("/cases/import/not-a-token/problems.csv", ("GET",), WRITERS),
    "cases.import_rejected_rows": Route("/cases/import/not-a-token/rejected-rows.csv", ("GET",), WRITERS),
    "cases.import_template": Route("/cases/import/template.csv", ("GET",), WRITERS),
    "cases.import_help_page": Route("/cases/import/help", ("GET",), ALL),
    "cases.duplicates_page": Route("/cases/duplicates", ("GET",), WRITERS),
    "cases.confirm_distinct": Route("/cases/duplicates/confirm", ("POST",), WRITERS),
    "cases.compare": Route("/cases/duplicates/compare?a={case}&b=999999", ("GET",), ADMIN),
    "cases.merge_pair": Route("/cases/duplicates/merge", ("POST",), ADMIN),
    "cases.unmerge": Route("/cases/{case}/unmerge", ("POST",), ADMIN, owned=True),
    "cases.move": Route("/cases/{case}/move", ("GET", "POST"), ADMIN, owned=True),
    "cases.save_view": Route("/cases/views", ("POST",), ALL, data={"name": "mine", "query": "status=open"}),
    "cases.open_view": Route("/cases/views/999999", ("GET",), ALL),
    "cases.delete_view": Route("/cases/views/999999/delete", ("POST",), ALL),
    "cases.census_export": Route("/cases/follow-up/census.csv", ("GET",), WRITERS),
    "cases.census_completeness_export": Route("/cases/follow-up/census-completeness.csv", ("GET",), WRITERS),
    "cases.completeness_page": Route("/cases/follow-up", ("GET",), WRITERS),
    "cases.status_check_export": Route("/cases/follow-up/status-check.csv", ("GET",), WRITERS),
    "cases.status_upload": Route("/cases/follow-up/upload", ("GET", "POST"), WRITERS),
    "cases.status_review": Route("/cases/follow-up/upload/not-a-token", ("GET", "POST"), WRITERS),
    "cases.status_problems": Route("/cases/follow-up/upload/not-a-token/problems.csv", ("GET",), WRITERS),
    "cases.status_rejected_rows": Route("/cases/follow-up/upload/not-a-token/rejected-rows.csv", ("GET",), WRITERS),
    "research.index": Route("/research/", ("GET",), ALL),
    "research.figure": Route("/research/figure/km.svg", ("GET",), ALL),
    "research.steps_csv": Route("/research/steps.csv", ("GET",), ALL),
    "research.horizons": Route("/research/horizons.csv", ("GET",), ALL),
    "research.competing_csv": Route("/research/competing.csv", ("GET",), ALL),
    "research.cases": Route("/research/cases", ("GET",), ALL),
    "research.cases_download": Route("/research/cases.csv", ("GET",), ALL),
    "research.methods": Route("/research/methods", ("GET",), ALL),
    "research.further_table": Route("/research/table/hazard.csv", ("GET",), ALL),
    "reports.index": Route("/reports/", ("GET",), ALL),
    "reports.generate": Route("/reports/annual", ("POST",), ALL, data={"year": "not a year"}),
    "reports.download": Route("/reports/editions/{edition}/download", ("GET",), ALL, owned=True),
    "reports.job": Route("/reports/jobs/{job}", ("GET",), ALL, owned=True),
    "admin.index": Route("/admin/", ("GET",), ADMIN),
    "admin.federations": Route("/admin/federations", ("GET",), ADMIN),
    "admin.create_federation": Route("/admin/federations/new", ("GET", "POST"), ADMIN),
    "admin.edit_federation": Route("/admin/federations/{fed}", ("GET", "POST"), ADMIN),
    "admin.deactivate_federation": Route("/admin/federations/{fed}/deactivate", ("POST",), ADMIN),
    "admin.reactivate_federation": Route("/admin/federations/{fed}/reactivate", ("POST",), ADMIN),
    "admin.users": Route("/admin/users", ("GET",), ADMIN),
    "admin.create_user": Route("/admin/users/new", ("GET", "POST"), ADMIN),
    "admin.edit_user": Route("/admin/users/{user}", ("GET", "POST"), ADMIN),
    "admin.deactivate_user": Route("/admin/users/{user}/deactivate", ("POST",), ADMIN),
    "admin.reactivate_user": Route("/admin/users/{user}/reactivate", ("POST",), ADMIN),
    "admin.reset_password": Route("/admin/users/{user}/password", ("GET", "POST"), ADMIN),
}


def test_every_route_is_listed(app):
    listed = set(ROUTES)
    present = set(app.view_functions)
    assert present - listed == set(), f"routes missing from the authorization matrix: {present - listed}"
    assert listed - present == set(), f"listed routes that no longer exist: {listed - present}"


@pytest.fixture
def world(app, make_federation, make_user, make_case):
    fed_a, fed_b = make_federation(code="FED-A"), make_federation(code="FED-B")
    users = {"staff_a": make_user(Role.STAFF, federation=fed_a), "staff_b": make_user(Role.STAFF, federation=fed_b),
             "researcher": make_user(Role.RESEARCHER), "admin": make_user(Role.ADMIN)}
    cases = {}
    for key, fed in (("A", fed_a), ("B", fed_b)):
        cases[key] = make_case(fed, name=f"Secret coop of {fed.code}", contact_email=f"boss@{fed.code.lower()}.example",
                               transfer_date=date(2012, 3, 1), registered_on=date(2012, 3, 1),
                               last_verified_on=date(2025, 6, 1))
    editions = {}
    for key, fed in (("A", fed_a), ("B", fed_b)):
        edition = ReportEdition(year=2025, scope=fed.code, number=None, official=False, federation_id=fed.id,
                                as_of=date(2025, 12, 31), app_version="test", fingerprint="0" * 64, figures={},
                                changes=[], files=[ReportFile(format="csv", language="en",
                                                              filename=f"report-{fed.code}.zip",
                                                              media_type="application/zip", file_size=3,
                                                              file_sha256="0" * 64, content=b"zip")])
        db.session.add(edition)
        db.session.commit()
        editions[key] = edition.id
    jobs = {}
    for key, fed in (("A", fed_a), ("B", fed_b)):
        job = ReportJob(requested_by_id=users[f"staff_{key.lower()}"].id, federation_id=fed.id, year=2025,
                        format="csv", status="failed", error="test")
        db.session.add(job)
        db.session.commit()
        jobs[key] = job.id
    return {"feds": {"A": fed_a.id, "B": fed_b.id}, "users": users, "cases": {k: c.id for k, c in cases.items()},
            "versions": {k: c.version for k, c in cases.items()}, "editions": editions, "jobs": jobs}


def _expected(route: Route, role: str, owner: str | None, method: str) -> str:
    if role not in route.allowed:
        if role == "anonymous":
            return "login"
        if owner is not None and role.startswith("staff") and role != f"staff_{owner.lower()}":
            return "hidden"  # 403 or 404, never the object
        return "refused"
    if owner is not None and role.startswith("staff") and role != f"staff_{owner.lower()}":
        return "hidden"
    return "served"


def _check(response, expectation: str, where: str) -> None:
    status = response.status_code
    assert status < 500, f"{where}: {status}"
    if expectation == "login":
        assert status in (302, 401) or (status == 400 and "POST" in where), f"{where}: {status}"
        if status == 302:
            assert "/login" in response.headers["Location"], where
    elif expectation == "refused":
        assert status == 403, f"{where}: expected 403, got {status}"
    elif expectation == "hidden":
        assert status in (403, 404), f"{where}: expected 404/403, got {status}"
    else:
        assert status not in (401, 403) and not (status == 302 and "/login" in response.headers.get("Location", "")), \
            f"{where}: refused ({status})"


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_route_permissions(app, client, world, endpoint):
    route = ROUTES[endpoint]
    owners = ("A", "B") if route.owned else (None,)
    for role in ROLES:
        client.post("/logout")
        if role != "anonymous":
            user = world["users"][role]
            assert client.post("/login", data={"email": user.email, "password": "correct horse battery"}
                               ).status_code == 302
        for owner in owners:
            path = route.path.format(case=world["cases"][owner or "A"], fed=world["feds"]["B"],
                                     user=world["users"]["staff_b"].id, edition=world["editions"][owner or "A"],
                                     job=world["jobs"][owner or "A"])
            for method in route.methods:
                response = client.open(path, method=method, data=route.data or {})
                expectation = "login" if route.ends_at_login else _expected(route, role, owner, method)
                try:
                    _check(response, expectation, f"{role} {method} {path}")
                finally:
                    response.close()
    if endpoint.startswith("cases.") and route.owned:
        for key in ("A", "B"):
            case = db.session.get(Case, world["cases"][key])
            assert not case.name.startswith("Hijacked")


@pytest.mark.parametrize("role, other", [("staff_a", "B"), ("staff_b", "A")])
def test_staff_never_see_the_other_federations_data(client, world, role, other):
    user = world["users"][role]
    client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    secret = f"Secret coop of FED-{other}"
    other_id = world["feds"][other]
    for url in ("/cases/", f"/cases/?federation={other_id}", "/cases/?q=Secret", "/cases/export.csv",
                f"/cases/export.csv?federation={other_id}", "/cases/follow-up", "/cases/duplicates",
                "/cases/follow-up/status-check.csv", f"/cases/follow-up/census.csv?federation={other_id}",
                "/cases/follow-up/census-completeness.csv", "/research/cases?as_of=2025-12-31",
                f"/research/cases?federation=FED-{other}", "/reports/", "/api/v1/survival?group_by=federation",
                f"/research/?group_by=federation&federation=FED-{other}"):
        body = client.get(url).get_data(as_text=True)
        assert secret not in body and f"FED-{other}" not in body.replace(f"federation=FED-{other}", ""), url


def test_researchers_never_see_contact_fields(client, world):
    user = world["users"]["researcher"]
    client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    for key in ("A", "B"):
        body = client.get(f"/cases/{world['cases'][key]}").get_data(as_text=True)
        assert "boss@" not in body
    for url in ("/cases/export.csv", "/cases/", "/research/cases?as_of=2025-12-31"):
        assert "boss@" not in client.get(url).get_data(as_text=True)
