"""Is a database error the database being unavailable (down, read-only, full, locked), rather
than a bug? The web answers those with a 503 page and the CLI with one line and exit 1; any
other error stays an error (a 500, a traceback) so that bugs are not hidden."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLite reports these conditions only in its messages (sqlite3 exposes no error codes before 3.11's
# sqlite_errorname, and not for every driver path).
_SQLITE_MESSAGES = (
    ("readonly database", "the database is read-only"),
    ("read-only", "the database is read-only"),
    ("database or disk is full", "the database is full (no disk space left)"),
    ("disk i/o error", "the database's disk failed to read or write (disk I/O error)"),
    ("unable to open database", "the database file cannot be opened"),
    ("database is locked", "the database is busy (locked by another writer); try again in a moment"),
    ("no such table", "the database has no schema yet; run `tracker db upgrade`"),
)
# PostgreSQL SQLSTATE classes and codes that say the server cannot serve, not that the query is wrong.
_PG_STATES = (
    ("08", "the database server cannot be reached"),
    ("25006", "the database is read-only"),
    ("53100", "the database is full (no disk space left)"),
    ("53300", "the database server has no free connection"),
    ("53", "the database server is out of resources"),
    ("57P", "the database server is shutting down or starting up"),
    ("58", "the database server failed to read or write its files"),
    ("42P01", "the database has no schema yet; run `tracker db upgrade`"),
)


def unavailable_reason(exc: BaseException) -> str | None:
    """A one-line reason when `exc` means the database cannot serve now, else None."""
    if isinstance(exc, PoolTimeout):
        return "the database has no free connection (all are busy); try again in a moment"
    if not isinstance(exc, DBAPIError):
        return None
    original = exc.orig
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state:
        return next((reason for prefix, reason in _PG_STATES if state.startswith(prefix)), None)
    module = type(original).__module__
    if module.startswith("psycopg"):
        # No SQLSTATE: the connection itself failed (refused, reset, timed out, closed by the server).
        if exc.connection_invalidated or type(original).__name__ in ("OperationalError", "InterfaceError"):
            return "the database server cannot be reached"
        return None
    if module.startswith("sqlite3") or type(original).__name__ in ("OperationalError", "DatabaseError"):
        message = str(original).lower()
        return next((reason for needle, reason in _SQLITE_MESSAGES if needle in message), None)
    return None


def describe(exc: BaseException) -> str | None:
    """The sentence shown to a user (no SQL, no driver detail), or None."""
    reason = unavailable_reason(exc)
    if reason is None:
        return None
    return f"{reason[0].upper()}{reason[1:]}."
