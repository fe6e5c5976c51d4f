"""Time GET /api/v1/survival on a filled database: first request (cold cache), repeated request
(cached), and the first request after a write (the cache must not serve a stale figure).

    python -m bench.generate --cases 1000000 --database-url sqlite:////tmp/bench.sqlite3
    python -m bench.api_survival --database-url sqlite:////tmp/bench.sqlite3 [--query group_by=transfer_type]

Runs the app in-process through Flask's test client (no network), logged in as a researcher.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench.common import logged_in_client, write_once


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--query", default="group_by=transfer_type")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    app, client, n = logged_in_client(args.database_url)
    url = f"/api/v1/survival?{args.query}"

    def timed() -> float:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return elapsed

    first = timed()
    cached = [timed() for _ in range(args.repeat)]
    write_once(app)
    after_write = timed()
    print(f"{n:,} cases, {db_label(args.database_url)}, GET {url}")
    print(f"  first request (cold cache): {first * 1000:8.0f} ms")
    print(f"  cached (median of {args.repeat}):   {statistics.median(cached) * 1000:8.1f} ms")
    print(f"  first request after a write: {after_write * 1000:7.0f} ms")


def db_label(url: str | None) -> str:
    return (url or "sqlite (instance)").split("://")[0]


if __name__ == "__main__":
    main()
