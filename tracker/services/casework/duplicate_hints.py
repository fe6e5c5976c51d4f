"""The daily allowance of hints about possible duplicates in other federations (docs/decisions.md).

A staff user may not see another federation's cases, but is told that a row of their file, or
the case they are saving, may be an enterprise another federation registered ("a possible
duplicate exists in another federation; the secretariat will review it"), and nothing more. Each
such hint is still one fact about another federation's registry: uploaded in bulk, candidate
national ids and names would enumerate it. So:

- hints are given only once the file (or the form) is otherwise valid: a file with problems,
  or one that could only be imported in part, says nothing about other federations;
- each user gets `IMPORT_DUPLICATE_HINTS_PER_DAY` hints (default `DEFAULT_PER_DAY`) per 24 hours,
  counted from their first hint, in the rate-limit storage (`RATELIMIT_STORAGE_URI`: Redis in
  production, shared by every worker; the process's memory otherwise). A request whose hints
  would go over the allowance gets none of them and spends the rest of it, so that the refusal
  tells nothing about how many there were; the page says that the limit is reached and that the
  secretariat reviews every possible duplicate across federations (the admins' duplicates page
  lists them all, hinted or not). The storage unreachable counts as no allowance left.

Administrators (and the command line) see both sides of every pair: they are not counted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import current_app
from limits import RateLimitItemPerDay
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from tracker.models import Role, User
from tracker.services.casework.duplicates import PossibleDuplicate, visible_to

DEFAULT_PER_DAY = 50
_EXTENSION = "duplicate_hints"
_log = logging.getLogger(__name__)


def per_day() -> int:
    return max(0, int(current_app.config.get("IMPORT_DUPLICATE_HINTS_PER_DAY", DEFAULT_PER_DAY)))


def hidden(user: User | None, pairs: Iterable[PossibleDuplicate]) -> list[PossibleDuplicate]:
    """The pairs with a side `user` may not see: each is a hint about another federation."""
    return [p for p in pairs if not (visible_to(user, p.case) and visible_to(user, p.other))]


def take(user: User | None, count: int) -> bool:
    """Deduct `count` hints from the user's allowance; False (and the allowance spent) when they
    do not all fit (module rules). Nothing is counted for a user who sees every federation."""
    if count <= 0 or user is None or user.role == Role.ADMIN:
        return True
    limit = per_day()
    if limit == 0:
        return False
    item = RateLimitItemPerDay(limit, namespace=current_app.config.get("RATELIMIT_KEY_PREFIX") or "tracker")
    try:
        return _limiter().hit(item, "duplicate-hints", str(user.id), cost=count)
    except Exception:  # the storage (Redis) unreachable: no hint rather than an error page
        _log.warning("duplicate hint allowance: storage unavailable; hints withheld", exc_info=True)
        return False


def _limiter() -> FixedWindowRateLimiter:
    limiter = current_app.extensions.get(_EXTENSION)
    if limiter is None:
        uri = current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
        options = current_app.config.get("RATELIMIT_STORAGE_OPTIONS") or {}
        limiter = FixedWindowRateLimiter(storage_from_string(uri, **options))
        current_app.extensions[_EXTENSION] = limiter
    return limiter
