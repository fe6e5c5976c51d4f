"""Does the ADBC reader (a helper process, services.analytics.sqlite_reader) earn its keep against
the standard library's sqlite3 with numpy, reading the analysis columns of every case?

    python -m bench.generate --cases 1000000 --database-url sqlite:////tmp/m.sqlite3
    python -m bench.sqlite_read --database-url sqlite:////tmp/m.sqlite3 [--runs 3]

Times, in this process, median of `--runs` after one warm-up read (file in the page cache):

- `adbc`: services.analytics.frame.load_case_frame() as the app runs it (ADBC in the helper
  process, two id-range threads, Arrow over the pipe, then numpy and coding);
- `sqlite3`: the same query through Python's sqlite3 (`fetchall`), dates turned into day numbers
  by SQLite (julianday), then the same arrays built with numpy (day numbers → datetime64[D];
  text → codes with pandas.factorize); one thread, and two id-range threads (sqlite3 releases
  the GIL only inside SQLite, so threads gain little).

Both must give the same arrays (checked).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd


def stdlib_columns(database: str, sql_parts: list[str], names: tuple[str, ...], date_columns: tuple[str, ...],
                   text_columns: tuple[str, ...]) -> dict[str, Any]:
    """The frame's arrays through Python's sqlite3: SQLite turns each date into a day number
    (julianday, NULL kept), numpy takes the columns whole (np.array of a tuple of ints/None)."""
    def read(sql: str) -> list[tuple[Any, ...]]:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def as_days(sql: str) -> str:
        for name in date_columns:  # the compiled query selects "cases.NAME AS NAME"
            sql = sql.replace(f"cases.{name} AS {name}",
                              f"CAST(julianday(cases.{name}) - 2440587.5 AS INTEGER) AS {name}", 1)
        return sql

    queries = [as_days(sql) for sql in sql_parts]
    if len(queries) == 1:
        rows = read(queries[0])
    else:
        with ThreadPoolExecutor(max_workers=len(queries)) as pool:
            rows = [row for part in pool.map(read, queries) for row in part]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    out: dict[str, Any] = {}
    for name, values in zip(names, columns, strict=True):
        if name in date_columns:
            days = np.array(values, dtype=float)  # None → nan
            dates = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[D]")
            known = ~np.isnan(days)
            dates[known] = days[known].astype(np.int64).astype("datetime64[D]")
            out[name] = dates
        elif name in text_columns:
            codes, uniques = pd.factorize(np.asarray(values, dtype=object))
            out[name] = (codes.astype(np.int64), np.asarray(uniques, dtype=object))
        else:
            out[name] = np.array(values, dtype=float)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ["DATABASE_URL"] = args.database_url

    from tracker import create_app
    from tracker.extensions import db
    from tracker.services.analytics import frame

    app = create_app()
    with app.app_context():
        stmt = frame.case_columns_query()
        dialect = db.engine.dialect
        database = db.engine.url.database
        assert database
        ranges = frame._id_ranges(stmt)
        parts = [str(stmt.where(frame.Case.id >= low, frame.Case.id < high).compile(
            dialect=dialect, compile_kwargs={"literal_binds": True})) for low, high in ranges]
        whole = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))

        def adbc() -> Any:
            return frame.load_case_frame()

        def stdlib(queries: list[str]) -> Any:
            return stdlib_columns(database, queries, frame.COLUMNS, frame.DATE_COLUMNS, frame.TEXT_COLUMNS)

        timings: dict[str, list[float]] = {"adbc (helper process, 2 threads)": [], "sqlite3 + numpy, 1 thread": [],
                                           f"sqlite3 + numpy, {len(parts)} threads": []}
        runs = [lambda: adbc(), lambda: stdlib([whole]), lambda: stdlib(parts)]
        for run in runs:
            run()  # warm-up: the helper process started, the file in the page cache
        for _ in range(args.runs):
            for times, run in zip(timings.values(), runs, strict=True):
                started = time.perf_counter()
                result = run()
                times.append(time.perf_counter() - started)
        fast, plain = adbc(), stdlib(parts)
        assert len(fast) == len(plain["id"])
        assert np.array_equal(np.sort(fast.ids), np.sort(plain["id"].astype(np.int64)))
        order_a, order_b = np.argsort(fast.ids), np.argsort(plain["id"])
        for name in frame.DATE_COLUMNS:
            assert np.array_equal(getattr(fast.cases, name)[order_a], plain[name][order_b], equal_nan=True), name
        del result
        print(f"{len(fast):,} cases, load average {os.getloadavg()[0]:.1f}, median of {args.runs}:")
        for label, times in timings.items():
            print(f"  {label}: {statistics.median(times):.2f} s  ({', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
