"""Follow-up completeness and the annual status check (sheet, upload, review, confirm)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only
from werkzeug.wrappers import Response

from tracker.cases import bp, pages
from tracker.cases.forms import (
    ConfirmStatusCheckForm,
    FilterFollowUpForm,
    UploadStatusCheckForm,
)
from tracker.extensions import db
from tracker.models import Role
from tracker.services.casework import completeness
from tracker.services.casework.case_list import LIST_COLUMNS
from tracker.services.errors import DomainError, EditConflict
from tracker.services.permissions import Scope, require_role
from tracker.services.spreadsheets import staging, status_import

Form = Any  # a FlaskForm subclass instance

# --- follow-up completeness and the annual status check ---------------------------------------

@bp.route("/follow-up")
@require_role(Role.ADMIN, Role.STAFF)
def completeness_page() -> str:
    """Open cases not verified for 12 months, and the share verified per federation."""
    user = pages.user()
    several = Scope.of(user).everything
    form = FilterFollowUpForm(formdata=request.args, federations=pages.federations() if several else None)
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
                           cutoff=completeness.verification_cutoff(), federation_codes=pages.federation_codes(),
                           several=several)


@bp.route(f"/follow-up/status-check.<{pages.FILE_FORMATS}:fmt>")
@require_role(Role.ADMIN, Role.STAFF)
def status_check_export(fmt: str) -> Response:
    """The "annual status check" sheet of the stale open cases, for staff to fill in."""
    user = pages.user()
    several = Scope.of(user).everything
    form = FilterFollowUpForm(formdata=request.args, federations=pages.federations() if several else None)
    form.validate()
    federation_id = form.federation_id() if several else user.federation_id
    buffer = io.BytesIO()
    try:
        status_import.write_status_check(buffer, user, fmt, federation_id)
    except DomainError as exc:  # more rows than an XLSX sheet holds
        flash(exc.message, "warning")
        return redirect(url_for("cases.completeness_page", **pages.query_args()))
    scope = pages.federation_codes().get(federation_id, "all") if federation_id else "all"
    return pages.download(buffer.getvalue(), fmt, f"status-check-{scope}-{date.today().isoformat()}.{fmt}")




@bp.route("/follow-up/upload", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.STAFF)
def status_upload() -> Any:
    user = pages.user()
    form = UploadStatusCheckForm()
    if not form.validate_on_submit():
        return pages.render_status_upload(form)
    data, filename = pages.read_upload(form)
    result = status_import.import_status_checks(user, data, filename, dry_run=True, max_bytes=pages.max_upload_bytes())
    db.session.rollback()
    if pages.file_level_only(result.problems):
        form.file.errors = [p.message for p in result.problems]
        return pages.render_status_upload(form)
    pages.purge_staging()
    staged = staging.stage(pages.staging_folder(), "status", user.id, user.federation_id, filename,
                           data if result.ok else None, _status_review(result))
    return redirect(url_for("cases.status_review", token=staged.token), code=303)


def _status_review(result: status_import.StatusImportResult, status: str | None = None) -> dict[str, Any]:
    return {"status": status or ("checked" if result.ok else "rejected"), "rows": result.rows,
            "operating": result.operating, "exits": result.exits, "unchanged": result.unchanged,
            "blank": result.blank, "problems": pages.problem_rows(result.problems)}


def _render_status_review(staged: staging.StagedUpload, form: Form | None = None,
                          status: int = 200) -> tuple[str, int]:
    review = staged.review
    return render_template("cases/status_review.html", staged=staged, review=review,
                           form=form or ConfirmStatusCheckForm(formdata=None),
                           shown_problems=review.get("problems", [])[:pages.PROBLEMS_SHOWN],
                           expires=pages.expiry(staged)), status


@bp.route("/follow-up/upload/<token>", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.STAFF)
def status_review(token: str) -> Any:
    user = pages.user()
    staged = pages.load_staged("status", token)
    if request.method == "GET":
        return _render_status_review(staged)
    form = ConfirmStatusCheckForm()
    if not form.validate_on_submit() or staged.review.get("status") != "checked":
        return _render_status_review(staged, form, status=400 if form.errors else 409)
    folder = pages.staging_folder()
    data = pages.staged_data(folder, staged)
    try:
        result = status_import.import_status_checks(user, data, staged.filename, dry_run=False,
                                                    max_bytes=pages.max_upload_bytes())
    except (EditConflict, IntegrityError):
        db.session.rollback()
        flash("Cases were changed while the follow-ups were being recorded; nothing was recorded. "
              "Confirm again.", "warning")
        return redirect(url_for("cases.status_review", token=staged.token), code=303)
    if not result.ok:
        db.session.rollback()
        return pages.close_staged(folder, staged, _status_review(result),
                             "The file no longer passes the checks (cases changed since it was checked); "
                             "nothing was recorded.", "danger", "cases.status_review")
    db.session.commit()
    review = {**_status_review(result, status="recorded"),
              "recorded_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    return pages.close_staged(folder, staged, review,
                         f"Recorded {result.operating} confirmation{'s' if result.operating != 1 else ''} of "
                         f"operation and {result.exits} exit{'s' if result.exits != 1 else ''} from "
                         f"{staged.filename}.", "success", "cases.status_review")


@bp.route("/follow-up/upload/<token>/problems.csv")
@require_role(Role.ADMIN, Role.STAFF)
def status_problems(token: str) -> Response:
    return pages.problems_csv(pages.load_staged("status", token))
