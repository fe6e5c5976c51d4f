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
from tracker.models import AuditEntry, Case, Federation, User

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


def _value(field: str, value: Any, codes: dict[int, str] | None = None, refs: dict[int, str] | None = None) -> Any:
    labels = _VALUE_LABELS.get(field)
    if labels is not None and value is not None:
        return labels.get(str(value), str(value))
    if field == "federation_id" and codes is not None and value is not None:
        return codes.get(value, value)
    if field in _CASE_LINKS and refs is not None and value is not None:
        return refs.get(value, value)
    if field == "moved_follow_ups" and isinstance(value, list):
        return len(value)
    if field in _DATE_FIELDS and isinstance(value, str) and value:
        return format_date(value)
    if field in _TIME_FIELDS and isinstance(value, str) and value:
        return format_datetime(value)
    if field == "employees" and isinstance(value, int):
        return format_number(value)
    return value


# Their changes say it all (which case, which federation), in the reader's language; their context
# (English, for the audit) is not repeated.
_SELF_EXPLAINED = frozenset({"merge", "merged_into", "unmerge", "move"})
# Fields of the merge and move entries (services.casework.merge) holding a case id: shown as its ref.
_CASE_LINKS = frozenset({"merged_case_id", "merged_into_id"})


def case_history(case: Case) -> list[HistoryEntry]:
    """Every audit entry of the case, newest first, ready to show."""
    entries = list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.table_name == Case.__tablename__, AuditEntry.row_id == case.id)
        .options(selectinload(AuditEntry.user)).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())))
    codes = {row.id: row.code for row in db.session.execute(select(Federation.id, Federation.code))} \
        if any("federation_id" in (e.changes or {}) for e in entries) else {}
    linked = {value for e in entries for name, pair in (e.changes or {}).items() if name in _CASE_LINKS
              for value in pair if isinstance(value, int)}
    refs = {row.id: row.ref for row in db.session.execute(select(Case.id, Case.ref).where(Case.id.in_(linked)))}
    out = []
    for entry in entries:
        match = _FOLLOW_UP_CONTEXT.match(entry.context or "")
        context = None if match or entry.action in _SELF_EXPLAINED else vocabulary.app_text(entry.context)
        changes = tuple(Change(name, vocabulary.CASE_FIELDS.get(name, name), _value(name, pair[0], codes, refs),
                               _value(name, pair[1], codes, refs))
                        for name, pair in (entry.changes or {}).items())
        out.append(HistoryEntry(entry.at, entry.user, entry.action,
                                vocabulary.HISTORY_ACTIONS.get(entry.action, entry.action),
                                context,
                                int(match.group(1)) if match else None, changes))
    return out
