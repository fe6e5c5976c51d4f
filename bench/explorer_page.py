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
from datetime import date


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("queries", nargs="*", default=["as_of=2025-12-31&group_by=transfer_type", "as_of=2025-12-31"])
    args = parser.parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    from sqlalchemy import func, select

    from tracker import create_app
    from tracker.extensions import db
    from tracker.models import Case, Role
    from tracker.services import baselines, users
    from tracker.services.cases import FollowUp, record_follow_up

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False  # the bench logs in with a scripted form post
    password = "bench-password-123"
    with app.app_context():
        if users.find_by_email("bench@example.org") is None:
            users.create_user(None, "bench@example.org", password, Role.RESEARCHER)
        if not baselines.list_baselines():
            baselines.import_baselines(None, baselines.shipped_baselines())
        db.session.commit()
        n = db.session.scalar(select(func.count()).select_from(Case).where(Case.deleted_at.is_(None)))
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.org", "password": password})

    def timed(url: str) -> tuple[float, int]:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        return elapsed, len(response.data)

    print(f"{n:,} cases, {(args.database_url or 'sqlite').split('://')[0]}")
    for i, query in enumerate(args.queries):
        url = "/research/?" + query
        first, size = timed(url)
        cached = [timed(url)[0] for _ in range(20)]
        print(f"  {query or '(defaults)'}: {'cold process' if i == 0 else 'new query'} {first * 1000:.0f} ms, "
              f"cached median {statistics.median(cached) * 1000:.1f} ms, page {size / 1024:.0f} KiB")
    query = args.queries[0]
    for path in ("figure/competing.svg", "figure/km.png", "steps.csv", "horizons.xlsx"):
        first, size = timed(f"/research/{path}?{query}")
        again = timed(f"/research/{path}?{query}")[0]
        print(f"  /research/{path}: first {first * 1000:.0f} ms, cached {again * 1000:.1f} ms, {size / 1024:.0f} KiB")
    with app.app_context():
        case = db.session.scalars(select(Case).where(Case.exit_date.is_(None), Case.deleted_at.is_(None),
                                                     Case.last_verified_on.is_not(None)).limit(1)).one()
        record_follow_up(None, case, FollowUp(checked_on=max(case.last_verified_on, date(2025, 12, 31)),
                                              outcome="operating", source="bench"))
        db.session.commit()
    after, _ = timed("/research/?" + query)
    print(f"  first page after a write (data version bumped, case arrays reloaded): {after * 1000:.0f} ms")


if __name__ == "__main__":
    main()
