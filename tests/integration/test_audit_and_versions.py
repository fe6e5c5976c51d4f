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
