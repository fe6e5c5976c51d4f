"""The case pages: list, create, edit, case page, follow-ups, exit withdrawal, soft deletion and
export of the filtered list. Views translate HTTP: a form parses, tracker.services.casework.cases
applies every rule in one call, the view commits once and redirects (PRG)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import Select, select
from sqlalchemy.orm import load_only, selectinload
from werkzeug.wrappers import Response

from tracker import vocabulary
from tracker.cases import bp, pages
from tracker.cases.forms import (
    CreateCaseForm,
    DeleteCaseForm,
    DeleteViewForm,
    EditCaseForm,
    FilterCasesForm,
    RecordFollowUpForm,
    RestoreCaseForm,
    SaveViewForm,
    UndoMergeForm,
    WithdrawExitForm,
)
from tracker.extensions import db
from tracker.models import Case, Federation, Role, StatusCheck, User
from tracker.services.casework import cases as case_service
from tracker.services.casework import duplicates, merge, saved_views
from tracker.services.casework.case_list import LIST_COLUMNS, SORT_LABELS, build_case_query, countries_present
from tracker.services.casework.history import case_history
from tracker.services.errors import DomainError, EditConflict, NotFound
from tracker.services.permissions import Scope, can, require, require_role
from tracker.services.reference import NaceCode, countries, nace_choices, nace_codes, nace_label
from tracker.services.spreadsheets import exports

Form = Any  # a FlaskForm subclass instance

# --- list -------------------------------------------------------------------------------------

def _filter_form(user: User) -> tuple[Form, dict[int, str]]:
    """The list's filter form read from the query string, validated (invalid filters are reported
    next to their field and left out of the query); the list and its export both use it."""
    several = Scope.of(user).everything
    codes = pages.federation_codes() if several else {}
    form = FilterCasesForm(formdata=request.args, federations=sorted(codes.items(), key=lambda kv: kv[1])
                           if several else None, allow_deleted=can(user, "case.view_deleted"),
                           countries=countries_present(user))
    form.validate()
    return form, codes


@bp.route("/")
@login_required
def index() -> str:
    user = pages.user()
    require(user, "case.list")
    form, codes = _filter_form(user)
    filters = form.filters()
    stmt = build_case_query(user, filters).options(load_only(*LIST_COLUMNS))
    page = max(request.args.get("page", 1, type=int), 1)
    pagination = db.paginate(stmt, page=page, per_page=current_app.config["CASES_PER_PAGE"], error_out=False)
    list_args = form.query_args()
    current = urlencode({**list_args, "sort": filters.sort, "dir": filters.direction})
    moved_away = merge.moved_from(user.federation_id, limit=10) if user.role == Role.STAFF and user.federation_id \
        else []
    return render_template(
        "cases/index.html", form=form, filters=filters, pagination=pagination, cases=pagination.items,
        list_args=list_args, sort_labels=SORT_LABELS, federation_codes=codes,
        transfer_type_labels=vocabulary.TRANSFER_TYPES, exit_reason_labels=vocabulary.EXIT_REASONS,
        saved_views=saved_views.views_of(user), save_view_form=SaveViewForm(formdata=None, query=current),
        moved_away=moved_away)


# --- saved views of the list (each user's own) ---------------------------------------------------

@bp.route("/views", methods=["POST"])
@login_required
def save_view() -> Response:
    user = pages.user()
    form = SaveViewForm()
    query = form.query.data or ""
    if not form.validate_on_submit():
        abort(400)
    try:
        view = saved_views.save_view(user, form.name.data, query)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
    else:
        db.session.commit()
        flash(_("View “%(name)s” saved: it is listed above the filters.", name=view.name), "success")
    back: dict[str, Any] = saved_views.clean_query(query)
    return redirect(url_for("cases.index", **back), code=303)


@bp.route("/views/<int:view_id>")
@login_required
def open_view(view_id: int) -> Response:
    try:
        arguments: dict[str, Any] = saved_views.view_arguments(pages.user(), view_id)
    except NotFound:
        abort(404)
    return redirect(url_for("cases.index", **arguments))


@bp.route("/views/<int:view_id>/delete", methods=["POST"])
@login_required
def delete_view(view_id: int) -> Response:
    if not DeleteViewForm().validate_on_submit():
        abort(400)
    try:
        name = saved_views.delete_view(pages.user(), view_id)
    except NotFound:
        abort(404)
    db.session.commit()
    flash(_("View “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("cases.index"), code=303)


# --- create and edit --------------------------------------------------------------------------

HIDDEN_DUPLICATE_NOTICE = _l("A possible duplicate of this case exists in another federation. The secretariat "
                             "reviews possible duplicates across federations.")


def _render_case_form(form: Form, case: Case | None = None, conflict: str | None = None, status: int = 200,
                      check: case_service.DuplicateCheck | None = None) -> tuple[str, int]:
    current: list[tuple[str, Any, Any]] = []
    if conflict and case is not None:
        # What the other person saved, next to what this user typed, so they can redo their change.
        saved = case_service.case_values(case)
        typed = form.case_values()
        current = [(form[name].label.text, saved[name], typed[name]) for name in saved
                   if (saved[name] or None) != (typed[name] or None)]
    # Hints about other federations' cases only when the form is otherwise valid, within the
    # user's daily allowance (services.casework.duplicate_hints).
    pairs, withheld = pages.hinted_pairs(pages.user(), check.pairs if check is not None else [],
                                         valid=set(form.errors) <= {"confirm_distinct"})
    described = pages.describe_pairs(pages.user(), pairs, pages.federation_codes() if pairs else {})
    return render_template("cases/form.html", form=form, case=case, conflict=conflict, current=current,
                           nace_options=nace_choices(), duplicates=described,
                           hints_withheld=pages.duplicate_hints.per_day() if withheld else None,
                           must_confirm=bool(check and check.must_confirm)), status


def _save_case(form: Form, save: Callable[[case_service.DuplicateCheck], Case],
               problems: Callable[[case_service.DuplicateCheck], dict[str, list[str]]] | None,
               case: Case | None = None) -> Case | tuple[str, int]:
    """One pass: the form's shape checks and every rule of the service (fields, cross-field, unique
    ref, possible duplicates) on the same submit. Returns the saved case, or the form again with
    every error; nothing is written unless all pass."""
    check = case_service.DuplicateCheck(confirmed=bool(form.confirm_distinct.data))
    if not form.validate_on_submit():
        if form.is_submitted() and problems is not None and "csrf_token" not in form.errors:
            pages.show_errors(form, problems(check), keep_form_errors=True)
            db.session.rollback()
        return _render_case_form(form, case, check=check)
    try:
        case = save(check)
    except EditConflict as exc:
        db.session.rollback()
        return _render_case_form(form, case, conflict=exc.message, status=409)
    except DomainError as exc:
        db.session.rollback()
        pages.show_errors(form, exc)
        return _render_case_form(form, case, check=check)
    db.session.commit()
    if check.hidden and pages.duplicate_hints.take(pages.user(), check.hidden):
        flash(HIDDEN_DUPLICATE_NOTICE, "warning")
    return case


@bp.route("/new", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.STAFF)
def new() -> Any:
    user = pages.user()
    chooses_federation = Scope.of(user).everything
    form = CreateCaseForm(federations=pages.federations(active_only=True) if chooses_federation else None,
                          show_contact=can(user, "case.view_contact"))
    # Staff have no federation field: a posted federation id is never read for them.
    chosen_id = form.federation_id() if chooses_federation else None
    federation = (db.session.get(Federation, chosen_id) if chosen_id is not None else None) if chooses_federation \
        else user.federation
    if federation is not None:
        require(user, "case.create", federation)
    if request.method == "GET":
        form.apply_defaults(case_service.new_case_defaults(federation))
    if federation is None:  # an admin who has not chosen (or chose no existing) federation
        if request.method == "POST" and form.validate():
            abort(403)
        return _save_case(form, lambda check: abort(403), None)
    chosen = federation

    def save(check: case_service.DuplicateCheck) -> Case:
        return case_service.create_case(user, chosen, form.case_values(), extra=form.extra_values(), duplicates=check)

    def problems(check: case_service.DuplicateCheck) -> dict[str, list[str]]:
        return case_service.case_problems(user, chosen, form.case_values(), form.extra_values(), duplicates=check)[1]

    result = _save_case(form, save, problems)
    if not isinstance(result, Case):
        return result
    flash(_("Case %(ref)s created.", ref=result.ref), "success")
    return redirect(url_for("cases.detail", case_id=result.id))


@bp.route("/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit(case_id: int) -> Any:
    user = pages.user()
    case = pages.load_case(case_id, "case.edit")
    pages.refuse_if_deleted(case)
    show_contact = can(user, "case.view_contact", case)
    if request.method == "GET":
        return _render_case_form(EditCaseForm(formdata=None, obj=case, show_contact=show_contact), case)
    # Never fill a POST from the stored case: a missing version must not pass as the current one.
    form = EditCaseForm(show_contact=show_contact)
    version = case.version
    result = _save_case(
        form,
        lambda check: case_service.update_case(user, case, form.case_values(), expected_version=form.version.data,
                                               extra=form.extra_values(), duplicates=check),
        lambda check: case_service.case_problems(user, case.federation, form.case_values(), form.extra_values(),
                                                 case=case, duplicates=check)[1],
        case)
    if not isinstance(result, Case):
        return result
    flash(_("Case %(ref)s saved.", ref=case.ref) if case.version != version else _("Nothing changed."), "success")
    return redirect(url_for("cases.detail", case_id=case.id))


# --- case page and follow-ups -----------------------------------------------------------------



def _in_language(entry: NaceCode | None) -> NaceCode | None:
    """A NACE entry with its title as the page's language has it (a section's is translated)."""
    return dataclasses.replace(entry, label=nace_label(entry)) if entry is not None else None


def _detail_context(case: Case, follow_up_form: Form | None = None, withdraw_form: Form | None = None,
                    conflict: str | None = None) -> dict[str, Any]:
    user = pages.user()
    checks = db.session.scalars(
        select(StatusCheck).where(StatusCheck.case_id == case.id)
        .options(selectinload(StatusCheck.recorded_by))
        .order_by(StatusCheck.checked_on.desc(), StatusCheck.id.desc())).all()
    history = case_history(case) if can(user, "case.view_history", case) else []
    may_follow_up = can(user, "case.follow_up", case) and not case.is_deleted
    if may_follow_up:
        follow_up_form = follow_up_form or RecordFollowUpForm(formdata=None, prefix="followup",
                                                              version=case.version)
        if case.exit_date is not None:
            withdraw_form = withdraw_form or WithdrawExitForm(formdata=None, prefix="withdraw",
                                                              version=case.version)
    codes = nace_codes()
    possible: list[dict[str, Any]] = []
    if can(user, "case.edit", case) and not case.is_deleted:
        pairs = duplicates.duplicates_of(duplicates.identity_of(case_service.case_values(case), case.federation_id,
                                                                case.id))
        possible = pages.describe_pairs(user, pairs, pages.federation_codes() if pairs else {})
    is_admin = user.role == Role.ADMIN
    merged_into = db.session.get(Case, case.merged_into_id) if case.merged_into_id is not None else None
    merged_here = merge.merged_into_this(case) if is_admin else []
    undo_forms = {c.id: UndoMergeForm(formdata=None, version=c.version, kept_version=case.version)
                  for c in merged_here}
    if merged_into is not None and is_admin:
        undo_forms[case.id] = UndoMergeForm(formdata=None, version=case.version, kept_version=merged_into.version)
    return {
        "merged_into": merged_into, "merged_here": merged_here, "undo_forms": undo_forms,
        "may_move": is_admin and not case.is_deleted,
        "case": case, "checks": checks, "duplicates": possible,
        "withdrawn_ids": {c.corrects_id for c in checks if c.corrects_id},
        "history": history, "show_history": can(user, "case.view_history", case),
        "show_contact": can(user, "case.view_contact", case),
        "country_name": countries().get(case.country, case.country),
        "nace": _in_language(codes.get(case.nace or "")),
        "nace_section": _in_language(codes.get(case.nace_section or "")),
        "follow_up_form": follow_up_form if may_follow_up else None,
        "withdraw_form": withdraw_form if may_follow_up and case.exit_date is not None else None,
        "conflict": conflict, "outcome_labels": vocabulary.OUTCOMES,
        "transfer_type_labels": vocabulary.TRANSFER_TYPES, "exit_reason_labels": vocabulary.EXIT_REASONS,
    }


@bp.route("/<int:case_id>")
@login_required
def detail(case_id: int) -> str:
    user = pages.user()
    case = db.get_or_404(Case, case_id)
    if user.role == Role.STAFF and user.federation_id is not None and not can(user, "case.view", case):
        # A case moved out of this staff user's federation: they are told where it went, nothing more.
        moves = merge.moved_from(user.federation_id, case_id=case.id)
        if moves:
            return render_template("cases/moved.html", moves=moves)
    case = pages.load_case(case_id, "case.view")
    return render_template("cases/detail.html", **_detail_context(case))


@bp.route("/<int:case_id>/follow-up", methods=["POST"])
@login_required
def follow_up(case_id: int) -> Any:
    case = pages.load_case(case_id, "case.follow_up")
    pages.refuse_if_deleted(case)
    form = RecordFollowUpForm(prefix="followup")
    if form.validate_on_submit():
        assert form.checked_on.data is not None  # InputRequired
        check = case_service.FollowUp(checked_on=form.checked_on.data, outcome=form.outcome.data,
                                      source=form.source.data, note=form.note.data)
        try:
            case_service.record_follow_up(pages.user(), case, check, expected_version=form.version.data)
        except EditConflict as exc:
            db.session.rollback()
            return render_template("cases/detail.html", **_detail_context(case, form, conflict=exc.message)), 409
        except DomainError as exc:
            db.session.rollback()
            pages.show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Follow-up recorded."), "success")
            return redirect(url_for("cases.detail", case_id=case.id))
    return render_template("cases/detail.html", **_detail_context(case, follow_up_form=form))


@bp.route("/<int:case_id>/withdraw-exit", methods=["POST"])
@login_required
def withdraw_exit(case_id: int) -> Any:
    case = pages.load_case(case_id, "case.follow_up")
    pages.refuse_if_deleted(case)
    form = WithdrawExitForm(prefix="withdraw")
    if form.validate_on_submit():
        try:
            case_service.withdraw_exit(pages.user(), case, form.note.data, expected_version=form.version.data)
        except EditConflict as exc:
            db.session.rollback()
            return render_template("cases/detail.html",
                                   **_detail_context(case, withdraw_form=form, conflict=exc.message)), 409
        except DomainError as exc:
            db.session.rollback()
            if exc.field not in form._fields:  # about the case (no exit to withdraw), not about the input
                flash(exc.message, "warning")
                return redirect(url_for("cases.detail", case_id=case.id))
            pages.show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Exit withdrawn; the case is open again."), "success")
            return redirect(url_for("cases.detail", case_id=case.id))
    return render_template("cases/detail.html", **_detail_context(case, withdraw_form=form))


# --- soft deletion (admins) -------------------------------------------------------------------

@bp.route("/<int:case_id>/delete", methods=["POST"])
@login_required
def delete(case_id: int) -> Response:
    case = pages.load_case(case_id, "case.delete")
    if not DeleteCaseForm().validate_on_submit():
        abort(400)
    try:
        case_service.delete_case(pages.user(), case)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
        return redirect(url_for("cases.detail", case_id=case_id))
    db.session.commit()
    flash(_("Case %(ref)s deleted. Tick “Show deleted cases” to find and restore it.", ref=case.ref), "success")
    return redirect(url_for("cases.index"))


@bp.route("/<int:case_id>/restore", methods=["POST"])
@login_required
def restore(case_id: int) -> Response:
    case = pages.load_case(case_id, "case.restore")
    if not RestoreCaseForm().validate_on_submit():
        abort(400)
    try:
        case_service.restore_case(pages.user(), case)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
    else:
        db.session.commit()
        flash(_("Case %(ref)s restored.", ref=case.ref), "success")
    return redirect(url_for("cases.detail", case_id=case_id))

@bp.route(f"/export.<{pages.FILE_FORMATS}:fmt>")
@login_required
def export(fmt: str) -> Response:
    """The current filtered list (the list page's query string), in the import schema."""
    user = pages.user()
    require(user, "case.export")
    form, _ = _filter_form(user)
    stmt = build_case_query(user, form.filters())
    filename = f"cases-{date.today().isoformat()}.{fmt}"
    if fmt == "csv":
        return pages.download(_streamed(exports.export_statement(user, stmt=stmt)), fmt, filename)
    try:
        content = exports.export_cases(user, fmt=fmt, stmt=stmt)
    except DomainError as exc:
        flash(exc.message, "warning")
        return redirect(url_for("cases.index", **pages.query_args()))
    return pages.download(content, fmt, filename)


def _streamed(query: Select) -> Iterator[bytes]:
    """CSV chunks read while the response is sent, after the view returned: through a connection
    of their own, so they never depend on the request's context or session still being there.
    The query is complete (permissions applied) before the view returns."""
    engine = db.engine

    def generate() -> Iterator[bytes]:
        with engine.connect() as connection:
            yield from exports.iter_csv_query(query, connection)

    return generate()
