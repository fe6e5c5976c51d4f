"""Fill a database with N realistic cases for benchmarks (seeded, reproducible).

    python -m bench.generate --cases 1000000 [--database-url sqlite:////tmp/bench.sqlite3] [--seed 7]

Uses the demo generator of tracker.services.ops.demo (the same shapes as the quick start) spread
over the demo federations, and bulk Core inserts (no per-row audit: these are benchmark
volumes, not user edits). Creates the schema through the migrations when it is missing.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date

import click
from sqlalchemy import func, insert, select

BATCH = 20_000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2025, 12, 31))
    args = parser.parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url

    from flask_migrate import upgrade

    from tracker import create_app
    from tracker.extensions import db
    from tracker.models import Case
    from tracker.models.base import utcnow
    from tracker.services.accounts import federations
    from tracker.services.analytics import data_version
    from tracker.services.ops.demo import DEMO_FEDERATIONS, generate_cases
    from tracker.services.reference import nace_codes

    app = create_app()
    with app.app_context():
        upgrade()
        feds = {}
        for demo in DEMO_FEDERATIONS:
            feds[demo.code] = federations.get_by_code(demo.code) or federations.create_federation(
                None, code=demo.code, name=demo.name, country=demo.country)
        db.session.commit()
        existing = db.session.scalar(select(func.count()).select_from(Case))
        sections = {c.code: c.section for c in nace_codes().values()}
        per_fed = -(-args.cases // len(DEMO_FEDERATIONS))
        started, now, batch, done = time.perf_counter(), utcnow(), [], 0
        changed_in = data_version.transaction_version()
        with click.progressbar(length=args.cases, label=f"Inserting {args.cases:,} cases", file=None) as bar:
            for demo in DEMO_FEDERATIONS:
                fed_id = feds[demo.code].id
                for i, row in enumerate(generate_cases(per_fed, demo, seed=args.seed, today=args.today)):
                    if done >= args.cases:
                        break
                    row["ref"] = f"B{existing + done:07d}-{i}"
                    row.update(federation_id=fed_id, nace_section=sections[row["nace"]], created_at=now,
                               updated_at=now, version=1, changed_in=changed_in)
                    batch.append(row)
                    done += 1
                    if len(batch) == BATCH:
                        db.session.execute(insert(Case), batch)
                        bar.update(len(batch))
                        batch = []
            if batch:
                db.session.execute(insert(Case), batch)
                bar.update(len(batch))
        db.session.commit()
        with db.engine.begin() as conn:  # fresh planner statistics after a bulk load, as an operator would
            conn.exec_driver_sql("ANALYZE")
        print(f"inserted {done:,} cases in {time.perf_counter() - started:.1f} s "
              f"({db.engine.url.render_as_string(hide_password=True)})")


if __name__ == "__main__":
    main()
