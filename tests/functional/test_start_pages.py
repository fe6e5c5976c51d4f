"""Start pages by role: staff see what is due with one-click row actions; the secretariat starts
on the follow-up of every federation; researchers on the explorer."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Case, Role, StatusCheck


def test_each_role_lands_on_its_start_page(client, login):
    for role, path in ((Role.STAFF, "/cases/start"), (Role.ADMIN, "/cases/follow-up"),
                       (Role.RESEARCHER, "/research/")):
        login(role)
        assert client.get("/").headers["Location"] == path, role


def test_staff_see_what_is_due_and_confirm_a_case_in_one_click(client, login, make_federation, make_case):
    fed = make_federation()
    stale = make_case(federation=fed, ref="OLD-1", last_verified_on=date.today() - timedelta(days=500))
    make_case(federation=fed, ref="FRESH-1", last_verified_on=date.today() - timedelta(days=10))
    make_case(federation=make_federation(), ref="OTHER-1", last_verified_on=date(2016, 1, 1))
    login(Role.STAFF, federation=fed)
    html = client.get("/cases/start").get_data(as_text=True)
    due = html[html.index('id="due"'):]
    assert "OLD-1" in due and "FRESH-1" not in due and "OTHER-1" not in due
    assert re.search(rf'href="/cases/{stale.id}#record-follow-up"', due)
    response = client.post(f"/cases/{stale.id}/confirmed-today",
                           data={"confirm-source": "business register", "confirm-version": stale.version})
    assert response.status_code == 302 and response.headers["Location"] == "/cases/start"
    case = db.session.get(Case, stale.id)
    assert case.last_verified_on == date.today()
    check = db.session.scalars(select(StatusCheck).where(StatusCheck.case_id == stale.id)).one()
    assert (check.outcome, check.source) == ("operating", "business register")
    assert "OLD-1" not in client.get("/cases/start").get_data(as_text=True).split('id="due"')[1]


def test_a_confirmation_without_source_or_on_a_stale_version_records_nothing(client, login, make_federation,
                                                                            make_case):
    fed = make_federation()
    case = make_case(federation=fed, ref="OLD-2", last_verified_on=date.today() - timedelta(days=500))
    login(Role.STAFF, federation=fed)
    for data in ({"confirm-source": "", "confirm-version": case.version},
                 {"confirm-source": "phone", "confirm-version": case.version + 7}):
        assert client.post(f"/cases/{case.id}/confirmed-today", data=data).status_code == 302
    assert db.session.scalars(select(StatusCheck)).all() == []


def test_staff_cannot_confirm_another_federations_case(client, login, make_federation, make_case):
    case = make_case(federation=make_federation(), last_verified_on=date(2016, 1, 1))
    login(Role.STAFF, federation=make_federation())
    response = client.post(f"/cases/{case.id}/confirmed-today", data={"confirm-source": "x",
                                                                        "confirm-version": case.version})
    assert response.status_code == 404
