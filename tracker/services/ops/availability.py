"""Is a database error the database being unavailable (down, read-only, full, locked), rather
than a bug? The web answers those with a 503 page and the CLI with one line and exit 1; any
other error stays an error (a 500, a traceback) so that bugs are not hidden."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tracker.i18n import N_

# SQLite reports these conditions only in its messages (sqlite3 exposes no error codes before 3.11's
# sqlite_errorname, and not for every driver path).
_SQLITE_MESSAGES = (
    ("readonly database", N_("the database is read-only")),
    ("read-only", N_("the database is read-only")),
    ("database or disk is full", N_("the database is full (no disk space left)")),
    ("disk i/o error", N_("the database's disk failed to read or write (disk I/O error)")),
    ("unable to open database", N_("the database file cannot be opened")),
    ("database is locked", N_("the database is busy (locked by another writer); try again in a moment")),
    ("no such table", N_("the database has no schema yet; run `tracker db upgrade`")),
)
# PostgreSQL SQLSTATE classes and codes that say the server cannot serve, not that the query is wrong.
_PG_STATES = (
    ("08", N_("the database server cannot be reached")),
    ("25006", N_("the database is read-only")),
    ("53100", N_("the database is full (no disk space left)")),
    ("53300", N_("the database server has no free connection")),
    ("53", N_("the database server is out of resources")),
    ("57P", N_("the database server is shutting down or starting up")),
    ("58", N_("the database server failed to read or write its files")),
    ("42P01", N_("the database has no schema yet; run `tracker db upgrade`")),
)


def unavailable_reason(exc: BaseException) -> str | None:
    """A one-line reason when `exc` means the database cannot serve now, else None."""
    if isinstance(exc, PoolTimeout):
        return N_("the database has no free connection (all are busy); try again in a moment")
    if not isinstance(exc, DBAPIError):
        return None
    original = exc.orig
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state:
        return next((reason for prefix, reason in _PG_STATES if state.startswith(prefix)), None)
    module = type(original).__module__
    if module.startswith(("psycopg", "adbc_driver_manager")):  # the session's driver, the analyses' reader
        # No SQLSTATE: the connection itself failed (refused, reset, timed out, closed by the server).
        if exc.connection_invalidated or type(original).__name__ in ("OperationalError", "InterfaceError"):
            return N_("the database server cannot be reached")
        return None
    if module.startswith("sqlite3") or type(original).__name__ in ("OperationalError", "DatabaseError"):
        message = str(original).lower()
        return next((reason for needle, reason in _SQLITE_MESSAGES if needle in message), None)
    return None


def describe(exc: BaseException, translate: Callable[[str], str] = str) -> str | None:
    """The sentence shown to a user (no SQL, no driver detail), or None; `translate` writes the
    reason in the reader's language (the web's `gettext`; the CLI may have no catalogue: English)."""
    reason = unavailable_reason(exc)
    if reason is None:
        return None
    reason = translate(reason)
    return f"{reason[0].upper()}{reason[1:]}."
