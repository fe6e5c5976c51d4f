"""The data version: a counter every write to analysed data bumps, used as the cache key of
statistics and figures (never a stale figure after a write).

A writing transaction bumps it once, inside the same transaction as the write, so a rolled-back
write leaves it unchanged and a committed one is visible to every process (it lives in the
database). The transaction also stamps every case it writes with that version (`Case.changed_in`):
the ORM listener below does it for ORM writes, and Core bulk writes (imports) put
`transaction_version()` in the rows themselves. The analytics then re-read only the cases
stamped after the version of the arrays they hold (services.analytics.frame.load_changes).

Versions are handed out one transaction at a time: PostgreSQL's row lock on the counter, or
SQLite's single writer, holds a second writer until the first commits, so once a version is
visible every version below it is committed too.
"""

from __future__ import annotations

import secrets

from sqlalchemy import event, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tracker.extensions import db
from tracker.models import Baseline, Case, DataVersion, StatusCheck

TRACKED = (Case, StatusCheck, Baseline)
_KEY = "data_version"
_installed = False


def current() -> int:
    """The committed data version (0 before any write)."""
    return db.session.scalar(select(DataVersion.version).where(DataVersion.id == 1)) or 0


def identity() -> tuple[str, int]:
    """(epoch, version): what caches key on. The epoch tells apart databases or restored
    histories that reached the same version number."""
    row = db.session.execute(select(DataVersion.epoch, DataVersion.version).where(DataVersion.id == 1)).first()
    return (row.epoch, row.version) if row is not None else ("", 0)


def new_epoch() -> None:
    """Start a new history (after a restore): nothing cached before can match again."""
    try:
        db.session.execute(update(DataVersion).where(DataVersion.id == 1).values(epoch=secrets.token_hex(8)))
        db.session.commit()
    except DBAPIError:  # a backup from before the epoch column: `tracker db upgrade` adds it
        db.session.rollback()


def _version_of(session: Session) -> int:
    """This transaction's version: bumped on the first call, the same number afterwards."""
    version = session.info.get(_KEY)
    if version is None:
        version = session.execute(update(DataVersion).where(DataVersion.id == 1)
                                  .values(version=DataVersion.version + 1)
                                  .returning(DataVersion.version)).scalar()
        if version is None:
            version = 1
            session.add(DataVersion(id=1, version=version))
        session.info[_KEY] = version
    return version


def install_listener() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Session, "before_flush")
    def _bump_on_tracked_write(session: Session, flush_context, instances) -> None:  # noqa: ANN001
        touched = (*session.new, *session.dirty, *session.deleted)
        if not any(isinstance(obj, TRACKED) for obj in touched):
            return
        version = _version_of(session)
        for obj in (*session.new, *session.dirty):
            if isinstance(obj, Case) and (obj in session.new or session.is_modified(obj, include_collections=False)):
                obj.changed_in = version

    @event.listens_for(Session, "after_commit")
    @event.listens_for(Session, "after_rollback")
    def _reset(session: Session) -> None:
        session.info.pop(_KEY, None)


def transaction_version() -> int:
    """The version of the current transaction, bumping the counter if this transaction has not yet:
    for bulk writes done with Core statements, which the ORM listener does not see. Stamp the
    rows written with it (`changed_in`)."""
    return _version_of(db.session())  # the session this scope stands for
