"""The migrations build exactly the schema the models describe, in a single line of history."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from tracker import PROJECT_ROOT
from tracker.extensions import db
from tracker.models import Base


def _script() -> ScriptDirectory:
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return ScriptDirectory.from_config(cfg)


def _drop_everything() -> None:
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_single_head():
    heads = _script().get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}; merge them"


def test_migrations_match_models_and_downgrade_cleanly(app):
    _drop_everything()
    try:
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "render_as_batch": True})
            diffs = compare_metadata(context, Base.metadata)
        assert diffs == [], f"models and migrations disagree: {diffs}"
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    finally:
        _drop_everything()
        db.create_all()


def test_sqlite_enforces_foreign_keys(app):
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_baselines_imported_with_eurostat_codes_take_the_iso_codes(app):
    """Rows loaded before the ISO codes say UK and EL: the data migration renames them, and drops a
    Eurostat-coded row whose ISO twin (same series, region, sector, cohort, horizon) is already there."""
    _drop_everything()
    columns = "series, country, region, sector, cohort_year, horizon_years, survival_pct, publisher, source_title"
    rows = [("eurostat-bd", "UK", "", "B-S_X_K642", 2015, 5, 41.0),   # renamed to GB
            ("eurostat-bd", "EL", "", "B-S_X_K642", 2015, 5, 38.0),   # twin of the GR row: dropped
            ("eurostat-bd", "GR", "", "B-S_X_K642", 2015, 5, 38.0),
            ("eurostat-bd", "EL", "", "B-S_X_K642", 2016, 5, 39.5)]   # renamed to GR
    try:
        upgrade(revision="d5f0a7c3e912")
        with db.engine.begin() as conn:
            for row in rows:
                conn.execute(text(f"INSERT INTO baselines ({columns}) VALUES "
                                  "(:s, :c, :r, :sec, :y, :h, :p, 'Eurostat', 'Business demography')"),
                             dict(zip(("s", "c", "r", "sec", "y", "h", "p"), row, strict=True)))
        upgrade(revision="e7b2c9d4a1f3")
        with db.engine.connect() as conn:
            found = conn.execute(text("SELECT country, cohort_year, survival_pct FROM baselines "
                                      "ORDER BY country, cohort_year")).all()
        assert [tuple(r) for r in found] == [("GB", 2015, 41.0), ("GR", 2015, 38.0), ("GR", 2016, 39.5)]
    finally:
        _drop_everything()
        db.create_all()
