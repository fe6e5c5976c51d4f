from __future__ import annotations

import secrets

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import Base


class Baseline(Base):
    """A published national survival figure: share of a birth cohort still active after
    `horizon_years`. Region is '' when the figure is national; sector is a NACE section,
    a range such as 'B-E', or 'TOTAL'."""

    __tablename__ = "baselines"
    __table_args__ = (
        UniqueConstraint("series", "country", "region", "sector", "cohort_year", "horizon_years"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(40))
    country: Mapped[str] = mapped_column(String(8))  # ISO alpha-2, or an aggregate such as EU27
    region: Mapped[str] = mapped_column(String(16), default="")
    sector: Mapped[str] = mapped_column(String(16))
    sector_label: Mapped[str | None] = mapped_column(String(200))
    cohort_year: Mapped[int]
    horizon_years: Mapped[int]
    survival_pct: Mapped[float]
    publisher: Mapped[str] = mapped_column(String(200))
    source_title: Mapped[str] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(20))
    url: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class DataVersion(Base):
    """A single counter bumped by every write to cases, follow-ups or baselines; statistics and
    figures are cached under it, so a cached figure is never served after a write. `epoch` names
    the database's history: a restore or a new database starts a new one, so versions that repeat
    across histories never meet in a cache."""

    __tablename__ = "data_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    epoch: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(8), server_default="")
