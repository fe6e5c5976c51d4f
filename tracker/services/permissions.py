"""The permission vocabulary, in one place.

Roles (docs/design.md): admin may do everything; staff act on their own federation's cases only;
researchers read every case except personal/contact fields and never write.

- `can(user, action, obj=None)` answers object-level questions (templates use it too);
- `require_role(*roles)` guards views by role;
- `Scope.of(user)` is whose cases the user may see; `scope_cases(stmt, user)` narrows any case
  query with it (and hides deleted cases), so list, export, statistics, reports and API share
  one filter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import Select

from tracker.models import Case, Federation, Role, User

P = ParamSpec("P")
R = TypeVar("R")

# action -> roles allowed before any object check
ROLE_ACTIONS: dict[str, frozenset[Role]] = {
    "case.list": frozenset(Role),
    "case.view": frozenset(Role),
    "case.view_contact": frozenset({Role.ADMIN, Role.STAFF}),
    "case.create": frozenset({Role.ADMIN, Role.STAFF}),
    "case.edit": frozenset({Role.ADMIN, Role.STAFF}),
    "case.follow_up": frozenset({Role.ADMIN, Role.STAFF}),
    "case.delete": frozenset({Role.ADMIN}),
    "case.restore": frozenset({Role.ADMIN}),
    "case.view_deleted": frozenset({Role.ADMIN}),
    "case.view_history": frozenset({Role.ADMIN, Role.STAFF}),
    "case.import": frozenset({Role.ADMIN, Role.STAFF}),
    "case.export": frozenset(Role),
    "survival.view": frozenset(Role),
    "report.view": frozenset(Role),
    "admin.manage": frozenset({Role.ADMIN}),
    "baseline.manage": frozenset({Role.ADMIN}),
}

# actions that, for staff, also need the object to belong to the staff user's federation
FEDERATION_BOUND = frozenset({
    "case.view", "case.view_contact", "case.edit", "case.follow_up", "case.view_history",
    "case.import", "case.create",
})


def federation_of(obj: object) -> int | None:
    if isinstance(obj, Case):
        return obj.federation_id
    if isinstance(obj, Federation):
        return obj.id
    return None


def can(user: User | Any, action: str, obj: object | None = None) -> bool:
    """True when `user` may perform `action` (on `obj`, a Case or Federation, when given)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if action not in ROLE_ACTIONS:
        raise KeyError(f"unknown permission {action!r}")
    if user.role not in ROLE_ACTIONS[action]:
        return False
    if isinstance(obj, Case) and obj.deleted_at is not None and user.role != Role.ADMIN:
        return False
    if user.role == Role.STAFF and obj is not None and action in FEDERATION_BOUND:
        return federation_of(obj) == user.federation_id
    return True


def require_role(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """View decorator: 401 → login for anonymous users (via Flask-Login), 403 for other roles."""
    allowed = frozenset(roles)

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated:
                from tracker.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def require(user: User, action: str, obj: object | None = None) -> None:
    """Abort with 404 when a staff user asks for another federation's object (its existence is
    not disclosed), 403 for other refusals."""
    if can(user, action, obj):
        return
    if obj is not None and user.role == Role.STAFF and federation_of(obj) != user.federation_id:
        abort(404)
    if isinstance(obj, Case) and obj.deleted_at is not None:
        abort(404)
    abort(403)


@dataclass(frozen=True)
class Scope:
    """Whose cases a user may see, the one staff-scope rule: a staff user sees their own
    federation's; admins, researchers and the operator at the command line (no user) see all.
    Every query over cases, editions, jobs or figures is narrowed through it."""

    federation_id: int | None  # None: every federation

    @classmethod
    def of(cls, user: User | None) -> Scope:
        if user is not None and user.role == Role.STAFF:
            return cls(user.federation_id)
        return cls(None)

    @property
    def everything(self) -> bool:
        """True when the scope spans every federation (a choice of federation makes sense)."""
        return self.federation_id is None

    @property
    def federation_ids(self) -> list[int] | None:
        """The federations in scope, None meaning all."""
        return None if self.federation_id is None else [self.federation_id]

    def may_see(self, federation_id: int | None) -> bool:
        return self.federation_id is None or federation_id == self.federation_id

    def restrict(self, stmt: Select, column: Any = None) -> Select:
        """`stmt` narrowed to the scope, on `column` (default `cases.federation_id`)."""
        if self.federation_id is None:
            return stmt
        return stmt.where((Case.federation_id if column is None else column) == self.federation_id)


def scope_cases(stmt: Select, user: User, include_deleted: bool = False) -> Select:
    """Restrict a query over `cases` to the rows `user` may see (deleted ones for admins only,
    when asked)."""
    stmt = Scope.of(user).restrict(stmt)
    if not (include_deleted and user.role == Role.ADMIN):
        stmt = stmt.where(Case.deleted_at.is_(None))
    return stmt
