"""The report page generates editions in the background: the request answers at once with a page
that refreshes itself while the report is generated, then leads to the edition; failures and
interrupted jobs say so instead of waiting forever."""

from __future__ import annotations

import os
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from config import TestingConfig
from tracker.extensions import db
from tracker.models import ReportEdition, ReportJob, Role
from tracker.models.base import utcnow
from tracker.reports import jobs
from tracker.services.analytics import queries as analytics


class BackgroundConfig(TestingConfig):
    REPORT_JOBS_INLINE = False


@pytest.fixture
def app_config(tmp_path, monkeypatch):
    # The job's thread opens its own connections: an in-memory SQLite database would be empty there.
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    return BackgroundConfig


@pytest.fixture
def federation(app, make_federation, make_case):
    analytics.clear_cache()
    fed = make_federation(code="FR-ONE", country="FR")
    for i in range(12):
        make_case(fed, transfer_date=date(2014, 1 + i, 1), registered_on=date(2014, 1 + i, 1),
                  last_verified_on=date(2025, 9, 30))
    return fed


def job_id_from(response) -> int:
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "/reports/jobs/" in location
    return int(location.rsplit("/", 1)[1])


def test_the_report_is_generated_in_the_background_and_then_offered(client, login, federation):
    login(Role.ADMIN)
    job_id = job_id_from(client.post("/reports/annual", data={"year": "2025", "format": "csv"}))
    jobs.wait(job_id, timeout=120)
    page = client.get(f"/reports/jobs/{job_id}")
    assert page.status_code == 302 and "#edition-" in page.headers["Location"]
    edition = db.session.scalars(select(ReportEdition)).one()
    assert (edition.year, edition.number, edition.figures["inputs"]["transfers"]) == (2025, 1, 12)
    listing = client.get("/reports/").get_data(as_text=True)
    assert "Edition 1 of the 2025 report generated" in listing and edition.file("csv").filename in listing
    job = db.session.get(ReportJob, job_id)
    assert job.status == jobs.DONE and job.edition_id == edition.id and job.finished_at is not None


def test_a_job_in_progress_shows_its_stage_and_refreshes_itself(client, login, make_user, federation):
    user = login(Role.RESEARCHER)
    job = ReportJob(requested_by_id=user.id, year=2025, format="pdf", status=jobs.RUNNING,
                    stage="Survival by transfer type")
    db.session.add(job)
    db.session.commit()
    html = client.get(f"/reports/jobs/{job.id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in html
    assert "Survival by transfer type" in html
    index = client.get("/reports/").get_data(as_text=True)
    assert "Being generated" in index and f"/reports/jobs/{job.id}" in index


def test_a_failure_is_reported_on_the_job_page_not_as_a_500(client, login, federation, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(jobs, "generate_edition", broken)
    login(Role.ADMIN)
    job_id = job_id_from(client.post("/reports/annual", data={"year": "2025", "format": "pdf"}))
    jobs.wait(job_id, timeout=60)
    page = client.get(f"/reports/jobs/{job_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "was not generated" in html and "unexpected error" in html and "disk full" not in html
    assert 'http-equiv="refresh"' not in html
    assert db.session.scalars(select(ReportEdition)).first() is None


def test_a_job_left_behind_by_a_stopped_server_is_shown_as_interrupted(client, login, federation):
    user = login(Role.ADMIN)
    job = ReportJob(requested_by_id=user.id, year=2025, format="pdf", status=jobs.RUNNING, stage="Exits",
                    created_at=utcnow() - timedelta(hours=2))
    db.session.add(job)
    db.session.commit()
    html = client.get(f"/reports/jobs/{job.id}").get_data(as_text=True)
    assert "interrupted" in html and 'http-equiv="refresh"' not in html
    assert f"/reports/jobs/{job.id}" not in client.get("/reports/").get_data(as_text=True)


def test_bad_requests_are_refused_before_any_job_is_queued(client, login, federation):
    login(Role.ADMIN)
    response = client.post("/reports/annual", data={"year": "2025", "as_of": "2999-01-01", "format": "pdf"})
    assert response.status_code == 400 and "in the future" in response.get_data(as_text=True)
    next_year = date.today().year + 1
    response = client.post("/reports/annual", data={"year": str(next_year), "format": "pdf"})
    assert response.status_code == 400 and f"not {next_year}" in response.get_data(as_text=True)
    assert client.post("/reports/annual", data={"year": "2025", "format": "docx"}).status_code == 400
    assert db.session.scalars(select(ReportJob)).first() is None


def test_staff_follow_only_their_federations_jobs(client, login, make_federation, federation):
    other = make_federation(code="BE-TWO", country="BE")
    login(Role.STAFF, federation=federation)
    job_id = job_id_from(client.post("/reports/annual", data={"year": "2025", "format": "html"}))
    jobs.wait(job_id, timeout=60)
    assert client.get(f"/reports/jobs/{job_id}").status_code == 302
    login(Role.STAFF, federation=other)
    assert client.get(f"/reports/jobs/{job_id}").status_code == 404
    assert client.get("/reports/jobs/999999").status_code == 404


def test_ten_requests_at_once_wait_in_a_queue_and_all_finish(app, client, login, federation, monkeypatch):
    """REPORT_MAX_JOBS = 2: never more than two are generated at once, the others say they are
    queued, and all ten end with the one edition of that data."""
    app.config["REPORT_MAX_JOBS"] = 2
    running, most, seen_queued = [0], [0], []
    lock = threading.Lock()
    real = jobs.generate_edition

    def counted(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    real_record = jobs._record_stage

    def record(job_id, stage):
        if stage.startswith(jobs.QUEUED_STAGE):
            seen_queued.append(job_id)
        real_record(job_id, stage)

    monkeypatch.setattr(jobs, "generate_edition", counted)
    monkeypatch.setattr(jobs, "_record_stage", record)
    login(Role.ADMIN)
    ids = [job_id_from(client.post("/reports/annual", data={"year": "2025", "format": "pdf"})) for _ in range(10)]
    for job_id in ids:
        jobs.wait(job_id, timeout=600)
    finished = [db.session.get(ReportJob, i) for i in ids]
    assert [j.status for j in finished] == [jobs.DONE] * 10
    assert len({j.edition_id for j in finished}) == 1
    assert db.session.scalar(select(func.count()).select_from(ReportEdition)) == 1
    assert most[0] <= 2 and seen_queued
    page = client.get(f"/reports/jobs/{ids[-1]}")
    assert page.status_code == 302


@pytest.mark.parametrize(("lang", "sentence"), [("es", "PDF en español"), ("fr", "PDF en italien"),
                                                ("en", "PDF in Italian")])
def test_the_job_page_names_the_report_s_language_as_its_reader_writes_it(client, login, federation, lang,
                                                                          sentence):
    user = login(Role.RESEARCHER)
    job = ReportJob(requested_by_id=user.id, year=2025, format="pdf", status=jobs.RUNNING,
                    language="es" if lang == "es" else "it", stage="Survival by transfer type")
    db.session.add(job)
    db.session.commit()
    html = client.get(f"/reports/jobs/{job.id}?lang={lang}").get_data(as_text=True)
    assert sentence in html  # not "PDF en Español" nor "PDF en Italiano" mid-sentence
