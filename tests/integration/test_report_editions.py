"""Editions of the annual report: one data snapshot in every format under one number; the same
data offers the existing edition; drafts for staff and researchers; numbers allocated without a
clash when jobs run at once (on SQLite and on PostgreSQL); what changed, figure by figure."""

from __future__ import annotations

import io
import os
import subprocess
import threading
from datetime import date

import openpyxl
import pytest
from sqlalchemy import func, select

from config import TestingConfig
from tests.functional.support_research import load_oracle
from tracker.extensions import db
from tracker.models import Case, ReportEdition, ReportFile, Role
from tracker.reports import editions as editions_module
from tracker.reports.changes import change_text
from tracker.reports.editions import generate_edition
from tracker.services.casework.cases import FollowUp, record_follow_up

AS_OF = date(2025, 12, 31)
TODAY = date(2026, 6, 30)


@pytest.fixture
def app_config(tmp_path, monkeypatch):
    # Concurrent jobs open their own connections: an in-memory SQLite database would be empty there.
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"):
        monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'editions.sqlite3'}")
    return TestingConfig


@pytest.fixture
def oracle(app, make_federation):
    return load_oracle(make_federation, baselines=True, name="Oracle federation")


def pdf_pages(content: bytes, tmp_path) -> list[str]:
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [page for page in text.split("\f") if page.strip()]


def test_an_edition_is_every_format_and_the_same_data_offers_it_again(oracle):
    first = generate_edition(None, 2025, "pdf", today=TODAY)
    assert not first.reused and first.edition.number == 1 and first.edition.official
    assert sorted(f.format for f in first.edition.files) == ["csv", "html", "pdf", "xlsx"]
    again = generate_edition(None, 2025, "xlsx", today=TODAY)
    assert again.reused and again.edition.id == first.edition.id
    assert db.session.scalar(select(func.count()).select_from(ReportEdition)) == 1
    assert again.file("xlsx", "en").content[:2] == b"PK"


def test_an_edition_in_another_language_keeps_its_number_and_figures(oracle):
    english = generate_edition(None, 2025, "html", today=TODAY)
    french = generate_edition(None, 2025, "html", language="fr", today=TODAY)
    assert french.reused and french.edition.id == english.edition.id
    assert french.edition.languages == ["en", "fr"]
    assert db.session.scalar(select(func.count()).select_from(ReportFile)) == 8
    assert b'lang="fr"' in french.file("html", "fr").content


def test_late_exits_are_listed_figure_by_figure_in_the_next_edition(oracle):
    first = generate_edition(None, 2025, "xlsx", today=TODAY).edition
    case = db.session.scalars(select(Case).where(
        Case.exit_date.is_(None), Case.transfer_date >= date(2021, 6, 1), Case.registered_on == Case.transfer_date,
        Case.last_verified_on <= AS_OF).order_by(Case.id)).first()
    record_follow_up(None, case, FollowUp(checked_on=case.last_verified_on, outcome="liquidation"), today=TODAY)
    db.session.commit()
    second = generate_edition(None, 2025, "xlsx", today=TODAY)
    edition = second.edition
    assert not second.reused and edition.number == 2 and edition.fingerprint != first.fingerprint
    texts = [change_text(c, 1) for c in edition.changes]
    assert any("1 exit dated on or before the reference date was recorded" in t for t in texts)
    moved = [c for c in edition.changes if c.get("kind") == "figure" and c["slug"] == "survival_by_transfer_type"]
    overall = next(c for c in moved if c["row"] == "All transfers" and c["column"] == "5 years")
    assert overall["new"]["value"] < overall["old"]["value"]
    words = change_text(overall, 1)
    assert f"{100 * overall['old']['value']:.1f} % → {100 * overall['new']['value']:.1f} %" in words
    sheet = openpyxl.load_workbook(io.BytesIO(second.file("xlsx", "en").content))["About"]
    assert any(words == c.value for row in sheet.iter_rows() for c in row)


def test_staff_and_researchers_get_drafts_marked_on_every_page(oracle, make_user, tmp_path):
    staff = make_user(Role.STAFF, federation=oracle)
    researcher = make_user(Role.RESEARCHER)
    for user, scope in ((staff, "ORACLE"), (researcher, "ALL")):
        draft = generate_edition(user, 2025, "pdf", today=TODAY).edition
        assert (draft.scope, draft.number, draft.official) == (scope, None, False)
        pages = pdf_pages(draft.file("pdf").content, tmp_path)
        assert len(pages) > 3 and all("DRAFT" in page for page in pages)
        assert "draft" in draft.file("pdf").filename
    official = generate_edition(None, 2025, "pdf", today=TODAY).edition
    assert (official.number, official.official) == (1, True)
    assert not any("DRAFT" in page for page in pdf_pages(official.file("pdf").content, tmp_path))


def test_two_jobs_at_once_get_consecutive_numbers(oracle, app, monkeypatch):
    """Both jobs render before either commits (a barrier holds them), so both read the same
    latest edition: the lock makes the second one compare again and take the next number."""
    barrier = threading.Barrier(2, timeout=120)
    real_render_all = editions_module._render_all
    waited: set[int] = set()

    def render_all(*args, **kwargs):
        files = real_render_all(*args, **kwargs)
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()
        return files

    monkeypatch.setattr(editions_module, "_render_all", render_all)
    db.session.remove()
    results: dict[date, object] = {}
    errors: list[BaseException] = []

    def job(as_of: date) -> None:
        with app.app_context():
            try:
                results[as_of] = generate_edition(None, 2025, "csv", as_of, today=TODAY).edition.number
            except BaseException as exc:  # noqa: BLE001  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=job, args=(d,)) for d in (date(2025, 12, 30), date(2025, 12, 31))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(results.values()) == [1, 2]


def test_a_moved_reference_date_is_written_as_the_report_language_writes_dates(app):
    from flask_babel import force_locale

    moved = {"kind": "as_of", "old": "2025-06-30", "new": "2025-12-31"}
    with app.test_request_context():
        with force_locale("fr"):
            french = change_text(moved, 1)
        with force_locale("it"):
            italian = change_text(moved, 1)
        with force_locale("es"):
            spanish = change_text(moved, 1)
        english = change_text(moved, 1)
    assert "30 juin 2025" in french and "31 décembre 2025" in french and "2025-12-31" not in french
    assert "31 dicembre 2025" in italian and "2025-12-31" not in italian
    assert "31 de diciembre de 2025" in spanish and "2025-12-31" not in spanish
    assert "31 December 2025" in english
