"""Follow-up completeness: which open cases need their annual status check.

- An open case (no exit, not deleted) is *verified* when its last_verified_on is within the last
  12 months: on or after the same calendar day one year before `today` (29 February → 28
  February). Otherwise it is *stale*, including an open case never verified at all.
- Share verified of a federation = verified open cases / open cases (None without open cases).
  Closed cases need no further check and are left out of both counts.
- Everything is narrowed by `permissions.scope_cases` / the user's federation: a staff user sees
  their federation only; admins see every federation and the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, case, func, or_, select

from tracker.extensions import db
from tracker.models import Case, Federation, User
from tracker.services.permissions import Scope, scope_cases

STALE_AFTER_MONTHS = 12


def verification_cutoff(today: date | None = None) -> date:
    """The oldest last_verified_on that still counts as verified on `today` (default: today)."""
    today = today or date.today()
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 1, day=28)


@dataclass(frozen=True)
class FederationFollowUp:
    federation_id: int | None  # None for the total over all federations
    code: str
    name: str
    open_cases: int
    verified: int

    @property
    def stale(self) -> int:
        return self.open_cases - self.verified

    @property
    def share_verified(self) -> float | None:
        return self.verified / self.open_cases if self.open_cases else None


def completeness_by_federation(user: User, today: date | None = None) -> list[FederationFollowUp]:
    """Open, verified and stale cases per federation the user may see, by federation code.
    Inactive federations are listed only while they have open cases."""
    cutoff = verification_cutoff(today)
    open_case = and_(Case.federation_id == Federation.id, Case.deleted_at.is_(None), Case.exit_date.is_(None))
    stmt = (select(Federation.id, Federation.code, Federation.name, Federation.active,
                   func.count(Case.id),
                   func.coalesce(func.sum(case((Case.last_verified_on >= cutoff, 1), else_=0)), 0))
            .select_from(Federation).outerjoin(Case, open_case)
            .group_by(Federation.id, Federation.code, Federation.name, Federation.active)
            .order_by(Federation.code))
    allowed = Scope.of(user).federation_ids
    if allowed is not None:
        stmt = stmt.where(Federation.id.in_(allowed))
    return [FederationFollowUp(fed_id, code, name, int(open_cases), int(verified))
            for fed_id, code, name, active, open_cases, verified in db.session.execute(stmt)
            if active or open_cases]


def total(rows: list[FederationFollowUp]) -> FederationFollowUp:
    return FederationFollowUp(None, "all", "All federations", sum(r.open_cases for r in rows),
                              sum(r.verified for r in rows))


def stale_cases_query(user: User, federation_id: int | None = None, today: date | None = None) -> Select:
    """`select(Case)` of the open cases the user may see whose last verification is older than
    12 months (or missing): never verified first, then the longest unverified, by federation and ref."""
    cutoff = verification_cutoff(today)
    stmt = scope_cases(select(Case), user).where(
        Case.exit_date.is_(None), or_(Case.last_verified_on.is_(None), Case.last_verified_on < cutoff))
    if federation_id is not None:
        stmt = stmt.where(Case.federation_id == federation_id)
    return stmt.order_by(Case.last_verified_on.asc().nulls_first(), Case.federation_id, Case.ref)
