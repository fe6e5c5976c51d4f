"""`tracker db backup` / `tracker db restore` round-trip the data (SQLite online backup; pg_dump)."""

from __future__ import annotations

import os
import stat
import uuid

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

import config
from tracker import create_app
from tracker.extensions import db
from tracker.models import AuditEntry, Case
from tracker.services.accounts import federations
from tracker.services.casework.cases import create_case

CASE = {"ref": "B-1", "name": "Backed up", "country": "FR", "transfer_date": "2014-02-03",
        "transfer_type": "succession", "last_verified_on": "2024-12-31"}


def round_trip(app, tmp_path):
    runner = app.test_cli_runner()
    with app.app_context():
        upgrade()
        fed = federations.create_federation(None, code="FR-B", name="Backup test", country="FR")
        create_case(None, fed, CASE)
        db.session.commit()
    (tmp_path / "backup.dump").write_text("an older file, readable by all")
    os.chmod(tmp_path / "backup.dump", 0o644)
    result = runner.invoke(args=["db", "backup", str(tmp_path / "backup.dump")])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "backup.dump").stat().st_mode) == 0o600  # owner only
    assert sorted(p.name for p in tmp_path.iterdir() if "backup" in p.name) == ["backup.dump"]
    with app.app_context():
        create_case(None, federations.get_by_code("FR-B"), {**CASE, "ref": "B-2"})
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Case)) == 2
        db.session.remove()
    result = runner.invoke(args=["db", "restore", "--yes", str(tmp_path / "backup.dump")])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalars(select(Case.ref)).all() == ["B-1"]
        restore = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert restore.action == "restore" and restore.changes["file"] == [None, "backup.dump"]
        assert len(restore.changes["sha256"][1]) == 64 and restore.context.startswith("tracker db restore by ")
        db.session.remove()
        db.engine.dispose()


def test_sqlite_backup_and_restore(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'live.sqlite3'}")
    round_trip(create_app(config.TestingConfig), tmp_path)


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'live.sqlite3'}")
    app = create_app(config.TestingConfig)
    (tmp_path / "junk.bin").write_bytes(b"this is not a database" * 100)
    result = app.test_cli_runner().invoke(args=["db", "restore", "--yes", str(tmp_path / "junk.bin")])
    assert result.exit_code == 1 and "not a Transfer Tracker SQLite backup" in result.output


@pytest.mark.postgres
def test_postgresql_backup_and_restore(tmp_path, monkeypatch):
    server = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"tracker_backup_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        monkeypatch.setenv("TEST_DATABASE_URL", server.set(database=name).render_as_string(hide_password=False))
        round_trip(create_app(config.TestingConfig), tmp_path)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
