from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, utcnow
from tracker.models.federation import Federation
from tracker.models.user import User

SCOPE_ALL = "ALL"


class ReportEdition(Base):
    """One generated edition of the annual survival report, kept as it was published.

    `scope` is `ALL` for the confederation's report or the federation code for a staff user's
    report (their federation's cases only); editions are numbered 1, 2, ... per (year, scope).
    `figures` holds the published tables (after confidentiality suppression) and a summary of
    the inputs, so a later edition can say what changed. `content` is the rendered file itself:
    kept in the database with its edition (one transaction, backed up with the data, served by
    any app process), deferred so that listing editions never reads it.
    """

    __tablename__ = "report_editions"
    # The unique index on (year, scope, number) also serves the lookups by year and scope.
    __table_args__ = (UniqueConstraint("year", "scope", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    scope: Mapped[str] = mapped_column(String(32))
    number: Mapped[int]
    federation_id: Mapped[int | None] = mapped_column(ForeignKey("federations.id"))
    as_of: Mapped[date]
    format: Mapped[str] = mapped_column(String(8))
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    app_version: Mapped[str] = mapped_column(String(40))
    fingerprint: Mapped[str] = mapped_column(String(64))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes: Mapped[list[str]] = mapped_column(JSON, default=list)
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    file_size: Mapped[int]
    file_sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    federation: Mapped[Federation | None] = relationship()
    generated_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<ReportEdition {self.year} {self.scope} #{self.number} {self.format}>"


class ReportJob(Base):
    """An annual report generated in the background for a web user: generating takes from seconds
    to a minute or two, longer than a web request should wait. `stage` says where it is; it ends
    `done` with its edition, or `failed` with a message for the user."""

    __tablename__ = "report_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    federation_id: Mapped[int | None] = mapped_column(ForeignKey("federations.id"))  # a staff user's scope
    year: Mapped[int]
    format: Mapped[str] = mapped_column(String(8))
    as_of: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, running, done, failed
    stage: Mapped[str | None] = mapped_column(String(120))
    error: Mapped[str | None] = mapped_column(Text)
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("report_editions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    requested_by: Mapped[User] = relationship()
    edition: Mapped[ReportEdition | None] = relationship()

    def __repr__(self) -> str:
        return f"<ReportJob {self.id} {self.year} {self.format} {self.status}>"
