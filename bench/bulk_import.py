"""Bulk import from the command line against a plain load of the same rows.

    python -m bench.bulk_import --rows 1000000 [--database-url postgresql://postgres@127.0.0.1:5432/x]
        # PostgreSQL: x must exist and be empty; the baseline goes into x_baseline, made anew
    python -m bench.bulk_import --rows 1000 --into sqlite:////tmp/m.sqlite3   # into an existing registry
    python -m bench.bulk_import --csv /tmp/cases-1m.csv ...   # reuse (or write once) the CSV

Writes N generated rows (the demo generator, seed 11, federation FR) to a CSV, then times, each
on a fresh database made by the migrations (or `--into`, a registry made by bench.generate):

- baseline: `csv.reader`, then the same rows into the cases table (the columns of the file plus
  what a case needs: federation, section, timestamps, version), one commit; nothing checked, no
  audit trail. On SQLite `sqlite3.executemany`; on PostgreSQL (`--database-url postgresql://…`)
  psycopg's `COPY cases (…) FROM STDIN` fed row by row, into a database of its own beside the
  import's (`<name>_baseline`, dropped and made again by the migrations);
- `tracker cases import FILE --federation F --confirm-distinct`, end to end in a new process
  (start-up included), with its peak memory (`ru_maxrss` of the child).

Both run in a child process under `/usr/bin/time` (when present), one after the other, so they
share the machine's conditions; each line gives wall and CPU seconds and the peak resident size.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

FEDERATION = "FR-BULK"


def write_csv(path: Path, n: int, seed: int = 11) -> None:
    from tracker.services.ops.demo import DEMO_FEDERATIONS, generate_cases

    rows = generate_cases(n, DEMO_FEDERATIONS[0], seed=seed, today=date(2025, 12, 31))
    first = next(rows)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(first))
        for i, row in enumerate((first, *rows)):
            row["ref"] = f"BULK-{seed}-{i:07d}"
            writer.writerow(["" if v is None else v for v in row.values()])


def prepare(url: str) -> None:
    """Schema by the migrations, and the federation, in a separate process (as an operator would)."""
    env = dict(os.environ, DATABASE_URL=url)
    code = ("from flask_migrate import upgrade\nfrom tracker import create_app\nfrom tracker.extensions import db\n"
            "from tracker.services.accounts import federations as f\napp = create_app()\nwith app.app_context():\n"
            f"    upgrade()\n    f.get_by_code('{FEDERATION}') or f.create_federation(None, code='{FEDERATION}', "
            "name='Bulk', country='FR')\n    db.session.commit()\n")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)


def baseline(path: Path, database: str) -> tuple[float, float]:
    """(wall, CPU seconds) of a plain load: csv + sqlite3.executemany into the cases table (or
    COPY, for a postgresql:// URL), one transaction."""
    from tracker.services.reference import nace_codes

    sections = {c.code: c.section for c in nace_codes().values()}
    if database.startswith("postgresql://"):
        return _baseline_copy(path, database, sections)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    started, cpu = time.perf_counter(), time.process_time()
    connection = sqlite3.connect(database)
    fed_id = connection.execute("SELECT id FROM federations WHERE code = ?", (FEDERATION,)).fetchone()[0]
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        columns = [*header, "federation_id", "nace_section", "created_at", "updated_at", "version", "changed_in"]
        nace = header.index("nace")
        statement = f"INSERT INTO cases ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        rows = ([*(cell or None for cell in cells), fed_id, sections.get(cells[nace]), now, now, 1, 1]
                for cells in reader)
        connection.executemany(statement, rows)
    connection.commit()
    connection.close()
    return time.perf_counter() - started, time.process_time() - cpu


def _baseline_copy(path: Path, url: str, sections: dict[str, str]) -> tuple[float, float]:
    """The PostgreSQL yardstick: csv.reader + COPY FROM STDIN (text format, psycopg's write_row)."""
    import psycopg

    now = datetime.now(UTC)
    started, cpu = time.perf_counter(), time.process_time()
    with psycopg.connect(url) as connection:
        fed_id = connection.execute("SELECT id FROM federations WHERE code = %s", (FEDERATION,)).fetchone()[0]
        with path.open(newline="", encoding="utf-8") as fh, connection.cursor() as cursor:
            reader = csv.reader(fh)
            header = next(reader)
            columns = [*header, "federation_id", "nace_section", "created_at", "updated_at", "version", "changed_in"]
            nace = header.index("nace")
            constants = [fed_id, None, now, now, 1, 1]
            with cursor.copy(f"COPY cases ({', '.join(columns)}) FROM STDIN") as copy:
                for cells in reader:
                    constants[1] = sections.get(cells[nace])
                    copy.write_row([*(cell or None for cell in cells), *constants])
    # leaving the connection's block commits
    return time.perf_counter() - started, time.process_time() - cpu


def fresh_postgres(url: str) -> str:
    """A new database `<name>_baseline` on the server of `url` (dropped first if it exists): its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    name = f"{target.database}_baseline"
    admin = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return target.set(drivername="postgresql", database=name).render_as_string(hide_password=False)


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak MB, last line of output) of a child process, by
    /usr/bin/time when it exists (else this process's clock and the child's rusage)."""
    clock = ["/usr/bin/time", "-f", "TIME %e %U %S %M"] if Path("/usr/bin/time").exists() else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*clock, *command], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stderr[-3000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    peak = after.ru_maxrss / 1024
    for line in done.stderr.splitlines():
        if line.startswith("TIME "):
            wall, user, system, kib = line.split()[1:]
            elapsed, cpu, peak = float(wall), float(user) + float(system), int(kib) / 1024
    return elapsed, cpu, peak, (done.stdout.strip().splitlines() or [""])[-1]


def tracker_import(path: Path, url: str) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak MB, last line of output) of `tracker cases import` in a child process."""
    tracker = str(Path(sys.executable).with_name("tracker"))
    # This checkout's code, not whichever the `tracker` script's installation points to.
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, DATABASE_URL=url, TRACKER_CONFIG=os.environ.get("TRACKER_CONFIG", "development"),
               PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    return timed([tracker, "cases", "import", str(path), "--federation", FEDERATION, "--confirm-distinct"], env)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="import into this database (default: a fresh SQLite file)")
    parser.add_argument("--into", help="an existing registry (bench.generate) to import into; no baseline")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--csv", help="the generated CSV: reused when it exists, else written there")
    parser.add_argument("--baseline-only", nargs=2, metavar=("CSV", "DATABASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline_only:  # the child process of the baseline
        wall, cpu = baseline(Path(args.baseline_only[0]), args.baseline_only[1])
        print(f"{wall:.1f} s, CPU {cpu:.1f} s")
        return
    folder = Path(tempfile.mkdtemp(prefix="bulk-bench-"))
    path = Path(args.csv) if args.csv else folder / "cases.csv"
    if not path.exists():
        write_csv(path, args.rows, args.seed)
    size = path.stat().st_size / 2**20
    print(f"{args.rows:,} rows, {size:.0f} MB CSV ({path}); load average {os.getloadavg()[0]:.1f}")
    if not args.no_baseline and not args.into:
        postgres = (args.database_url or "").startswith(("postgresql://", "postgres://"))
        if postgres:
            target = fresh_postgres(args.database_url)
            prepare(target)
            what = "COPY"
        else:
            target = str(folder / "baseline.sqlite3")
            prepare(f"sqlite:///{target}")
            what = "sqlite3.executemany"
        wall, cpu, peak, _line = timed([sys.executable, "-m", "bench.bulk_import", "--baseline-only", str(path),
                                        target])
        print(f"  baseline csv + {what}: {wall:.1f} s (CPU {cpu:.1f} s), peak {peak:.0f} MB; "
              f"load average {os.getloadavg()[0]:.1f}")
    url = args.into or args.database_url or f"sqlite:///{folder / 'import.sqlite3'}"
    prepare(url)
    elapsed, cpu, peak, line = tracker_import(path, url)
    print(f"  tracker cases import ({url.split('://')[0]}): {elapsed:.1f} s (CPU {cpu:.1f} s), peak {peak:.0f} MB; "
          f"load average {os.getloadavg()[0]:.1f}; {line}")


if __name__ == "__main__":
    main()
