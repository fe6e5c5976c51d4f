from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, utcnow
from tracker.models.user import User


class DistinctCasePair(Base):
    """Two cases that duplicate detection flagged (same national id, or a very similar name in
    the same country and transfer year) and that a user confirmed to be different enterprises.

    Stored once per pair, the lower case id first, so detection never reports the pair again.
    Confirmations are only ever added (an audit entry records who confirmed which pair).
    """

    __tablename__ = "distinct_case_pairs"
    # The unique constraint's index also serves lookups by case_id.
    __table_args__ = (
        UniqueConstraint("case_id", "other_case_id"),
        CheckConstraint("case_id < other_case_id", name="ordered_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    other_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)

    confirmed_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<DistinctCasePair {self.case_id}≠{self.other_case_id}>"


class DuplicateHintAllowance(Base):
    """How many hints about possible duplicates in other federations a user was given in the
    current 24-hour window (services.casework.duplicate_hints). One row per user, kept in the
    database so that every worker, and the application after a restart, counts the same."""

    __tablename__ = "duplicate_hint_allowances"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    window_start: Mapped[datetime]
    used: Mapped[int]
