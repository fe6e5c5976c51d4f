"""Annual reports generated in the background for the web page.

Generating an edition takes from a few seconds to a minute or two (a million cases, PDF): longer
than a browser or a gunicorn worker should wait on one request. The page records a ReportJob and
answers at once; a thread of the same app process generates the edition and records its stage
as it goes, and the job's page refreshes itself until the edition is there (no JavaScript
needed).

At most REPORT_MAX_JOBS (default 2) reports are generated at once per instance, whatever the
number of worker processes: a job holds one of that many lock files in the instance folder while
it runs. The others wait `queued`, and their page says how many requests are ahead. Every queued
job runs in the end; jobs asking for data already published get the existing edition.

A job left `queued` or `running` by a process that stopped is shown as interrupted after
REPORT_JOB_STALE_MINUTES. With REPORT_JOBS_INLINE (the tests) the job runs within the request.
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import IO

from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from tracker.extensions import db
from tracker.i18n import N_
from tracker.models import ReportJob, User
from tracker.models.base import utcnow
from tracker.reports.build.inputs import InvalidReportRequest, check_request
from tracker.reports.editions import FORMATS, RENDER_STAGE, check_format, check_language, generate_edition, may_see
from tracker.services.permissions import Scope

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
UNEXPECTED = _l("The report could not be generated because of an unexpected error; it was logged for the "
                "administrators.")
INTERRUPTED = _l("The report was interrupted (the server restarted); generate it again.")
DEFAULT_MAX_JOBS = 2
SLOT_POLL_SECONDS = 0.5
#: Stages before the report's own (`tracker.reports.build.inputs.STAGES`, then one per format rendered):
#: stored in English, as msgids, and written out in the reader's language by `stage_text`.
WAITING, STARTING = N_("Waiting to start"), N_("Starting")
QUEUED_STAGE = "queued:"

_threads: dict[int, threading.Thread] = {}


def max_jobs() -> int:
    return max(1, int(current_app.config.get("REPORT_MAX_JOBS", DEFAULT_MAX_JOBS)))


def submit(user: User, year: int, fmt: str, as_of: date | None, language: str = "en") -> ReportJob:
    """Queue the report of what `user` may see (flushed; the caller commits, then calls `start`).
    Raises InvalidReportRequest at once for an impossible year, date, format or language."""
    check_format(fmt)
    check_language(language)
    check_request(year, as_of or date(year, 12, 31), date.today())
    job = ReportJob(requested_by_id=user.id, federation_id=Scope.of(user).federation_id, language=language,
                    year=year, format=fmt, as_of=as_of, status=QUEUED, stage=WAITING)
    db.session.add(job)
    db.session.flush()
    return job


def ahead_of(job: ReportJob) -> int:
    """Jobs of this instance queued or running before this one (not counting stale ones)."""
    stale = utcnow() - timedelta(minutes=current_app.config.get("REPORT_JOB_STALE_MINUTES", 30))
    return db.session.scalar(select(func.count()).select_from(ReportJob).where(
        ReportJob.id < job.id, ReportJob.status.in_((QUEUED, RUNNING)), ReportJob.created_at > stale)) or 0


def start(job_id: int) -> None:
    """Generate the job's edition: in a background thread, or here with REPORT_JOBS_INLINE."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy, typed as the Flask it stands for
    if app.config.get("REPORT_JOBS_INLINE"):
        _execute(job_id, record_stage=False)
        return
    thread = threading.Thread(target=run, args=(app, job_id), name=f"report-job-{job_id}", daemon=True)
    _threads[job_id] = thread
    thread.start()


def wait(job_id: int, timeout: float | None = None) -> None:
    """Wait for a job started in this process (tests and benchmarks)."""
    thread = _threads.get(job_id)
    if thread is not None:
        thread.join(timeout)


def run(app: Flask, job_id: int) -> None:
    """A job's thread: wait for a free slot, then generate."""
    with app.app_context():
        try:
            _execute(job_id, record_stage=True)
        finally:
            db.session.remove()
            _threads.pop(job_id, None)


@contextmanager
def job_slot(job_id: int, record_stage: bool) -> Iterator[None]:
    """Hold one of the REPORT_MAX_JOBS slots of the instance (lock files in the instance
    folder, so every worker process counts), waiting for one to be free."""
    folder = Path(current_app.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    said = None
    while True:
        handle = _free_slot(folder, max_jobs())
        if handle is not None:
            break
        if record_stage:
            job = db.session.get_one(ReportJob, job_id)
            ahead = ahead_of(job)
            db.session.rollback()
            if ahead != said:
                _record_stage(job_id, f"{QUEUED_STAGE}{ahead}")
                said = ahead
        time.sleep(SLOT_POLL_SECONDS)
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _free_slot(folder: Path, slots: int) -> IO[str] | None:
    for i in range(slots):
        handle = (folder / f"report-job-slot-{i}.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return handle
    return None


def queued_words(ahead: int) -> str:
    """What the page of a queued job says, `ahead` jobs before it."""
    return _("In the queue: at most %(max)s reports are generated at once; %(ahead)s requested before this one.",
             max=max_jobs(), ahead=ahead)


def stage_text(stage: str | None) -> str:
    """A job's stored stage in the language of the moment: the stages are kept as their English
    msgids (one job's stage is read by readers of every language), the queue as `queued:N` and
    the rendering of a format as `render:KEY`. A stage the catalogues do not know stays as it is."""
    if not stage:
        return _("Waiting to start")
    if stage.startswith(QUEUED_STAGE) and stage[len(QUEUED_STAGE):].isdigit():
        return queued_words(int(stage[len(QUEUED_STAGE):]))
    if stage.startswith(RENDER_STAGE) and stage[len(RENDER_STAGE):] in FORMATS:
        return _("Rendering %(format)s", format=FORMATS[stage[len(RENDER_STAGE):]].label)
    return _(stage)


def _execute(job_id: int, record_stage: bool) -> None:
    job = db.session.get_one(ReportJob, job_id)
    user, year, fmt, as_of, language = job.requested_by, job.year, job.format, job.as_of, job.language
    db.session.commit()

    def progress(stage: str) -> None:
        if record_stage:
            _record_stage(job_id, stage)

    try:
        with job_slot(job_id, record_stage):
            _set_running(job_id)
            generated = generate_edition(user, year, fmt, as_of, language=language, progress=progress)
    except InvalidReportRequest as exc:
        db.session.rollback()
        _finish(job_id, FAILED, error=exc.message)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("report job %s failed", job_id)
        _finish(job_id, FAILED, error=str(UNEXPECTED))
    else:
        _finish(job_id, DONE, edition_id=generated.edition.id, reused=generated.reused)


def _set_running(job_id: int) -> None:
    job = db.session.get_one(ReportJob, job_id)
    job.status, job.stage = RUNNING, STARTING
    db.session.commit()


def _record_stage(job_id: int, stage: str) -> None:
    """Written on a connection of its own, so that other processes can show it while the report's
    own transaction is still open. Best effort: a busy database only delays the next stage."""
    try:
        with db.engine.begin() as connection:
            connection.execute(update(ReportJob).where(ReportJob.id == job_id).values(stage=stage[:120]))
    except DBAPIError:
        current_app.logger.info("report job %s: stage %r not recorded (database busy)", job_id, stage)


def _finish(job_id: int, status: str, error: str | None = None, edition_id: int | None = None,
            reused: bool = False) -> None:
    job = db.session.get_one(ReportJob, job_id)
    job.status, job.stage, job.error, job.edition_id, job.finished_at = status, None, error, edition_id, utcnow()
    job.reused = reused
    db.session.commit()


def get_job(user: User, job_id: int) -> ReportJob | None:
    """The job if the user may see it, as its edition (None otherwise)."""
    job = db.session.get(ReportJob, job_id)
    return job if job is not None and may_see(user, job.federation_id) else None


def is_interrupted(job: ReportJob) -> bool:
    stale = timedelta(minutes=current_app.config.get("REPORT_JOB_STALE_MINUTES", 30))
    created = job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=utcnow().tzinfo)
    return job.status in (QUEUED, RUNNING) and utcnow() - created > stale


def pending_jobs(user: User) -> list[ReportJob]:
    """The user's own jobs still being generated, newest first."""
    stmt = (select(ReportJob).where(ReportJob.requested_by_id == user.id, ReportJob.status.in_((QUEUED, RUNNING)))
            .order_by(ReportJob.id.desc()).limit(10))
    return [job for job in db.session.scalars(stmt) if not is_interrupted(job)]
