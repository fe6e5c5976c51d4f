"""Backups of the database, taken while the app runs.

- SQLite: the online backup API of sqlite3 copies a consistent snapshot page by page, even while
  the app writes (a plain file copy could catch a half-written transaction).
- PostgreSQL: `pg_dump --format=custom` (a consistent snapshot, taken in one transaction) and
  `pg_restore --clean --if-exists` to restore; both must be on PATH (Debian: postgresql-client).

A backup holds every case and account: it is written readable by its owner only (0600), into a
new file that replaces the target once complete (an interrupted backup leaves no half file).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

from tracker.services.errors import DomainError


class BackupError(DomainError):
    pass


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _pg_url(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not on PATH (install the PostgreSQL client tools)")
    return path


def backup(url: URL, target: Path) -> Path:
    """Write a backup of the database at `url` to `target` (replaced), mode 0600."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backups of {backend} databases are not supported")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    os.chmod(partial, 0o600)  # it may have existed with other rights
    try:
        if backend == "sqlite":
            _sqlite_backup(url, partial)
        else:
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}", _pg_url(url)])
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _sqlite_backup(url: URL, target: Path) -> None:
    source = sqlite3.connect(f"file:{_sqlite_path(url)}?mode=ro", uri=True)
    destination = sqlite3.connect(target)
    try:
        with destination:
            source.backup(destination)
    finally:
        source.close()
        destination.close()


def describe(source: Path) -> dict[str, object]:
    """What the audit trail records of a restored backup: its name, size and SHA-256."""
    digest = hashlib.sha256()
    with open(source, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return {"file": Path(source).name, "bytes": Path(source).stat().st_size, "sha256": digest.hexdigest()}


def restore(url: URL, source: Path) -> None:
    """Replace the database at `url` with the backup in `source`. Stop the app first."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    backend = url.get_backend_name()
    if backend == "sqlite":
        try:
            backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            backup_db.execute("SELECT count(*) FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a Transfer Tracker SQLite backup ({exc})") from None
        live = sqlite3.connect(_sqlite_path(url))
        try:
            with live:
                backup_db.backup(live)
        finally:
            backup_db.close()
            live.close()
        return
    if backend == "postgresql":
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--dbname={_pg_url(url)}", str(source)])
        return
    raise BackupError(f"restoring {backend} databases is not supported")


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, umask=0o077)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-500:]}")
