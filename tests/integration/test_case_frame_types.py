"""The case frame on a registry large enough to be read in parallel id ranges: every column keeps
its declared type whatever the data, even when a column is NULL on every row of a range (open
cases with no region, imported in bulk) or of the whole registry."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from sqlalchemy import insert

from config import TestingConfig
from tests.conftest import using_postgres
from tracker import create_app
from tracker.extensions import db
from tracker.models import Case, Federation
from tracker.services.analytics import frame as case_frame
from tracker.services.analytics import queries as analytics

NULLABLE = ("region", "nace_section", "employees", "last_verified_on", "exit_date", "exit_reason")
SPAN = 60_000  # ids further apart than PARALLEL_FROM: the reader splits them into id ranges


@pytest.fixture
def file_app(tmp_path, monkeypatch):
    """An app on a database the fast reader reads: a SQLite file (or TEST_DATABASE_URL's PostgreSQL)."""
    if not using_postgres():
        monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'frame.sqlite3'}")
    app = create_app(TestingConfig)
    with app.app_context():
        db.drop_all()
        db.create_all()
        analytics.clear_cache()
        yield app
        analytics.clear_cache()
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _case(fed: Federation, case_id: int, **nulls: None) -> dict:
    values = {"id": case_id, "federation_id": fed.id, "ref": f"R{case_id}", "name": f"Coop {case_id}",
              "country": "FR", "region": "FRK", "nace": "25.62", "nace_section": "C", "employees": 12,
              "transfer_date": date(2012, 3, 1), "transfer_type": "rescue", "registered_on": date(2012, 3, 1),
              "last_verified_on": date(2020, 1, 1), "exit_date": date(2019, 5, 1), "exit_reason": "liquidation",
              "created_at": datetime(2024, 1, 1, tzinfo=UTC),
              "updated_at": datetime(2024, 1, 1, tzinfo=UTC), "version": 1, "changed_in": 1}
    values.update(nulls)
    return values


def _insert(rows: list[dict]) -> None:
    db.session.execute(insert(Case), rows)
    db.session.commit()


def _frames() -> tuple[case_frame.CaseFrame, case_frame.CaseFrame]:
    assert case_frame.adbc_available()
    fast = case_frame.load_case_frame()
    original = case_frame.adbc_available
    case_frame.adbc_available = lambda: False  # the portable reader, for reference
    try:
        slow = case_frame.load_case_frame()
    finally:
        case_frame.adbc_available = original
    return fast, slow


def _assert_same(fast: case_frame.CaseFrame, slow: case_frame.CaseFrame) -> None:
    order_fast, order_slow = np.argsort(fast.ids), np.argsort(slow.ids)
    assert list(fast.ids[order_fast]) == list(slow.ids[order_slow])
    for name in ("transfer_date", "registered_on", "last_verified_on", "exit_date"):
        column = getattr(fast.cases, name)
        assert column.dtype == np.dtype("datetime64[D]"), name
        assert np.array_equal(column[order_fast], getattr(slow.cases, name)[order_slow], equal_nan=True), name
    for name in ("transfer_type", "country", "region", "nace_section", "federation"):
        assert list(getattr(fast, name)[order_fast]) == list(getattr(slow, name)[order_slow]), name
    assert list(fast.cases.exit_reason[order_fast]) == list(slow.cases.exit_reason[order_slow])
    assert fast.employees.dtype == np.float64
    assert np.array_equal(fast.employees[order_fast], slow.employees[order_slow], equal_nan=True)


def test_a_range_whose_columns_are_all_null_keeps_their_types(file_app):
    """Closed cases without region, section or size at low ids; open cases at high ids: each id
    range has date, text and number columns that are NULL on all of its rows."""
    fed = Federation(code="BIG", name="Big", country="FR")
    db.session.add(fed)
    db.session.commit()
    low = [_case(fed, i, region=None, nace_section=None, nace=None, employees=None) for i in range(1, 41)]
    high = [_case(fed, SPAN + i, exit_date=None, exit_reason=None) for i in range(1, 41)]
    _insert(low + high)
    fast, slow = _frames()
    assert len(fast) == 80
    _assert_same(fast, slow)
    assert np.isnat(fast.cases.exit_date[fast.ids > SPAN]).all()
    # ... and the figures every survival page, download and report asks for are served.
    figures = analytics.survival_json(None, analytics.SurvivalQuery(as_of=date(2025, 12, 31),
                                                                    group_by="transfer_type", baselines=False))
    assert figures["groups"][0]["n"] == 80


def test_columns_null_on_every_row_of_every_range_keep_their_types(file_app):
    fed = Federation(code="OPEN", name="Open", country="FR")
    db.session.add(fed)
    db.session.commit()
    nulls = dict.fromkeys(NULLABLE) | {"nace": None}
    _insert([_case(fed, i, **nulls) for i in (1, 2, 3, SPAN // 3, SPAN // 2, SPAN, SPAN + 1)])
    fast, slow = _frames()
    assert len(fast) == 7
    _assert_same(fast, slow)
    figures = analytics.survival_json(None, analytics.SurvivalQuery(as_of=date(2025, 12, 31), baselines=False))
    assert figures["excluded"] == {"no_verification": 7}
