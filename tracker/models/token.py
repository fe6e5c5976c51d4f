from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, utcnow
from tracker.models.user import User


class ApiToken(Base):
    """A personal token for the read-only JSON API. Only its SHA-256 is stored; the token itself
    is shown once, when it is created. It acts with its owner's permissions, on /api/ only."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # The first day (UTC) on which the token no longer works; None: it never expires.
    expires_on: Mapped[date | None]

    user: Mapped[User] = relationship()

    def expired(self, today: date) -> bool:
        return self.expires_on is not None and today >= self.expires_on

    @property
    def active(self) -> bool:
        return self.revoked_at is None
