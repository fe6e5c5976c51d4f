"""Views of the reports blueprint: generate the annual survival report, list the kept editions,
download their files. Admins publish official editions of all federations; researchers get
drafts of all federations; a staff user gets drafts of their own federation (the analytics
service applies the user's scope) and sees only their federation's editions."""

from __future__ import annotations

import io
from datetime import date

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from tracker.extensions import db
from tracker.i18n import current_language, is_language, language_name
from tracker.models import ReportEdition, Role, User
from tracker.reports import bp, jobs
from tracker.reports.build.inputs import InvalidReportRequest
from tracker.reports.changes import change_text
from tracker.reports.editions import FORMATS, get_edition, publishes_official, visible_editions
from tracker.reports.forms import GenerateReportForm
from tracker.services.permissions import require_role

ROLES = (Role.ADMIN, Role.RESEARCHER, Role.STAFF)


def _user() -> User:
    return current_user._get_current_object()


def _page(form: GenerateReportForm, status: int = 200) -> tuple[str, int]:
    return render_template("reports/index.html", form=form, editions=visible_editions(_user()),
                           pending=jobs.pending_jobs(_user()), formats=FORMATS, change_text=change_text,
                           official=publishes_official(_user()), stage_text=jobs.stage_text), status


@bp.get("/")
@require_role(*ROLES)
def index() -> tuple[str, int]:
    form = GenerateReportForm(year=date.today().year - 1, language=current_language())
    return _page(form)


@bp.post("/annual")
@require_role(*ROLES)
def generate() -> Response | tuple[str, int]:
    form = GenerateReportForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    assert form.year.data is not None  # InputRequired
    try:
        job = jobs.submit(_user(), form.year.data, form.format.data, form.as_of.data, language=form.language.data)
    except InvalidReportRequest as exc:
        db.session.rollback()
        field = getattr(form, exc.field, None)
        if field is not None:
            field.errors = [*field.errors, exc.message]
        else:
            form.form_errors.append(exc.message)
        return _page(form, 400)
    ahead = jobs.ahead_of(job)
    db.session.commit()
    if ahead >= jobs.max_jobs():
        flash(_("Your report is in the queue: at most %(max)s reports are generated at once, and %(ahead)s were "
                "requested before yours. It will start as soon as one of them is finished.",
                max=jobs.max_jobs(), ahead=ahead), "info")
    jobs.start(job.id)
    return redirect(url_for("reports.job", job_id=job.id))


def _done_message(job_edition: ReportEdition, reused: bool, fmt: str, language: str) -> Markup:
    link = url_for("reports.download", edition_id=job_edition.id, format=fmt, language=language)
    file = job_edition.file(fmt, language)
    name = file.filename if file is not None else ""
    if not job_edition.official:
        text = _("Draft of the %(year)s report generated (drafts take no edition number).", year=job_edition.year)
    elif reused:
        text = _("The data have not changed since edition %(number)s of the %(year)s report: here it is.",
                 number=job_edition.number, year=job_edition.year)
    else:
        text = _("Edition %(number)s of the %(year)s report generated.", number=job_edition.number,
                 year=job_edition.year)
    download = _("Download %(name)s", name=name)
    return Markup(f'{escape(text)} <a class="alert-link" href="{escape(link)}">{escape(download)}</a>')


@bp.get("/jobs/<int:job_id>")
@require_role(*ROLES)
def job(job_id: int) -> Response | str:
    """Where a report being generated stands; refreshes itself until the edition is there."""
    job = jobs.get_job(_user(), job_id)
    if job is None:
        abort(404)
    if job.status == jobs.DONE and job.edition is not None:
        flash(_done_message(job.edition, job.reused, job.format, job.language), "success")
        return redirect(url_for("reports.index", _anchor=f"edition-{job.edition.id}"))
    interrupted = jobs.is_interrupted(job)
    return render_template("reports/job.html", job=job, formats=FORMATS, interrupted=interrupted,
                           language_name=language_name,
                           stage_text=jobs.stage_text, error=jobs.INTERRUPTED if interrupted else job.error,
                           waiting=job.status in (jobs.QUEUED, jobs.RUNNING) and not interrupted)


@bp.get("/editions/<int:edition_id>/download")
@require_role(*ROLES)
def download(edition_id: int) -> Response:
    """A file of an edition: `?format=` (default pdf, else the first kept) and `?language=`."""
    edition = get_edition(_user(), edition_id)
    if edition is None:
        abort(404)
    fmt, language = request.args.get("format", "pdf"), request.args.get("language")
    file = edition.file(fmt, language if is_language(language) else None) or edition.file(fmt) or \
        (edition.files[0] if edition.files else None)
    if file is None:
        abort(404)
    return send_file(io.BytesIO(file.content), mimetype=file.media_type, as_attachment=True,
                     download_name=file.filename, etag=file.file_sha256, max_age=0)
