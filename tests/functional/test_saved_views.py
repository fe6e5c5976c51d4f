"""Saved views of the case list: a user saves the current filters under a name, opens them from
the list, deletes them; names are checked with clear messages; views are private to their user;
a stored query is checked again when opened (it is user input)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Role, SavedView
from tracker.services.casework import saved_views


def save(client, name: str, query: str = "status=open&country=FR&sort=name&dir=desc", **kwargs):
    return client.post("/cases/views", data={"name": name, "query": query}, **kwargs)


def views_of(user) -> list[SavedView]:
    return list(db.session.scalars(select(SavedView).where(SavedView.user_id == user.id).order_by(SavedView.id)))


def test_a_saved_view_is_listed_on_the_list_page_and_opens_the_same_filters(client, login):
    user = login(Role.STAFF)
    response = save(client, "  Open cases in France  ")
    assert response.status_code == 303
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {
        "country": ["FR"], "status": ["open"], "sort": ["name"], "dir": ["desc"]}
    (view,) = views_of(user)
    assert view.name == "Open cases in France"
    page = client.get("/cases/").get_data(as_text=True)
    assert f'href="/cases/views/{view.id}"' in page and "Open cases in France" in page
    opened = client.get(f"/cases/views/{view.id}")
    assert opened.status_code == 302
    assert parse_qs(urlsplit(opened.headers["Location"]).query) == {
        "country": ["FR"], "status": ["open"], "sort": ["name"], "dir": ["desc"]}


def test_the_list_page_offers_to_save_exactly_the_filters_it_applied(client, login):
    login(Role.ADMIN)
    page = client.get("/cases/?status=closed&year_from=2010&year_to=abc&bogus=1&sort=ref").get_data(as_text=True)
    hidden = page.split('id="query"', 1)[0].rsplit("<input", 1)[1] + page.split('id="query"', 1)[1].split(">", 1)[0]
    assert "status=closed" in hidden and "year_from=2010" in hidden
    assert "year_to" not in hidden and "bogus" not in hidden  # refused filters are not saved


@pytest.mark.parametrize(("name", "message"), [
    ("", "Give the view a name."),
    ("   ", "Give the view a name."),
    ("x" * 81, "at most 80 characters"),
    ("tab\there", "control characters"),
])
def test_bad_names_are_refused_with_a_clear_message(client, login, name, message):
    user = login(Role.STAFF)
    response = save(client, name, follow_redirects=True)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert views_of(user) == []


def test_a_name_is_unique_per_user_ignoring_case_but_two_users_may_share_it(client, login):
    first = login(Role.STAFF)
    save(client, "Mine")
    assert "already have a view named" in save(client, "MINE", follow_redirects=True).get_data(as_text=True)
    assert len(views_of(first)) == 1
    second = login(Role.STAFF)
    save(client, "Mine")
    assert len(views_of(second)) == 1


def test_at_most_fifty_views_per_user(client, login):
    user = login(Role.STAFF)
    for n in range(saved_views.MAX_VIEWS):
        db.session.add(SavedView(user_id=user.id, name=f"view {n}", query="status=open"))
    db.session.commit()
    response = save(client, "one too many", follow_redirects=True)
    assert "the most one may keep" in response.get_data(as_text=True)
    assert len(views_of(user)) == saved_views.MAX_VIEWS


def test_views_are_private_to_their_user(client, login):
    owner = login(Role.STAFF)
    save(client, "Owner's secret view")
    (view,) = views_of(owner)
    login(Role.ADMIN)  # not even an admin sees, opens or deletes another user's view
    assert "Owner's secret view" not in client.get("/cases/").get_data(as_text=True)
    assert client.get(f"/cases/views/{view.id}").status_code == 404
    assert client.post(f"/cases/views/{view.id}/delete").status_code == 404
    assert client.get("/cases/views/99999999999").status_code == 404
    assert views_of(owner) != []


def test_deleting_a_view(client, login):
    user = login(Role.RESEARCHER)
    save(client, "To delete")
    (view,) = views_of(user)
    response = client.post(f"/cases/views/{view.id}/delete", follow_redirects=True)
    assert "View “To delete” deleted." in response.get_data(as_text=True)
    assert views_of(user) == []


def test_a_tampered_stored_query_is_checked_again_when_opened(client, login):
    user = login(Role.STAFF)
    db.session.add(SavedView(user_id=user.id, name="tampered",
                             query="status=open&evil=%3Cscript%3E&sort=__class__&q=" + "x" * 500 + "&page=9"))
    db.session.commit()
    (view,) = views_of(user)
    opened = client.get(f"/cases/views/{view.id}")
    args = parse_qs(urlsplit(opened.headers["Location"]).query)
    assert args == {"status": ["open"], "sort": ["__class__"]}  # unknown names and overlong values dropped
    page = client.get(opened.headers["Location"])
    assert page.status_code == 200  # the list's form reports the bad sort, it never reaches the query
    assert "Some filters could not be understood" in page.get_data(as_text=True)


def test_saving_needs_a_login_and_a_csrf_token(client, app, login):
    assert save(client, "anon").status_code == 302
    login(Role.STAFF)
    app.config["WTF_CSRF_ENABLED"] = True
    assert save(client, "no token").status_code == 400
