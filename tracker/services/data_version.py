"""The data version: a counter every write to analysed data bumps, used as the cache key of
statistics and figures (never a stale figure after a write).

The listener bumps it inside the same transaction as the write, so a rolled-back write leaves it
unchanged and a committed one is visible to every process (it lives in the database).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tracker.extensions import db
from tracker.models import Baseline, Case, DataVersion, StatusCheck

TRACKED = (Case, StatusCheck, Baseline)
_installed = False


def current() -> int:
    """The committed data version (0 before any write)."""
    return db.session.scalar(select(DataVersion.version).where(DataVersion.id == 1)) or 0


def bump(session: Session) -> None:
    result = session.execute(update(DataVersion).where(DataVersion.id == 1)
                             .values(version=DataVersion.version + 1))
    if result.rowcount == 0:
        session.add(DataVersion(id=1, version=1))


def install_listener() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from sqlalchemy import event

    @event.listens_for(Session, "before_flush")
    def _bump_on_tracked_write(session: Session, flush_context, instances) -> None:  # noqa: ANN001
        touched = (*session.new, *session.dirty, *session.deleted)
        if any(isinstance(obj, TRACKED) for obj in touched) and not session.info.get("bumped"):
            session.info["bumped"] = True
            bump(session)

    @event.listens_for(Session, "after_commit")
    @event.listens_for(Session, "after_rollback")
    def _reset(session: Session) -> None:
        session.info.pop("bumped", None)


def bump_now() -> None:
    """For bulk writes done with Core statements that the ORM listener does not see."""
    bump(db.session)
