"""The survival figures the app serves: oracle values through the database, permissions,
filters, cache invalidation, baselines and parameter validation."""

from __future__ import annotations

import json
import sys
from datetime import date

import numpy as np
import pytest

from tests.conftest import ORACLE_DIR
from tracker.extensions import db
from tracker.models import Role
from tracker.services.analytics import frame as case_frame
from tracker.services.analytics import queries as analytics
from tracker.services.analytics.baselines import import_baselines, shipped_baselines
from tracker.services.casework.cases import FollowUp, record_follow_up
from tracker.services.spreadsheets.imports import import_cases

ORACLE_FILES = sorted(p.name for p in ORACLE_DIR.glob("expected_*.json"))


@pytest.fixture
def oracle_federation(app, make_federation):
    analytics.clear_cache()
    fed = make_federation(code="ORACLE")
    result = import_cases(None, fed, (ORACLE_DIR / "cases.csv").read_bytes(), "cases.csv", dry_run=False)
    assert not result.problems
    db.session.commit()
    return fed


def query_for(expected: dict, **extra) -> analytics.SurvivalQuery:
    return analytics.SurvivalQuery(as_of=date.fromisoformat(expected["as_of"]), endpoint=expected["endpoint"],
                                   group_by=expected["group_by"], delayed_entry=expected["delayed_entry"], **extra)


def assert_matches(expected, got, path="$"):
    if isinstance(expected, dict):
        for key, value in expected.items():
            assert key in got, f"{path}.{key} missing"
            assert_matches(value, got[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(expected) == len(got), path
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            assert_matches(e, g, f"{path}[{i}]")
    elif isinstance(expected, float):
        assert abs(expected - got) <= 1e-9 * max(1.0, abs(expected)), f"{path}: {expected} != {got}"
    else:
        assert expected == got, f"{path}: {expected!r} != {got!r}"


@pytest.mark.parametrize("name", ORACLE_FILES)
def test_service_reproduces_the_r_reference(oracle_federation, name):
    expected = json.loads((ORACLE_DIR / name).read_text())
    got = analytics.survival_json(None, query_for(expected, baselines=False))
    assert_matches(expected, got)


def test_baselines_do_not_change_the_observed_figures(oracle_federation):
    import_baselines(None, shipped_baselines())
    db.session.commit()
    expected = json.loads((ORACLE_DIR / "expected_by_transfer_type.json").read_text())
    got = analytics.survival_json(None, query_for(expected))
    assert_matches(expected, got)
    block = got["groups"][0]["baseline"]
    matched = sum(m["n"] for m in block["matches"])
    assert matched + block["unmatched"] == got["groups"][0]["n"]
    assert all(m["series"] for m in block["matches"])
    assert {s["series"] for s in got["baseline_sources"]} >= set(block["series"])


def test_a_write_is_never_hidden_by_the_cache(oracle_federation):
    query = analytics.SurvivalQuery(as_of=date(2025, 12, 31), baselines=False)
    before = analytics.survival_json(None, query)["groups"][0]["events"]
    case = oracle_federation_open_case()
    record_follow_up(None, case, FollowUp(checked_on=case.last_verified_on, outcome="liquidation"))
    db.session.commit()
    after = analytics.survival_json(None, query)["groups"][0]["events"]
    assert after == before + 1


def oracle_federation_open_case():
    from sqlalchemy import select

    from tracker.models import Case

    return db.session.scalars(select(Case).where(Case.exit_date.is_(None), Case.last_verified_on <= date(2025, 12, 31),
                                                 Case.registered_on < date(2025, 1, 1)).order_by(Case.id)).first()


def test_staff_see_only_their_federation(oracle_federation, make_federation, make_case, make_user):
    other = make_federation(code="OTHER")
    make_case(other, transfer_date=date(2010, 1, 1), registered_on=date(2010, 1, 1),
              last_verified_on=date(2025, 1, 1))
    staff = make_user(Role.STAFF, federation=other)
    query = analytics.SurvivalQuery(as_of=date(2025, 12, 31), baselines=False)
    assert analytics.survival_json(staff, query)["groups"][0]["n"] == 1
    assert analytics.survival_json(None, query)["groups"][0]["n"] == 598
    # a filter on another federation cannot widen a staff user's scope
    widened = analytics.SurvivalQuery(as_of=date(2025, 12, 31), baselines=False, where=(("federation", ("ORACLE",)),))
    assert analytics.survival_json(staff, widened)["groups"][0]["n"] == 0


def test_filters_and_groups(oracle_federation):
    base = dict(as_of=date(2025, 12, 31), baselines=False)
    by_country = analytics.survival_json(None, analytics.SurvivalQuery(group_by="country", **base))
    be = next(g for g in by_country["groups"] if g["group"] == "BE")
    only_be = analytics.survival_json(None, analytics.SurvivalQuery(where=(("country", ("BE",)),), **base))
    assert only_be["groups"][0]["n"] == be["n"]
    assert only_be["groups"][0]["horizons"] == be["horizons"]
    bands = analytics.survival_json(None, analytics.SurvivalQuery(group_by="cohort",
                                                                  cohort_bands=((2000, 2009), (2010, 2025)), **base))
    assert [g["group"] for g in bands["groups"]] == ["2000-2009", "2010-2025"]
    sizes = analytics.survival_json(None, analytics.SurvivalQuery(group_by="size_class", **base))
    assert {g["group"] for g in sizes["groups"]} <= {"0-9", "10-49", "50-249", "250+", "unknown"}
    assert sum(g["n"] for g in sizes["groups"]) == 597


def test_small_groups_are_flagged_unstable(oracle_federation):
    result = analytics.survival_json(None, analytics.SurvivalQuery(
        as_of=date(2025, 12, 31), baselines=False, where=(("cohort", ("2023-2023",)),)))
    horizons = result["groups"][0]["horizons"]
    assert all(h["unstable"] for h in horizons if h["at_risk"] < 10)
    assert horizons[-1]["survival"] is None  # beyond the longest follow-up: never extrapolated


@pytest.mark.parametrize("params, parameter", [
    ({"group_by": "colour"}, "group_by"),
    ({"as_of": "31/12/2025"}, "as_of"),
    ({"horizons": "0,5"}, "horizons"),
    ({"horizons": "51"}, "horizons"),
    ({"horizons": "one"}, "horizons"),
    ({"endpoint": "firm"}, "endpoint"),
    ({"delayed_entry": "maybe"}, "delayed_entry"),
    ({"cohort_bands": "2010-2005"}, "cohort_bands"),
    ({"cohort_bands": "2000-2010,2005-2015"}, "cohort_bands"),
])
def test_bad_parameters_name_the_parameter(params, parameter):
    with pytest.raises(analytics.InvalidParameter) as info:
        analytics.SurvivalQuery.from_params(params)
    assert info.value.name == parameter


@pytest.mark.parametrize("where", ["country", "colour=red", "country=XX", "transfer_type=merger", "cohort=20x0",
                                   "nace_section=Z", "size_class=huge"])
def test_bad_filters_are_refused(where):
    with pytest.raises(analytics.InvalidParameter) as info:
        analytics.SurvivalQuery.from_params({"where": [where]})
    assert info.value.name == "where"


def test_adbc_and_sqlalchemy_read_the_same_arrays(tmp_path, monkeypatch):
    """The fast Arrow path (file SQLite / PostgreSQL) and the portable path agree."""
    from flask_migrate import upgrade

    from config import TestingConfig
    from tracker import create_app
    from tracker.services.accounts import federations

    monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'frame.sqlite3'}")
    app = create_app(TestingConfig)
    with app.app_context():
        upgrade()
        fed = federations.create_federation(None, code="ORACLE", name="Oracle", country="FR")
        assert not import_cases(None, fed, (ORACLE_DIR / "cases.csv").read_bytes(), "cases.csv", False).problems
        db.session.commit()
        assert case_frame.adbc_available()
        monkeypatch.setattr(case_frame, "PARALLEL_FROM", 10)  # several reader threads, as on large registries
        fast = case_frame.load_case_frame()
        # ...read by the helper process: the driver's own SQLite never enters this process, where
        # Python's sqlite3 holds locks on the same file (sqlite.org/howtocorrupt.html 2.2.1).
        assert "adbc_driver_sqlite" not in sys.modules
        monkeypatch.setattr(case_frame, "adbc_available", lambda: False)
        slow = case_frame.load_case_frame()
        assert len(fast) == len(slow) == 600
        assert list(fast.ids) == list(slow.ids)
        for name in ("transfer_type", "country", "region", "nace_section", "federation"):
            assert list(getattr(fast, name)) == list(getattr(slow, name)), name
        for name in ("transfer_date", "registered_on", "last_verified_on", "exit_date"):
            assert np.array_equal(getattr(fast.cases, name), getattr(slow.cases, name), equal_nan=True), name
        assert list(fast.cases.exit_reason) == list(slow.cases.exit_reason)
        for name, coded in fast.coded.items():
            assert list(coded.values()) == list(slow.coded[name].values()), name
        assert np.array_equal(fast.employees, slow.employees, equal_nan=True)
        db.session.remove()
        db.engine.dispose()
