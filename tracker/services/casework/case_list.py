"""The case list query: search, filters and sort, always narrowed by `scope_cases`.

Shared by the web list and the export of "the current filtered list", so both show
exactly the same rows in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, UnaryExpression, func, or_, select

from tracker.extensions import db
from tracker.models import Case, TransferType, User
from tracker.services.permissions import can, scope_cases

# Whitelisted sort keys (the only values the URL may name) → the column they sort on.
SORT_KEYS: dict[str, Any] = {
    "ref": Case.ref,
    "name": func.lower(Case.name),
    "country": Case.country,
    "transfer_date": Case.transfer_date,
    "last_verified": Case.last_verified_on,
}
NULLABLE_SORT_KEYS = frozenset({"last_verified"})
SORT_LABELS: dict[str, LazyString] = {
    "ref": _l("Ref"), "name": _l("Name"), "country": _l("Country"), "transfer_date": _l("Transfer date"),
    "last_verified": _l("Last verified"),
}
DEFAULT_SORT = "ref"
DIRECTIONS = ("asc", "desc")
STATUSES = ("open", "closed")
# The columns the list page shows (the export selects its own with `with_only_columns`).
LIST_COLUMNS = (Case.id, Case.federation_id, Case.ref, Case.name, Case.national_id, Case.country,
                Case.transfer_type, Case.transfer_date, Case.last_verified_on, Case.exit_date,
                Case.exit_reason, Case.deleted_at)


@dataclass(frozen=True)
class CaseFilters:
    """What the user asked the list for. Every field is optional; None means "no filter"."""

    q: str | None = None  # name, ref or national id contains (case-insensitive)
    country: str | None = None  # ISO 3166-1 alpha-2
    transfer_type: TransferType | str | None = None
    status: str | None = None  # "open" or "closed"
    year_from: int | None = None  # transfer year, inclusive
    year_to: int | None = None  # transfer year, inclusive
    federation_id: int | None = None
    nace_section: str | None = None  # A..U
    size_class: str | None = None  # a key of SIZE_CLASS_RANGES
    region: str | None = None  # NUTS or ISO 3166-2 code, or its beginning (FR, FRK)
    legal_form: str | None = None  # contains (case-insensitive)
    not_verified_since: date | None = None  # open cases not confirmed operating on or after this date
    show_deleted: bool = False  # honoured for admins only
    sort: str = DEFAULT_SORT
    direction: str = "asc"


#: Employees at transfer of each size class (vocabulary.SIZE_CLASSES), bounds inclusive.
SIZE_CLASS_RANGES: dict[str, tuple[int | None, int | None]] = {
    "0-9": (0, 9), "10-49": (10, 49), "50-249": (50, 249), "250+": (250, None), "unknown": (None, None),
}


def countries_present(user: User) -> list[str]:
    """The countries of the cases `user` may see, for the list's country filter."""
    stmt = scope_cases(select(Case.country).distinct(), user).order_by(Case.country)
    return list(db.session.scalars(stmt))


def escape_like(text: str, escape: str = "\\") -> str:
    """Make `%`, `_` and the escape character match themselves in a LIKE pattern."""
    return text.replace(escape, escape * 2).replace("%", escape + "%").replace("_", escape + "_")


def _search(term: str) -> ColumnElement[bool]:
    # ILIKE on PostgreSQL, lower(x) LIKE lower(y) on SQLite (ASCII-only case folding there).
    pattern = f"%{escape_like(term)}%"
    return or_(*(column.ilike(pattern, escape="\\") for column in (Case.name, Case.ref, Case.national_id)))


def build_case_query(user: User, filters: CaseFilters) -> Select:
    """A `select(Case)` of the cases `user` may see that match `filters`, sorted (ties by id, so
    pages are stable). Callers narrow the loaded columns themselves, e.g.
    `.options(load_only(...))` for a list or `.with_only_columns(...)` for an export.

    Raises ValueError for a sort key or direction outside the whitelist, an unknown transfer type
    or a year outside 1..9999 (the list's form refuses those first, with a message).
    """
    if filters.sort not in SORT_KEYS or filters.direction not in DIRECTIONS:
        raise ValueError(f"unknown sort {filters.sort!r} {filters.direction!r}")
    include_deleted = filters.show_deleted and can(user, "case.view_deleted")
    stmt = scope_cases(select(Case), user, include_deleted=include_deleted)
    for condition in _conditions(filters):
        stmt = stmt.where(condition)
    return stmt.order_by(*_ordering(filters))


def _conditions(filters: CaseFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.q and filters.q.strip():
        conditions.append(_search(filters.q.strip()))
    if filters.country:
        conditions.append(Case.country == filters.country.upper())
    if filters.transfer_type:
        conditions.append(Case.transfer_type == TransferType(filters.transfer_type))
    if filters.status == "open":
        conditions.append(Case.exit_date.is_(None))
    elif filters.status == "closed":
        conditions.append(Case.exit_date.is_not(None))
    # Year bounds as date ranges, so the transfer_date index is used and no dialect-specific
    # year extraction is needed.
    if filters.year_from is not None:
        conditions.append(Case.transfer_date >= date(filters.year_from, 1, 1))
    if filters.year_to is not None:
        conditions.append(Case.transfer_date <= date(filters.year_to, 12, 31))
    if filters.federation_id is not None:
        conditions.append(Case.federation_id == filters.federation_id)
    return [*conditions, *_case_work_conditions(filters)]


def _case_work_conditions(filters: CaseFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.nace_section:
        conditions.append(Case.nace_section == filters.nace_section.upper())
    if filters.size_class in SIZE_CLASS_RANGES:
        low, high = SIZE_CLASS_RANGES[filters.size_class]
        if low is None:
            conditions.append(Case.employees.is_(None))
        else:
            conditions.append(Case.employees >= low)
            if high is not None:
                conditions.append(Case.employees <= high)
    if filters.region:
        conditions.append(Case.region.startswith(filters.region.upper(), autoescape=True))
    if filters.legal_form:
        conditions.append(Case.legal_form.ilike(f"%{escape_like(filters.legal_form)}%", escape="\\"))
    if filters.not_verified_since is not None:
        conditions.append(Case.exit_date.is_(None))
        conditions.append(or_(Case.last_verified_on.is_(None), Case.last_verified_on < filters.not_verified_since))
    return conditions


def _ordering(filters: CaseFilters) -> tuple[UnaryExpression[Any], UnaryExpression[Any]]:
    column = SORT_KEYS[filters.sort]
    order = column.asc() if filters.direction == "asc" else column.desc()
    if filters.sort in NULLABLE_SORT_KEYS:
        # NULLS LAST on both dialects (SQLite ≥ 3.30 and PostgreSQL), which otherwise disagree.
        order = order.nulls_last()
    # (Non-null keys keep a plain ORDER BY, so the ref, name and date indexes can serve the page.)
    return order, Case.id.asc() if filters.direction == "asc" else Case.id.desc()


#: The query-string names the list reads (its filters, sort and order): the only ones a saved
#: view keeps.
LIST_PARAMETERS: tuple[str, ...] = (
    "q", "country", "transfer_type", "status", "year_from", "year_to", "federation", "nace_section", "size_class",
    "region", "legal_form", "not_verified_since", "show_deleted", "sort", "dir",
)
