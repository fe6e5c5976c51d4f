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

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, case, extract, func, or_, select

from tracker.extensions import db
from tracker.i18n import format_date
from tracker.models import Case, Federation, User
from tracker.services.analytics import data_version
from tracker.services.casework.cases import parse_date
from tracker.services.errors import DomainError
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


def stale_cases_query(user: User | None, federation_id: int | None = None, today: date | None = None) -> Select:
    """`select(Case)` of the open cases the user may see (None: an operator, every federation)
    whose last verification is older than 12 months (or missing): never verified first, then the
    longest unverified, by federation and ref."""
    cutoff = verification_cutoff(today)
    stmt = _scoped(user).where(
        Case.exit_date.is_(None), or_(Case.last_verified_on.is_(None), Case.last_verified_on < cutoff))
    if federation_id is not None:
        stmt = stmt.where(Case.federation_id == federation_id)
    return stmt.order_by(Case.last_verified_on.asc().nulls_first(), Case.federation_id, Case.ref)


def _scoped(user: User | None) -> Select:
    """The live cases `user` may see; every live case for an operator (None, the command line)."""
    if user is None:
        return select(Case).where(Case.deleted_at.is_(None))
    return scope_cases(select(Case), user)


# --- the annual census ------------------------------------------------------------------------
#
# The census takes stock of every case open on a census date D (by default 31 December of last
# year): transferred on or before D, with no exit before D (an exit on D itself is the case's
# status on that day), not deleted. A case's status on D is *settled* when the registry already
# knows it: an exit is recorded (the enterprise operated until then), or it was confirmed
# operating on or after D (last_verified_on ≥ D). Completeness by census year counts, for each
# 31 December from the first transfer's year to last year, the open and the settled cases.

CENSUS_EARLIEST = date(1900, 1, 1)


class InvalidCensusDate(DomainError):
    """The census date asked for is not a date, is in the future or before 1900."""


def default_census_date(today: date | None = None) -> date:
    """31 December of last year."""
    return date((today or date.today()).year - 1, 12, 31)


def census_date(value: str | date | None, today: date | None = None) -> date:
    """The census date a user asked for (ISO text or a date; empty: `default_census_date`)."""
    today = today or date.today()
    try:
        parsed = parse_date(value)
    except ValueError as exc:
        raise InvalidCensusDate(str(exc), field="census_date") from None
    if parsed is None:
        return default_census_date(today)
    return check_census_date(parsed, today)


def check_census_date(day: date, today: date | None = None) -> date:
    """`day` when it may be a census date (not in the future, 1900 or later), else InvalidCensusDate:
    the rule of the census form and of a census sheet's `census_date` column alike."""
    if day > (today or date.today()):
        raise InvalidCensusDate(_("%(date)s is in the future", date=format_date(day)), field="census_date")
    if day < CENSUS_EARLIEST:
        raise InvalidCensusDate(_("the census date must be in %(year)s or later", year=CENSUS_EARLIEST.year),
                                field="census_date")
    return day


def open_on(day: date) -> ColumnElement[bool]:
    """Cases open on `day`: transferred on or before it, no exit before it, not deleted."""
    return and_(Case.deleted_at.is_(None), Case.transfer_date <= day,
                or_(Case.exit_date.is_(None), Case.exit_date >= day))


def census_cases_query(user: User | None, day: date, federation_id: int | None = None) -> Select:
    """`select(Case)` of the cases open on `day` that the user may see (None: an operator, every
    federation), by federation and ref."""
    stmt = _scoped(user).where(open_on(day))
    if federation_id is not None:
        stmt = stmt.where(Case.federation_id == federation_id)
    return stmt.order_by(Case.federation_id, Case.ref)


@dataclass(frozen=True)
class CensusYear:
    """One federation (None: all of them) on 31 December of `year`."""

    federation_id: int | None
    year: int
    open_cases: int
    settled: int

    @property
    def census_date(self) -> date:
        return date(self.year, 12, 31)

    @property
    def unsettled(self) -> int:
        return self.open_cases - self.settled

    @property
    def share_settled(self) -> float | None:
        return self.settled / self.open_cases if self.open_cases else None


@dataclass(frozen=True)
class CensusCompleteness:
    """Completeness by census year: `years` newest first, `federations` (id, code, name) by code,
    `cells[(federation_id, year)]`, and `totals[year]` over the federations shown."""

    years: tuple[int, ...]
    federations: tuple[tuple[int, str, str], ...]
    cells: dict[tuple[int, int], CensusYear]
    totals: dict[int, CensusYear]

    def rows(self) -> list[CensusYear]:
        """Every cell, by federation code then year (newest first), for the download."""
        return [self.cells[(fed_id, year)] for fed_id, _code, _name in self.federations for year in self.years]


def _last_census_year(day: Any) -> Any:
    """The last year whose 31 December is on or before `day` (SQL): the year before, unless
    `day` is itself a 31 December."""
    return (extract("year", day) - 1
            + case((and_(extract("month", day) == 12, extract("day", day) == 31), 1), else_=0))


def census_completeness(user: User, today: date | None = None) -> CensusCompleteness:
    """Open and settled cases on each 31 December, from the year of the first transfer the user
    may see to last year, per federation (see the census rules above)."""
    last_year = (today or date.today()).year - 1
    first_year, counts = _census_counts(user, last_year)
    if first_year is None:
        return CensusCompleteness((), (), {}, {})
    years = range(first_year, last_year + 1)
    feds = tuple((int(i), str(code), str(name)) for i, code, name in db.session.execute(
        select(Federation.id, Federation.code, Federation.name).where(Federation.id.in_(counts))
        .order_by(Federation.code)))
    cells: dict[tuple[int, int], CensusYear] = {}
    for fed_id, (opened, known) in counts.items():
        open_now = settled_now = 0
        for i, year in enumerate(years):
            open_now, settled_now = open_now + opened[i], settled_now + known[i]
            cells[(fed_id, year)] = CensusYear(fed_id, year, open_now, settled_now)
    totals = {year: CensusYear(None, year, sum(cells[(f, year)].open_cases for f in counts),
                               sum(cells[(f, year)].settled for f in counts)) for year in years}
    return CensusCompleteness(tuple(reversed(years)), feds, cells, totals)


CensusCounts = tuple[int | None, dict[int, tuple[list[int], list[int]]]]
_CACHE_SIZE = 16


def _census_counts(user: User, last_year: int) -> CensusCounts:
    """The first census year and, per federation, the changes of the open and settled counts
    from one census to the next, kept per data version (any write to cases or follow-ups makes
    a new one): a million cases take seconds to group, the start page is shown far more often."""
    allowed = Scope.of(user).federation_ids
    key = (str(db.engine.url), data_version.identity(), None if allowed is None else tuple(sorted(allowed)), last_year)
    cache = current_app.extensions.setdefault("census_counts", OrderedDict())
    with _CACHE_LOCK:
        if key in cache:
            cache.move_to_end(key)
            return cast(CensusCounts, cache[key])
    value = _count_census(user, last_year)
    with _CACHE_LOCK:
        cache[key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return value


_CACHE_LOCK = threading.Lock()


def _count_census(user: User, last_year: int) -> CensusCounts:
    """One grouped query: each case is open from the census of its transfer year (`first`) to the
    last census before its exit (`last`, NULL while open) and settled up to `settled` (its last
    open census when it exited, else the last census its verification reaches); the groups are
    spread over the years as differences (+n at the first census, -n after the last), never
    case by case."""
    first = extract("year", Case.transfer_date)
    last = case((Case.exit_date.is_(None), None), else_=_last_census_year(Case.exit_date))
    settled = case((Case.exit_date.is_not(None), _last_census_year(Case.exit_date)),
                   else_=_last_census_year(Case.last_verified_on))
    stmt = (scope_cases(select(Case.federation_id, first.label("first"), last.label("last"),
                               settled.label("settled"), func.count()), user)
            .group_by(Case.federation_id, first, last, settled))
    groups = [(int(f), int(a), None if b is None else int(b), None if c is None else int(c), int(n))
              for f, a, b, c, n in db.session.execute(stmt)]
    firsts = [a for _f, a, _b, _c, _n in groups if a <= last_year]
    if not firsts:
        return None, {}
    start = min(firsts)
    size = last_year - start + 2
    counts: dict[int, tuple[list[int], list[int]]] = {}
    for fed_id, a, b, c, n in groups:
        opened, known = counts.setdefault(fed_id, ([0] * size, [0] * size))
        # open until the exit (None: still open), settled until `c` (None: never)
        for diff, stop in ((opened, last_year if b is None else min(b, last_year)),
                           (known, a - 1 if c is None else min(c, last_year))):
            if a <= stop:
                diff[a - start] += n
                diff[stop + 1 - start] -= n
    return start, counts
