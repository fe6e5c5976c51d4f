"""The daily allowance of hints about possible duplicates in other federations (docs/decisions.md).

A staff user may not see another federation's cases, but is told that a row of their file, or
the case they are saving, may be an enterprise another federation registered ("a possible
duplicate exists in another federation; the secretariat will review it"), and nothing more. Each
such hint is still one fact about another federation's registry: uploaded in bulk, candidate
national ids and names would enumerate it. So:

- hints are given only once the file (or the form) is otherwise valid: a file with problems,
  or one that could only be imported in part, says nothing about other federations;
- each user gets `IMPORT_DUPLICATE_HINTS_PER_DAY` hints (default `DEFAULT_PER_DAY`) per 24 hours,
  counted from their first hint, in the database (`duplicate_hint_allowances`), so that every
  worker and every restart counts the same. A request whose hints would go over the allowance
  gets none of them and spends the rest of it, so that the refusal tells nothing about how many
  there were; the page says that the limit is reached and that the secretariat reviews every
  possible duplicate across federations (the admins' duplicates page lists them all, hinted or
  not). A database that cannot record the count (read-only, full, gone) counts as no allowance
  left.

Administrators (and the command line) see both sides of every pair: they are not counted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from tracker.extensions import db
from tracker.models import DuplicateHintAllowance, Role, User
from tracker.models.base import utcnow
from tracker.services.casework.duplicates import PossibleDuplicate, visible_to

DEFAULT_PER_DAY = 50
WINDOW = timedelta(days=1)
_log = logging.getLogger(__name__)


def per_day() -> int:
    return max(0, int(current_app.config.get("IMPORT_DUPLICATE_HINTS_PER_DAY", DEFAULT_PER_DAY)))


def hidden(user: User | None, pairs: Iterable[PossibleDuplicate]) -> list[PossibleDuplicate]:
    """The pairs with a side `user` may not see: each is a hint about another federation."""
    return [p for p in pairs if not (visible_to(user, p.case) and visible_to(user, p.other))]


def take(user: User | None, count: int) -> bool:
    """Deduct `count` hints from the user's allowance; False (and the allowance spent) when they
    do not all fit (module rules). Nothing is counted for a user who sees every federation.

    Commits the count at once, in the request's session: call it with nothing else pending (the
    import check after its rollback, the case form after its commit or rollback)."""
    if count <= 0 or user is None or user.role == Role.ADMIN:
        return True
    limit = per_day()
    if limit == 0:
        return False
    try:
        granted = _spend(user.id, count, limit, utcnow())
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        _log.warning("duplicate hint allowance: the count could not be recorded; hints withheld", exc_info=True)
        return False
    return granted


def _spend(user_id: int, count: int, limit: int, now: datetime) -> bool:
    """One user's count, in statements that each hold under concurrent workers: the window
    renewed when a day old, the row made when missing, then `count` added only where it fits."""
    row = DuplicateHintAllowance
    mine = row.user_id == user_id
    db.session.execute(update(row).where(mine, row.window_start <= now - WINDOW).values(window_start=now, used=0)
                       .execution_options(synchronize_session=False))
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(row).values(user_id=user_id, window_start=now, used=0)
                       .on_conflict_do_nothing(index_elements=["user_id"]))
    fits = db.session.execute(update(row).where(mine, row.used + count <= limit).values(used=row.used + count)
                              .execution_options(synchronize_session=False))
    if fits.rowcount == 1:  # type: ignore[attr-defined]
        return True
    db.session.execute(update(row).where(mine).values(used=limit).execution_options(synchronize_session=False))
    return False
