"""The spreadsheet import of cases in two steps (upload and check, then confirm), the blank
template and its help page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from tracker import vocabulary
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
                                  notes=import_help.help_rows(pages.value_labels()), rules=import_help.cell_rules())
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
    folder = pages.staging_folder()
    importable = result.ok or result.partial_possible
    staged = staging.stage(folder, "cases", user.id, federation.id, filename,
                           data if importable else None, _import_review(user, federation, result))
    rejected = imports.rejected_rows_file(data, filename, result.problems, pages.max_upload_bytes())
    if rejected is not None:
        staging.attach(folder, staged, "rejected", rejected)
    return redirect(url_for("cases.import_review", token=staged.token), code=303)


PREVIEW_SHOWN = 500


def _preview(result: imports.ImportResult) -> dict[str, Any]:
    """The cases the import creates and, for updates, each changed field as old → new (labelled)."""

    def shown(field: str, value: Any) -> Any:
        labels = {"transfer_type": vocabulary.TRANSFER_TYPES, "exit_reason": vocabulary.EXIT_REASONS}.get(field)
        return labels.get(str(value), str(value)) if labels is not None and value is not None else value

    return {
        "creates": [[p.row, p.ref, p.name] for p in result.creates[:PREVIEW_SHOWN]],
        "create_total": len(result.creates),
        "updates": [[p.row, p.ref, p.name, [[vocabulary.CASE_FIELDS.get(f, f), shown(f, old), shown(f, new)]
                                             for f, (old, new) in p.changes.items()]]
                    for p in result.updates[:PREVIEW_SHOWN]],
        "update_total": len(result.updates),
    }


def _import_review(user: User, federation: Federation, result: imports.ImportResult) -> dict[str, Any]:
    # Hints about other federations' cases only for a file that is otherwise valid, within the
    # user's daily allowance (services.casework.duplicate_hints).
    pairs, withheld = pages.hinted_pairs(user, list(result.duplicates), valid=result.ok)
    return {
        "status": "checked" if result.ok else "partial" if result.partial_possible else "rejected",
        "importable": result.importable, "rejected_rows": len(result.rejected_rows),
        **_preview(result),
        "federation": {"id": federation.id, "code": federation.code, "name": federation.name},
        "rows": result.rows, "created": result.created, "updated": result.updated, "unchanged": result.unchanged,
        "problems": pages.problem_rows(result.problems),
        "duplicates": pages.describe_pairs(user, pairs, pages.federation_codes() if pairs else {}),
        "must_confirm": len(duplicates.needs_confirmation(user, pairs)),
        "hints_withheld": pages.duplicate_hints.per_day() if withheld else None,
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
    status = staged.review.get("status")
    only_valid = bool(form.import_valid.data)
    if not form.validate_on_submit() or status not in ("checked", "partial") or (status == "partial"
                                                                                and not only_valid):
        return _render_import_review(staged, form, status=400 if form.errors else 409)
    return _confirm_import(user, federation, staged, form, only_valid=status == "partial")



def _confirm_import(user: User, federation: Federation, staged: staging.StagedUpload, form: Form,
                    only_valid: bool = False) -> Any:
    folder = pages.staging_folder()
    data = pages.staged_data(folder, staged)
    try:
        result = imports.import_cases(user, federation, data, staged.filename, dry_run=False, check_duplicates=True,
                                      confirm_distinct=bool(form.confirm_distinct.data),
                                      max_bytes=pages.max_upload_bytes(), only_valid=only_valid)
    except imports.UnconfirmedDuplicates as exc:
        db.session.rollback()
        review = {**staged.review, "duplicates": pages.describe_pairs(user, exc.pairs, pages.federation_codes()),
                  "must_confirm": len(exc.pairs)}
        staged = staging.update_review(folder, staged, review)
        form.confirm_distinct.errors = [*form.confirm_distinct.errors, exc.message]
        return _render_import_review(staged, form)
    except (EditConflict, IntegrityError):
        db.session.rollback()
        return _render_import_review(staged, form, status=409, conflict=_(
            "Cases of this federation were changed while the file was being imported; nothing was imported. "
            "Confirm again to import the file against the current cases."))
    if not result.ok:  # the cases changed since the file was checked
        db.session.rollback()
        return pages.close_staged(folder, staged, {**staged.review, "status": "rejected",
                                              "problems": pages.problem_rows(result.problems)},
                             _("The file no longer passes the checks (cases changed since it was checked); "
                               "nothing was imported."), "danger", "cases.import_review")
    db.session.commit()
    review = {**staged.review, "status": "imported", "created": result.created, "updated": result.updated,
              "unchanged": result.unchanged, "rows": result.rows, "rejected_rows": len(result.rejected_rows),
              "imported_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    message = _("Imported %(file)s into %(federation)s: %(created)d created, %(updated)d updated, "
                "%(unchanged)d unchanged.", file=staged.filename, federation=federation.code,
                created=result.created, updated=result.updated, unchanged=result.unchanged)
    if result.skipped:
        message += " " + ngettext("%(num)d row with problems was left out: download it, fix it and upload it again.",
                                  "%(num)d rows with problems were left out: download them, fix them and upload "
                                  "them again.", len(result.rejected_rows))
    return pages.close_staged(folder, staged, review, message, "success", "cases.import_review")


@bp.route("/import/<token>/problems.csv")
@require_role(Role.ADMIN, Role.STAFF)
def import_problems(token: str) -> Response:
    return pages.problems_csv(pages.load_staged("cases", token))


@bp.route("/import/<token>/rejected-rows.csv")
@require_role(Role.ADMIN, Role.STAFF)
def import_rejected_rows(token: str) -> Response:
    """The rows of the upload that have problems, with a column saying what is wrong, to fix and upload again."""
    return pages.rejected_rows_download(pages.load_staged("cases", token))
