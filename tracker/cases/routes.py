"""Views of the cases blueprint: list, create, edit, case page, follow-ups, soft deletion; and
spreadsheet import in two steps (upload and check, then confirm), export of the
filtered list, the blank template and its help, possible duplicates, follow-up completeness
and the annual status check.

Thin views: a form parses the input, tracker.services.casework.cases applies the rules, the view commits
once and redirects (PRG). Permissions come from tracker.services.permissions only.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only, selectinload
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from tracker import vocabulary
from tracker.cases import bp
from tracker.cases.forms import (
    ConfirmDistinctForm,
    ConfirmImportForm,
    ConfirmStatusCheckForm,
    CreateCaseForm,
    DeleteCaseForm,
    EditCaseForm,
    FilterCasesForm,
    FilterDuplicatesForm,
    FilterFollowUpForm,
    RecordFollowUpForm,
    RestoreCaseForm,
    UploadCasesForm,
    UploadStatusCheckForm,
    WithdrawExitForm,
)
from tracker.extensions import db
from tracker.models import AuditEntry, Case, ExitReason, Federation, Role, StatusCheck, User
from tracker.services.casework import cases as case_service
from tracker.services.casework import completeness, duplicates
from tracker.services.casework.case_list import LIST_COLUMNS, SORT_LABELS, build_case_query
from tracker.services.casework.duplicates import PossibleDuplicate
from tracker.services.errors import DomainError, EditConflict, InvalidCase, NotFound, PermissionDenied
from tracker.services.permissions import Scope, can, require, require_role
from tracker.services.reference import countries, nace_choices, nace_codes
from tracker.services.spreadsheets import exports, import_help, imports, staging, status_import
from tracker.web import current_actor, safe_next

Form = Any  # a FlaskForm subclass instance


_user = current_actor


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


def _query_args() -> dict[str, Any]:
    """This request's query string (first value of each name), to redirect back to the same view."""
    return request.args.to_dict()


def _federations(active_only: bool = False) -> list[tuple[int, str]]:
    stmt = select(Federation.id, Federation.code, Federation.name).order_by(Federation.code)
    if active_only:
        stmt = stmt.where(Federation.active.is_(True))
    return [(row.id, f"{row.code} — {row.name}") for row in db.session.execute(stmt)]


def _federation_codes() -> dict[int, str]:
    return {row.id: row.code for row in db.session.execute(select(Federation.id, Federation.code))}


# --- list -------------------------------------------------------------------------------------

def _filter_form(user: User) -> tuple[Form, dict[int, str]]:
    """The list's filter form read from the query string, validated (invalid filters are reported
    next to their field and left out of the query); the list and its export both use it."""
    several = Scope.of(user).everything
    codes = _federation_codes() if several else {}
    form = FilterCasesForm(formdata=request.args, federations=sorted(codes.items(), key=lambda kv: kv[1])
                           if several else None, allow_deleted=can(user, "case.view_deleted"))
    form.validate()
    return form, codes


@bp.route("/")
@login_required
def index() -> str:
    user = _user()
    require(user, "case.list")
    form, codes = _filter_form(user)
    filters = form.filters()
    stmt = build_case_query(user, filters).options(load_only(*LIST_COLUMNS))
    page = max(request.args.get("page", 1, type=int), 1)
    pagination = db.paginate(stmt, page=page, per_page=current_app.config["CASES_PER_PAGE"], error_out=False)
    return render_template(
        "cases/index.html", form=form, filters=filters, pagination=pagination, cases=pagination.items,
        list_args=form.query_args(), sort_labels=SORT_LABELS, federation_codes=codes,
        transfer_type_labels=vocabulary.TRANSFER_TYPES, exit_reason_labels=vocabulary.EXIT_REASONS)


# --- create and edit --------------------------------------------------------------------------

HIDDEN_DUPLICATE_NOTICE = ("A possible duplicate of this case exists in another federation. The secretariat "
                           "reviews possible duplicates across federations.")


@dataclass
class _DuplicateCheck:
    """Possible duplicates of the case in a create or edit form (services.casework.duplicates)."""

    pairs: list[PossibleDuplicate] = field(default_factory=list)
    must_confirm: list[PossibleDuplicate] = field(default_factory=list)  # visible to the user in full
    described: list[dict[str, Any]] = field(default_factory=list)

    @property
    def hidden(self) -> int:
        return len(self.pairs) - len(self.must_confirm)

    def blocks(self, form: Form) -> bool:
        """Visible possible duplicates stop the save until the user ticks the confirmation."""
        if self.must_confirm and not form.confirm_distinct.data:
            form.confirm_distinct.errors = [*form.confirm_distinct.errors,
                                            "Check the possible duplicates listed, then tick this box to save."]
            return True
        return False

    def store_confirmation(self, user: User, case_id: int) -> None:
        if self.must_confirm:
            duplicates.confirm_distinct(user, [(case_id, p.other.id) for p in self.must_confirm if p.other.id],
                                        context="case form")

    def flash_hidden(self) -> None:
        if self.hidden:
            flash(HIDDEN_DUPLICATE_NOTICE, "warning")


def _check_duplicates(form: Form, user: User, federation_id: int, case_id: int | None = None) -> _DuplicateCheck:
    """Nothing to check when the values break a rule: the service refuses them with its messages."""
    values, errors = case_service.clean_case_values(form.case_values())
    if errors:
        return _DuplicateCheck()
    pairs = duplicates.duplicates_of(duplicates.identity_of(values, federation_id, case_id))
    return _DuplicateCheck(pairs, duplicates.needs_confirmation(user, pairs),
                           _describe_pairs(user, pairs, _federation_codes() if pairs else {}))


def _describe_pairs(user: User | None, pairs: list[PossibleDuplicate], codes: dict[int, str]) -> list[dict[str, Any]]:
    """Pairs as templates show them (JSON-safe): a side the user may not see is only `visible: False`."""

    def side(identity: duplicates.CaseIdentity) -> dict[str, Any]:
        if not duplicates.visible_to(user, identity):
            return {"visible": False}
        return {"visible": True, "id": identity.id, "row": identity.row, "ref": identity.ref, "name": identity.name,
                "national_id": identity.national_id, "federation": codes.get(identity.federation_id, "?"),
                "year": identity.transfer_year}

    out = []
    for pair in pairs:
        this, other = side(pair.case), side(pair.other)
        both = this["visible"] and other["visible"]
        out.append({"case": this, "other": other, "reasons": list(pair.reasons) if both else [],
                    "similarity": pair.similarity if both else None,
                    "confirmable": both and pair.case.id is not None and pair.other.id is not None})
    return out


def _render_case_form(form: Form, case: Case | None = None, conflict: str | None = None,
                      status: int = 200, duplicates: _DuplicateCheck | None = None) -> tuple[str, int]:
    current: list[tuple[str, Any, Any]] = []
    if conflict and case is not None:
        # What the other person saved, next to what this user typed, so they can redo their change.
        saved = case_service.case_values(case)
        typed = form.case_values()
        current = [(form[name].label.text, saved[name], typed[name]) for name in saved
                   if (saved[name] or None) != (typed[name] or None)]
    return render_template("cases/form.html", form=form, case=case, conflict=conflict, current=current,
                           nace_options=nace_choices(), duplicates=duplicates), status


@bp.route("/new", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.STAFF)
def new() -> Any:
    user = _user()
    chooses_federation = Scope.of(user).everything
    form = CreateCaseForm(federations=_federations(active_only=True) if chooses_federation else None,
                          show_contact=can(user, "case.view_contact"))
    if not form.validate_on_submit():
        return _render_case_form(form)
    # Staff have no federation field: a posted federation id is never read for them.
    federation = db.session.get(Federation, form.federation_id()) if chooses_federation else user.federation
    if federation is None:
        abort(403)
    require(user, "case.create", federation)
    check = _check_duplicates(form, user, federation.id)
    if check.blocks(form):
        return _render_case_form(form, duplicates=check)
    try:
        case = case_service.create_case(user, federation, form.case_values(), extra=form.extra_values())
        check.store_confirmation(user, case.id)
    except DomainError as exc:
        db.session.rollback()
        _show_errors(form, exc)
        return _render_case_form(form, duplicates=check)
    db.session.commit()
    flash(f"Case {case.ref} created.", "success")
    check.flash_hidden()
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
    check = _check_duplicates(form, user, case.federation_id, case.id)
    if check.blocks(form):
        return _render_case_form(form, case, duplicates=check)
    version = case.version
    try:
        case_service.update_case(user, case, form.case_values(), expected_version=form.version.data,
                                 extra=form.extra_values())
        check.store_confirmation(user, case.id)
    except EditConflict as exc:
        db.session.rollback()
        return _render_case_form(form, case, conflict=exc.message, status=409)
    except DomainError as exc:
        db.session.rollback()
        _show_errors(form, exc)
        return _render_case_form(form, case, duplicates=check)
    db.session.commit()
    flash(f"Case {case.ref} saved." if case.version != version else "Nothing changed.", "success")
    check.flash_hidden()
    return redirect(url_for("cases.detail", case_id=case.id))


# --- case page and follow-ups -----------------------------------------------------------------



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
    possible: list[dict[str, Any]] = []
    if can(user, "case.edit", case) and not case.is_deleted:
        pairs = duplicates.duplicates_of(duplicates.identity_of(case_service.case_values(case), case.federation_id,
                                                                case.id))
        possible = _describe_pairs(user, pairs, _federation_codes() if pairs else {})
    return {
        "case": case, "checks": checks, "duplicates": possible,
        "withdrawn_ids": {c.corrects_id for c in checks if c.corrects_id},
        "history": history, "show_history": can(user, "case.view_history", case),
        "show_contact": can(user, "case.view_contact", case),
        "country_name": countries().get(case.country, case.country),
        "nace": codes.get(case.nace or ""), "nace_section": codes.get(case.nace_section or ""),
        "follow_up_form": follow_up_form if may_follow_up else None,
        "withdraw_form": withdraw_form if may_follow_up and case.exit_date is not None else None,
        "conflict": conflict, "outcome_labels": vocabulary.OUTCOMES,
        "transfer_type_labels": vocabulary.TRANSFER_TYPES, "exit_reason_labels": vocabulary.EXIT_REASONS,
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
        assert form.checked_on.data is not None  # InputRequired
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


# --- export of the filtered list, blank template, help ----------------------------------------

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_FORMATS = "any(csv, xlsx)"


def _download(content: bytes | Iterator[bytes], fmt: str, filename: str) -> Response:
    """A file download; `content` is bytes or an iterator of byte chunks (streamed CSV)."""
    mimetype = "text/csv; charset=utf-8" if fmt == "csv" else XLSX_MIMETYPE
    response = Response(content, mimetype=mimetype)
    # Names come partly from users (an uploaded file's name, a federation code): keep them header-safe.
    response.headers["Content-Disposition"] = f'attachment; filename="{secure_filename(filename) or "download"}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route(f"/export.<{FILE_FORMATS}:fmt>")
@login_required
def export(fmt: str) -> Response:
    """The current filtered list (the list page's query string), in the import schema."""
    user = _user()
    require(user, "case.export")
    form, _ = _filter_form(user)
    stmt = build_case_query(user, form.filters())
    filename = f"cases-{date.today().isoformat()}.{fmt}"
    if fmt == "csv":
        return _download(_streamed(exports.export_statement(user, stmt=stmt)), fmt, filename)
    try:
        content = exports.export_cases(user, fmt=fmt, stmt=stmt)
    except DomainError as exc:
        flash(exc.message, "warning")
        return redirect(url_for("cases.index", **_query_args()))
    return _download(content, fmt, filename)


def _streamed(query: Select) -> Iterator[bytes]:
    """CSV chunks read while the response is sent, after the view returned: through a connection
    of their own, so they never depend on the request's context or session still being there.
    The query is complete (permissions applied) before the view returns."""
    engine = db.engine

    def generate() -> Iterator[bytes]:
        with engine.connect() as connection:
            yield from exports.iter_csv_query(query, connection)

    return generate()


def _value_labels() -> dict[str, Mapping[Any, str]]:
    return {"transfer_type": vocabulary.TRANSFER_TYPES, "exit_reason": vocabulary.EXIT_REASONS}


@bp.route(f"/import/template.<{FILE_FORMATS}:fmt>")
@require_role(Role.ADMIN, Role.STAFF)
def import_template(fmt: str) -> Response:
    content = exports.table_bytes(fmt, case_service.CASE_FIELDS, [import_help.template_row()],
                                  notes=import_help.help_rows(_value_labels()))
    return _download(content, fmt, f"cases-template.{fmt}")


@bp.route("/import/help")
@login_required
def import_help_page() -> str:
    require(_user(), "case.list")
    return render_template("cases/import_help.html", columns=import_help.column_help(_value_labels()),
                           countries=countries(), nace=list(nace_codes().values()),
                           max_megabytes=_megabytes(_max_upload_bytes()))


# --- staged uploads (import and status check) ------------------------------------------------------

def _staging_folder() -> Path:
    """IMPORT_STAGING_DIR, else `imports` in INSTANCE_UPLOADS (when set), else in the instance folder."""
    configured = current_app.config.get("IMPORT_STAGING_DIR")
    if configured:
        return Path(configured)
    return Path(current_app.config.get("INSTANCE_UPLOADS") or current_app.instance_path) / "imports"


def _staging_ttl() -> int:
    return int(current_app.config.get("IMPORT_STAGING_TTL", staging.DEFAULT_TTL_SECONDS))


def _max_upload_bytes() -> int:
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or imports.DEFAULT_MAX_BYTES)


def _megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size // 1024} KB"
    return f"{size / (1024 * 1024):.0f} MB" if size % (1024 * 1024) == 0 else f"{size / (1024 * 1024):.1f} MB"


def _too_large_message() -> str:
    return (f"The file is larger than the upload limit of {_megabytes(_max_upload_bytes())}. Split it into "
            "smaller files (or save it as XLSX, which is usually smaller) and upload each.")


def _read_upload(form: Form) -> tuple[bytes, str]:
    """The uploaded bytes (one byte over the limit is enough to refuse the file) and its name."""
    upload = form.file.data
    return upload.read(_max_upload_bytes() + 1), upload.filename or "upload"


def _load_staged(kind: str, token: str) -> staging.StagedUpload:
    try:
        return staging.load(_staging_folder(), token, kind, _user().id, ttl=_staging_ttl())
    except NotFound as exc:
        abort(404, description=exc.message)


def _problems(problems: Any) -> list[list[Any]]:
    return [[p.row, p.column, p.message] for p in problems]


def _file_level_only(problems: Any) -> bool:
    """Problems about the file as a whole (not a spreadsheet, wrong encoding, too large...) are
    shown next to the file field; anything about rows or columns gets the review page."""
    return bool(problems) and all(p.row == 0 for p in problems)


def _problems_csv(staged: staging.StagedUpload) -> Response:
    rows = staged.review.get("problems", [])
    content = exports.table_bytes("csv", ("row", "column", "message"), rows)
    stem = Path(staged.filename).stem or "upload"
    return _download(content, "csv", f"{stem}-problems.csv")


def _purge_staging() -> None:
    staging.purge_expired(_staging_folder(), _staging_ttl())


@bp.errorhandler(413)
def upload_too_large(error: Any) -> tuple[str, int]:
    """A request over MAX_CONTENT_LENGTH: on the upload pages, the upload form again with the
    message next to the file field; elsewhere the error page with the same message."""
    endpoint = request.endpoint or ""
    if current_user.is_authenticated and endpoint in ("cases.import_upload", "cases.status_upload"):
        user = _user()
        if endpoint == "cases.import_upload" and can(user, "case.import"):
            form = UploadCasesForm(formdata=None, federations=_upload_federations(user))
            form.file.errors = [_too_large_message()]
            return _render_upload(form), 413
        if endpoint == "cases.status_upload" and can(user, "case.follow_up"):
            status_form = UploadStatusCheckForm(formdata=None)
            status_form.file.errors = [_too_large_message()]
            return _render_status_upload(status_form), 413
    return render_template("errors.html", error=error, code=413, message=_too_large_message()), 413


# --- case import: upload, review, confirm ----------------------------------------------------------

def _upload_federations(user: User) -> list[tuple[int, str]] | None:
    return _federations(active_only=True) if Scope.of(user).everything else None


def _render_upload(form: Form) -> str:
    return render_template("cases/import.html", form=form, max_megabytes=_megabytes(_max_upload_bytes()))


@bp.route("/import", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.STAFF)
def import_upload() -> Any:
    """Step 1: upload and validate (nothing is written); the file is kept for the confirmation."""
    user = _user()
    form = UploadCasesForm(federations=_upload_federations(user))
    if not form.validate_on_submit():
        return _render_upload(form)
    # Staff have no federation field: a posted federation id is never read for them.
    federation = db.session.get(Federation, form.federation_id()) if "federation" in form else user.federation
    if federation is None:
        abort(403)
    require(user, "case.import", federation)
    data, filename = _read_upload(form)
    result = imports.import_cases(user, federation, data, filename, dry_run=True, check_duplicates=True,
                                  max_bytes=_max_upload_bytes())
    db.session.rollback()
    if _file_level_only(result.problems):
        form.file.errors = [p.message for p in result.problems]
        return _render_upload(form)
    _purge_staging()
    staged = staging.stage(_staging_folder(), "cases", user.id, federation.id, filename,
                           data if result.ok else None, _import_review(user, federation, result))
    return redirect(url_for("cases.import_review", token=staged.token), code=303)


def _import_review(user: User, federation: Federation, result: imports.ImportResult) -> dict[str, Any]:
    pairs = list(result.duplicates)
    return {
        "status": "checked" if result.ok else "rejected",
        "federation": {"id": federation.id, "code": federation.code, "name": federation.name},
        "rows": result.rows, "created": result.created, "updated": result.updated, "unchanged": result.unchanged,
        "problems": _problems(result.problems),
        "duplicates": _describe_pairs(user, pairs, _federation_codes() if pairs else {}),
        "must_confirm": len(duplicates.needs_confirmation(user, pairs)),
    }


def _render_import_review(staged: staging.StagedUpload, form: Form | None = None, status: int = 200,
                          conflict: str | None = None) -> tuple[str, int]:
    review = staged.review
    form = form or ConfirmImportForm(formdata=None)
    return render_template("cases/import_review.html", staged=staged, review=review, form=form, conflict=conflict,
                           shown_problems=review.get("problems", [])[:PROBLEMS_SHOWN],
                           shown_duplicates=review.get("duplicates", [])[:DUPLICATES_SHOWN],
                           expires=_expiry(staged)), status


PROBLEMS_SHOWN = 500
DUPLICATES_SHOWN = 200


def _expiry(staged: staging.StagedUpload) -> str:
    expires = datetime.fromtimestamp(staged.expires_at(_staging_ttl()), tz=UTC)
    return expires.strftime("%Y-%m-%d %H:%M UTC")


@bp.route("/import/<token>", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.STAFF)
def import_review(token: str) -> Any:
    """Step 2: what the import would do, every problem; POST confirms it (re-validated)."""
    user = _user()
    staged = _load_staged("cases", token)
    federation = db.session.get(Federation, staged.federation_id)
    if federation is None:
        abort(404)
    require(user, "case.import", federation)
    if request.method == "GET":
        return _render_import_review(staged)
    form = ConfirmImportForm()
    if not form.validate_on_submit() or staged.review.get("status") != "checked":
        return _render_import_review(staged, form, status=400 if form.errors else 409)
    return _confirm_import(user, federation, staged, form)


def _staged_data(folder: Path, staged: staging.StagedUpload) -> bytes:
    """The kept file of a checked upload (404 once it expired or was used)."""
    try:
        return staging.read_data(folder, staged)
    except NotFound as exc:
        abort(404, description=exc.message)


def _close_staged(folder: Path, staged: staging.StagedUpload, review: dict[str, Any], message: str,
                  category: str, endpoint: str) -> Response:
    """Record how a confirmed upload ended (its file is dropped: it can never be applied twice),
    say so, and show its page again."""
    staging.update_review(folder, staged, review, keep_data=False)
    flash(message, category)
    return redirect(url_for(endpoint, token=staged.token), code=303)


def _confirm_import(user: User, federation: Federation, staged: staging.StagedUpload, form: Form) -> Any:
    folder = _staging_folder()
    data = _staged_data(folder, staged)
    try:
        result = imports.import_cases(user, federation, data, staged.filename, dry_run=False, check_duplicates=True,
                                      confirm_distinct=bool(form.confirm_distinct.data),
                                      max_bytes=_max_upload_bytes())
    except imports.UnconfirmedDuplicates as exc:
        db.session.rollback()
        review = {**staged.review, "duplicates": _describe_pairs(user, exc.pairs, _federation_codes()),
                  "must_confirm": len(exc.pairs)}
        staged = staging.update_review(folder, staged, review)
        form.confirm_distinct.errors = [*form.confirm_distinct.errors, exc.message]
        return _render_import_review(staged, form)
    except (EditConflict, IntegrityError):
        db.session.rollback()
        return _render_import_review(staged, form, status=409, conflict=(
            "Cases of this federation were changed while the file was being imported; nothing was imported. "
            "Confirm again to import the file against the current cases."))
    if not result.ok:  # the cases changed since the file was checked
        db.session.rollback()
        return _close_staged(folder, staged, {**staged.review, "status": "rejected",
                                              "problems": _problems(result.problems)},
                             "The file no longer passes the checks (cases changed since it was checked); "
                             "nothing was imported.", "danger", "cases.import_review")
    db.session.commit()
    review = {**staged.review, "status": "imported", "created": result.created, "updated": result.updated,
              "unchanged": result.unchanged, "rows": result.rows,
              "imported_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    return _close_staged(folder, staged, review,
                         f"Imported {staged.filename} into {federation.code}: {result.created} created, "
                         f"{result.updated} updated, {result.unchanged} unchanged.", "success", "cases.import_review")


@bp.route("/import/<token>/problems.csv")
@require_role(Role.ADMIN, Role.STAFF)
def import_problems(token: str) -> Response:
    return _problems_csv(_load_staged("cases", token))


# --- follow-up completeness and the annual status check ---------------------------------------

@bp.route("/follow-up")
@require_role(Role.ADMIN, Role.STAFF)
def completeness_page() -> str:
    """Open cases not verified for 12 months, and the share verified per federation."""
    user = _user()
    several = Scope.of(user).everything
    form = FilterFollowUpForm(formdata=request.args, federations=_federations() if several else None)
    form.validate()
    federation_id = form.federation_id()
    rows = completeness.completeness_by_federation(user)
    stmt = completeness.stale_cases_query(user, federation_id).options(load_only(*LIST_COLUMNS))
    page = max(request.args.get("page", 1, type=int), 1)
    pagination = db.paginate(stmt, page=page, per_page=current_app.config["CASES_PER_PAGE"], error_out=False)
    args = {"federation": federation_id} if federation_id else {}
    return render_template("cases/completeness.html", form=form, rows=rows,
                           total=completeness.total(rows) if several else None,
                           pagination=pagination, cases=pagination.items, list_args=args,
                           cutoff=completeness.verification_cutoff(), federation_codes=_federation_codes(),
                           several=several)


@bp.route(f"/follow-up/status-check.<{FILE_FORMATS}:fmt>")
@require_role(Role.ADMIN, Role.STAFF)
def status_check_export(fmt: str) -> Response:
    """The "annual status check" sheet of the stale open cases, for staff to fill in."""
    user = _user()
    several = Scope.of(user).everything
    form = FilterFollowUpForm(formdata=request.args, federations=_federations() if several else None)
    form.validate()
    federation_id = form.federation_id() if several else user.federation_id
    buffer = io.BytesIO()
    try:
        status_import.write_status_check(buffer, user, fmt, federation_id)
    except DomainError as exc:  # more rows than an XLSX sheet holds
        flash(exc.message, "warning")
        return redirect(url_for("cases.completeness_page", **_query_args()))
    scope = _federation_codes().get(federation_id, "all") if federation_id else "all"
    return _download(buffer.getvalue(), fmt, f"status-check-{scope}-{date.today().isoformat()}.{fmt}")


def _render_status_upload(form: Form) -> str:
    return render_template("cases/status_upload.html", form=form, max_megabytes=_megabytes(_max_upload_bytes()),
                           exit_reasons=[reason.value for reason in ExitReason])


@bp.route("/follow-up/upload", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.STAFF)
def status_upload() -> Any:
    user = _user()
    form = UploadStatusCheckForm()
    if not form.validate_on_submit():
        return _render_status_upload(form)
    data, filename = _read_upload(form)
    result = status_import.import_status_checks(user, data, filename, dry_run=True, max_bytes=_max_upload_bytes())
    db.session.rollback()
    if _file_level_only(result.problems):
        form.file.errors = [p.message for p in result.problems]
        return _render_status_upload(form)
    _purge_staging()
    staged = staging.stage(_staging_folder(), "status", user.id, user.federation_id, filename,
                           data if result.ok else None, _status_review(result))
    return redirect(url_for("cases.status_review", token=staged.token), code=303)


def _status_review(result: status_import.StatusImportResult, status: str | None = None) -> dict[str, Any]:
    return {"status": status or ("checked" if result.ok else "rejected"), "rows": result.rows,
            "operating": result.operating, "exits": result.exits, "unchanged": result.unchanged,
            "blank": result.blank, "problems": _problems(result.problems)}


def _render_status_review(staged: staging.StagedUpload, form: Form | None = None,
                          status: int = 200) -> tuple[str, int]:
    review = staged.review
    return render_template("cases/status_review.html", staged=staged, review=review,
                           form=form or ConfirmStatusCheckForm(formdata=None),
                           shown_problems=review.get("problems", [])[:PROBLEMS_SHOWN],
                           expires=_expiry(staged)), status


@bp.route("/follow-up/upload/<token>", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.STAFF)
def status_review(token: str) -> Any:
    user = _user()
    staged = _load_staged("status", token)
    if request.method == "GET":
        return _render_status_review(staged)
    form = ConfirmStatusCheckForm()
    if not form.validate_on_submit() or staged.review.get("status") != "checked":
        return _render_status_review(staged, form, status=400 if form.errors else 409)
    folder = _staging_folder()
    data = _staged_data(folder, staged)
    try:
        result = status_import.import_status_checks(user, data, staged.filename, dry_run=False,
                                                    max_bytes=_max_upload_bytes())
    except (EditConflict, IntegrityError):
        db.session.rollback()
        flash("Cases were changed while the follow-ups were being recorded; nothing was recorded. "
              "Confirm again.", "warning")
        return redirect(url_for("cases.status_review", token=staged.token), code=303)
    if not result.ok:
        db.session.rollback()
        return _close_staged(folder, staged, _status_review(result),
                             "The file no longer passes the checks (cases changed since it was checked); "
                             "nothing was recorded.", "danger", "cases.status_review")
    db.session.commit()
    review = {**_status_review(result, status="recorded"),
              "recorded_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    return _close_staged(folder, staged, review,
                         f"Recorded {result.operating} confirmation{'s' if result.operating != 1 else ''} of "
                         f"operation and {result.exits} exit{'s' if result.exits != 1 else ''} from "
                         f"{staged.filename}.", "success", "cases.status_review")


@bp.route("/follow-up/upload/<token>/problems.csv")
@require_role(Role.ADMIN, Role.STAFF)
def status_problems(token: str) -> Response:
    return _problems_csv(_load_staged("status", token))


# --- possible duplicates ---------------------------------------------------------------------------

@bp.route("/duplicates")
@require_role(Role.ADMIN, Role.STAFF)
def duplicates_page() -> str:
    """Admins: possible duplicates across federations (or all). Staff: those within their
    federation, and which of their cases has a possible duplicate elsewhere (nothing more)."""
    user = _user()
    is_admin = user.role == Role.ADMIN
    form = FilterDuplicatesForm(formdata=request.args)
    form.validate()
    across = is_admin and form.scope.data != "all"
    pairs = duplicates.all_duplicates(user, across_only=across)
    described = _describe_pairs(user, pairs, _federation_codes() if pairs else {})
    visible = [d for d in described if d["other"]["visible"]]
    elsewhere = list({d["case"]["id"]: d for d in described if not d["other"]["visible"]}.values())  # once per case
    return render_template("cases/duplicates.html", form=form if is_admin else None, total=len(visible),
                           pairs=visible[:DUPLICATES_SHOWN], elsewhere=elsewhere[:DUPLICATES_SHOWN],
                           elsewhere_total=len(elsewhere), across=across)



@bp.route("/duplicates/confirm", methods=["POST"])
@require_role(Role.ADMIN, Role.STAFF)
def confirm_distinct() -> Response:
    form = ConfirmDistinctForm()
    if not form.validate_on_submit():
        abort(400)
    assert form.case_id.data is not None and form.other_id.data is not None  # InputRequired
    try:
        stored = duplicates.confirm_pair(_user(), form.case_id.data, form.other_id.data)
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)
    except DomainError as exc:
        abort(400, description=exc.message)
    db.session.commit()
    flash("Confirmed: different enterprises; this pair will not be reported again." if stored
          else "This pair was already confirmed as different enterprises.", "success")
    return redirect(safe_next(form.next.data, url_for("cases.duplicates_page")))
