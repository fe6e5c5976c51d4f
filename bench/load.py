"""Load test: the app under gunicorn on loopback, N concurrent clients for a fixed time on the case
list, a case page and the survival API; optionally with writes (follow-ups) mixed in.

    python -m bench.generate --cases 100000 --database-url sqlite:////tmp/load.sqlite3
    python -m bench.load --database-url sqlite:////tmp/load.sqlite3 [--clients 20] [--seconds 60] [--writes]
        [--production [--ratelimit-storage redis://127.0.0.1:6379/0]]

With --production gunicorn runs as deployed: TRACKER_CONFIG=production, a random SECRET_KEY,
login throttling in Redis (a key prefix of the run's own); the clients send the Secure session
cookie back over plain HTTP to 127.0.0.1, standing where the TLS-terminating proxy would.

Every client logs in as its own researcher (or, with --writes, staff of the first federation) and
loops over the mix; the report gives the request count, errors and p50/p95/p99 per endpoint, and
what each error was. A write counts only when it redirects back to its case page (what the route
answers after recording the follow-up): a redirect to the login page, the form shown again with
its errors, or a refused edit (409) is an error with its cause. A read that lands on the login
page is an error too.
Traffic goes to 127.0.0.1 only; the run stops by itself.
"""

from __future__ import annotations

import argparse
import html
import http.cookiejar
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

PASSWORD = "load-test-password"
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
FOLLOW_UP_TOKEN = re.compile(r'name="followup-csrf_token" type="hidden" value="([^"]+)"')
# The messages a page shows for a refused form: beside a field, or in the form's alert.
FORM_ERROR = re.compile(r'class="invalid-feedback[^"]*"[^>]*>\s*([^<]+?)\s*<|<li>([^<]+)</li>')


class _LoopbackCookies(http.cookiejar.DefaultCookiePolicy):
    """Secure cookies sent back over plain HTTP to loopback: in production the session cookie is
    Secure, and the bench stands where the TLS-terminating proxy would (gunicorn on 127.0.0.1)."""

    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return urllib.parse.urlsplit(request.get_full_url()).hostname == "127.0.0.1" or super().return_ok_secure(
            cookie, request)


def server_env(database_url: str, production: bool, ratelimit_storage: str, name: str) -> dict[str, str]:
    """The environment gunicorn runs in: development (in-memory throttling), or production as
    deployed (a random SECRET_KEY, Redis shared by the workers, keys under a prefix of this run's
    own so that two runs do not share their counters)."""
    if not production:
        return dict(os.environ, DATABASE_URL=database_url, SECRET_KEY=f"{name}-test", TRACKER_CONFIG="development",
                    RATELIMIT_STORAGE_URI="memory://")
    return dict(os.environ, DATABASE_URL=database_url, SECRET_KEY=secrets.token_urlsafe(32),
                TRACKER_CONFIG="production", RATELIMIT_STORAGE_URI=ratelimit_storage,
                RATELIMIT_KEY_PREFIX=f"bench-{name}-{os.getpid()}-{int(time.time())}")


def add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--production", action="store_true",
                        help="serve with TRACKER_CONFIG=production (secure cookies, HSTS, shared throttling)")
    parser.add_argument("--ratelimit-storage", default="redis://127.0.0.1:6379/0",
                        help="RATELIMIT_STORAGE_URI with --production")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Answer a redirect as it is: a write is judged by where it sends the client."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


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
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar(_LoopbackCookies()))
        self.opener = urllib.request.build_opener(cookies)
        self.no_redirect = urllib.request.build_opener(cookies, _NoRedirect())

    def get(self, path: str) -> tuple[int, str]:
        """Status and page, redirects followed; a page that ends on the login form is a 401."""
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                page = response.read().decode("utf-8", "replace")
                if urllib.parse.urlsplit(response.geturl()).path == "/login" and not path.startswith("/login"):
                    return 401, page
                return response.status, page
        except urllib.error.HTTPError as exc:
            return exc.code, ""
        except OSError as exc:  # no answer in time, or the connection cut (a worker killed)
            return 599, no_answer(exc)

    def post(self, path: str, data: dict[str, str], follow: bool = True) -> tuple[int, str, str]:
        """Status, Location and page of a form sent (with `follow=False` a redirect is the answer)."""
        body = urllib.parse.urlencode(data).encode()
        try:
            with (self.opener if follow else self.no_redirect).open(self.base + path, data=body,
                                                                    timeout=30) as response:
                return (response.status, response.headers.get("Location", ""),
                        response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            location = exc.headers.get("Location", "") if exc.headers else ""
            return exc.code, location, exc.read().decode("utf-8", "replace")
        except OSError as exc:
            return 599, "", no_answer(exc)

    def log_in(self, email: str) -> str | None:
        """Log in; the cause when it failed (the login form again, a refusal), else None."""
        _, page = self.get("/login")
        token = TOKEN.search(page)
        if token is None:
            return "no login form"
        status, location, page = self.post("/login", {"email": email, "password": PASSWORD,
                                                      "csrf_token": token.group(1)}, follow=False)
        if status == 302 and urllib.parse.urlsplit(location).path != "/login":
            return None
        return f"{status}: {form_errors(page) or 'not logged in'}"


def no_answer(exc: OSError) -> str:
    """What stood for an answer that never came (status 599 in this bench)."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return "no answer within 30 s"
    return f"connection failed: {type(reason).__name__}"


def form_errors(page: str) -> str:
    """The error messages a page shows for a refused form, joined."""
    return "; ".join(html.unescape(" ".join(m for m in match if m)).strip() for match in FORM_ERROR.findall(page))


def write_failure(case_id: int, status: int, location: str, page: str) -> str | None:
    """Why recording a follow-up did not succeed, or None when it did: the route answers a
    recorded follow-up with a redirect to the case's page, and nothing else."""
    target = urllib.parse.urlsplit(location).path
    if status == 302 and target == f"/cases/{case_id}":
        return None
    if status in (301, 302, 303, 307, 308):
        return "redirected to the login page" if target == "/login" else f"redirected to {target or '?'}"
    if status == 200:
        return f"form shown again: {form_errors(page) or 'no message'}"
    if status == 409:
        return "409 refused: " + ("edited meanwhile" if 'role="alert"' in page else "conflict")
    if status == 599:
        return page
    if status == 503:
        reason = re.search(r"<p[^>]*>([^<]*(?:busy|unavailable|locked)[^<]*)</p>", page, re.IGNORECASE)
        return "503 " + (html.unescape(reason.group(1)).strip() if reason else "unavailable")
    return str(status)


def read_failure(status: int, body: str) -> str | None:
    if status < 400:
        return None
    if status == 401:
        return "sent to the login page"
    if status == 599:
        return body
    reason = re.search(r'"error":\s*"([^"]+)"', body)
    return f"{status} {reason.group(1)}" if reason else str(status)


def run_client(base: str, email: str, ids: list[int], until: float, writes: bool,
               results: dict[str, list[float]], errors: dict[str, Counter[str]], lock: threading.Lock) -> None:
    client = Client(base)
    failed = client.log_in(email)
    if failed is not None:
        with lock:
            errors["log in"][failed] += 1
        return
    rng = random.Random(email)
    while time.monotonic() < until:
        kind = rng.choice(["case list", "case page", "survival API"] + (["follow-up (write)"] if writes else []))
        started = time.perf_counter()
        if kind == "case list":
            failure = read_failure(*client.get(f"/cases/?page={rng.randint(1, 50)}&sort=name"))
        elif kind == "case page":
            failure = read_failure(*client.get(f"/cases/{rng.choice(ids)}"))
        elif kind == "survival API":
            failure = read_failure(*client.get("/api/v1/survival?group_by=transfer_type"))
        else:
            case_id = rng.choice(ids)
            _, page = client.get(f"/cases/{case_id}")
            token = FOLLOW_UP_TOKEN.search(page) or TOKEN.search(page)
            version = re.search(r'name="followup-version" type="hidden" value="(\d+)"', page)
            failure = write_failure(case_id, *client.post(f"/cases/{case_id}/follow-up", {
                "followup-csrf_token": token.group(1) if token else "", "followup-outcome": "operating",
                "followup-checked_on": "2025-12-31", "followup-source": "load test",
                "followup-version": version.group(1) if version else "0"}, follow=False))
        elapsed = time.perf_counter() - started
        with lock:
            results[kind].append(elapsed)
            if failure is not None:
                errors[kind][failure] += 1


def recorded_follow_ups(database_url: str) -> int:
    """Follow-ups the load test recorded so far (its source), read from the database itself."""
    from sqlalchemy import create_engine, text

    from config import normalise_database_url

    engine = create_engine(normalise_database_url(database_url) or database_url)
    try:
        with engine.connect() as connection:
            query = text("SELECT count(*) FROM status_checks WHERE source = 'load test'")
            return connection.execute(query).scalar_one()
    finally:
        engine.dispose()


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and every live descendant (gunicorn's workers and
    their helper processes), from /proc; 0 where there is no /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        child = int(entry.parent.name)
        parents[child] = int(fields[1])
        times[child] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == current)
    return total


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def start_server(env: dict[str, str], workers: int, port: int, log_level: str,
                 options: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """gunicorn serving the app on 127.0.0.1:`port` (with gunicorn's further `options`), once
    /healthz answers (or after 20 s)."""
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen([gunicorn, "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                               "--log-level", log_level, *options, "tracker:create_app()"], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if urllib.request.urlopen(base + "/healthz", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.2)
    return server, base


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--writes", action="store_true", help="mix follow-ups (writes) into the load")
    add_server_options(parser)
    args = parser.parse_args(argv)
    emails, ids = prepare(args.database_url, args.clients, args.writes)
    env = server_env(args.database_url, args.production, args.ratelimit_storage, "load")
    server, base = start_server(env, args.workers, args.port, "warning")
    try:
        results: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, Counter[str]] = defaultdict(Counter)
        lock = threading.Lock()
        recorded_before = recorded_follow_ups(args.database_url) if args.writes else 0
        cpu_before, started = tree_cpu(server.pid), time.monotonic()
        until = time.monotonic() + args.seconds
        threads = [threading.Thread(target=run_client, args=(base, e, ids, until, args.writes, results, errors, lock))
                   for e in emails]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        server_cpu, elapsed = tree_cpu(server.pid) - cpu_before, time.monotonic() - started
    finally:
        server.terminate()
        server.wait(30)
    total = sum(len(v) for v in results.values())
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end; server CPU "
          f"{server_cpu:.1f} s in {elapsed:.0f} s ({server_cpu / max(total, 1) * 1000:.0f} ms a request)")
    if args.writes:
        answered = len(results["follow-up (write)"]) - sum(errors["follow-up (write)"].values())
        recorded = recorded_follow_ups(args.database_url) - recorded_before
        print(f"writes: {answered} answered as recorded, {recorded} follow-ups in the database "
              f"({answered - recorded} lost)")
    print(f"{args.clients} clients, {args.seconds} s, gunicorn {args.workers} workers, "
          f"{args.database_url.split('://')[0]}{' with writes' if args.writes else ''}"
          f"{', production' if args.production else ''}: {total} requests, "
          f"{sum(sum(c.values()) for c in errors.values())} errors")
    print(f"{'endpoint':<20}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for kind, values in sorted(results.items()):
        print(f"{kind:<20}{len(values):>9}{sum(errors[kind].values()):>8}{percentile(values, 50) * 1000:>9.0f}"
              f"{percentile(values, 95) * 1000:>9.0f}{percentile(values, 99) * 1000:>9.0f}")
    for kind, causes in sorted(errors.items()):
        for cause, count in causes.most_common():
            print(f"error  {kind}: {count} × {cause}")


if __name__ == "__main__":
    main()
