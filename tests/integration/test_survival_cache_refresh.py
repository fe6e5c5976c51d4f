"""After a write the survival arrays are brought up to date by re-reading only the cases written
since (Case.changed_in), never by serving the old ones. Each kind of write is checked against a
full read of the database, and so are the baseline matches."""

from __future__ import annotations

import csv
import io
from datetime import date

import numpy as np
import pytest
from flask import current_app
from sqlalchemy import insert, select

from tests.conftest import ORACLE_DIR
from tracker.extensions import db
from tracker.models import Case, Role
from tracker.services.analytics import data_version
from tracker.services.analytics import frame as case_frame
from tracker.services.analytics import queries as analytics
from tracker.services.analytics.baselines import import_baselines, shipped_baselines
from tracker.services.casework import merge
from tracker.services.casework.cases import (
    FollowUp,
    create_case,
    delete_case,
    record_follow_up,
    restore_case,
    update_case,
    withdraw_exit,
)
from tracker.services.spreadsheets.imports import import_cases

NEW_CASE = {"ref": "NEW-1", "name": "Coop nouvelle", "country": "BE", "transfer_date": "2016-05-01",
            "transfer_type": "rescue", "last_verified_on": "2025-06-30", "nace": "62.01", "employees": "14"}


@pytest.fixture
def registry(app, make_federation):
    analytics.clear_cache()
    import_baselines(None, shipped_baselines())
    fed = make_federation(code="ORACLE")
    assert not import_cases(None, fed, (ORACLE_DIR / "cases.csv").read_bytes(), "cases.csv", dry_run=False).problems
    db.session.commit()
    yield fed
    analytics.clear_cache()


@pytest.fixture
def full_reads(monkeypatch):
    """How many times the analytics read every case (rather than only what changed)."""
    calls = []
    real = analytics.load_case_frame

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(analytics, "load_case_frame", counting)
    return calls


def by_id(frame: case_frame.CaseFrame) -> case_frame.CaseFrame:
    return frame.subset(np.argsort(frame.ids, kind="stable"))


def assert_current(frame: case_frame.CaseFrame, curve_index: np.ndarray) -> None:
    """`frame` and its baseline matches hold exactly what a full read of the database gives."""
    fresh = by_id(case_frame.load_case_frame())
    order = np.argsort(frame.ids, kind="stable")
    got = frame.subset(order)
    assert list(got.ids) == list(fresh.ids)
    for name in ("transfer_date", "registered_on", "last_verified_on", "exit_date"):
        assert np.array_equal(getattr(got.cases, name), getattr(fresh.cases, name), equal_nan=True), name
    assert list(got.cases.exit_reason) == list(fresh.cases.exit_reason)
    for name in ("transfer_type", "country", "region", "nace_section", "federation"):
        assert list(getattr(got, name)) == list(getattr(fresh, name)), name
        if name in got.coded:
            assert list(got.coded[name].values()) == list(fresh.coded[name].values()), name
    assert np.array_equal(got.employees, fresh.employees, equal_nan=True)
    catalogue = analytics.load_catalogue()
    c = fresh.coded
    expected = analytics.match_coded(catalogue, c["country"], c["region"], c["nace_section"], fresh.transfer_year,
                                     current_app.config.get("BASELINE_SERIES", {})).curve_index
    assert list(curve_index[order]) == list(expected)


def refresh_and_check() -> None:
    _version, frame = analytics.case_frame(None)
    _catalogue, curve_index = analytics.matched_baselines(None)
    assert_current(frame, curve_index)


def one_case(**where) -> Case:
    stmt = select(Case).where(*(getattr(Case, k) == v for k, v in where.items())).order_by(Case.id)
    return db.session.scalars(stmt).first()


def test_every_kind_of_write_is_applied_without_reading_everything_again(registry, full_reads, make_user,
                                                                         make_federation):
    admin = make_user(Role.ADMIN)
    other_federation = make_federation(code="OTHER")
    refresh_and_check()
    assert len(full_reads) == 1

    writes = {
        "create": lambda: create_case(admin, registry, NEW_CASE),
        "edit": lambda: update_case(admin, one_case(ref="NEW-1"), {**NEW_CASE, "country": "FR", "nace": "10.71",
                                                                    "employees": "300"}, expected_version=None),
        "exit": lambda: record_follow_up(admin, one_case(ref="NEW-1"),
                                         FollowUp(checked_on=date(2025, 7, 1), outcome="liquidation")),
        "withdraw the exit": lambda: withdraw_exit(admin, one_case(ref="NEW-1"), "recorded on the wrong case"),
        "follow-up": lambda: record_follow_up(admin, one_case(exit_date=None),
                                              FollowUp(checked_on=date(2025, 12, 1), outcome="operating")),
        "delete": lambda: delete_case(admin, one_case(ref="NEW-1")),
        "restore": lambda: restore_case(admin, one_case(ref="NEW-1")),
        "merge": lambda: merge.merge_cases(admin, one_case(exit_date=None), one_case(ref="NEW-1"), None, None,
                                           ["employees", "country"]),
        "undo the merge": lambda: merge.undo_merge(admin, one_case(ref="NEW-1")),
        "move": lambda: merge.move_case(admin, one_case(ref="NEW-1"), other_federation),
    }
    for name, write in writes.items():
        before = data_version.current()
        write()
        db.session.commit()
        assert data_version.current() > before, name
        refresh_and_check()
        assert len(full_reads) == 1, f"{name}: read every case again"


def csv_bytes(header: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_an_import_creating_and_updating_cases_is_applied(registry, full_reads):
    refresh_and_check()
    reader = csv.DictReader(io.StringIO((ORACLE_DIR / "cases.csv").read_text(encoding="utf-8-sig")))
    rows = list(reader)
    # five open cases reported liquidated late, and one new case
    late = [{**row, "exit_date": row["last_verified_on"], "exit_reason": "liquidation"}
            for row in rows if not row["exit_date"]][:5]
    new = {**rows[0], "ref": "IMPORTED-NEW"}
    result = import_cases(None, registry, csv_bytes(reader.fieldnames, [*late, new]), "late.csv", dry_run=False)
    assert not result.problems and (result.updated, result.created) == (5, 1)
    db.session.commit()
    refresh_and_check()
    assert len(full_reads) == 1


def test_a_baseline_change_matches_every_case_again(registry):
    refresh_and_check()
    reader = csv.DictReader(io.StringIO(shipped_baselines().decode("utf-8-sig")))
    rows = [{**row, "survival_pct": str(float(row["survival_pct"]) - 1)} for row in reader if row["country"] == "FR"]
    assert rows
    assert not import_baselines(None, csv_bytes(reader.fieldnames, rows)).problems
    db.session.commit()
    refresh_and_check()


def test_a_write_that_did_not_stamp_its_cases_is_caught(registry, full_reads, make_federation):
    """A bulk insert that forgot changed_in: the count does not add up, so everything is read again."""
    refresh_and_check()
    fed = make_federation(code="STRAY")
    db.session.execute(insert(Case), [{"federation_id": fed.id, "ref": "STRAY-1", "name": "Stray",
                                       "country": "FR", "transfer_date": date(2012, 1, 1),
                                       "transfer_type": "succession", "registered_on": date(2012, 1, 1),
                                       "last_verified_on": date(2025, 1, 1)}])
    data_version.transaction_version()
    db.session.commit()
    refresh_and_check()
    assert len(full_reads) == 2


def test_a_new_history_does_not_reuse_cached_arrays(registry, full_reads):
    refresh_and_check()
    epoch, version = data_version.identity()
    data_version.new_epoch()
    assert data_version.identity()[0] != epoch and data_version.identity()[1] == version
    refresh_and_check()
    assert len(full_reads) == 2


def test_the_fast_reader_waits_for_a_writer_instead_of_failing(tmp_path, monkeypatch):
    """On SQLite a commit locks readers out for a moment; the ADBC reader must wait, not fail
    with "database is locked" (seen as 500s under load with writes). The lock is held by another
    process: locks of the same process are not seen across the two SQLite libraries."""
    import subprocess
    import sys
    import time

    from flask_migrate import upgrade

    from config import TestingConfig
    from tracker import create_app
    from tracker.services.accounts import federations

    path = tmp_path / "locked.sqlite3"
    monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{path}")
    app = create_app(TestingConfig)
    with app.app_context():
        upgrade()
        fed = federations.create_federation(None, code="LOCK", name="Lock", country="FR")
        create_case(None, fed, NEW_CASE)
        db.session.commit()
        assert case_frame.adbc_available()
        holder = ("import sqlite3, sys, time\n"
                  f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
                  "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(0.6); c.execute('COMMIT')\n")
        with subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True) as writer:
            assert writer.stdout.readline().strip() == "locked"
            started = time.monotonic()
            changed, _deleted = case_frame.load_changes(0)  # reads through ADBC first
            waited = time.monotonic() - started
        assert writer.returncode == 0
        assert len(changed) == 1 and waited >= 0.3
        db.session.remove()
        db.engine.dispose()
