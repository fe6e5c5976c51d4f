"""Concurrency on PostgreSQL, with real processes: optimistic locking loses no update, and an
import killed half-way leaves nothing behind."""

from __future__ import annotations

import csv
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tracker.extensions import db
from tracker.models import AuditEntry, Case
from tracker.services.ops.demo import DEMO_FEDERATIONS, generate_cases

pytestmark = pytest.mark.postgres

WORKERS, EDITS = 4, 15


def _increment_employees(case_id: int, edits: int, queue: multiprocessing.Queue) -> None:
    """A separate process: read the case, add one employee, save with the version it read;
    on a conflict, reload and try again (what a user does after the conflict message)."""
    from config import TestingConfig
    from tracker import create_app
    from tracker.services.casework.cases import case_values, update_case
    from tracker.services.errors import EditConflict

    app = create_app(TestingConfig)
    conflicts = 0
    with app.app_context():
        for _ in range(edits):
            while True:
                case = db.session.get(Case, case_id)
                values = case_values(case)
                values["employees"] += 1
                try:
                    update_case(None, case, values, expected_version=case.version, today=date(2026, 1, 1))
                    db.session.commit()
                    break
                except EditConflict:
                    db.session.rollback()
                    conflicts += 1
                finally:
                    db.session.expire_all()
        db.engine.dispose()
    queue.put(conflicts)


def test_parallel_edits_lose_no_update(app, make_case):
    case = make_case(employees=0)
    db.engine.dispose()  # no connection shared with the children
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_increment_employees, args=(case.id, EDITS, queue)) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    conflicts = sum(queue.get(timeout=5) for _ in workers)
    db.session.expire_all()
    fresh = db.session.get(Case, case.id)
    assert fresh.employees == WORKERS * EDITS
    assert fresh.version == 1 + WORKERS * EDITS
    updates = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.row_id == case.id, AuditEntry.action == "update"))
    assert updates == WORKERS * EDITS
    print(f"{conflicts} conflicts detected and retried")


def test_an_import_killed_half_way_leaves_nothing(app, make_federation, tmp_path: Path):
    fed = make_federation(code="KILL")
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        rows = list(generate_cases(60_000, DEMO_FEDERATIONS[0], seed=3, today=date(2025, 12, 31)))
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    env = dict(os.environ, DATABASE_URL=os.environ["TEST_DATABASE_URL"], TRACKER_CONFIG="development")
    tracker = str(Path(sys.executable).with_name("tracker"))
    # --confirm-distinct: the generated names repeat, and duplicate checks are not what is tested here
    command = [tracker, "cases", "import", str(path), "--federation", fed.code, "--confirm-distinct"]
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as process:
        deadline = time.monotonic() + 120
        seen = ""
        while "Importing" not in seen and time.monotonic() < deadline and process.poll() is None:
            seen += process.stderr.read(1)
        assert "Importing" in seen, f"the import never started: {seen[-500:]}"
        # Kill while its transaction is copying the new cases in (seen from the server's side), not
        # after a fixed delay: on a fast machine the whole write can take under a second.
        assert _wait_for_a_writing_transaction(deadline), "the import was never seen copying cases in"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    assert process.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Case).where(Case.federation_id == fed.id)) == 0
    imported = select(func.count()).select_from(AuditEntry).where(AuditEntry.context.like("import%"))
    assert db.session.scalar(imported) == 0


def _wait_for_a_writing_transaction(deadline: float) -> bool:
    """True as soon as another session of this database is in the middle of a COPY in a
    transaction that has already written (it holds a transaction id)."""
    writing = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL AND query ILIKE 'COPY%'")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        while time.monotonic() < deadline:
            if connection.scalar(writing):
                return True
            time.sleep(0.005)
    return False
