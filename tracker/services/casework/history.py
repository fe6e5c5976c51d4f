"""A case's change history as people read it: field labels instead of column names, labelled
values (transfer types, exit reasons), and the follow-up an entry belongs to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tracker import vocabulary
from tracker.extensions import db
from tracker.i18n import format_date, format_datetime, format_number
from tracker.models import AuditEntry, Case, User

# services.casework.cases.record_follow_up writes "status check <id>: <outcome>" as the context.
_FOLLOW_UP_CONTEXT = re.compile(r"^status check (\d+):")
_VALUE_LABELS = {"transfer_type": vocabulary.TRANSFER_TYPES, "exit_reason": vocabulary.EXIT_REASONS}
# Dates are kept as ISO strings in the audit trail, and shown as the user's language writes them.
_DATE_FIELDS = frozenset({"transfer_date", "exit_date", "last_verified_on", "founded_on", "registered_on"})
_TIME_FIELDS = frozenset({"deleted_at"})


@dataclass(frozen=True)
class Change:
    field: str  # the column, for tests and anchors
    label: str
    before: Any
    after: Any


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    user: User | None
    action: str
    action_label: str
    context: str | None
    follow_up_id: int | None
    changes: tuple[Change, ...]


def _value(field: str, value: Any) -> Any:
    labels = _VALUE_LABELS.get(field)
    if labels is not None and value is not None:
        return labels.get(str(value), str(value))
    if field in _DATE_FIELDS and isinstance(value, str) and value:
        return format_date(value)
    if field in _TIME_FIELDS and isinstance(value, str) and value:
        return format_datetime(value)
    if field == "employees" and isinstance(value, int):
        return format_number(value)
    return value


def case_history(case: Case) -> list[HistoryEntry]:
    """Every audit entry of the case, newest first, ready to show."""
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.table_name == Case.__tablename__, AuditEntry.row_id == case.id)
        .options(selectinload(AuditEntry.user)).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    out = []
    for entry in entries:
        match = _FOLLOW_UP_CONTEXT.match(entry.context or "")
        changes = tuple(Change(name, vocabulary.CASE_FIELDS.get(name, name), _value(name, pair[0]),
                               _value(name, pair[1]))
                        for name, pair in (entry.changes or {}).items())
        out.append(HistoryEntry(entry.at, entry.user, entry.action,
                                vocabulary.HISTORY_ACTIONS.get(entry.action, entry.action),
                                None if match else vocabulary.app_text(entry.context),
                                int(match.group(1)) if match else None, changes))
    return out
