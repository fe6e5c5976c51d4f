"""Saved views of the case list: a user keeps the list's current filter selection under a name.

A view belongs to one user and is never shown, opened or deleted by anyone else (another user's
view id is "no such view"). Names: 1 to `NAME_MAX` characters once trimmed, no control
characters, unique per user ignoring case; at most `MAX_VIEWS` per user. The stored query string
is user input: only the list's own parameter names are kept (first value of each, each value at
most `VALUE_MAX` characters) when saving, and again when a view is opened; the list's form then
validates the values as it does any URL (a filter it cannot read is reported, not applied).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

from flask_babel import gettext as _
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import SavedView, User
from tracker.services.casework.case_list import LIST_PARAMETERS
from tracker.services.errors import DomainError, NotFound

NAME_MAX = 80
MAX_VIEWS = 50
VALUE_MAX = 200
QUERY_MAX = 2000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_query(query: str) -> dict[str, str]:
    """The list parameters of a query string (see the module docstring), in the list's order."""
    found: dict[str, str] = {}
    for name, value in parse_qsl((query or "")[:QUERY_MAX * 2], keep_blank_values=False):
        if name in LIST_PARAMETERS and name not in found and len(value) <= VALUE_MAX and not _CONTROL.search(value):
            found[name] = value
    return {name: found[name] for name in LIST_PARAMETERS if name in found}


def views_of(user: User) -> list[SavedView]:
    """The user's saved views, by name."""
    return list(db.session.scalars(select(SavedView).where(SavedView.user_id == user.id)
                                   .order_by(func.lower(SavedView.name), SavedView.id)))


def save_view(user: User, name: str | None, query: str) -> SavedView:
    """Save the list parameters of `query` under `name` for `user`. DomainError (field "name")
    for a blank, too long or already used name, or when the user has MAX_VIEWS views."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the view a name."), field="name")
    if len(name) > NAME_MAX:
        raise DomainError(_("A view's name has at most %(max)d characters.", max=NAME_MAX), field="name")
    if _CONTROL.search(name):
        raise DomainError(_("The name contains control characters."), field="name")
    existing = views_of(user)
    if any(view.name.casefold() == name.casefold() for view in existing):
        raise DomainError(_("You already have a view named “%(name)s”; choose another name or delete that view "
                            "first.", name=name), field="name")
    if len(existing) >= MAX_VIEWS:
        raise DomainError(_("You have %(max)d saved views, the most one may keep; delete one first.",
                            max=MAX_VIEWS), field="name")
    encoded = urlencode(clean_query(query))
    if len(encoded) > QUERY_MAX:
        raise DomainError(_("These filters are too long to save."), field="name")
    view = SavedView(user_id=user.id, name=name, query=encoded)
    db.session.add(view)
    db.session.flush()
    return view


def _own(user: User, view_id: int) -> SavedView:
    view = db.session.get(SavedView, view_id)
    if view is None or view.user_id != user.id:
        raise NotFound(_("No such saved view."))
    return view


def view_arguments(user: User, view_id: int) -> dict[str, str]:
    """The list parameters of one of the user's views, checked again (NotFound for another's)."""
    return clean_query(_own(user, view_id).query)


def delete_view(user: User, view_id: int) -> str:
    """Delete one of the user's views; returns its name (NotFound for another user's)."""
    view = _own(user, view_id)
    name = view.name
    db.session.delete(view)
    db.session.flush()
    return name


__all__ = ["MAX_VIEWS", "NAME_MAX", "clean_query", "delete_view", "save_view", "view_arguments", "views_of"]
