"""Log-rank test over delayed-entry risk sets."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.statistics import multivariate_logrank_test
from scipy.stats import chi2

from tracker.survival import logrank_test


def test_without_delayed_entry_equals_survdiff_via_lifelines() -> None:
    rng = np.random.default_rng(11)
    n = 300
    groups = rng.choice(np.array(["a", "b", "c"], dtype=object), n)
    stop = rng.integers(1, 30, n) / 3.0 + (groups == "b") * 1.0  # ties, and a real difference
    event = rng.random(n) < 0.7

    ours = logrank_test(np.zeros(n), stop, event, groups)
    theirs = multivariate_logrank_test(stop, groups, event)

    assert ours.statistic == pytest.approx(theirs.test_statistic, rel=1e-10)
    assert ours.df == theirs.degrees_of_freedom == 2
    assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-8)


def test_delayed_entry_example_worked_by_hand() -> None:
    # X: event at 1, censored at 3.  Y: event at 2; entered at 1.5, event at 2.5.
    # t=1: X 2 at risk, Y 1 (the late entrant is not yet in): E_X 2/3, V 2/9
    # t=2: X 1, Y 2: E_X 1/3, V 2/9.   t=2.5: X 1, Y 1: E_X 1/2, V 1/4
    # O_X - E_X = 1 - 3/2;  V = 25/36;  chi2 = (1/4) / (25/36) = 9/25
    result = logrank_test(
        entry=[0, 0, 0, 1.5],
        stop=[1, 3, 2, 2.5],
        event=[True, False, True, True],
        groups=np.array(["X", "X", "Y", "Y"], dtype=object),
    )

    assert result.statistic == pytest.approx(9 / 25, rel=1e-14)
    assert result.df == 1
    assert result.p_value == pytest.approx(chi2.sf(9 / 25, 1), rel=1e-14)
    assert result.groups == ("X", "Y")
    assert result.expected == pytest.approx((1.5, 1.5))


def test_group_without_expected_events_is_dropped_like_survdiff() -> None:
    result = logrank_test(
        entry=[0, 0, 0, 0, 5],
        stop=[1, 2, 3, 4, 6],
        event=[True, True, False, True, False],
        groups=np.array(["a", "a", "b", "b", "c"], dtype=object),
    )

    assert result.df == 1  # c is only at risk after the last event


def test_single_group_has_no_test() -> None:
    result = logrank_test([0, 0], [1, 2], [True, False], np.array(["a", "a"], dtype=object))

    assert (result.statistic, result.df, result.p_value) == (0.0, 0, 1.0)
