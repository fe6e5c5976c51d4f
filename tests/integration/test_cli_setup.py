"""Setting up an installation from the command line: configuration, federations, users, quick start."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import config
from tracker import create_app
from tracker.extensions import db
from tracker.models import AuditEntry, Case, Federation, Role, User


def test_production_refuses_to_start_without_secret_and_database(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(config.ConfigError, match="SECRET_KEY and DATABASE_URL"):
        create_app(config.ProductionConfig)
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    with pytest.raises(config.ConfigError, match="DATABASE_URL"):
        create_app(config.ProductionConfig)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    app = create_app(config.ProductionConfig)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_federations_add_and_list(runner):
    result = runner.invoke(args=["federations", "add", "fr-cgscop", "CG Scop", "--country", "fr"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Federation.code)) == "FR-CGSCOP"
    assert "FR-CGSCOP" in runner.invoke(args=["federations", "list"]).output
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.table_name == "federations")).one()
    assert audit.action == "create" and audit.changes["code"] == [None, "FR-CGSCOP"]


@pytest.mark.parametrize("args, message", [
    (["federations", "add", "X1", "Name", "--country", "ZZ"], "ISO 3166-1"),
    (["federations", "add", "bad code!", "Name", "--country", "FR"], "Code must be"),
])
def test_federations_add_refuses_bad_input(runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and message in result.output
    assert db.session.scalar(select(func.count()).select_from(Federation)) == 0


def test_duplicate_federation_code(runner):
    runner.invoke(args=["federations", "add", "IT-LEGA", "Legacoop", "--country", "IT"])
    result = runner.invoke(args=["federations", "add", "it-lega", "Other", "--country", "IT"])
    assert result.exit_code == 1 and "already exists" in result.output


def test_users_create_reads_the_password_from_stdin(runner, make_federation):
    fed = make_federation(code="BE-FEB")
    result = runner.invoke(args=["users", "create", "Staff@Example.org", "--role", "staff", "--federation", "BE-FEB"],
                           input="long enough password\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User)).one()
    assert user.email == "staff@example.org" and user.role == Role.STAFF and user.federation_id == fed.id
    assert user.check_password("long enough password")
    assert "long enough password" not in result.output


@pytest.mark.parametrize("args, stdin, message", [
    (["users", "create", "a@example.org", "--role", "staff"], "long enough password\n", "must belong to a federation"),
    (["users", "create", "a@example.org", "--role", "staff", "--federation", "NOPE"], "long enough password\n",
     "no federation"),
    (["users", "create", "a@example.org", "--role", "admin"], "short\n", "at least 10"),
    (["users", "create", "not-an-email", "--role", "admin"], "long enough password\n", "not a valid email"),
    (["users", "create", "a@example.org", "--role", "king"], "long enough password\n", "Invalid value"),
])
def test_users_create_refuses_bad_input(runner, args, stdin, message):
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code != 0 and message in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_quickstart_builds_a_working_demo_database(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    app = create_app(config.TestingConfig)
    result = app.test_cli_runner().invoke(args=["quickstart", "--no-serve", "--cases-per-federation", "15"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.coop" in result.output and "demo-password-2026" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 63  # 4 × 15, and 3 recorded twice
        assert db.session.scalar(select(func.count()).select_from(Federation)) == 4
        # What the case-work pages show right away: possible duplicates, and cases due for their check.
        from tracker.models import Role, User
        from tracker.services.casework import completeness, duplicates

        admin = db.session.scalar(select(User).where(User.role == Role.ADMIN))
        assert len(duplicates.all_duplicates(admin)) == 3
        assert db.session.scalar(select(func.count()).select_from(
            completeness.stale_cases_query(admin).subquery())) > 0
        client = app.test_client()
        response = client.post("/login", data={"email": "researcher@demo.coop", "password": "demo-password-2026"})
        assert response.status_code == 302
        assert client.get("/api/v1/survival?group_by=transfer_type").status_code == 200
        again = app.test_cli_runner().invoke(args=["quickstart", "--no-serve"])
        assert "already has data" in again.output
        assert db.session.scalar(select(func.count()).select_from(Case)) == 63
        db.session.remove()
        db.engine.dispose()


def test_quickstart_serves_the_app(tmp_path):
    """The README's first command: `tracker quickstart` must go on to serve, as a real command
    (Flask ignores app.run() inside its CLI, which once made it print the logins and exit)."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'served.sqlite3'}", TRACKER_CONFIG="development")
    tracker = str(Path(sys.executable).with_name("tracker"))
    command = [tracker, "quickstart", "--cases-per-federation", "5", "--port", str(port)]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as server:
        try:
            deadline, status = time.monotonic() + 90, None
            while time.monotonic() < deadline and server.poll() is None and status != 200:
                try:
                    status = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).status
                except OSError:
                    time.sleep(0.3)
            assert status == 200, f"quickstart did not serve (exit {server.poll()})"
        finally:
            server.terminate()
            output = server.communicate(timeout=30)[0]
    assert "admin@demo.coop" in output and f"Serving on http://127.0.0.1:{port}/" in output
