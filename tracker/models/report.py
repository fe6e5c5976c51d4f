from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, utcnow
from tracker.models.federation import Federation
from tracker.models.user import User

SCOPE_ALL = "ALL"


class ReportEdition(Base):
    """One edition of the annual survival report: one data snapshot, published in every format
    (and in one or more languages, with the same figures) under one number.

    `scope` is `ALL` for the confederation's report or the federation code for a federation's
    report (its cases only). An `official` edition is numbered 1, 2, ... per (year, scope); only
    admins publish them. A draft (`official` false: staff and researchers) has no number and is
    marked as a draft on every page. `figures` holds the published tables (after confidentiality
    suppression) and a summary of the inputs, so a later edition can say what changed.
    """

    __tablename__ = "report_editions"
    # The unique index on (year, scope, number) also serves the lookups by year and scope; drafts
    # (number NULL) are never equal to one another under it, on SQLite as on PostgreSQL.
    __table_args__ = (UniqueConstraint("year", "scope", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    scope: Mapped[str] = mapped_column(String(32))
    number: Mapped[int | None]
    official: Mapped[bool] = mapped_column(default=True, server_default=true())
    federation_id: Mapped[int | None] = mapped_column(ForeignKey("federations.id"))
    as_of: Mapped[date]
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    app_version: Mapped[str] = mapped_column(String(40))
    fingerprint: Mapped[str] = mapped_column(String(64))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes: Mapped[list[Any]] = mapped_column(JSON, default=list)

    federation: Mapped[Federation | None] = relationship()
    generated_by: Mapped[User | None] = relationship()
    files: Mapped[list[ReportFile]] = relationship(back_populates="edition", order_by="ReportFile.id",
                                                   cascade="all, delete-orphan")

    def file(self, fmt: str, language: str | None = None) -> ReportFile | None:
        """The edition's file in `fmt` (and `language`; default: the first language generated)."""
        return next((f for f in self.files if f.format == fmt and (language is None or f.language == language)), None)

    @property
    def languages(self) -> list[str]:
        return list(dict.fromkeys(f.language for f in self.files))

    def __repr__(self) -> str:
        return f"<ReportEdition {self.year} {self.scope} #{self.number or 'draft'}>"


class ReportFile(Base):
    """One rendered file of an edition (format × language). `content` is the file itself: kept in
    the database with its edition (one transaction, backed up with the data, served by any app
    process), deferred so that listing editions never reads it."""

    __tablename__ = "report_files"
    __table_args__ = (UniqueConstraint("edition_id", "format", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("report_editions.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8), default="en")
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    file_size: Mapped[int]
    file_sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    edition: Mapped[ReportEdition] = relationship(back_populates="files")

    def __repr__(self) -> str:
        return f"<ReportFile {self.filename}>"


class ReportJob(Base):
    """An annual report generated in the background for a web user: generating takes from seconds
    to a minute or two, longer than a web request should wait. At most REPORT_MAX_JOBS run at
    once per instance; the others wait `queued`. `stage` says where it is; it ends `done` with
    its edition, or `failed` with a message for the user."""

    __tablename__ = "report_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    federation_id: Mapped[int | None] = mapped_column(ForeignKey("federations.id"))  # a staff user's scope
    year: Mapped[int]
    format: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    as_of: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, running, done, failed
    stage: Mapped[str | None] = mapped_column(String(120))
    error: Mapped[str | None] = mapped_column(Text)
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("report_editions.id"))
    reused: Mapped[bool] = mapped_column(default=False, server_default=false())  # the data had not changed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    requested_by: Mapped[User] = relationship()
    edition: Mapped[ReportEdition | None] = relationship()

    def __repr__(self) -> str:
        return f"<ReportJob {self.id} {self.year} {self.format} {self.status}>"
