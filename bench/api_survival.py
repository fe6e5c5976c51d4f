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
from datetime import date


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--query", default="group_by=transfer_type")
    parser.add_argument("--repeat", type=int, default=20)
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
    url = f"/api/v1/survival?{args.query}"

    def timed() -> float:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return elapsed

    first = timed()
    cached = [timed() for _ in range(args.repeat)]
    with app.app_context():
        case = db.session.scalars(select(Case).where(Case.exit_date.is_(None), Case.deleted_at.is_(None),
                                                     Case.last_verified_on.is_not(None)).limit(1)).one()
        record_follow_up(None, case, FollowUp(checked_on=max(case.last_verified_on, date(2025, 12, 31)),
                                              outcome="operating", source="bench"))
        db.session.commit()
    after_write = timed()
    print(f"{n:,} cases, {db_label(args.database_url)}, GET {url}")
    print(f"  first request (cold cache): {first * 1000:8.0f} ms")
    print(f"  cached (median of {args.repeat}):   {statistics.median(cached) * 1000:8.1f} ms")
    print(f"  first request after a write: {after_write * 1000:7.0f} ms")


def db_label(url: str | None) -> str:
    return (url or "sqlite (instance)").split("://")[0]


if __name__ == "__main__":
    main()
