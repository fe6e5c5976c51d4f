"""Follow-up completeness and the annual status check (sheet, upload, review, confirm)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only
from werkzeug.wrappers import Response

from tracker.cases import bp, pages
from tracker.cases.forms import (
    CensusForm,
    ConfirmStatusCheckForm,
    FilterFollowUpForm,
    UploadStatusCheckForm,
)
from tracker.extensions import db
from tracker.i18n import format_date
from tracker.models import Role
from tracker.reports.changes import change_text
from tracker.reports.editions import FORMATS, last_edition
from tracker.services.casework import completeness
from tracker.services.casework.case_list import LIST_COLUMNS
from tracker.services.errors import DomainError, EditConflict
from tracker.services.permissions import Scope, require_role
from tracker.services.spreadsheets import exports, imports, staging, status_import

Form = Any  # a FlaskForm subclass instance
CENSUS_YEARS_SHOWN = 10  # on the page, newest first (CENSUS_YEARS_SHOWN in the config); the download has every year

# --- follow-up completeness and the annual status check ---------------------------------------

@bp.route("/follow-up")
@require_role(Role.ADMIN, Role.STAFF)
def completeness_page() -> Any:
    """Open cases not verified for 12 months, the share verified per federation, the census and
    completeness by census year; for the secretariat also the last edition of the report."""
    return _render_completeness(CensusForm(formdata=None, census_date=completeness.default_census_date().isoformat()))


def _render_completeness(census_form: Form, status: int = 200) -> Any:
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
    edition = last_edition() if user.role == Role.ADMIN else None
    return render_template("cases/completeness.html", form=form, rows=rows,
                           total=completeness.total(rows) if several else None,
                           pagination=pagination, cases=pagination.items, list_args=args,
                           cutoff=completeness.verification_cutoff(), federation_codes=pages.federation_codes(),
                           several=several, census_form=census_form,
                           census=completeness.census_completeness(user),
                           years_shown=int(current_app.config.get("CENSUS_YEARS_SHOWN", CENSUS_YEARS_SHOWN)),
                           secretariat=user.role == Role.ADMIN, edition=edition, formats=FORMATS,
                           change_text=change_text), status


def _sheet_federation() -> int | None:
    """The federation of a sheet: the one chosen on the page (admins), else the user's own."""
    user = pages.user()
    if not Scope.of(user).everything:
        return user.federation_id
    form = FilterFollowUpForm(formdata=request.args, federations=pages.federations())
    form.validate()
    return form.federation_id()


@bp.route(f"/follow-up/status-check.<{pages.FILE_FORMATS}:fmt>")
@require_role(Role.ADMIN, Role.STAFF)
def status_check_export(fmt: str) -> Response:
    """The "annual status check" sheet of the stale open cases, for staff to fill in."""
    federation_id = _sheet_federation()
    buffer = io.BytesIO()
    try:
        status_import.write_status_check(buffer, pages.user(), fmt, federation_id)
    except DomainError as exc:  # more rows than an XLSX sheet holds
        flash(exc.message, "warning")
        return redirect(url_for("cases.completeness_page", **pages.query_args()))
    name = f"status-check-{_scope(federation_id)}-{date.today().isoformat()}.{fmt}"
    return pages.download(buffer.getvalue(), fmt, name)


@bp.route(f"/follow-up/census.<{pages.FILE_FORMATS}:fmt>")
@require_role(Role.ADMIN, Role.STAFF)
def census_export(fmt: str) -> Any:
    """The census sheet: every case open on the census date (`?census_date=`, default 31
    December of last year), filled in and uploaded back like the status check."""
    census_form = CensusForm(formdata=request.args)
    try:
        day = completeness.census_date(census_form.census_date.data)
    except completeness.InvalidCensusDate as exc:
        census_form.census_date.errors = [exc.message]
        return _render_completeness(census_form, status=400)
    federation_id = _sheet_federation()
    buffer = io.BytesIO()
    try:
        status_import.write_status_check(buffer, pages.user(), fmt, federation_id, census_date=day)
    except DomainError as exc:  # more rows than an XLSX sheet holds
        census_form.census_date.errors = [exc.message]
        return _render_completeness(census_form, status=400)
    return pages.download(buffer.getvalue(), fmt, f"census-{_scope(federation_id)}-{day.isoformat()}.{fmt}")


@bp.route("/follow-up/census-completeness.csv")
@require_role(Role.ADMIN, Role.STAFF)
def census_completeness_export() -> Response:
    """Completeness by census year as a CSV: one row per federation and census date."""
    user = pages.user()
    census = completeness.census_completeness(user)
    codes = {fed_id: code for fed_id, code, _name in census.federations}
    rows = [(codes.get(r.federation_id or 0, "?"), r.census_date, r.open_cases, r.settled, r.unsettled,
             None if r.share_settled is None else round(r.share_settled, 4)) for r in census.rows()]
    if Scope.of(user).everything:
        rows += [("all", r.census_date, r.open_cases, r.settled, r.unsettled,
                  None if r.share_settled is None else round(r.share_settled, 4))
                 for r in (census.totals[year] for year in census.years)]
    content = exports.table_bytes("csv", CENSUS_COMPLETENESS_COLUMNS, rows)
    return pages.download(content, "csv", f"census-completeness-{date.today().isoformat()}.csv")


CENSUS_COMPLETENESS_COLUMNS = ("federation", "census_date", "open_cases", "settled", "not_settled", "share_settled")


def _scope(federation_id: int | None) -> str:
    return pages.federation_codes().get(federation_id, "all") if federation_id else "all"


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
    folder = pages.staging_folder()
    staged = staging.stage(folder, "status", user.id, user.federation_id, filename,
                           data if result.ok or result.partial_possible else None, _status_review(result))
    rejected = imports.rejected_rows_file(data, filename, result.problems, pages.max_upload_bytes())
    if rejected is not None:
        staging.attach(folder, staged, "rejected", rejected)
    return redirect(url_for("cases.status_review", token=staged.token), code=303)


def _status_review(result: status_import.StatusImportResult, status: str | None = None) -> dict[str, Any]:
    default = "checked" if result.ok else "partial" if result.partial_possible else "rejected"
    return {"status": status or default, "rows": result.rows,
            "operating": result.operating, "exits": result.exits, "unchanged": result.unchanged,
            "blank": result.blank, "problems": pages.problem_rows(result.problems or result.skipped),
            "census_date": result.census_date.isoformat() if result.census_date else None,
            "settled": result.settled, "recordable": result.recordable,
            "rejected_rows": len(result.rejected_rows)}


def _render_status_review(staged: staging.StagedUpload, form: Form | None = None,
                          status: int = 200) -> tuple[str, int]:
    review = staged.review
    heading = (_("Census of %(date)s", date=format_date(review["census_date"], "written")) if review.get("census_date")
               else _("Status check %(file)s", file=staged.filename))
    return render_template("cases/status_review.html", staged=staged, review=review, heading=heading,
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
    status = staged.review.get("status")
    only_valid = status == "partial"
    if not form.validate_on_submit() or status not in ("checked", "partial") or (only_valid
                                                                                and not form.record_valid.data):
        return _render_status_review(staged, form, status=400 if form.errors else 409)
    folder = pages.staging_folder()
    data = pages.staged_data(folder, staged)
    try:
        result = status_import.import_status_checks(user, data, staged.filename, dry_run=False,
                                                    max_bytes=pages.max_upload_bytes(), only_valid=only_valid)
    except (EditConflict, IntegrityError):
        db.session.rollback()
        flash(_("Cases were changed while the follow-ups were being recorded; nothing was recorded. "
                "Confirm again."), "warning")
        return redirect(url_for("cases.status_review", token=staged.token), code=303)
    if not result.ok:
        db.session.rollback()
        return pages.close_staged(folder, staged, _status_review(result),
                                  _("The file no longer passes the checks (cases changed since it was checked); "
                                    "nothing was recorded."), "danger", "cases.status_review")
    db.session.commit()
    review = {**_status_review(result, status="recorded"),
              "recorded_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    message = _("Recorded %(confirmations)s and %(exits)s from %(file)s.",
                confirmations=ngettext("%(num)s confirmation of operation", "%(num)s confirmations of operation",
                                       result.operating),
                exits=ngettext("%(num)s exit", "%(num)s exits", result.exits), file=staged.filename)
    if result.census_date is not None:
        message += " " + ngettext("%(num)s case settled for the census of %(date)s.",
                                  "%(num)s cases settled for the census of %(date)s.", result.settled,
                                  date=format_date(result.census_date, "written"))
    if result.skipped:
        message += " " + ngettext("%(num)d row with problems was left out: download it, fix it and upload it again.",
                                  "%(num)d rows with problems were left out: download them, fix them and upload "
                                  "them again.", len(result.rejected_rows))
    return pages.close_staged(folder, staged, review, message, "success", "cases.status_review")


@bp.route("/follow-up/upload/<token>/problems.csv")
@require_role(Role.ADMIN, Role.STAFF)
def status_problems(token: str) -> Response:
    return pages.problems_csv(pages.load_staged("status", token))


@bp.route("/follow-up/upload/<token>/rejected-rows.csv")
@require_role(Role.ADMIN, Role.STAFF)
def status_rejected_rows(token: str) -> Response:
    """The sheet's rows with problems, as written, with what is wrong: to fix and upload again."""
    staged = pages.load_staged("status", token)
    return pages.rejected_rows_download(staged)
