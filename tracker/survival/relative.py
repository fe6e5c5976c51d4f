"""Relative survival against national baselines, expected survival by Ederer II.

Baseline curve: published ``(horizon_years, survival_pct)`` points of one (series, country,
sector, cohort), completed with S(0) = 1 by interpolating log S linearly in time between
published horizons, i.e. a constant hazard between them. It is not extrapolated: beyond its
last published horizon the curve is undefined, and so is any expected figure that needs it
(a case still at risk there makes the group's expected survival None from then on, rather than
inventing a hazard the publisher never gave).

Expected survival of a group (Ederer II, delayed-entry risk sets): each case's expected
cumulative hazard is ``Lambda_i(t) = -log S_baseline(i)(t)``, t in years since *its* transfer.
Between two consecutive breakpoints a < b (all entry and stop times and the horizons) the risk
set ``entry < t <= stop`` does not change, so the expected cumulative hazard of the group grows
by the mean over the cases at risk at b of ``Lambda_i(b) - Lambda_i(a)``; expected
``S*(t) = exp(-sum of those increments)``. This is the continuous-time Ederer II estimator,
exact for the piecewise-constant baseline hazards (no time grid). Relative survival is the
observed Kaplan-Meier divided by S*, its 95 % CI the observed CI divided by S*. Cases without a
baseline (index -1) stay in the observed curve but are left out of S* and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._arrays import at_risk, readonly, split_by_code
from .errors import InvalidSurvivalOptions
from .km import KMResult


@dataclass(frozen=True)
class BaselineCurve:
    """Published survival of one (series, country, sector, cohort): percent at horizons (years)."""

    series: str
    country: str
    sector: str
    cohort_year: int
    horizons_years: tuple[float, ...]
    survival_pct: tuple[float, ...]
    region: str = ""  # '' for a national figure

    def __post_init__(self) -> None:
        h, s = self.horizons_years, self.survival_pct
        if not h or len(h) != len(s):
            raise InvalidSurvivalOptions(f"baseline {self.label}: horizons and values must pair up")
        if any(b <= a for a, b in zip((0, *h), h, strict=False)):
            raise InvalidSurvivalOptions(f"baseline {self.label}: horizons must be positive and increasing")
        if any(not 0 < v <= 100 for v in s):
            raise InvalidSurvivalOptions(f"baseline {self.label}: survival_pct must be in (0, 100]")

    @property
    def label(self) -> str:
        place = f"{self.country}/{self.region}" if self.region else self.country
        return f"{self.series}/{place}/{self.sector}/{self.cohort_year}"

    def cumulative_hazard(self, years: np.ndarray) -> np.ndarray:
        """``-log S(t)`` at ``years`` since transfer, log-linear between points, NaN beyond."""
        knots = np.r_[0.0, self.horizons_years]
        values = np.r_[0.0, -np.log(np.asarray(self.survival_pct) / 100.0)]
        return np.interp(years, knots, values, right=np.nan)

    def survival(self, years: np.ndarray) -> np.ndarray:
        """Interpolated survival (fraction) at ``years``; NaN beyond the last published horizon."""
        return np.exp(-self.cumulative_hazard(np.asarray(years, dtype=float)))


@dataclass(frozen=True)
class BaselineMatch:
    """How many cases of a group were compared with one baseline curve."""

    series: str
    country: str
    sector: str
    cohort_year: int
    n: int
    region: str = ""


@dataclass(frozen=True)
class RelativeHorizon:
    """Observed, expected and relative survival ``years`` after transfer (None if undefined).

    ``at_risk`` counts the cases with a baseline that are at risk at ``years``.
    """

    years: float
    observed: float | None
    expected: float | None
    relative: float | None
    ci_lower: float | None
    ci_upper: float | None
    at_risk: int


@dataclass(frozen=True, eq=False)
class RelativeSteps:
    """Expected (Ederer II) and relative survival at the observed curve's step times (years)."""

    time: np.ndarray
    expected: np.ndarray
    relative: np.ndarray


@dataclass(frozen=True)
class RelativeResult:
    """Relative survival of one group and the baselines it was compared with."""

    series: tuple[str, ...]
    horizons: tuple[RelativeHorizon, ...]
    matches: tuple[BaselineMatch, ...]
    unmatched: int
    steps: RelativeSteps
    #: The shortest last published horizon among the group's curves (years): expected survival is
    #: not defined beyond it (curves are never extrapolated). None when no case has a curve.
    reach_years: float | None = None


def ederer2_expected(
    entry: np.ndarray,
    stop: np.ndarray,
    curve_index: np.ndarray,
    curves: Sequence[BaselineCurve],
    times: np.ndarray,
) -> np.ndarray:
    """Ederer II expected survival at ``times`` (years) over the risk sets ``entry < t <= stop``.

    ``curve_index[i]`` is the baseline of case i in ``curves`` (-1: none, case ignored here).
    NaN where undefined: no case has a baseline, or a case is at risk beyond its curve's last
    published horizon.
    """
    matched = np.asarray(curve_index) >= 0
    times = np.asarray(times, dtype=float)
    if not matched.any():
        return np.full(len(times), np.nan)
    entry, stop = np.asarray(entry, float)[matched], np.asarray(stop, float)[matched]
    used, codes = np.unique(np.asarray(curve_index)[matched], return_inverse=True)
    if used[-1] >= len(curves):
        raise InvalidSurvivalOptions(f"baseline curve index {used[-1]} is out of range")
    grid = np.unique(np.r_[entry, stop, times])
    grid = grid[grid > 0]
    # Sum over the cases at risk of their hazard increments, one curve at a time: the cases
    # sharing a curve share its increments, so only their number at risk is needed.
    increment = np.zeros(len(grid))
    total = np.zeros(len(grid), dtype=np.int64)
    for c, index in zip(used, split_by_code(codes, len(used)), strict=True):
        n = at_risk(np.sort(entry[index]), np.sort(stop[index]), grid)
        hazard = np.diff(curves[c].cumulative_hazard(np.r_[0.0, grid]))
        increment += np.where(n > 0, n * hazard, 0.0)
        total += n
    # No matched case at risk: nothing to average, the expected curve stays flat.
    increment = np.where(total > 0, increment / np.maximum(total, 1), 0.0)
    expected = np.r_[1.0, np.exp(-np.cumsum(increment))]
    return expected[np.searchsorted(grid, times, side="right")]


def _ratio(value: float | None, expected: float) -> float | None:
    return None if value is None or np.isnan(expected) else float(value / expected)


def _matches(curve_index: np.ndarray, curves: Sequence[BaselineCurve]) -> tuple[BaselineMatch, ...]:
    used, n = np.unique(curve_index[curve_index >= 0], return_counts=True)
    found = (
        BaselineMatch(curves[c].series, curves[c].country, curves[c].sector, curves[c].cohort_year, int(k),
                      curves[c].region)
        for c, k in zip(used, n, strict=True)
    )
    return tuple(sorted(found, key=lambda m: (m.series, m.country, m.region, m.sector, m.cohort_year)))


def relative_survival(
    entry: np.ndarray,
    stop: np.ndarray,
    curve_index: np.ndarray,
    curves: Sequence[BaselineCurve],
    observed: KMResult,
) -> RelativeResult:
    """Relative survival (observed KM / Ederer II expected) at the KM result's horizons.

    ``entry``/``stop`` (years) are the same cases as ``observed``; ``curve_index`` gives each
    case's baseline curve (-1: none). Expected and relative are None where the observed survival
    is None (beyond follow-up) or the baseline does not reach the horizon.
    """
    curve_index = np.asarray(curve_index, dtype=np.int64)
    matched = curve_index >= 0
    years = np.array([h.years for h in observed.horizons], dtype=float)
    expected = ederer2_expected(entry, stop, curve_index, curves, np.r_[years, observed.steps.time])
    at_horizon, at_steps = expected[: len(years)], expected[len(years) :]
    counts = at_risk(np.sort(entry[matched]), np.sort(stop[matched]), years)
    horizons = []
    for h, value, k in zip(observed.horizons, at_horizon, counts, strict=True):
        e = np.nan if h.survival is None else value
        horizons.append(
            RelativeHorizon(
                years=h.years,
                observed=h.survival,
                expected=None if np.isnan(e) else float(e),
                relative=_ratio(h.survival, e),
                ci_lower=_ratio(h.ci_lower, e),
                ci_upper=_ratio(h.ci_upper, e),
                at_risk=int(k),
            )
        )
    return RelativeResult(
        series=tuple(sorted({curves[c].series for c in np.unique(curve_index[matched])})),
        horizons=tuple(horizons),
        matches=_matches(curve_index, curves),
        unmatched=int((~matched).sum()),
        steps=RelativeSteps(
            time=observed.steps.time,
            expected=readonly(at_steps),
            relative=readonly(observed.steps.survival / at_steps),
        ),
        reach_years=min((curves[c].horizons_years[-1] for c in np.unique(curve_index[matched])), default=None),
    )
