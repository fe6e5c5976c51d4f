"""Fault test: the app under gunicorn on loopback, under load with writes, while its workers are
killed and its database goes away, then comes back.

    python -m bench.generate --cases 100000 --database-url sqlite:////tmp/load.sqlite3
    python -m bench.faults --database-url sqlite:////tmp/load.sqlite3 [--clients 20] [--seconds 60]
        [--production [--ratelimit-storage redis://127.0.0.1:6379/0]]

N staff clients loop over the case list, a case page, the survival API and recording a follow-up
(bench.load's mix with writes) for the whole run. On a timeline of the run's length:

- first quarter: nothing happens (the reference);
- second quarter: three workers are killed with SIGKILL, one at a time (gunicorn starts new ones);
- third quarter: the database goes away for a fifth of the run. PostgreSQL: the database stops
  taking connections (`ALLOW_CONNECTIONS false`) and its sessions are terminated, as when the
  server restarts or fails over. SQLite: another process holds an exclusive lock for that time, as
  a long backup or a stuck writer would (nobody may read or write the file meanwhile);
- the rest: the database is back, the app must answer again without a restart.

The report gives, per phase, the answers by kind. A fault is any 5xx other than the friendly 503
(an unanswered request is counted apart: a request in flight on a killed worker has no answer).
Then the database is checked: every write the app answered as recorded is in it (none lost), and
no write is half-made (every follow-up of the run has its audit entry, and every audit entry of
the run its follow-up). Traffic goes to 127.0.0.1 only; the run stops by itself.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from bench.load import (
    FOLLOW_UP_TOKEN,
    TOKEN,
    Client,
    add_server_options,
    percentile,
    prepare,
    server_env,
    start_server,
    write_failure,
)

PHASES = ("reference", "workers killed", "database gone", "database back")


def answer_kind(status: int, failure: str | None) -> str:
    """How one answer counts: answered, the friendly 503, no answer at all, or a fault."""
    if status == 599:
        return "no answer (connection cut or 30 s)"
    if status == 503:
        return "503 page"
    if status >= 500:
        return f"FAULT {status}"
    if failure is not None and status != 200:
        return f"refused {status}"
    return "answered" if failure is None else "form again"


class Timeline:
    """The phase the run is in, by the clock, and every answer of the run with its phase."""

    def __init__(self, seconds: float) -> None:
        self.started = time.monotonic()
        self.seconds = seconds
        self.lock = threading.Lock()
        self.answers: dict[str, Counter[str]] = defaultdict(Counter)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.causes: Counter[str] = Counter()
        self.recorded = 0  # writes the app answered as recorded
        self.back_at: float | None = None  # when the database came back
        self.first_success_after: float | None = None

    def now(self) -> float:
        return time.monotonic() - self.started

    def phase(self, at: float) -> str:
        quarter = self.seconds / 4
        if at < quarter:
            return PHASES[0]
        if at < 2 * quarter:
            return PHASES[1]
        if self.back_at is None or at < self.back_at:
            return PHASES[2]
        return PHASES[3]

    def note(self, at: float, elapsed: float, kind: str, answer: str, cause: str | None) -> None:
        phase = self.phase(at)
        with self.lock:
            self.answers[phase][answer] += 1
            self.latency[phase].append(elapsed)
            if cause and answer != "answered":
                self.causes[f"{phase}: {kind}: {cause}"] += 1
            if kind == "follow-up (write)" and answer == "answered":
                self.recorded += 1
            if phase == PHASES[3] and answer == "answered" and self.first_success_after is None:
                self.first_success_after = at - (self.back_at or at)


def run_client(base: str, email: str, ids: list[int], timeline: Timeline) -> None:
    client = Client(base)
    rng = random.Random(email)
    logged_in = False
    while timeline.now() < timeline.seconds:
        if not logged_in:  # a session lost with its worker's database connection is logged in again
            logged_in = client.log_in(email) is None
            if not logged_in:
                time.sleep(0.5)
                continue
        kind = rng.choice(["case list", "case page", "survival API", "follow-up (write)"])
        at, started = timeline.now(), time.perf_counter()
        if kind == "follow-up (write)":
            case_id = rng.choice(ids)
            status, page = client.get(f"/cases/{case_id}")
            if status == 200:
                token = FOLLOW_UP_TOKEN.search(page) or TOKEN.search(page)
                version = re.search(r'name="followup-version" type="hidden" value="(\d+)"', page)
                status, location, page = client.post(f"/cases/{case_id}/follow-up", {
                    "followup-csrf_token": token.group(1) if token else "", "followup-outcome": "operating",
                    "followup-checked_on": "2025-12-31", "followup-source": "fault test",
                    "followup-version": version.group(1) if version else "0"}, follow=False)
                failure = write_failure(case_id, status, location, page)
            else:
                failure = page[:80] if status == 599 else str(status)
        else:
            path = {"case list": f"/cases/?page={rng.randint(1, 50)}&sort=name",
                    "case page": f"/cases/{rng.choice(ids)}",
                    "survival API": "/api/v1/survival?group_by=transfer_type"}[kind]
            status, page = client.get(path)
            failure = None if status < 400 else (page[:80] if status == 599 else str(status))
            if status == 401:
                logged_in = False
        timeline.note(at, time.perf_counter() - started, kind, answer_kind(status, failure), failure)


def workers_of(master: int) -> list[int]:
    """The live processes whose parent is gunicorn's master: its workers."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master and fields[0] != "Z":
            found.append(int(entry.parent.name))
    return found


class Outage:
    """The database going away and coming back (see the module docstring)."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self._holder: sqlite3.Connection | None = None

    def begin(self) -> str:
        if self.url.startswith("sqlite"):
            path = self.url.split("///", 1)[1]
            self._holder = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._holder.execute("BEGIN EXCLUSIVE")
            return "exclusive lock held by another process"
        name = self._admin("ALLOW_CONNECTIONS false")
        return f"database {name} takes no connections, its sessions terminated"

    def end(self) -> None:
        if self._holder is not None:
            self._holder.execute("ROLLBACK")
            self._holder.close()
            self._holder = None
        else:
            self._admin("ALLOW_CONNECTIONS true")

    def _admin(self, setting: str) -> str:
        import psycopg

        from config import normalise_database_url

        url = (normalise_database_url(self.url) or self.url).replace("postgresql+psycopg://", "postgresql://")
        name = url.rsplit("/", 1)[1].split("?")[0]
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" {setting}')
            if setting.endswith("false"):
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        return name


def integrity(database_url: str, first_check_id: int, first_audit_id: int) -> tuple[int, int, int]:
    """Follow-ups of the run, those without their audit entry, audit entries without their
    follow-up (a half-made write shows as one of the two)."""
    from sqlalchemy import create_engine, text

    from config import normalise_database_url

    engine = create_engine(normalise_database_url(database_url) or database_url)
    try:
        with engine.connect() as connection:
            checks = {row[0] for row in connection.execute(text(
                "SELECT id FROM status_checks WHERE source = 'fault test' AND id > :first"), {"first": first_check_id})}
            audited = set()
            for (context,) in connection.execute(text(
                    "SELECT context FROM audit_entries WHERE action = 'follow_up' AND id > :first"),
                    {"first": first_audit_id}):
                match = re.match(r"status check (\d+):", context or "")
                if match:
                    audited.add(int(match.group(1)))
            return len(checks), len(checks - audited), len(audited - checks)
    finally:
        engine.dispose()


def high_water(database_url: str) -> tuple[int, int]:
    from sqlalchemy import create_engine, text

    from config import normalise_database_url

    engine = create_engine(normalise_database_url(database_url) or database_url)
    try:
        with engine.connect() as connection:
            return (connection.execute(text("SELECT coalesce(max(id), 0) FROM status_checks")).scalar_one(),
                    connection.execute(text("SELECT coalesce(max(id), 0) FROM audit_entries")).scalar_one())
    finally:
        engine.dispose()


def provoke(master: int, timeline: Timeline, database_url: str) -> list[str]:
    """Kill three workers in the second quarter, then take the database away for a fifth of the
    run; what was done and when."""
    events: list[str] = []
    quarter, rng = timeline.seconds / 4, random.Random(7)
    for k in range(3):
        time.sleep(max(0.0, quarter * (1 + (k + 0.5) / 3) - timeline.now()))
        victims = workers_of(master)
        if victims:
            victim = rng.choice(victims)
            os.kill(victim, signal.SIGKILL)
            events.append(f"{timeline.now():5.1f} s  worker {victim} killed (SIGKILL)")
    time.sleep(max(0.0, 2 * quarter - timeline.now()))
    outage = Outage(database_url)
    events.append(f"{timeline.now():5.1f} s  database gone: {outage.begin()}")
    time.sleep(timeline.seconds / 5)
    outage.end()
    timeline.back_at = timeline.now()
    events.append(f"{timeline.back_at:5.1f} s  database back")
    return events


def report(timeline: Timeline, events: list[str], integrity_figures: tuple[int, int, int]) -> None:
    for event in events:
        print("event", event)
    kinds = sorted({kind for answers in timeline.answers.values() for kind in answers})
    print(f"{'phase':<16}{'requests':>9}" + "".join(f"{kind[:22]:>24}" for kind in kinds)
          + f"{'p50 ms':>8}{'p99 ms':>8}")
    for phase in PHASES:
        answers, latency = timeline.answers[phase], timeline.latency[phase]
        if latency:
            print(f"{phase:<16}{sum(answers.values()):>9}" + "".join(f"{answers[kind]:>24}" for kind in kinds)
                  + f"{percentile(latency, 50) * 1000:>8.0f}{percentile(latency, 99) * 1000:>8.0f}")
    faults = sum(count for answers in timeline.answers.values() for kind, count in answers.items()
                 if kind.startswith("FAULT"))
    back = timeline.first_success_after
    print(f"faults (5xx other than the 503 page): {faults}; first answer after the database came back: "
          + (f"{back:.1f} s" if back is not None else "none"))
    checks, unaudited, orphans = integrity_figures
    print(f"writes: {timeline.recorded} answered as recorded, {checks} in the database "
          f"({max(timeline.recorded - checks, 0)} lost); half-made: {unaudited} follow-ups without their audit "
          f"entry, {orphans} audit entries without their follow-up")
    for cause, count in timeline.causes.most_common(12):
        print(f"cause  {count} × {cause}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--port", type=int, default=8767)
    add_server_options(parser)
    args = parser.parse_args(argv)
    emails, ids = prepare(args.database_url, args.clients, writes=True)
    first_check, first_audit = high_water(args.database_url)
    env = server_env(args.database_url, args.production, args.ratelimit_storage, "faults")
    server, base = start_server(env, args.workers, args.port, "error")
    try:
        timeline = Timeline(args.seconds)
        threads = [threading.Thread(target=run_client, args=(base, e, ids, timeline)) for e in emails]
        for t in threads:
            t.start()
        events = provoke(server.pid, timeline, args.database_url)
        for t in threads:
            t.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    print(f"{args.clients} clients, {args.seconds} s, gunicorn {args.workers} workers, "
          f"{args.database_url.split('://')[0]}{', production' if args.production else ''}; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end")
    report(timeline, events, integrity(args.database_url, first_check, first_audit))


if __name__ == "__main__":
    main()
