"""Append-only audit trail.

`record(...)` adds an AuditEntry in the current session (flushed with the change it describes,
so both commit or roll back together). `install_guards()` makes the ORM refuse to update or
delete an existing entry.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, selectinload

from tracker.extensions import db
from tracker.models import AuditEntry, User


class AuditImmutable(RuntimeError):
    """Audit entries are append-only."""


def jsonable(value: Any) -> Any:
    """Values as they go into the audit JSON: dates ISO, enums by value."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def snapshot(obj: object, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {name: jsonable(getattr(obj, name)) for name in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose value changed."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def record(user: User | None, obj: object, action: str, changes: dict[str, list[Any]] | None = None,
           context: str | None = None) -> AuditEntry:
    """Add an audit entry for `obj` (which must have been flushed so it has an id)."""
    state = inspect(obj)
    if state.identity is None:
        db.session.flush()
    entry = AuditEntry(
        user_id=user.id if user is not None else None,
        table_name=obj.__table__.name,  # type: ignore[attr-defined]  # any mapped model: its table
        row_id=obj.id,  # type: ignore[attr-defined]  # and its integer id
        action=action,
        changes=changes or {},
        context=context,
    )
    db.session.add(entry)
    return entry


def record_event(action: str, changes: dict[str, list[Any]], context: str | None = None,
                 table_name: str = "database", row_id: int = 0) -> AuditEntry:
    """An entry about the database as a whole (e.g. a restore), not one row of it."""
    entry = AuditEntry(user_id=None, table_name=table_name, row_id=row_id, action=action, changes=changes,
                       context=context)
    db.session.add(entry)
    return entry


def recent_entries(limit: int) -> list[AuditEntry]:
    """The latest audit entries, newest first, with their authors loaded in one query."""
    return list(db.session.scalars(select(AuditEntry).options(selectinload(AuditEntry.user))
                                   .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)))


_installed = False


def install_guards() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Session, "before_flush")
    def _refuse_audit_changes(session: Session, flush_context, instances) -> None:  # noqa: ANN001
        for obj in list(session.dirty) + list(session.deleted):
            if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
                raise AuditImmutable("audit entries are append-only")
