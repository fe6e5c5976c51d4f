"""Kaplan-Meier with delayed entry, checked by hand and against lifelines."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from tracker.survival import kaplan_meier


def test_case_entering_at_an_event_time_is_not_at_risk_then() -> None:
    # R counting-process convention: at risk on (entry, stop].
    entry = np.array([0, 0, 0, 1, 1.0])
    stop = np.array([1, 2, 3, 2, 3.0])
    event = np.array([1, 1, 0, 1, 0], dtype=bool)

    steps = kaplan_meier(entry, stop, event).steps

    assert steps.at_risk.tolist() == [3, 4, 2]
    assert steps.events.tolist() == [1, 2, 0]
    assert steps.censored.tolist() == [0, 0, 2]
    assert steps.survival == pytest.approx([2 / 3, 1 / 3, 1 / 3], rel=1e-15)


def test_horizon_beyond_longest_follow_up_is_none() -> None:
    result = kaplan_meier([0, 0, 0], [1.5, 2.0, 3.0], [True, False, False], horizons=(1, 3, 4))

    one, three, four = result.horizons
    assert one.survival == 1.0
    assert (one.ci_lower, one.ci_upper) == (1.0, 1.0)
    assert three.survival == pytest.approx(2 / 3)  # at the longest follow-up: still reported
    assert (four.survival, four.ci_lower, four.ci_upper) == (None, None, None)
    assert (four.at_risk, four.unstable) == (0, True)
    assert result.max_follow_up_years == 3.0


def test_unstable_flags_horizons_with_few_cases_at_risk() -> None:
    stop = np.arange(1, 21) / 4  # 20 cases ending at 0.25 .. 5 years
    result = kaplan_meier(np.zeros(20), stop, np.ones(20, bool), horizons=(1, 2, 3), unstable_below=10)

    assert [h.at_risk for h in result.horizons] == [17, 13, 9]
    assert [h.unstable for h in result.horizons] == [False, False, True]


def test_event_at_exactly_the_horizon_counts_and_the_case_is_at_risk() -> None:
    result = kaplan_meier([0, 0, 0, 0], [1.0, 1.0, 2.0, 2.0], [True, False, False, False], (1,))

    assert result.horizons[0].survival == 0.75
    assert result.horizons[0].at_risk == 4


def test_ci_is_none_once_survival_reaches_zero() -> None:
    result = kaplan_meier([0, 0], [1.0, 2.0], [True, True], horizons=(1, 2))

    assert result.horizons[1].survival == 0.0
    assert (result.horizons[1].ci_lower, result.horizons[1].ci_upper) == (None, None)
    assert np.isnan(result.steps.ci_lower[-1])


def test_median_is_first_time_survival_reaches_half() -> None:
    exactly_half = kaplan_meier(np.zeros(4), [1.0, 2.0, 3.0, 4.0], [True, True, False, True])
    never = kaplan_meier(np.zeros(4), [1.0, 2.0, 3.0, 4.0], [True, False, False, False])

    assert exactly_half.median_years == 2.0
    assert never.median_years is None


def test_empty_group() -> None:
    result = kaplan_meier([], [], [], horizons=(1,))

    assert (result.n, result.events, result.median_years) == (0, 0, None)
    assert result.horizons[0].survival is None
    assert result.horizons[0].unstable


@pytest.mark.parametrize("delayed", [False, True])
def test_matches_lifelines_where_conventions_agree(delayed: bool) -> None:
    rng = np.random.default_rng(7)
    n = 400
    stop = rng.integers(1, 40, n) / 4.0  # many ties
    event = rng.random(n) < 0.6
    # Entries on a half-grid never tie with stop times; lifelines' at-risk differs only there.
    entry = np.minimum(rng.integers(0, 8, n) / 4.0 + 0.125, stop - 0.125) if delayed else np.zeros(n)
    entry = np.maximum(entry, 0.0)

    ours = kaplan_meier(entry, stop, event)
    theirs = KaplanMeierFitter().fit(stop, event, entry=entry)

    sf = theirs.survival_function_.iloc[:, 0]
    ci = theirs.confidence_interval_
    keep = np.isin(sf.index.to_numpy(), ours.steps.time)
    assert ours.steps.survival == pytest.approx(sf.to_numpy()[keep], rel=1e-12)
    assert ours.steps.ci_lower == pytest.approx(ci.iloc[:, 0].to_numpy()[keep], rel=1e-10)
    assert ours.steps.ci_upper == pytest.approx(ci.iloc[:, 1].to_numpy()[keep], rel=1e-10)
    assert ours.median_years == theirs.median_survival_time_
