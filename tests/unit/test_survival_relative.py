"""Baseline curves and relative survival by Ederer II."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracker.survival import (
    BaselineCurve,
    InvalidSurvivalOptions,
    ederer2_expected,
    kaplan_meier,
    relative_survival,
)

# Curve A: 90 % after 1 year, 81 % after 2 (constant hazard a); curve B: 64 % after 2 (hazard b).
A = BaselineCurve("s", "FR", "TOTAL", 2015, (1, 2), (90.0, 81.0))
B = BaselineCurve("s", "BE", "TOTAL", 2015, (2,), (64.0,))
a, b = -math.log(0.9), -math.log(0.8)

# Case 1 on A, cases 2 and 3 on B (3 enters at 0.5), case 4 without baseline.
ENTRY = np.array([0.0, 0.0, 0.5, 0.0])
STOP = np.array([2.0, 1.0, 2.0, 2.0])
EVENT = np.array([False, True, False, True])
CURVE = np.array([0, 1, 1, -1])


def test_curve_is_log_linear_from_one_and_not_extrapolated() -> None:
    curve = BaselineCurve("s", "FR", "TOTAL", 2015, (1, 3), (90.0, 72.0))

    s = curve.survival(np.array([0.0, 0.5, 1.0, 2.0, 3.0, 3.5]))
    assert s[:5] == pytest.approx([1, math.sqrt(0.9), 0.9, math.sqrt(0.9 * 0.72), 0.72])
    assert np.isnan(s[5])


def test_ederer2_example_worked_by_hand() -> None:
    # (0, .5]: cases 1, 2 at risk -> mean increment (a/2 + b/2) / 2
    # (.5, 1]: cases 1, 2, 3      -> (a/2 + b/2 + b/2) / 3
    # (1, 1.5]: cases 1, 3        -> (a/2 + b/2) / 2, and the same again on (1.5, 2]
    # case 4 has no baseline and is left out.
    s1 = math.exp(-((a + b) / 4 + (a + 2 * b) / 6))
    s15 = s1 * math.exp(-(a + b) / 4)
    s2 = s1 * math.exp(-(a + b) / 2)

    got = ederer2_expected(ENTRY, STOP, CURVE, [A, B], np.array([1.0, 1.5, 2.0]))

    assert got == pytest.approx([s1, s15, s2], rel=1e-13)


def test_relative_survival_divides_observed_by_expected() -> None:
    km = kaplan_meier(ENTRY, STOP, EVENT, horizons=(1, 2, 3))
    expected = ederer2_expected(ENTRY, STOP, CURVE, [A, B], np.array([1.0, 2.0]))

    result = relative_survival(ENTRY, STOP, CURVE, [A, B], km)

    one, two, three = result.horizons
    assert one.expected == pytest.approx(expected[0])
    assert one.relative == pytest.approx(km.horizons[0].survival / expected[0])
    assert one.ci_lower == pytest.approx(km.horizons[0].ci_lower / expected[0])
    assert two.ci_upper == pytest.approx(km.horizons[1].ci_upper / expected[1])
    assert (one.at_risk, two.at_risk) == (3, 2)
    assert three.expected is None
    assert three.relative is None
    assert result.unmatched == 1
    assert [(m.country, m.n) for m in result.matches] == [("BE", 2), ("FR", 1)]
    assert result.series == ("s",)


def test_expected_is_undefined_once_a_case_outlives_its_curve() -> None:
    got = ederer2_expected([0.0, 0.0], [3.0, 3.0], np.array([0, 1]), [A, B], np.array([2.0, 2.5]))

    assert not np.isnan(got[0])
    assert np.isnan(got[1])


@pytest.mark.parametrize(("horizons", "values"), [((), ()), ((1, 2), (90.0,)), ((2, 1), (90, 80)), ((1,), (0.0,))])
def test_invalid_curves_are_rejected(horizons: tuple, values: tuple) -> None:
    with pytest.raises(InvalidSurvivalOptions):
        BaselineCurve("s", "FR", "TOTAL", 2015, horizons, values)


def test_group_without_any_baseline_has_no_expected_figure() -> None:
    km = kaplan_meier(ENTRY, STOP, EVENT, horizons=(1,))

    result = relative_survival(ENTRY, STOP, np.full(4, -1), [A, B], km)

    assert (result.horizons[0].expected, result.horizons[0].relative) == (None, None)
    assert result.unmatched == 4
    assert result.matches == ()


def test_curve_index_out_of_range_is_rejected() -> None:
    with pytest.raises(InvalidSurvivalOptions, match="out of range"):
        ederer2_expected(ENTRY, STOP, np.array([0, 1, 2, -1]), [A, B], np.array([1.0]))
