"""Fast reads of a SQLite database through ADBC, in a helper process.

The ADBC SQLite driver carries its own copy of the SQLite library. Two copies of SQLite in one
process must never use the same database file: file locks belong to the process, so when one
copy closes its file or drops its lock, it also drops the locks the other copy holds, and
another process may then write during our write (sqlite.org/howtocorrupt.html, "Multiple copies
of SQLite linked into the same application"). The app writes through Python's sqlite3 and may
read from another thread at the same time (a background report, a threaded server), so the ADBC
reads run in a helper process that never touches Python's sqlite3: one per app process, started
on first use (this file run as a script: it imports nothing of the app), answering one request at
a time over its stdin and stdout (pickled frames; Arrow tables pickle through Arrow's IPC format).
Date columns are converted to Arrow dates there, which halves what crosses the pipe. A plain
subprocess rather than multiprocessing: a spawned multiprocessing child re-imports the parent's
main module, which is not always safe to import.

PostgreSQL needs none of this (services.analytics.frame reads it in-process).
"""

from __future__ import annotations

import atexit
import os
import pickle
import struct
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import IO, Any

# A reader waits this long for a writer's lock, as the app's own SQLite connections do (without
# it, reading while another process commits fails at once with "database is locked").
BUSY_TIMEOUT_MS = 5000
_HEADER = struct.Struct("!Q")


class SQLiteReadError(RuntimeError):
    """The helper could not read the database (the message says why)."""


class _Helper:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None  # the app process that started it (a fork starts its own)

    def request(self, message: Any) -> Any:
        with self.lock:
            for attempt in (1, 2):  # a helper that died (killed, out of memory) is started again once
                process = self._running()
                assert process.stdin is not None and process.stdout is not None  # opened with PIPE
                try:
                    _send(process.stdin, message)
                    return _receive(process.stdout)
                except (BrokenPipeError, EOFError, OSError):
                    self._stop()
                    if attempt == 2:
                        raise SQLiteReadError("the SQLite reader process stopped unexpectedly") from None
        raise AssertionError("unreachable")

    def _running(self) -> subprocess.Popen[bytes]:
        if self.process is None or self.pid != os.getpid() or self.process.poll() is not None:
            self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__)], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, close_fds=True)
            self.pid = os.getpid()
        return self.process

    def _stop(self) -> None:
        if self.process is not None and self.pid == os.getpid():
            for stream in (self.process.stdin, self.process.stdout):
                if stream is not None:  # always set: opened with PIPE
                    stream.close()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        with self.lock:
            self._stop()


_helper = _Helper()
atexit.register(_helper.stop)


def read_tables(database: str, queries: list[str], date_columns: tuple[str, ...] = ()) -> list[Any]:
    """Run each query (one thread each, in the helper) on the SQLite file `database`; returns one
    pyarrow Table per query, its `date_columns` (ISO text in SQLite) as Arrow dates. Raises
    SQLiteReadError."""
    status, value = _helper.request((database, queries, date_columns, BUSY_TIMEOUT_MS))
    if status != "ok":
        raise SQLiteReadError(value)
    return value


def start() -> None:
    """Start this process's helper now, so that the first read does not wait for it (it loads
    the driver while the app goes on)."""
    with _helper.lock:
        _helper._running()


def shutdown() -> None:
    """Stop this process's helper (it also ends with the process)."""
    _helper.stop()


def _send(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    size = _HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - our own helper process, over its private pipe


# --- in the helper process --------------------------------------------------------------------------

def _serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    while True:
        try:
            database, queries, date_columns, busy_timeout_ms = _receive(requests)
        except EOFError:
            return
        try:
            read = partial(_read_one, database, date_columns, busy_timeout_ms)
            if len(queries) == 1:
                reply: tuple[str, Any] = ("ok", [read(queries[0])])
            else:
                with ThreadPoolExecutor(max_workers=len(queries)) as threads:
                    reply = ("ok", list(threads.map(read, queries)))
        except Exception as exc:  # reported to the app, which raises it there
            reply = ("error", f"{type(exc).__name__}: {exc}")
        _send(replies, reply)
        del reply
        _release_memory()


def _release_memory() -> None:
    """Give the tables' memory back to the system between requests: the helper lives as long as
    the app process and would otherwise keep the peak of its largest read."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _read_one(database: str, date_columns: tuple[str, ...], busy_timeout_ms: int, query: str) -> Any:
    import adbc_driver_sqlite.dbapi as adbc_sqlite
    import pyarrow as pa
    import pyarrow.compute as pc

    with adbc_sqlite.connect(f"file:{database}?mode=ro") as connection, connection.cursor() as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.fetchall()
        # One batch for the whole result: the driver infers each column's type from its first
        # batch, and a first batch of NULLs followed by text would be an error.
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(10**9)})
        cursor.execute(query)
        table = cursor.fetch_arrow_table()
    for name in date_columns:
        index = table.schema.get_field_index(name)
        if index >= 0 and (pa.types.is_string(table.schema.field(index).type)
                           or pa.types.is_large_string(table.schema.field(index).type)):
            table = table.set_column(index, name, pc.cast(table.column(index), pa.date32()))
    return table


if __name__ == "__main__":
    # Replies go to the original stdout; anything a library prints goes to stderr instead.
    _replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    import adbc_driver_sqlite.dbapi  # noqa: F401 - loaded before the first request arrives
    import pyarrow.compute  # noqa: F401

    _serve(sys.stdin.buffer, _replies)
