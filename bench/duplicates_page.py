"""Time GET /cases/duplicates (possible duplicates, as the secretariat sees them): the first page
of a new process and the same page again, both scopes (pairs across federations, all pairs).

    python -m bench.generate --cases 300000 --database-url sqlite:////tmp/dups.sqlite3
    python -m bench.duplicates_page --database-url sqlite:////tmp/dups.sqlite3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

PASSWORD = "bench-password-123"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    from sqlalchemy import func, select

    from tracker import create_app
    from tracker.extensions import db
    from tracker.models import Case, Role
    from tracker.services.accounts import users

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False  # the bench logs in with a scripted form post
    with app.app_context():
        if users.find_by_email("bench-admin@example.org") is None:
            users.create_user(None, "bench-admin@example.org", PASSWORD, Role.ADMIN)
        db.session.commit()
        n = db.session.scalar(select(func.count()).select_from(Case).where(Case.deleted_at.is_(None)))
    client = app.test_client()
    client.post("/login", data={"email": "bench-admin@example.org", "password": PASSWORD})

    def timed(url: str) -> tuple[float, int]:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        return elapsed, response.get_data(as_text=True).count('class="duplicate-pair"')

    print(f"{n:,} cases, {(args.database_url or 'sqlite').split('://')[0]}")
    for scope in ("across", "all"):
        url = f"/cases/duplicates?scope={scope}"
        first, pairs = timed(url)
        again = [timed(url)[0] for _ in range(args.repeat)]
        print(f"  scope={scope}: first {first * 1000:.0f} ms, then median {statistics.median(again) * 1000:.0f} ms "
              f"(min {min(again) * 1000:.0f}), {pairs} pairs listed")


if __name__ == "__main__":
    main()
