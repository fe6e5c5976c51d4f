"""Time the census sheet (every case open on a census date, as the follow-up page and
`tracker cases census` write it) and the annual status-check sheet, CSV and XLSX, for the whole
registry as the secretariat downloads it; and the case export (`tracker cases export`, the list's
download) of every federation.

    python -m bench.generate --cases 220000 --database-url sqlite:////tmp/census-bench.sqlite3
    python -m bench.census_sheet --database-url sqlite:////tmp/census-bench.sqlite3 [--census-date 2025-12-31]

Each sheet is written once into a temporary file (the web writes into memory, the CLI into a file:
the same writer). Prints rows, wall time, the process's CPU time and the file size; with --lock-probe,
also whether a writer in another connection could commit while the sheet was being written
(decision 75: no read lock held while Python works on the rows).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from datetime import date


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--census-date", type=date.fromisoformat, default=date(2025, 12, 31))
    parser.add_argument("--sheets", default="census.xlsx,census.csv,status.xlsx",
                        help="comma-separated of census.xlsx, census.csv, status.xlsx, status.csv, "
                             "export.csv, export.xlsx (the case export of every federation)")
    parser.add_argument("--lock-probe", action="store_true",
                        help="try a write from another connection every 0.5 s while a sheet is written")
    args = parser.parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url

    from tracker import create_app
    from tracker.extensions import db
    from tracker.services.spreadsheets import exports, status_import

    app = create_app()
    with app.app_context():
        print(f"{db.engine.url.render_as_string(hide_password=True)}, census date {args.census_date}")
        for sheet in args.sheets.split(","):
            kind, fmt = sheet.split(".")
            census = args.census_date if kind == "census" else None
            probe = _LockProbe(app) if args.lock_probe else None
            with tempfile.TemporaryFile() as fh:
                wall, cpu = time.perf_counter(), time.process_time()
                if probe:
                    probe.start()
                if kind == "export":
                    rows = exports.write_export(fh, None, fmt=fmt)
                else:
                    rows = status_import.write_status_check(fh, None, fmt, census_date=census,
                                                            today=args.census_date)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                size = fh.tell()
            db.session.rollback()
            blocked = ""
            if probe:
                probe.stop()
                blocked = f", probe writes {probe.ok} ok / {probe.failed} waited > 0.5 s"
            print(f"  {sheet:12} {rows:>9,} rows  {wall:6.1f} s wall  {cpu:6.1f} s CPU  "
                  f"{size / 2**20:6.1f} MiB{blocked}")


class _LockProbe:
    """A writer on its own connection: an UPDATE that changes nothing, committed every 0.5 s with a
    0.5 s busy timeout; it fails while a reader holds the SQLite file's shared lock."""

    def __init__(self, app: object) -> None:
        self.app, self.ok, self.failed = app, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import sqlite3

        from tracker.extensions import db

        with self.app.app_context():  # type: ignore[attr-defined]
            path = db.engine.url.database
        while not self._stop.wait(0.5):
            conn = sqlite3.connect(path, timeout=0.5)
            try:
                conn.execute("UPDATE federations SET name = name WHERE id = 1")
                conn.commit()
                self.ok += 1
            except sqlite3.OperationalError:
                self.failed += 1
            finally:
                conn.close()


if __name__ == "__main__":
    main()
