"""Member federations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Case, Federation, Role, User
from tracker.services.casework import audit
from tracker.services.errors import DomainError
from tracker.services.reference import is_country

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")
FIELDS = ("code", "name", "country", "active")


def get_by_code(code: str) -> Federation | None:
    return db.session.scalar(select(Federation).where(Federation.code == code.strip().upper()))


def list_federations() -> list[Federation]:
    return list(db.session.scalars(select(Federation).order_by(Federation.code)))


def create_federation(actor: User | None, *, code: str, name: str, country: str) -> Federation:
    code, name, country = code.strip().upper(), name.strip(), country.strip().upper()
    if not CODE_RE.match(code):
        raise DomainError(_("Code must be 2-32 letters, digits, '-' or '_' (e.g. FR-CGSCOP)."), field="code")
    if not name or len(name) > 200:
        raise DomainError(_("Name is required (at most 200 characters)."), field="name")
    if not is_country(country):
        raise DomainError(_("'%(country)s' is not an ISO 3166-1 alpha-2 country code.", country=country),
                          field="country")
    if get_by_code(code) is not None:
        raise DomainError(_("A federation with code %(code)s already exists.", code=code), field="code")
    fed = Federation(code=code, name=name, country=country, active=True)
    db.session.add(fed)
    db.session.flush()
    audit.record(actor, fed, "create", audit.diff({}, audit.snapshot(fed, FIELDS)))
    return fed


def update_federation(actor: User, fed: Federation, *, name: str, country: str,
                      active: bool) -> Federation:
    before = audit.snapshot(fed, FIELDS)
    name, country = name.strip(), country.strip().upper()
    if not name or len(name) > 200:
        raise DomainError(_("Name is required (at most 200 characters)."), field="name")
    if not is_country(country):
        raise DomainError(_("'%(country)s' is not an ISO 3166-1 alpha-2 country code.", country=country),
                          field="country")
    fed.name, fed.country, fed.active = name, country, active
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(fed, FIELDS))
    if changes:
        audit.record(actor, fed, "update", changes)
    return fed


@dataclass(frozen=True)
class FederationSummary:
    """A federation with its number of active staff accounts and of cases that are not deleted."""

    federation: Federation
    staff: int
    cases: int


def list_federations_with_counts() -> list[FederationSummary]:
    """Every federation (by code) with its active staff and non-deleted case counts, in two
    GROUP BY queries rather than one count per federation."""
    staff = dict(db.session.execute(
        select(User.federation_id, func.count()).where(User.role == Role.STAFF, User.active.is_(True))
        .group_by(User.federation_id)).all())
    cases = dict(db.session.execute(
        select(Case.federation_id, func.count()).where(Case.deleted_at.is_(None))
        .group_by(Case.federation_id)).all())
    return [FederationSummary(fed, staff.get(fed.id, 0), cases.get(fed.id, 0)) for fed in list_federations()]
