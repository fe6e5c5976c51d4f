from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, utcnow
from tracker.models.user import User


class AuditEntry(Base):
    """Append-only record of a change: who, when, which row, and before/after of changed fields.

    `changes` maps field name to [before, after] (JSON-safe values). The services write entries;
    an ORM guard (tracker.services.casework.audit) refuses updates and deletes of existing entries.
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
