"""The audit trail is append-only and the data version moves with every analysed write."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import AuditEntry
from tracker.services.analytics import data_version
from tracker.services.casework.audit import AuditImmutable
from tracker.services.casework.cases import FollowUp, create_case, record_follow_up


def test_audit_entries_cannot_be_changed_or_deleted(make_federation):
    fed = make_federation()
    create_case(None, fed, {"ref": "A-1", "name": "Coop", "country": "FR", "transfer_date": "2015-01-01",
                            "transfer_type": "rescue", "last_verified_on": "2024-01-01"})
    db.session.commit()
    entry = db.session.scalars(select(AuditEntry)).one()
    entry.action = "tampered"
    with pytest.raises(AuditImmutable):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalars(select(AuditEntry)).one())
    with pytest.raises(AuditImmutable):
        db.session.flush()
    db.session.rollback()
    assert db.session.scalars(select(AuditEntry)).one().action == "create"


def _raw_tampering_is_refused() -> None:
    """UPDATE, DELETE (and on PostgreSQL TRUNCATE) in plain SQL, on a connection of their own."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    attempts = ["UPDATE audit_entries SET action = 'tampered'", "DELETE FROM audit_entries"]
    if db.engine.dialect.name == "postgresql":
        attempts.append("TRUNCATE audit_entries")
    for statement in attempts:
        with db.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement))
            conn.commit()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT action FROM audit_entries")).scalars().all() == ["create"]


def test_the_database_refuses_to_change_audit_entries_in_raw_sql(make_federation):
    create_case(None, make_federation(), {"ref": "A-1", "name": "Coop", "country": "FR",
                                          "transfer_date": "2015-01-01", "transfer_type": "rescue",
                                          "last_verified_on": "2024-01-01"})
    db.session.commit()
    _raw_tampering_is_refused()


def test_migrated_databases_refuse_raw_changes_to_audit_entries_too(app):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from tracker.services.accounts.federations import create_federation

    db.drop_all()
    try:
        upgrade()
        create_federation(None, code="FR-M", name="Migrated", country="FR")
        db.session.commit()
        assert db.session.scalars(select(AuditEntry.action)).all() == ["create"]
        db.session.remove()
        _raw_tampering_is_refused()
    finally:
        db.session.remove()
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()


def test_writes_bump_the_data_version_and_rollbacks_do_not(make_federation):
    fed = make_federation()
    start = data_version.current()
    case = create_case(None, fed, {"ref": "A-1", "name": "Coop", "country": "FR", "transfer_date": "2015-01-01",
                                   "transfer_type": "rescue", "last_verified_on": "2024-01-01"})
    db.session.commit()
    after_create = data_version.current()
    assert after_create > start
    record_follow_up(None, case, FollowUp(checked_on=date(2024, 6, 1), outcome="operating"))
    db.session.rollback()
    assert data_version.current() == after_create
    record_follow_up(None, case, FollowUp(checked_on=date(2024, 6, 1), outcome="operating"))
    db.session.commit()
    assert data_version.current() > after_create
