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
    from tracker.services.casework import duplicate_index

    started = time.perf_counter()
    client.get("/cases/start")  # an admin's first page starts building the index in the background
    with app.app_context():
        while not duplicate_index.ready():
            time.sleep(0.05)
    print(f"  index built in the background in {time.perf_counter() - started:.1f} s")
    for scope in ("across", "all"):
        url = f"/cases/duplicates?scope={scope}"
        first, pairs = timed(url)
        again = [timed(url)[0] for _ in range(args.repeat)]
        print(f"  scope={scope}: first {first * 1000:.0f} ms, "
              f"then median {statistics.median(again) * 1000:.0f} ms (min {min(again) * 1000:.0f}), "
              f"{pairs} pairs listed")
    with app.app_context():  # one write: a case renamed like another (the index re-reads that case only)
        from tracker.services.casework import cases as case_service

        case = db.session.scalars(select(Case).where(Case.deleted_at.is_(None)).limit(1)).one()
        other = db.session.scalars(select(Case).where(Case.id != case.id, Case.country == case.country,
                                                      Case.deleted_at.is_(None)).limit(1)).one()
        values = case_service.case_values(case)
        case_service.update_case(None, case, {**values, "name": other.name + " SA",
                                              "transfer_date": other.transfer_date}, expected_version=None)
        db.session.commit()
    after, pairs = timed("/cases/duplicates?scope=all")
    print(f"  after a write: {after * 1000:.0f} ms, {pairs} pairs listed")


if __name__ == "__main__":
    main()
