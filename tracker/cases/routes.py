"""Views of the cases blueprint: list, create, edit, case page, follow-ups, soft deletion.

Thin views: a form parses the input, tracker.services.cases applies the rules, the view commits
once and redirects (PRG). Permissions come from tracker.services.permissions only.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import load_only, selectinload
from werkzeug.wrappers import Response

from tracker.cases import bp
from tracker.cases.forms import (
    EXIT_REASON_LABELS,
    TRANSFER_TYPE_LABELS,
    CreateCaseForm,
    DeleteCaseForm,
    EditCaseForm,
    FilterCasesForm,
    RecordFollowUpForm,
    RestoreCaseForm,
    WithdrawExitForm,
)
from tracker.extensions import db
from tracker.models import OPERATING, AuditEntry, Case, ExitReason, Federation, Role, StatusCheck, User
from tracker.services import cases as case_service
from tracker.services.case_list import LIST_COLUMNS, SORT_LABELS, build_case_query
from tracker.services.errors import DomainError, EditConflict, InvalidCase
from tracker.services.permissions import can, require, require_role, visible_federation_ids
from tracker.services.reference import countries, nace_choices, nace_codes

Form = Any  # a FlaskForm subclass instance


def _user() -> User:
    return current_user._get_current_object()


def _load_case(case_id: int, action: str) -> Case:
    """The case, if the user may `action` it: 404 for another federation's or a deleted case."""
    case = db.get_or_404(Case, case_id)
    require(_user(), action, case)
    return case


def _refuse_if_deleted(case: Case) -> None:
    if case.is_deleted:
        abort(409, description=f"Case {case.ref} is deleted; restore it before changing it.")


def _show_errors(form: Form, exc: DomainError) -> None:
    """Put each message of a domain error next to the field it names (form-level otherwise)."""
    errors = exc.errors if isinstance(exc, InvalidCase) else {exc.field or "": [exc.message]}
    for name, messages in errors.items():
        field = form._fields.get(name) if name else None
        if field is not None and name not in ("csrf_token", "version"):
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(f"{name}: {m}" if name else m for m in messages)


def _federations(active_only: bool = False) -> list[tuple[int, str]]:
    stmt = select(Federation.id, Federation.code, Federation.name).order_by(Federation.code)
    if active_only:
        stmt = stmt.where(Federation.active.is_(True))
    return [(row.id, f"{row.code} — {row.name}") for row in db.session.execute(stmt)]


def _federation_codes() -> dict[int, str]:
    return {row.id: row.code for row in db.session.execute(select(Federation.id, Federation.code))}


# --- list -------------------------------------------------------------------------------------

@bp.route("/")
@login_required
def index() -> str:
    user = _user()
    require(user, "case.list")
    several = visible_federation_ids(user) is None
    codes = _federation_codes() if several else {}
    form = FilterCasesForm(formdata=request.args, federations=sorted(codes.items(), key=lambda kv: kv[1])
                           if several else None, allow_deleted=can(user, "case.view_deleted"))
    form.validate()  # invalid filters are reported next to their field and left out of the query
    filters = form.filters()
    stmt = build_case_query(user, filters).options(load_only(*LIST_COLUMNS))
    page = max(request.args.get("page", 1, type=int), 1)
    pagination = db.paginate(stmt, page=page, per_page=current_app.config["CASES_PER_PAGE"], error_out=False)
    return render_template(
        "cases/index.html", form=form, filters=filters, pagination=pagination, cases=pagination.items,
        list_args=form.query_args(), sort_labels=SORT_LABELS, federation_codes=codes,
        transfer_type_labels=TRANSFER_TYPE_LABELS, exit_reason_labels=EXIT_REASON_LABELS)


# --- create and edit --------------------------------------------------------------------------

def _render_case_form(form: Form, case: Case | None = None, conflict: str | None = None,
                      status: int = 200) -> tuple[str, int]:
    current: list[tuple[str, Any, Any]] = []
    if conflict and case is not None:
        # What the other person saved, next to what this user typed, so they can redo their change.
        saved = case_service.case_values(case)
        typed = form.case_values()
        current = [(form[name].label.text, saved[name], typed[name]) for name in saved
                   if (saved[name] or None) != (typed[name] or None)]
    return render_template("cases/form.html", form=form, case=case, conflict=conflict, current=current,
                           nace_options=nace_choices()), status


@bp.route("/new", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.STAFF)
def new() -> Any:
    user = _user()
    chooses_federation = visible_federation_ids(user) is None
    form = CreateCaseForm(federations=_federations(active_only=True) if chooses_federation else None,
                          show_contact=can(user, "case.view_contact"))
    if not form.validate_on_submit():
        return _render_case_form(form)
    # Staff have no federation field: a posted federation id is never read for them.
    federation = db.session.get(Federation, form.federation_id()) if chooses_federation else user.federation
    if federation is None:
        abort(403)
    require(user, "case.create", federation)
    try:
        case = case_service.create_case(user, federation, form.case_values(), extra=form.extra_values())
    except DomainError as exc:
        db.session.rollback()
        _show_errors(form, exc)
        return _render_case_form(form)
    db.session.commit()
    flash(f"Case {case.ref} created.", "success")
    return redirect(url_for("cases.detail", case_id=case.id))


@bp.route("/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit(case_id: int) -> Any:
    user = _user()
    case = _load_case(case_id, "case.edit")
    _refuse_if_deleted(case)
    show_contact = can(user, "case.view_contact", case)
    if request.method == "GET":
        form = EditCaseForm(formdata=None, obj=case, show_contact=show_contact)
        return _render_case_form(form, case)
    # Never fill a POST from the stored case: a missing version must not pass as the current one.
    form = EditCaseForm(show_contact=show_contact)
    if not form.validate_on_submit():
        return _render_case_form(form, case)
    version = case.version
    try:
        case_service.update_case(user, case, form.case_values(), expected_version=form.version.data,
                                 extra=form.extra_values())
    except EditConflict as exc:
        db.session.rollback()
        return _render_case_form(form, case, conflict=exc.message, status=409)
    except DomainError as exc:
        db.session.rollback()
        _show_errors(form, exc)
        return _render_case_form(form, case)
    db.session.commit()
    flash(f"Case {case.ref} saved." if case.version != version else "Nothing changed.", "success")
    return redirect(url_for("cases.detail", case_id=case.id))


# --- case page and follow-ups -----------------------------------------------------------------

OUTCOME_LABELS: dict[str, str] = {OPERATING: "Operating",
                                  "exit_withdrawn": "Exit withdrawn (correction)",
                                  **{r.value: f"Exited: {EXIT_REASON_LABELS[r]}" for r in ExitReason}}


def _detail_context(case: Case, follow_up_form: Form | None = None, withdraw_form: Form | None = None,
                    conflict: str | None = None) -> dict[str, Any]:
    user = _user()
    checks = db.session.scalars(
        select(StatusCheck).where(StatusCheck.case_id == case.id)
        .options(selectinload(StatusCheck.recorded_by))
        .order_by(StatusCheck.checked_on.desc(), StatusCheck.id.desc())).all()
    history: list[AuditEntry] = []
    if can(user, "case.view_history", case):
        history = list(db.session.scalars(
            select(AuditEntry).where(AuditEntry.table_name == Case.__tablename__, AuditEntry.row_id == case.id)
            .options(selectinload(AuditEntry.user)).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())))
    may_follow_up = can(user, "case.follow_up", case) and not case.is_deleted
    if may_follow_up:
        follow_up_form = follow_up_form or RecordFollowUpForm(formdata=None, prefix="followup",
                                                              version=case.version)
        if case.exit_date is not None:
            withdraw_form = withdraw_form or WithdrawExitForm(formdata=None, prefix="withdraw",
                                                              version=case.version)
    codes = nace_codes()
    return {
        "case": case, "checks": checks, "withdrawn_ids": {c.corrects_id for c in checks if c.corrects_id},
        "history": history, "show_history": can(user, "case.view_history", case),
        "show_contact": can(user, "case.view_contact", case),
        "country_name": countries().get(case.country, case.country),
        "nace": codes.get(case.nace or ""), "nace_section": codes.get(case.nace_section or ""),
        "follow_up_form": follow_up_form if may_follow_up else None,
        "withdraw_form": withdraw_form if may_follow_up and case.exit_date is not None else None,
        "conflict": conflict, "outcome_labels": OUTCOME_LABELS,
        "transfer_type_labels": TRANSFER_TYPE_LABELS, "exit_reason_labels": EXIT_REASON_LABELS,
    }


@bp.route("/<int:case_id>")
@login_required
def detail(case_id: int) -> str:
    case = _load_case(case_id, "case.view")
    return render_template("cases/detail.html", **_detail_context(case))


@bp.route("/<int:case_id>/follow-up", methods=["POST"])
@login_required
def follow_up(case_id: int) -> Any:
    case = _load_case(case_id, "case.follow_up")
    _refuse_if_deleted(case)
    form = RecordFollowUpForm(prefix="followup")
    if form.validate_on_submit():
        check = case_service.FollowUp(checked_on=form.checked_on.data, outcome=form.outcome.data,
                                      source=form.source.data, note=form.note.data)
        try:
            case_service.record_follow_up(_user(), case, check, expected_version=form.version.data)
        except EditConflict as exc:
            db.session.rollback()
            return render_template("cases/detail.html", **_detail_context(case, form, conflict=exc.message)), 409
        except DomainError as exc:
            db.session.rollback()
            _show_errors(form, exc)
        else:
            db.session.commit()
            flash("Follow-up recorded.", "success")
            return redirect(url_for("cases.detail", case_id=case.id))
    return render_template("cases/detail.html", **_detail_context(case, follow_up_form=form))


@bp.route("/<int:case_id>/withdraw-exit", methods=["POST"])
@login_required
def withdraw_exit(case_id: int) -> Any:
    case = _load_case(case_id, "case.follow_up")
    _refuse_if_deleted(case)
    form = WithdrawExitForm(prefix="withdraw")
    if form.validate_on_submit():
        try:
            case_service.withdraw_exit(_user(), case, form.note.data, expected_version=form.version.data)
        except EditConflict as exc:
            db.session.rollback()
            return render_template("cases/detail.html",
                                   **_detail_context(case, withdraw_form=form, conflict=exc.message)), 409
        except DomainError as exc:
            db.session.rollback()
            if exc.field not in form._fields:  # about the case (no exit to withdraw), not about the input
                flash(exc.message, "warning")
                return redirect(url_for("cases.detail", case_id=case.id))
            _show_errors(form, exc)
        else:
            db.session.commit()
            flash("Exit withdrawn; the case is open again.", "success")
            return redirect(url_for("cases.detail", case_id=case.id))
    return render_template("cases/detail.html", **_detail_context(case, withdraw_form=form))


# --- soft deletion (admins) -------------------------------------------------------------------

@bp.route("/<int:case_id>/delete", methods=["POST"])
@login_required
def delete(case_id: int) -> Response:
    case = _load_case(case_id, "case.delete")
    if not DeleteCaseForm().validate_on_submit():
        abort(400)
    try:
        case_service.delete_case(_user(), case)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
        return redirect(url_for("cases.detail", case_id=case_id))
    db.session.commit()
    flash(f"Case {case.ref} deleted. Tick “Show deleted cases” to find and restore it.", "success")
    return redirect(url_for("cases.index"))


@bp.route("/<int:case_id>/restore", methods=["POST"])
@login_required
def restore(case_id: int) -> Response:
    case = _load_case(case_id, "case.restore")
    if not RestoreCaseForm().validate_on_submit():
        abort(400)
    try:
        case_service.restore_case(_user(), case)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
    else:
        db.session.commit()
        flash(f"Case {case.ref} restored.", "success")
    return redirect(url_for("cases.detail", case_id=case_id))
