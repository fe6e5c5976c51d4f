"""Load test: the app under gunicorn on loopback, N concurrent clients for a fixed time on the case
list, a case page and the survival API; optionally with writes (follow-ups) mixed in.

    python -m bench.generate --cases 100000 --database-url sqlite:////tmp/load.sqlite3
    python -m bench.load --database-url sqlite:////tmp/load.sqlite3 [--clients 20] [--seconds 60] [--writes]

Every client logs in as its own researcher (or, with --writes, staff of the first federation) and
loops over the mix; the report gives the request count, errors and p50/p95/p99 per endpoint.
Traffic goes to 127.0.0.1 only; the run stops by itself.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

PASSWORD = "load-test-password"
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
FOLLOW_UP_TOKEN = re.compile(r'name="followup-csrf_token" type="hidden" value="([^"]+)"')


def prepare(database_url: str, clients: int, writes: bool) -> tuple[list[str], list[int]]:
    os.environ["DATABASE_URL"] = database_url
    from sqlalchemy import select

    from tracker import create_app
    from tracker.extensions import db
    from tracker.models import Case, Federation, Role
    from tracker.services.accounts import users

    app = create_app()
    with app.app_context():
        federation = db.session.scalars(select(Federation).order_by(Federation.id)).first()
        emails = []
        for i in range(clients):
            # One set of users per mode: a researcher left by a reads-only run cannot record follow-ups.
            role, fed = (Role.STAFF, federation) if writes else (Role.RESEARCHER, None)
            email = f"load-{role.value}{i}@example.org"
            if users.find_by_email(email) is None:
                users.create_user(None, email, PASSWORD, role, fed)
            emails.append(email)
        db.session.commit()
        ids = list(db.session.scalars(select(Case.id).where(Case.federation_id == federation.id,
                                                            Case.deleted_at.is_(None),
                                                            Case.exit_date.is_(None)).limit(5000)))
    return emails, ids


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    def post(self, path: str, data: dict[str, str]) -> int:
        body = urllib.parse.urlencode(data).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def log_in(self, email: str) -> None:
        _, page = self.get("/login")
        token = TOKEN.search(page).group(1)
        self.post("/login", {"email": email, "password": PASSWORD, "csrf_token": token})


def run_client(base: str, email: str, ids: list[int], until: float, writes: bool,
               results: dict[str, list[float]], errors: dict[str, int], lock: threading.Lock) -> None:
    client = Client(base)
    client.log_in(email)
    rng = random.Random(email)
    while time.monotonic() < until:
        kind = rng.choice(["case list", "case page", "survival API"] + (["follow-up (write)"] if writes else []))
        started = time.perf_counter()
        if kind == "case list":
            status, _ = client.get(f"/cases/?page={rng.randint(1, 50)}&sort=name")
        elif kind == "case page":
            status, _ = client.get(f"/cases/{rng.choice(ids)}")
        elif kind == "survival API":
            status, _ = client.get("/api/v1/survival?group_by=transfer_type")
        else:
            case_id = rng.choice(ids)
            _, page = client.get(f"/cases/{case_id}")
            token = FOLLOW_UP_TOKEN.search(page) or TOKEN.search(page)
            version = re.search(r'name="followup-version" type="hidden" value="(\d+)"', page)
            status = client.post(f"/cases/{case_id}/follow-up", {
                "followup-csrf_token": token.group(1) if token else "", "followup-outcome": "operating",
                "followup-checked_on": "2025-12-31", "followup-source": "load test",
                "followup-version": version.group(1) if version else "0"})
            status = 200 if status in (200, 302, 409) else status  # 409: a concurrent edit was refused
        elapsed = time.perf_counter() - started
        with lock:
            results[kind].append(elapsed)
            if status >= 400:
                errors[kind] += 1


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--writes", action="store_true", help="mix follow-ups (writes) into the load")
    args = parser.parse_args(argv)
    emails, ids = prepare(args.database_url, args.clients, args.writes)
    env = dict(os.environ, DATABASE_URL=args.database_url, SECRET_KEY="load-test", TRACKER_CONFIG="development",
               RATELIMIT_STORAGE_URI="memory://")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen([gunicorn, "--workers", str(args.workers), "--bind", f"127.0.0.1:{args.port}",
                               "--log-level", "warning", "tracker:create_app()"], env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                if urllib.request.urlopen(base + "/healthz", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        results: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, int] = defaultdict(int)
        lock = threading.Lock()
        until = time.monotonic() + args.seconds
        threads = [threading.Thread(target=run_client, args=(base, e, ids, until, args.writes, results, errors, lock))
                   for e in emails]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(30)
    total = sum(len(v) for v in results.values())
    print(f"{args.clients} clients, {args.seconds} s, gunicorn {args.workers} workers, "
          f"{args.database_url.split('://')[0]}{' with writes' if args.writes else ''}: {total} requests, "
          f"{sum(errors.values())} errors")
    print(f"{'endpoint':<20}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for kind, values in sorted(results.items()):
        print(f"{kind:<20}{len(values):>9}{errors[kind]:>8}{percentile(values, 50) * 1000:>9.0f}"
              f"{percentile(values, 95) * 1000:>9.0f}{percentile(values, 99) * 1000:>9.0f}")


if __name__ == "__main__":
    main()
