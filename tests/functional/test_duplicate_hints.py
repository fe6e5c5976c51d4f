"""What a staff user may learn about other federations' cases from the import check and the case
form: only that a possible duplicate exists there, only once the file (or form) is otherwise
valid, and at most IMPORT_DUPLICATE_HINTS_PER_DAY times a day (services/casework/duplicate_hints)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from datetime import date
from types import SimpleNamespace

import pytest
from support_cases import valid_case_form
from support_import import case_row, csv_bytes, text_of, token_of, upload

from config import TestingConfig, normalise_database_url
from tests.conftest import using_postgres
from tracker import create_app
from tracker.extensions import db
from tracker.models import Role, User
from tracker.services.casework import duplicate_hints

HINT = "a possible duplicate exists in another federation; the secretariat will review it"
LIMIT_REACHED = "You have reached today's limit of hints about possible duplicates in other federations"
SECRET_IDS = [f"55210055{i}" for i in range(5)]
NAMES = ["Menuiserie Aubert", "Fonderie du Lac", "Imprimerie Solidaire", "Brasserie Ouvrière", "Verrerie Nord"]


@pytest.fixture(autouse=True)
def staging_dir(app, tmp_path):
    app.config["IMPORT_STAGING_DIR"] = str(tmp_path / "staging")


@pytest.fixture
def feds(make_federation, make_case):
    """Mine, and another federation of the same country holding five cases."""
    mine, theirs = make_federation(code="FR-MINE", country="FR"), make_federation(code="FR-THEIRS", country="FR")
    for i, national_id in enumerate(SECRET_IDS):
        make_case(federation=theirs, ref=f"SECRET-{i}", name=f"Secret Enterprise {i}", national_id=national_id,
                  transfer_date=date(2011, 1, 1 + i))
    return mine, theirs


def probe(client, national_ids, *extra_rows, **headers):
    """Upload one file whose rows carry these national ids (names that match nothing); the review page."""
    rows = [case_row(ref=f"P-{uuid.uuid4().hex[:8]}", name=NAMES[i], national_id=national_id,
                     transfer_date=f"201{i}-03-01") for i, national_id in enumerate(national_ids)]
    token = token_of(upload(client, csv_bytes([*rows, *extra_rows])))
    return client.get(f"/cases/import/{token}", headers=headers).get_data(as_text=True)


def test_a_hint_says_only_that_a_duplicate_exists_elsewhere(client, login, feds):
    mine, _ = feds
    login(Role.STAFF, federation=mine)
    html = probe(client, [SECRET_IDS[0]])
    assert HINT in text_of(html, "duplicates")
    for secret in ("SECRET-0", "Secret Enterprise", "FR-THEIRS", "2011"):
        assert secret not in html


def test_no_hint_before_the_file_is_otherwise_valid(client, login, feds):
    mine, _ = feds
    login(Role.STAFF, federation=mine)
    bad = case_row(ref="BAD-1", name="Scierie Bad", employees="-3")
    html = probe(client, SECRET_IDS[:3], bad)  # the three valid rows could be imported alone
    assert "BAD-1" in html and "employees" in html
    assert 'id="duplicates"' not in html and "another federation" not in html
    assert LIMIT_REACHED not in html
    # and it cost nothing: the corrected file gets its hints
    client.application.config["IMPORT_DUPLICATE_HINTS_PER_DAY"] = 3
    html = probe(client, SECRET_IDS[:3])
    assert text_of(html, "duplicates").count(HINT) == 3


def test_enumerating_other_federations_is_stopped_by_the_daily_allowance(app, client, login, feds):
    app.config["IMPORT_DUPLICATE_HINTS_PER_DAY"] = 3
    mine, _ = feds
    login(Role.STAFF, federation=mine)
    first = probe(client, [SECRET_IDS[0], SECRET_IDS[1], "123456789"])
    assert text_of(first, "duplicates").count(HINT) == 2 and LIMIT_REACHED not in first
    # two more would go over (2 + 2 > 3): none of them, and the allowance is spent
    second = probe(client, [SECRET_IDS[2], SECRET_IDS[3]])
    assert "another federation;" not in second and 'id="duplicates"' not in second
    assert LIMIT_REACHED in text_of(second, "duplicate-hints-withheld")
    assert "(3 a day)" in second
    # one would have fitted before, but the refusal spent the rest: nothing to learn by bisecting
    third = probe(client, [SECRET_IDS[4]])
    assert HINT not in third and LIMIT_REACHED in third
    # the file itself is still importable: the hints are information, not a confirmation to give
    assert 'name="confirm_distinct"' not in third and 'name="submit"' in third


def test_the_limit_message_is_translated(app, client, login, feds):
    app.config["IMPORT_DUPLICATE_HINTS_PER_DAY"] = 0
    mine, _ = feds
    login(Role.STAFF, federation=mine)
    html = probe(client, [SECRET_IDS[0]], **{"Accept-Language": "fr"})
    notice = text_of(html, "duplicate-hints-withheld")
    assert LIMIT_REACHED not in notice and "0" in notice and "secrétariat" in notice


def test_the_hint_is_translated(client, login, feds):
    mine, _ = feds
    login(Role.STAFF, federation=mine)
    html = probe(client, [SECRET_IDS[0]], **{"Accept-Language": "it"})
    listed = text_of(html, "duplicates")
    assert HINT not in listed and "federazione" in listed


def test_administrators_are_not_counted(app, client, login, feds):
    app.config["IMPORT_DUPLICATE_HINTS_PER_DAY"] = 0
    mine, _ = feds
    login(Role.ADMIN)
    token = token_of(upload(client, csv_bytes([case_row(ref="A-1", national_id=SECRET_IDS[0])]),
                            federation=str(mine.id)))
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    assert "SECRET-0" in text_of(html, "duplicates") and LIMIT_REACHED not in html


def test_the_case_form_counts_against_the_same_allowance(app, client, login, feds):
    app.config["IMPORT_DUPLICATE_HINTS_PER_DAY"] = 1
    mine, _ = feds
    login(Role.STAFF, federation=mine)
    # an invalid form says nothing about other federations, and costs nothing
    invalid = client.post("/cases/new", data=valid_case_form(national_id=SECRET_IDS[0], employees="-1"))
    assert invalid.status_code == 200 and "another federation" not in invalid.get_data(as_text=True)
    data = valid_case_form(ref="NEW-1", name="Menuiserie Kappa", national_id=SECRET_IDS[0])
    saved = client.post("/cases/new", data=data, follow_redirects=True)
    assert "A possible duplicate of this case exists in another federation" in saved.get_data(as_text=True)
    data = valid_case_form(ref="NEW-2", name="Fonderie Lambda", national_id=SECRET_IDS[1])
    again = client.post("/cases/new", data=data, follow_redirects=True)
    assert "A possible duplicate of this case exists in another federation" not in again.get_data(as_text=True)
    html = probe(client, [SECRET_IDS[2]])
    assert HINT not in html and LIMIT_REACHED in html


@pytest.fixture
def shared_database(tmp_path):
    """One database two app instances open (two gunicorn workers, or the app before and after a
    restart): TEST_DATABASE_URL on PostgreSQL, else a SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL") if using_postgres() else f"sqlite:///{tmp_path / 'shared.sqlite3'}"

    class Config(TestingConfig):
        def __init__(self) -> None:
            super().__init__()
            self.SQLALCHEMY_DATABASE_URI = normalise_database_url(url)
            self.RATELIMIT_STORAGE_URI = "memory://"  # per process: the allowance must not depend on it
            self.IMPORT_DUPLICATE_HINTS_PER_DAY = 3

    first = create_app(Config)
    with first.app_context():
        db.drop_all()
        db.create_all()
        users = [User(email=f"staff{i}@example.org", role=Role.STAFF, active=True) for i in range(2)]
        for user in users:
            user.set_password("x" * 12, TestingConfig.PASSWORD_HASH_METHOD)
        db.session.add_all(users)
        db.session.commit()
        ids = [user.id for user in users]
        db.session.remove()
    yield Config, *(SimpleNamespace(id=user_id, role=Role.STAFF) for user_id in ids)
    with first.app_context():
        db.drop_all()
        db.engine.dispose()


def test_the_allowance_is_kept_in_the_database_for_every_worker_and_restart(shared_database):
    config, user, _ = shared_database
    workers = [create_app(config), create_app(config)]
    with workers[0].test_request_context():
        assert duplicate_hints.take(user, 2)
    with workers[1].test_request_context():
        assert not duplicate_hints.take(user, 2)
    restarted = create_app(config)
    with restarted.test_request_context():
        assert not duplicate_hints.take(user, 1)  # spent by the refusal, and still after a restart
    for worker in (*workers, restarted):
        with worker.app_context():
            db.engine.dispose()


def test_the_allowance_is_counted_per_user_and_renewed_after_a_day(shared_database, monkeypatch):
    from datetime import UTC, datetime, timedelta

    config, user, colleague = shared_database
    app = create_app(config)
    with app.test_request_context():
        assert duplicate_hints.take(user, 3)
        assert not duplicate_hints.take(user, 1)
        assert duplicate_hints.take(colleague, 3)  # a colleague has an allowance of their own
        assert duplicate_hints.take(SimpleNamespace(id=user.id, role=Role.ADMIN), 5)  # admins see both sides
        later = datetime.now(UTC) + timedelta(days=1, minutes=1)
        monkeypatch.setattr(duplicate_hints, "utcnow", lambda: later)
        assert duplicate_hints.take(user, 3)
        db.engine.dispose()


def test_a_database_that_refuses_the_count_withholds_the_hints(shared_database, monkeypatch):
    """A read-only or full database, or one that is gone, counts as no allowance left: the page
    still answers (the check itself wrote nothing), without hints."""
    from sqlalchemy.exc import OperationalError

    config, user, _ = shared_database
    app = create_app(config)
    with app.test_request_context():
        def refuse(*args, **kwargs):
            raise OperationalError("UPDATE", {}, sqlite3.OperationalError("attempt to write a readonly database"))

        monkeypatch.setattr(duplicate_hints, "_spend", refuse)
        assert not duplicate_hints.take(user, 1)
        db.engine.dispose()
