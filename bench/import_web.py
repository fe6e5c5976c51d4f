"""Validate and import a large CSV through the web flow (upload + check, then confirm), on a fresh
database, with the time of each step and the peak memory.

    python -m bench.import_web --cases 100000 [--database-url postgresql://postgres@127.0.0.1:5432/x]

Without --database-url a fresh SQLite file in a temporary folder is used. The CSV comes from the
demo generator (tracker.services.ops.demo) and is written to the same folder.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def write_csv(path: Path, n: int) -> None:
    from tracker.services.ops.demo import DEMO_FEDERATIONS, generate_cases

    rows = generate_cases(n, DEMO_FEDERATIONS[0], seed=11, today=date(2025, 12, 31))
    first = next(rows)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(first))
        writer.writeheader()
        for row in (first, *rows):
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="import-bench-"))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    from flask_migrate import upgrade

    from tracker import create_app
    from tracker.extensions import db
    from tracker.services.accounts import federations, users

    path = folder / "cases.csv"
    write_csv(path, args.cases)
    app = create_app()
    app.config["IMPORT_STAGING_DIR"] = str(folder / "staging")
    with app.app_context():
        upgrade()
        fed = federations.get_by_code("FR-BENCH") or federations.create_federation(
            None, code="FR-BENCH", name="Bench", country="FR")
        if users.find_by_email("import-bench@example.org") is None:
            users.create_user(None, "import-bench@example.org", "bench-password-123", "staff", fed)
        db.session.commit()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": "import-bench@example.org", "password": "bench-password-123",
                                "csrf_token": TOKEN.search(page).group(1)})
    form = client.get("/cases/import").get_data(as_text=True)
    data = path.read_bytes()
    started = time.perf_counter()
    response = client.post("/cases/import", content_type="multipart/form-data", data={
        "csrf_token": TOKEN.search(form).group(1), "file": (io.BytesIO(data), "cases.csv")})
    checked = time.perf_counter()
    assert response.status_code in (302, 303), response.status_code
    review_url = response.headers["Location"]
    review = client.get(review_url).get_data(as_text=True)
    confirm_started = time.perf_counter()
    response = client.post(review_url, data={"csrf_token": TOKEN.search(review).group(1), "confirm_distinct": "y"})
    finished = time.perf_counter()
    assert response.status_code in (302, 303), response.status_code
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.cases:,} rows ({len(data) / 2**20:.1f} MB CSV), {os.environ['DATABASE_URL'].split('://')[0]}")
    print(f"  upload + check: {checked - started:.1f} s")
    print(f"  confirm (check again, write, commit): {finished - confirm_started:.1f} s")
    print(f"  total: {checked - started + finished - confirm_started:.1f} s; peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
