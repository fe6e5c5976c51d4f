"""Views of the admin blueprint: federations, users and the audit trail, for admins only.

Every view is thin: form → service → one commit → flash + redirect. A DomainError from a service
is shown next to the field it names (or flashed when it names none) and nothing is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from tracker import vocabulary
from tracker.admin import bp
from tracker.admin.forms import (
    ChangeStatusForm,
    CreateFederationForm,
    CreateUserForm,
    EditFederationForm,
    EditUserForm,
    ResetPasswordForm,
)
from tracker.extensions import db
from tracker.i18n import LANGUAGES, format_date, format_datetime
from tracker.models import Federation, Role, User
from tracker.services.accounts import federations as federation_service
from tracker.services.accounts import users as user_service
from tracker.services.casework import audit as audit_service
from tracker.services.errors import DomainError
from tracker.services.permissions import require_role
from tracker.services.reference import country_choices, country_name
from tracker.web import current_actor

RECENT_AUDIT_ENTRIES = 25
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # a stored date (audit values are JSON: dates as ISO text)
# Audit rows that have an admin page, to link an entry to the row it describes.
AUDIT_LINKS = {"federations": ("admin.edit_federation", "federation_id"), "users": ("admin.edit_user", "user_id")}
# What the audited actions and tables read as; an unknown code is shown as it is stored.
AUDIT_ACTIONS = vocabulary.Labels({
    "create": _l("creation"),
    "update": _l("change"),
    "delete": _l("deletion"),
    "restore": _l("restoration"),
    "follow_up": _l("follow-up"),
    "exit_withdrawn": _l("withdrawal of an exit"),
    "password_change": _l("password change"),
    "revoke": _l("revocation"),
    "confirm_distinct": _l("confirmation as distinct"),
})
AUDIT_TABLES = vocabulary.Labels({
    "cases": _l("Case"),
    "users": _l("User"),
    "federations": _l("Federation"),
    "api_tokens": _l("API token"),
    "status_checks": _l("Status check"),
    "distinct_case_pairs": _l("Pair of distinct cases"),
    "baselines": _l("Baseline series"),
    "report_editions": _l("Report edition"),
    "database": _l("Database"),
})


# --- helpers -----------------------------------------------------------------------------------

_actor = current_actor


def _show_error(form: FlaskForm, exc: DomainError) -> None:
    """Put a service's message next to the field it names; flash it when no field fits."""
    db.session.rollback()  # a refused change leaves nothing behind in the session
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors") and field.name != "submit":
        field.errors = [*field.errors, exc.message]
    else:
        flash(exc.message, "danger")


def _federation_choices(current: Federation | None = None) -> list[tuple[int, str]]:
    """Active federations, plus the user's current one (even if inactive) so an edit keeps it."""
    return [(fed.id, f"{fed.code} · {fed.name}") for fed in federation_service.list_federations()
            if fed.active or (current is not None and fed.id == current.id)]


def _federation_or_none(federation_id: int | None) -> Federation | None:
    return db.get_or_404(Federation, federation_id) if federation_id is not None else None


def utc(value: datetime | None) -> str:
    """A stored timestamp in UTC, written as the language writes dates (SQLite returns naive UTC,
    PostgreSQL aware)."""
    if value is not None and value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return format_datetime(value)


@bp.context_processor
def admin_helpers() -> dict[str, Any]:
    return {"utc": utc}


# --- overview and audit trail ------------------------------------------------------------------

@dataclass(frozen=True)
class AuditLine:
    """An audit entry made readable: who, when, what, and `field: before → after` changes."""

    at: str
    who: str
    action: str
    table: str
    row_id: int
    link: str | None
    changes: list[tuple[str, str, str]]


def _readable(value: Any, field: str, federation_codes: dict[int, str]) -> str:
    if value is None or value == "":
        return "—"
    if field == "federation_id" and value in federation_codes:
        return federation_codes[value]
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if field == "role":
        return vocabulary.label(vocabulary.ROLES, value)
    if field == "language" and value in LANGUAGES:
        return LANGUAGES[value]
    if field == "country":
        return country_name(value)
    if field == "transfer_type":
        return vocabulary.label(vocabulary.TRANSFER_TYPES, value)
    if field == "exit_reason":
        return vocabulary.label(vocabulary.EXIT_REASONS, value)
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return format_date(value)
    return str(value)


def _audit_link(table: str, row_id: int) -> str | None:
    """The edit page of an audited row, for the tables that have one."""
    if table not in AUDIT_LINKS:
        return None
    endpoint, argument = AUDIT_LINKS[table]
    values: dict[str, Any] = {argument: row_id}
    return url_for(endpoint, **values)


def _audit_lines(limit: int) -> list[AuditLine]:
    entries = audit_service.recent_entries(limit)
    codes = {fed.id: fed.code for fed in federation_service.list_federations()}
    lines = []
    for entry in entries:
        lines.append(AuditLine(
            at=utc(entry.at),
            who=entry.user.email if entry.user else _("system (command line)"),
            action=AUDIT_ACTIONS.get(entry.action, entry.action),
            table=AUDIT_TABLES.get(entry.table_name, entry.table_name),
            row_id=entry.row_id,
            link=_audit_link(entry.table_name, entry.row_id),
            changes=[("federation" if name == "federation_id" else name, _readable(before, name, codes),
                      _readable(after, name, codes))
                     for name, (before, after) in sorted((entry.changes or {}).items())],
        ))
    return lines


@bp.route("/")
@require_role(Role.ADMIN)
def index() -> str:
    summaries = federation_service.list_federations_with_counts()
    counts = {
        "federations": len(summaries),
        "active_federations": sum(1 for s in summaries if s.federation.active),
        "cases": sum(s.cases for s in summaries),  # every case belongs to exactly one federation
        **{f"{key}_users": value for key, value in user_service.count_users().items()},
    }
    return render_template("admin/index.html", counts=counts, audit=_audit_lines(RECENT_AUDIT_ENTRIES))


# --- federations -------------------------------------------------------------------------------

@bp.route("/federations")
@require_role(Role.ADMIN)
def federations() -> str:
    return render_template("admin/federations.html", summaries=federation_service.list_federations_with_counts())


@bp.route("/federations/new", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def create_federation() -> str | Response:
    form = CreateFederationForm(country_choices=country_choices())
    if form.validate_on_submit():
        try:
            fed = federation_service.create_federation(_actor(), code=form.code.data or "", name=form.name.data or "",
                                                       country=form.country.data)
        except DomainError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("Federation %(code)s created.", code=fed.code), "success")
            return redirect(url_for("admin.federations"))
    return render_template("admin/federation_form.html", form=form, federation=None)


@bp.route("/federations/<int:federation_id>", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def edit_federation(federation_id: int) -> str | Response:
    fed = db.get_or_404(Federation, federation_id)
    form = EditFederationForm(obj=fed, country_choices=country_choices())
    if form.validate_on_submit():
        try:
            federation_service.update_federation(_actor(), fed, name=form.name.data or "", country=form.country.data,
                                                 active=fed.active)
        except DomainError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("Federation %(code)s saved.", code=fed.code), "success")
            return redirect(url_for("admin.federations"))
    return render_template("admin/federation_form.html", form=form, federation=fed)


def _set_federation_active(federation_id: int, active: bool) -> Response:
    fed = db.get_or_404(Federation, federation_id)
    if not ChangeStatusForm().validate_on_submit():
        abort(400)
    try:
        federation_service.update_federation(_actor(), fed, name=fed.name, country=fed.country, active=active)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("Federation %(code)s reactivated.", code=fed.code) if active
              else _("Federation %(code)s deactivated.", code=fed.code), "success")
    return redirect(url_for("admin.federations"))


@bp.route("/federations/<int:federation_id>/deactivate", methods=["POST"])
@require_role(Role.ADMIN)
def deactivate_federation(federation_id: int) -> Response:
    return _set_federation_active(federation_id, False)


@bp.route("/federations/<int:federation_id>/reactivate", methods=["POST"])
@require_role(Role.ADMIN)
def reactivate_federation(federation_id: int) -> Response:
    return _set_federation_active(federation_id, True)


# --- users -------------------------------------------------------------------------------------

@bp.route("/users")
@require_role(Role.ADMIN)
def users() -> str:
    return render_template("admin/users.html", users=user_service.list_users())


@bp.route("/users/new", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def create_user() -> str | Response:
    form = CreateUserForm(federation_choices=_federation_choices())
    if form.validate_on_submit():
        try:
            user = user_service.create_user(_actor(), form.email.data or "", form.password.data or "", form.role.data,
                                            federation=_federation_or_none(form.federation.data),
                                            language=form.language.data or None, must_change_password=True)
        except DomainError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("User %(email)s created (%(role)s).", email=user.email,
                    role=vocabulary.label(vocabulary.ROLES, user.role.value)), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_new.html", form=form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def edit_user(user_id: int) -> str | Response:
    user = db.get_or_404(User, user_id)
    form = EditUserForm(data={"role": user.role.value, "federation": user.federation_id,
                              "language": user.language or ""},
                        federation_choices=_federation_choices(user.federation))
    if form.validate_on_submit():
        try:
            user_service.update_user(_actor(), user, role=form.role.data,
                                     federation=_federation_or_none(form.federation.data),
                                     language=form.language.data or None)
        except DomainError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("User %(email)s saved.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_edit.html", form=form, user=user)


def _set_user_active(user_id: int, active: bool) -> Response:
    user = db.get_or_404(User, user_id)
    if not ChangeStatusForm().validate_on_submit():
        abort(400)
    try:
        user_service.update_user(_actor(), user, active=active)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("User %(email)s reactivated.", email=user.email) if active
              else _("User %(email)s deactivated; their open sessions ended.", email=user.email), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@require_role(Role.ADMIN)
def deactivate_user(user_id: int) -> Response:
    return _set_user_active(user_id, False)


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@require_role(Role.ADMIN)
def reactivate_user(user_id: int) -> Response:
    return _set_user_active(user_id, True)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def reset_password(user_id: int) -> str | Response:
    user = db.get_or_404(User, user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user_service.change_password(_actor(), user, form.password.data or "")
        except DomainError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            if user.id == current_user.id:
                login_user(user)  # the new session nonce would otherwise log the admin out too
            flash(_("Password of %(email)s reset; their open sessions ended.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/reset_password.html", form=form, user=user)
