"""The one staff-scope rule: staff see their own federation's cases, everyone else all of them."""

from __future__ import annotations

from sqlalchemy import select

from tracker.models import Case, Role, User
from tracker.services.permissions import Scope


def test_staff_see_their_own_federation_and_nobody_else_is_narrowed() -> None:
    staff = User(email="s@example.org", role=Role.STAFF, federation_id=7)
    assert Scope.of(staff) == Scope(7)
    assert Scope.of(staff).may_see(7) and not Scope.of(staff).may_see(8) and not Scope.of(staff).may_see(None)
    assert Scope.of(staff).federation_ids == [7] and not Scope.of(staff).everything
    for role in (Role.ADMIN, Role.RESEARCHER):
        scope = Scope.of(User(email="a@example.org", role=role))
        assert scope.everything and scope.federation_ids is None and scope.may_see(8)
    assert Scope.of(None).everything  # the operator at the command line


def test_restrict_adds_the_federation_condition_only_for_a_narrow_scope() -> None:
    stmt = select(Case.id)
    assert Scope(None).restrict(stmt) is stmt
    assert "cases.federation_id = " in str(Scope(7).restrict(stmt))
