from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, utcnow
from tracker.models.user import User


class AuditEntry(Base):
    """Append-only record of a change: who, when, which row, and before/after of changed fields.

    `changes` maps field name to [before, after] (JSON-safe values). The services write entries;
    an ORM guard (tracker.services.casework.audit) refuses updates and deletes of existing entries,
    and database triggers refuse them to anyone, raw SQL included (APPEND_ONLY_DDL).
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_target", "table_name", "row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    table_name: Mapped[str] = mapped_column(String(50))
    row_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(30))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    context: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User | None] = relationship()


# The database itself refuses to change or remove an entry. Created with the table here (tests,
# create_all) and by the migration "audit entries append-only" (same SQL) for migrated databases.
# A batch migration that rebuilds this table on SQLite drops its triggers: it must recreate them.
APPEND_ONLY_MESSAGE = "audit entries are append-only"
APPEND_ONLY_DDL = {
    "sqlite": [
        f"CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
        f"CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE} (% refused)', TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END $$",
        "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
        "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
    ],
}
for _dialect, _statements in APPEND_ONLY_DDL.items():
    for _statement in _statements:
        # DDL() formats its text with %: the message's % placeholder is written %%.
        event.listen(AuditEntry.__table__, "after_create",
                     DDL(_statement.replace("%", "%%")).execute_if(dialect=_dialect))
event.listen(AuditEntry.__table__, "after_drop",
             DDL("DROP FUNCTION IF EXISTS audit_entries_append_only()").execute_if(dialect="postgresql"))
