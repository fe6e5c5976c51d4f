from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, utcnow
from tracker.models.enums import ExitReason, TransferType, str_enum
from tracker.models.federation import Federation
from tracker.models.user import User


class Case(Base):
    """One enterprise transferred to (or bought out by) its employees.

    `version` is SQLAlchemy's version counter: an UPDATE whose version no longer matches raises
    StaleDataError, which the services turn into a "changed by someone else" conflict.
    `deleted_at` is soft deletion: deleted cases leave every list, export and analysis.
    `changed_in` is the data version (services.analytics.data_version) of the transaction that last wrote
    the row, so the analytics can re-read only the cases written since the arrays they hold.
    """

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("federation_id", "ref"),
        CheckConstraint("employees IS NULL OR employees >= 0", name="employees_non_negative"),
        CheckConstraint("exit_date IS NULL OR exit_date >= transfer_date", name="exit_after_transfer"),
        CheckConstraint("(exit_date IS NULL) = (exit_reason IS NULL)", name="exit_has_reason"),
        Index("ix_cases_federation_deleted", "federation_id", "deleted_at"),
        # The case list sorts by these (name case-insensitively) across federations.
        Index("ix_cases_ref", "ref"),
        Index("ix_cases_name_lower", func.lower(text("name"))),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    federation_id: Mapped[int] = mapped_column(ForeignKey("federations.id"))
    ref: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), index=True)
    national_id: Mapped[str | None] = mapped_column(String(64), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    region: Mapped[str | None] = mapped_column(String(16))
    nace: Mapped[str | None] = mapped_column(String(8))
    nace_section: Mapped[str | None] = mapped_column(String(1))
    employees: Mapped[int | None]
    transfer_date: Mapped[date] = mapped_column(index=True)
    transfer_type: Mapped[TransferType] = mapped_column(str_enum(TransferType, "transfer_type"))
    legal_form: Mapped[str | None] = mapped_column(String(100))
    registered_on: Mapped[date]
    last_verified_on: Mapped[date | None]
    exit_date: Mapped[date | None]
    exit_reason: Mapped[ExitReason | None] = mapped_column(str_enum(ExitReason, "exit_reason"))
    notes: Mapped[str | None] = mapped_column(Text)
    # When the enterprise was created (optional; on or before the transfer): its age at transfer.
    founded_on: Mapped[date | None]

    # Personal data: shown to the case's federation staff and admins only, never exported to researchers.
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(50))

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when an admin merged this case into another (services.casework.merge): it is then also
    # soft-deleted, its follow-ups belong to that case, and only undoing the merge brings it back.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    version: Mapped[int] = mapped_column(default=1)
    changed_in: Mapped[int] = mapped_column(default=0, server_default="0", index=True)

    federation: Mapped[Federation] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    merged_into: Mapped[Case | None] = relationship(remote_side=[id], foreign_keys=[merged_into_id])
    status_checks: Mapped[list[StatusCheck]] = relationship(
        back_populates="case", order_by="StatusCheck.checked_on.desc(), StatusCheck.id.desc()")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.exit_date is None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def __repr__(self) -> str:
        return f"<Case {self.ref}>"


class StatusCheck(Base):
    """A follow-up: on `checked_on` the enterprise was `operating`, or had exited for `outcome`.

    A correction (withdrawing a wrongly recorded exit) is itself a StatusCheck with
    `corrects_id` pointing at the one it withdraws; history is never edited in place.
    """

    __tablename__ = "status_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    checked_on: Mapped[date]
    outcome: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("status_checks.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="status_checks")
    recorded_by: Mapped[User | None] = relationship()
