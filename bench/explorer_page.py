"""Time GET /research/ (the survival explorer page): cold process, a new query (statistics and
drawings not cached), cached, the lazily drawn figures and downloads, and the first page after a write.

    python -m bench.generate --cases 100000 --database-url sqlite:////tmp/explorer.sqlite3
    python -m bench.explorer_page --database-url sqlite:////tmp/explorer.sqlite3 [QUERY ...]
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
    parser.add_argument("queries", nargs="*", default=["as_of=2025-12-31&group_by=transfer_type", "as_of=2025-12-31",
                                                       "as_of=2025-12-31&group_by=size_class&country=FR"])
    args = parser.parse_args(argv)
    app, client, n = logged_in_client(args.database_url)

    cpu: dict[str, float] = {}

    def timed(url: str) -> tuple[float, int]:
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        cpu[url] = time.process_time() - started_cpu  # this process's CPU: less sensitive to a busy machine
        assert response.status_code == 200, (url, response.status_code)
        return elapsed, len(response.data)

    print(f"{n:,} cases, {(args.database_url or 'sqlite').split('://')[0]}")
    for i, query in enumerate(args.queries):
        url = "/research/?" + query
        first, size = timed(url)
        first_cpu = cpu[url]
        cached = [timed(url)[0] for _ in range(20)]
        print(f"  {query or '(defaults)'}: {'cold process' if i == 0 else 'new query'} {first * 1000:.0f} ms "
              f"(CPU {first_cpu * 1000:.0f} ms), cached median {statistics.median(cached) * 1000:.1f} ms "
              f"(CPU {cpu[url] * 1000:.1f} ms), page {size / 1024:.0f} KiB")
    query = args.queries[0]
    for path in ("figure/competing.svg", "figure/km.png", "steps.csv", "horizons.xlsx"):
        first, size = timed(f"/research/{path}?{query}")
        again = timed(f"/research/{path}?{query}")[0]
        print(f"  /research/{path}: first {first * 1000:.0f} ms, cached {again * 1000:.1f} ms, {size / 1024:.0f} KiB")
    write_once(app)
    after, _ = timed("/research/?" + query)
    print(f"  first page after a write (data version bumped, case arrays reloaded): {after * 1000:.0f} ms")


if __name__ == "__main__":
    main()
