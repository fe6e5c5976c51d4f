"""Views of the reports blueprint: generate the annual survival report, list the kept editions,
download them. Admins and researchers get the report of all federations; a staff user gets the
report of their own federation (the analytics service applies the user's scope) and sees only
their federation's editions."""

from __future__ import annotations

import io
from datetime import date

from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from tracker.extensions import db
from tracker.models import Role, User
from tracker.reports import bp, jobs
from tracker.reports.build.inputs import InvalidReportRequest
from tracker.reports.editions import FORMATS, get_edition, visible_editions
from tracker.reports.forms import GenerateReportForm
from tracker.services.permissions import require_role

ROLES = (Role.ADMIN, Role.RESEARCHER, Role.STAFF)


def _user() -> User:
    return current_user._get_current_object()


def _page(form: GenerateReportForm, status: int = 200) -> tuple[str, int]:
    return render_template("reports/index.html", form=form, editions=visible_editions(_user()),
                           pending=jobs.pending_jobs(_user()), formats=FORMATS), status


@bp.get("/")
@require_role(*ROLES)
def index() -> tuple[str, int]:
    form = GenerateReportForm(year=date.today().year - 1)
    return _page(form)


@bp.post("/annual")
@require_role(*ROLES)
def generate() -> Response | tuple[str, int]:
    form = GenerateReportForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    assert form.year.data is not None  # InputRequired
    try:
        job = jobs.submit(_user(), form.year.data, form.format.data, form.as_of.data)
    except InvalidReportRequest as exc:
        db.session.rollback()
        field = getattr(form, exc.field, None)
        if field is not None:
            field.errors = [*field.errors, exc.message]
        else:
            form.form_errors.append(exc.message)
        return _page(form, 400)
    db.session.commit()
    jobs.start(job.id)
    return redirect(url_for("reports.job", job_id=job.id))


@bp.get("/jobs/<int:job_id>")
@require_role(*ROLES)
def job(job_id: int) -> Response | str:
    """Where a report being generated stands; refreshes itself until the edition is there."""
    job = jobs.get_job(_user(), job_id)
    if job is None:
        abort(404)
    if job.status == jobs.DONE and job.edition is not None:
        edition = job.edition
        link = url_for("reports.download", edition_id=edition.id)
        flash(Markup(f"Edition {edition.number} of the {edition.year} report generated. "
                     f'<a class="alert-link" href="{escape(link)}">Download {escape(edition.filename)}</a>'), "success")
        return redirect(url_for("reports.index", _anchor=f"edition-{edition.id}"))
    interrupted = jobs.is_interrupted(job)
    return render_template("reports/job.html", job=job, formats=FORMATS, interrupted=interrupted,
                           error=jobs.INTERRUPTED if interrupted else job.error,
                           waiting=job.status in (jobs.QUEUED, jobs.RUNNING) and not interrupted)


@bp.get("/editions/<int:edition_id>/download")
@require_role(*ROLES)
def download(edition_id: int) -> Response:
    edition = get_edition(_user(), edition_id)
    if edition is None:
        abort(404)
    return send_file(io.BytesIO(edition.content), mimetype=edition.media_type, as_attachment=True,
                     download_name=edition.filename, etag=edition.file_sha256, max_age=0)
