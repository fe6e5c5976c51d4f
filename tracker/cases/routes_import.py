"""The spreadsheet import of cases in two steps (upload and check, then confirm), the blank
template and its help page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from tracker.cases import bp, pages
from tracker.cases.forms import (
    ConfirmImportForm,
    UploadCasesForm,
    UploadStatusCheckForm,
)
from tracker.extensions import db
from tracker.models import Federation, Role, User
from tracker.services.casework import cases as case_service
from tracker.services.casework import duplicates
from tracker.services.errors import EditConflict
from tracker.services.permissions import can, require, require_role
from tracker.services.reference import countries, nace_codes
from tracker.services.spreadsheets import exports, import_help, imports, staging

Form = Any  # a FlaskForm subclass instance

@bp.route(f"/import/template.<{pages.FILE_FORMATS}:fmt>")
@require_role(Role.ADMIN, Role.STAFF)
def import_template(fmt: str) -> Response:
    content = exports.table_bytes(fmt, case_service.CASE_FIELDS, [import_help.template_row()],
                                  notes=import_help.help_rows(pages.value_labels()))
    return pages.download(content, fmt, f"cases-template.{fmt}")


@bp.route("/import/help")
@login_required
def import_help_page() -> str:
    require(pages.user(), "case.list")
    return render_template("cases/import_help.html", columns=import_help.column_help(pages.value_labels()),
                           countries=countries(), nace=list(nace_codes().values()),
                           max_megabytes=pages.megabytes(pages.max_upload_bytes()))


@bp.errorhandler(413)
def upload_too_large(error: Any) -> tuple[str, int]:
    """A request over MAX_CONTENT_LENGTH: on the upload pages, the upload form again with the
    message next to the file field; elsewhere the error page with the same message."""
    endpoint = request.endpoint or ""
    if current_user.is_authenticated and endpoint in ("cases.import_upload", "cases.status_upload"):
        user = pages.user()
        if endpoint == "cases.import_upload" and can(user, "case.import"):
            form = UploadCasesForm(formdata=None, federations=pages.upload_federations(user))
            form.file.errors = [pages.too_large_message()]
            return pages.render_upload(form), 413
        if endpoint == "cases.status_upload" and can(user, "case.follow_up"):
            status_form = UploadStatusCheckForm(formdata=None)
            status_form.file.errors = [pages.too_large_message()]
            return pages.render_status_upload(status_form), 413
    return render_template("errors.html", error=error, code=413, message=pages.too_large_message()), 413



@bp.route("/import", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.STAFF)
def import_upload() -> Any:
    """Step 1: upload and validate (nothing is written); the file is kept for the confirmation."""
    user = pages.user()
    form = UploadCasesForm(federations=pages.upload_federations(user))
    if not form.validate_on_submit():
        return pages.render_upload(form)
    # Staff have no federation field: a posted federation id is never read for them.
    federation = db.session.get(Federation, form.federation_id()) if "federation" in form else user.federation
    if federation is None:
        abort(403)
    require(user, "case.import", federation)
    data, filename = pages.read_upload(form)
    result = imports.import_cases(user, federation, data, filename, dry_run=True, check_duplicates=True,
                                  max_bytes=pages.max_upload_bytes())
    db.session.rollback()
    if pages.file_level_only(result.problems):
        form.file.errors = [p.message for p in result.problems]
        return pages.render_upload(form)
    pages.purge_staging()
    staged = staging.stage(pages.staging_folder(), "cases", user.id, federation.id, filename,
                           data if result.ok else None, _import_review(user, federation, result))
    return redirect(url_for("cases.import_review", token=staged.token), code=303)


def _import_review(user: User, federation: Federation, result: imports.ImportResult) -> dict[str, Any]:
    pairs = list(result.duplicates)
    return {
        "status": "checked" if result.ok else "rejected",
        "federation": {"id": federation.id, "code": federation.code, "name": federation.name},
        "rows": result.rows, "created": result.created, "updated": result.updated, "unchanged": result.unchanged,
        "problems": pages.problem_rows(result.problems),
        "duplicates": pages.describe_pairs(user, pairs, pages.federation_codes() if pairs else {}),
        "must_confirm": len(duplicates.needs_confirmation(user, pairs)),
        "reading": _file_reading(result),
    }


def _file_reading(result: imports.ImportResult) -> dict[str, Any]:
    """How the file was read (encoding, delimiter, order of its dates, a sample date), for the review."""
    reading: dict[str, Any] = {}
    if result.source is not None:
        reading.update(encoding=result.source.encoding, delimiter=result.source.delimiter)
    if result.dates is not None and result.dates.sample is not None:
        reading.update(date_order=result.dates.order, date_evidence=result.dates.evidence,
                       date_sample=result.dates.sample,
                       date_read=result.dates.sample_read.isoformat() if result.dates.sample_read else None)
    return reading


def _render_import_review(staged: staging.StagedUpload, form: Form | None = None, status: int = 200,
                          conflict: str | None = None) -> tuple[str, int]:
    review = staged.review
    form = form or ConfirmImportForm(formdata=None)
    return render_template("cases/import_review.html", staged=staged, review=review, form=form, conflict=conflict,
                           shown_problems=review.get("problems", [])[:pages.PROBLEMS_SHOWN],
                           shown_duplicates=review.get("duplicates", [])[:pages.DUPLICATES_SHOWN],
                           expires=pages.expiry(staged)), status



@bp.route("/import/<token>", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.STAFF)
def import_review(token: str) -> Any:
    """Step 2: what the import would do, every problem; POST confirms it (re-validated)."""
    user = pages.user()
    staged = pages.load_staged("cases", token)
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



def _confirm_import(user: User, federation: Federation, staged: staging.StagedUpload, form: Form) -> Any:
    folder = pages.staging_folder()
    data = pages.staged_data(folder, staged)
    try:
        result = imports.import_cases(user, federation, data, staged.filename, dry_run=False, check_duplicates=True,
                                      confirm_distinct=bool(form.confirm_distinct.data),
                                      max_bytes=pages.max_upload_bytes())
    except imports.UnconfirmedDuplicates as exc:
        db.session.rollback()
        review = {**staged.review, "duplicates": pages.describe_pairs(user, exc.pairs, pages.federation_codes()),
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
        return pages.close_staged(folder, staged, {**staged.review, "status": "rejected",
                                              "problems": pages.problem_rows(result.problems)},
                             "The file no longer passes the checks (cases changed since it was checked); "
                             "nothing was imported.", "danger", "cases.import_review")
    db.session.commit()
    review = {**staged.review, "status": "imported", "created": result.created, "updated": result.updated,
              "unchanged": result.unchanged, "rows": result.rows,
              "imported_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    return pages.close_staged(folder, staged, review,
                         f"Imported {staged.filename} into {federation.code}: {result.created} created, "
                         f"{result.updated} updated, {result.unchanged} unchanged.", "success", "cases.import_review")


@bp.route("/import/<token>/problems.csv")
@require_role(Role.ADMIN, Role.STAFF)
def import_problems(token: str) -> Response:
    return pages.problems_csv(pages.load_staged("cases", token))
