"""Follow-up completeness in the browser: the page per federation (admins: all), the
annual status check download, and its upload back (check, then confirm)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from support_cases import csrf_token_from, errors_next_to
from support_import import problem_rows, read_csv, read_xlsx, text_of, token_of, upload, written

from tracker.extensions import db
from tracker.models import AuditEntry, Case, ExitReason, Role, StatusCheck
from tracker.services.spreadsheets.status_import import STATUS_COLUMNS

TODAY = date.today()
RECENT = TODAY - timedelta(days=30)
OLD = TODAY - timedelta(days=400)


@pytest.fixture(autouse=True)
def staging_dir(app, tmp_path):
    app.config["IMPORT_STAGING_DIR"] = str(tmp_path / "staging")


@pytest.fixture
def feds(make_federation, make_case):
    fr = make_federation(code="FR-C", country="FR")
    es = make_federation(code="ES-C", country="ES")
    make_case(federation=fr, ref="FR-OLD", name="Vieille", last_verified_on=OLD)
    make_case(federation=fr, ref="FR-NEVER", name="Jamais", last_verified_on=None)
    make_case(federation=fr, ref="FR-OK", last_verified_on=RECENT)
    make_case(federation=fr, ref="FR-OK2", last_verified_on=RECENT)
    make_case(federation=fr, ref="FR-CLOSED", last_verified_on=None, exit_date=date(2020, 1, 1),
              exit_reason=ExitReason.SOLD)
    make_case(federation=es, ref="ES-OLD", country="ES", last_verified_on=OLD)
    return fr, es


def refs_listed(html: str) -> list[str]:
    table = re.search(r'id="stale-cases".*?</table>', html, re.S)
    return re.findall(r'<td[^>]*><a href="/cases/\d+">([^<]+)</a></td>', table.group(0)) if table else []


def test_staff_see_their_federation_only(client, login, feds):
    fr, _ = feds
    login(Role.STAFF, federation=fr)
    html = client.get("/cases/follow-up").get_data(as_text=True)
    table = text_of(html, "completeness")
    assert "FR-C" in table and "ES-C" not in table and "All federations" not in table
    assert "FR-C Federation" in table and "4 2 2 50.0%" in table
    assert refs_listed(html) == ["FR-NEVER", "FR-OLD"]
    assert "ES-OLD" not in html


def test_admins_see_every_federation_the_total_and_can_narrow_the_list(client, login, feds):
    _, es = feds
    login(Role.ADMIN)
    html = client.get("/cases/follow-up").get_data(as_text=True)
    table = text_of(html, "completeness")
    assert "ES-C" in table and "1 0 1 0.0%" in table and "All federations 5 2 3 40.0%" in table
    assert refs_listed(html) == ["FR-NEVER", "FR-OLD", "ES-OLD"]  # never verified, then oldest, by federation
    narrowed = client.get(f"/cases/follow-up?federation={es.id}").get_data(as_text=True)
    assert refs_listed(narrowed) == ["ES-OLD"]
    assert f"/cases/follow-up/status-check.xlsx?federation={es.id}" in narrowed


def test_researchers_have_no_follow_up_page(client, login, feds):
    login(Role.RESEARCHER)
    assert client.get("/cases/follow-up").status_code == 403
    assert client.get("/cases/follow-up/status-check.csv").status_code == 403
    assert client.get("/cases/follow-up/upload").status_code == 403


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_status_check_sheet_has_the_stale_cases_and_columns_to_fill(client, login, feds, fmt):
    fr, es = feds
    login(Role.STAFF, federation=fr)
    response = client.get(f"/cases/follow-up/status-check.{fmt}?federation={es.id}")  # their own, whatever
    assert response.status_code == 200
    assert f'filename="status-check-FR-C-{TODAY.isoformat()}.{fmt}"' in response.headers["Content-Disposition"]
    rows = read_csv(response.data) if fmt == "csv" else read_xlsx(response.data)
    assert list(rows[0]) == list(STATUS_COLUMNS)
    assert [r[1] for r in rows[1:]] == ["FR-NEVER", "FR-OLD"]
    if fmt == "xlsx":
        assert read_xlsx(response.data, sheet=1)[0] == ("column", "fill in?", "what it holds")


def fill(rows: list, **by_ref: dict) -> list:
    header = list(rows[0])
    out = [header]
    for row in rows[1:]:
        cells = ["" if v is None else v for v in row]
        for name, value in by_ref.get(cells[1], {}).items():
            cells[header.index(name)] = value
        out.append(cells)
    return out


def as_csv(rows: list) -> bytes:
    return ("\r\n".join(",".join(str(c) for c in row) for row in rows) + "\r\n").encode()


def test_the_filled_sheet_goes_back_checked_then_recorded(client, login, feds):
    fr, _ = feds
    staff = login(Role.STAFF, federation=fr)
    rows = read_csv(client.get("/cases/follow-up/status-check.csv").data)
    filled = fill(rows, **{"FR-OLD": {"operating_on": RECENT.isoformat(), "source": "registre"},
                           "FR-NEVER": {"exit_date": "2022-05-01", "exit_reason": "liquidation"}})
    before = written()
    token = token_of(upload(client, as_csv(filled), "status.csv", url="/cases/follow-up/upload"))
    assert written() == before
    html = client.get(f"/cases/follow-up/upload/{token}").get_data(as_text=True)
    assert "Confirming records 1 confirmation of operation and 1 exit" in text_of(html, "summary")
    response = client.post(f"/cases/follow-up/upload/{token}", data={})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Recorded 1 confirmation of operation and 1 exit from status.csv." in page
    cases = {c.ref: c for c in db.session.scalars(select(Case))}
    assert cases["FR-OLD"].last_verified_on == RECENT
    assert (cases["FR-NEVER"].exit_date, cases["FR-NEVER"].exit_reason) == (date(2022, 5, 1), ExitReason.LIQUIDATION)
    checks = db.session.scalars(select(StatusCheck)).all()
    assert {(c.outcome, c.recorded_by_id) for c in checks} == {("operating", staff.id), ("liquidation", staff.id)}
    assert db.session.scalars(select(AuditEntry.action)).all() == ["follow_up", "follow_up"]
    assert client.post(f"/cases/follow-up/upload/{token}", data={}).status_code == 409  # not twice
    assert refs_listed(client.get("/cases/follow-up").get_data(as_text=True)) == []


def test_problems_are_listed_and_nothing_is_recorded(client, login, feds):
    fr, _ = feds
    login(Role.STAFF, federation=fr)
    rows = read_csv(client.get("/cases/follow-up/status-check.csv").data)
    filled = fill(rows, **{"FR-OLD": {"operating_on": "yesterday"},
                           "FR-NEVER": {"operating_on": RECENT.isoformat()}})
    filled.append(["ES-C", "ES-OLD", "", "", "", "", "", RECENT.isoformat(), "", "", "", ""])
    token = token_of(upload(client, as_csv(filled), "status.csv", url="/cases/follow-up/upload"))
    html = client.get(f"/cases/follow-up/upload/{token}").get_data(as_text=True)
    assert problem_rows(html) == [
        ("3", "operating_on", "'yesterday' is not a date in the form YYYY-MM-DD"),
        ("4", "federation", "ES-C is not your federation: you may only record follow-ups for your federation's cases")]
    assert client.post(f"/cases/follow-up/upload/{token}", data={}).status_code == 409
    assert written()[1] == 0
    download = client.get(f"/cases/follow-up/upload/{token}/problems.csv")
    # each problem says which case it is about and the value at fault, as written
    assert read_csv(download.data)[1] == ["3", "FR-OLD", "Vieille", "operating_on", "yesterday",
                                          "'yesterday' is not a date in the form YYYY-MM-DD"]


def test_a_file_that_is_not_a_spreadsheet_is_refused_next_to_the_file_field(client, login, feds):
    fr, _ = feds
    login(Role.STAFF, federation=fr)
    response = upload(client, b"\x00\x01\x02\xff", "status.csv", url="/cases/follow-up/upload")
    assert "is not UTF-8, Windows-1252 or Latin-1 text" in errors_next_to(response.get_data(as_text=True), "file")[0]


def test_a_status_upload_belongs_to_its_user_and_kind(client, login, feds, make_user):
    fr, _ = feds
    login(Role.STAFF, federation=fr)
    rows = read_csv(client.get("/cases/follow-up/status-check.csv").data)
    token = token_of(upload(client, as_csv(fill(rows, **{"FR-OLD": {"operating_on": RECENT.isoformat()}})),
                            "status.csv", url="/cases/follow-up/upload"))
    assert client.get(f"/cases/import/{token}").status_code == 404  # not a case import
    login(user=make_user(Role.STAFF, federation=fr))
    assert client.post(f"/cases/follow-up/upload/{token}", data={}).status_code == 404
    assert written()[1] == 0


def test_the_status_upload_needs_the_csrf_token_and_has_the_size_limit(app, client, login, feds):
    fr, _ = feds
    login(Role.STAFF, federation=fr)
    app.config["WTF_CSRF_ENABLED"] = True
    assert upload(client, b"federation,ref\r\n", "s.csv", url="/cases/follow-up/upload").status_code == 400
    app.config["MAX_CONTENT_LENGTH"] = 100 * 1024
    token = csrf_token_from(client.get("/cases/follow-up/upload").get_data(as_text=True))
    response = upload(client, b"x" * (200 * 1024), "s.csv", url="/cases/follow-up/upload", csrf_token=token)
    assert response.status_code == 413
    assert "larger than the upload limit of 100 KB" in errors_next_to(response.get_data(as_text=True), "file")[0]


@pytest.mark.parametrize("query", ["federation=abc", "federation=999999", "page=-3", "page=abc",
                                   "federation=1&page=99"])
def test_odd_query_strings_never_break_the_page(client, login, feds, query):
    login(Role.ADMIN)
    assert client.get(f"/cases/follow-up?{query}").status_code == 200
    assert client.get(f"/cases/follow-up/status-check.csv?{query}").status_code == 200
    assert client.get(f"/cases/duplicates?scope=zzz&{query}").status_code == 200
