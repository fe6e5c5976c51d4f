"""Kaplan-Meier estimate with delayed entry and log(-log) confidence intervals.

Times are in years since transfer. Each case is at risk on ``entry < t <= stop`` and either has
the event at ``stop`` or is censored there (still at risk at ``stop``, like R). The product-limit
estimate and its Greenwood variance are computed directly with numpy, reproducing R
``survfit(Surv(entry, stop, event) ~ 1, conf.type = "log-log")`` (survival 3.x):

- lifelines' ``KaplanMeierFitter(entry=...)`` gives the same curve, but its event table counts
  a case entering at ``t`` as at risk at ``t`` (R does not), and it reports a (0, 0) interval
  once S reaches 0 where R reports NA. Computing it here also lets ``analyse`` sort each group
  once for both the curve and the log-rank test. The unit tests check this module against
  lifelines where the two conventions agree.
- CI: ``exp(-exp(log(-log S) -/+ z * se / log S))`` with ``se`` the Greenwood standard error of
  the cumulative hazard. At an end-of-follow-up time where ``S == 1`` (censorings before any
  event) and once ``S == 0`` the interval is undefined (None / NaN), as R's ``fit$lower`` is NA
  there; before the first end of follow-up the curve is S = 1 with the interval (1, 1), as R's
  ``summary(fit, times = ...)`` reports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri  # the normal quantile; scipy.stats costs ~1 s of import time

from ._arrays import SortedCases, at_risk, readonly

#: R ``quantile.survfit`` tolerance: S within this of 0.5 counts as 0.5 (product round-off).
MEDIAN_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class HorizonEstimate:
    """Survival at ``years`` after transfer.

    ``survival``/``ci_lower``/``ci_upper`` are None beyond the group's longest follow-up (never
    extrapolated); the CI is also None once S has reached 0. ``at_risk`` counts cases with
    ``entry < years <= stop``; ``unstable`` is true when it is below the threshold.
    """

    years: float
    survival: float | None
    ci_lower: float | None
    ci_upper: float | None
    at_risk: int
    unstable: bool


@dataclass(frozen=True, eq=False)
class KMSteps:
    """The curve at each distinct end-of-follow-up time (years), for plots and downloads.

    ``at_risk``, ``events`` and ``censored`` are counts at that time; ``survival`` and the CI
    hold from that time until the next one; the CI is NaN where undefined (S = 0).
    """

    time: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    censored: np.ndarray
    survival: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray


@dataclass(frozen=True)
class KMResult:
    """Kaplan-Meier summary of one group: ``n`` cases, ``events``, median and horizons (years)."""

    n: int
    events: int
    median_years: float | None
    max_follow_up_years: float | None
    horizons: tuple[HorizonEstimate, ...]
    steps: KMSteps


def loglog_interval(
    survival: np.ndarray, var_cumhaz: np.ndarray, conf_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """R's log(-log) pointwise interval; NaN where S == 1 or S == 0 (undefined, R: NA)."""
    z = ndtri(0.5 + conf_level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(survival)
        shift = z * np.sqrt(var_cumhaz) / log_s
        centre = np.log(-log_s)
        lower = np.exp(-np.exp(centre - shift))
        upper = np.exp(-np.exp(centre + shift))
    defined = (survival > 0) & (survival < 1) & np.isfinite(var_cumhaz)
    return np.where(defined, lower, np.nan), np.where(defined, upper, np.nan)


def _steps(sorted_entry: np.ndarray, sorted_stop: np.ndarray, event: np.ndarray, conf_level: float) -> KMSteps:
    """Product-limit curve at each distinct stop time (inputs sorted; ``event`` by stop)."""
    first = np.flatnonzero(np.diff(sorted_stop, prepend=-np.inf) != 0)
    time = sorted_stop[first]
    events = np.add.reduceat(event.astype(np.int64), first) if len(first) else first
    ended = np.diff(np.r_[first, len(sorted_stop)]).astype(np.int64)
    n = at_risk(sorted_entry, sorted_stop, time)
    with np.errstate(divide="ignore"):
        survival = np.cumprod(1.0 - events / n)
        # Greenwood variance of log S; infinite once S = 0 (n == d).
        var = np.cumsum(np.where(events > 0, events / (n * (n - events)), 0.0))
    lower, upper = loglog_interval(survival, var, conf_level)
    return KMSteps(
        time=readonly(time),
        at_risk=readonly(n),
        events=readonly(events),
        censored=readonly(ended - events),
        survival=readonly(survival),
        ci_lower=readonly(lower),
        ci_upper=readonly(upper),
    )


def _optional(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def median_survival(steps: KMSteps) -> float | None:
    """First time (years) at which S(t) <= 0.5; None when the curve stays above 0.5."""
    below = np.flatnonzero(steps.survival <= 0.5 + MEDIAN_TOLERANCE)
    return float(steps.time[below[0]]) if len(below) else None


def _horizons(
    steps: KMSteps,
    sorted_entry: np.ndarray,
    sorted_stop: np.ndarray,
    horizons: Sequence[float],
    unstable_below: int,
) -> tuple[HorizonEstimate, ...]:
    """Read the step curve at each horizon (right-continuous: events at ``t`` count)."""
    t = np.asarray(horizons, dtype=float)
    # Index into the curve with a leading step at 0 where S = 1 and the CI is (1, 1).
    k = np.searchsorted(steps.time, t, side="right")
    beyond = t > (steps.time[-1] if len(steps.time) else -np.inf)
    survival, lower, upper = (
        np.where(beyond, np.nan, np.r_[1.0, values][k]) for values in (steps.survival, steps.ci_lower, steps.ci_upper)
    )
    counts = at_risk(sorted_entry, sorted_stop, t)
    return tuple(
        HorizonEstimate(
            years=h,
            survival=_optional(survival[i]),
            ci_lower=_optional(lower[i]),
            ci_upper=_optional(upper[i]),
            at_risk=int(counts[i]),
            unstable=bool(counts[i] < unstable_below),
        )
        for i, h in enumerate(horizons)
    )


def kaplan_meier(
    entry: np.ndarray,
    stop: np.ndarray,
    event: np.ndarray,
    horizons: Sequence[float] = (1, 2, 3, 4, 5),
    *,
    unstable_below: int = 10,
    conf_level: float = 0.95,
) -> KMResult:
    """Kaplan-Meier estimate for cases at risk on ``entry < t <= stop`` (years since transfer).

    ``event`` true means the endpoint happened at ``stop``; false means censored at ``stop``.
    All cases must have ``entry < stop`` (see ``prepare_followup``). Horizons beyond the longest
    follow-up get None survival; ``unstable`` flags horizons with fewer than ``unstable_below``
    cases at risk.
    """
    cases = SortedCases.of(entry, stop, event)
    return kaplan_meier_sorted(cases, horizons, unstable_below=unstable_below, conf_level=conf_level)


def kaplan_meier_sorted(
    cases: SortedCases,
    horizons: Sequence[float],
    *,
    unstable_below: int = 10,
    conf_level: float = 0.95,
) -> KMResult:
    """``kaplan_meier`` on a group already sorted by ``SortedCases.of``."""
    steps = _steps(cases.entry, cases.stop, cases.event, conf_level)
    return KMResult(
        n=len(cases.stop),
        events=int(cases.event.sum()),
        median_years=median_survival(steps),
        max_follow_up_years=float(cases.stop[-1]) if len(cases.stop) else None,
        horizons=_horizons(steps, cases.entry, cases.stop, horizons, unstable_below),
        steps=steps,
    )


@dataclass(frozen=True)
class MedianInterval:
    """95 % interval of the median (years), read off the log(-log) band; None where not reached."""

    lower: float | None
    upper: float | None


def median_interval(steps: KMSteps) -> MedianInterval:
    """R ``quantile(fit, 0.5, conf.int = TRUE)``: the first end-of-follow-up time at which the lower
    band is at or below 0.5 (lower limit), and the same for the upper band (upper limit). A time at
    which the band is undefined (S = 0 or S = 1) does not count."""

    def first(band: np.ndarray) -> float | None:
        below = np.flatnonzero(band <= 0.5 + MEDIAN_TOLERANCE)  # NaN compares false
        return float(steps.time[below[0]]) if len(below) else None

    return MedianInterval(lower=first(steps.ci_lower), upper=first(steps.ci_upper))


@dataclass(frozen=True)
class RestrictedMean:
    """Restricted mean survival time up to ``tau`` years: ``years`` = area under S on [0, tau],
    its standard error (R ``survmean``) and the 95 % interval years -/+ z * se."""

    tau: float
    years: float
    se: float
    ci_lower: float
    ci_upper: float


#: qnorm(0.975), to full precision (a rounded 1.96 differs from R beyond 1e-9).
Z95 = float(ndtri(0.975))


def restricted_mean(steps: KMSteps, tau: float, max_follow_up: float | None) -> RestrictedMean | None:
    """RMST up to ``tau`` with R's ``survmean`` standard error; None when ``tau`` is beyond the
    group's longest follow-up (never extrapolated).

    se^2 = sum over end-of-follow-up times t_j <= tau of A_j^2 d_j / (n_j (n_j - d_j)), with
    A_j = integral of S from t_j to tau; the term is 0 where n_j == d_j.
    """
    if max_follow_up is None or tau > max_follow_up:
        return None
    inside = steps.time <= tau
    time, surv = steps.time[inside], steps.survival[inside]
    n, d = steps.at_risk[inside].astype(float), steps.events[inside].astype(float)
    # S is 1 on [0, t_1), surv[j] on [t_j, t_{j+1}) and surv[-1] until tau.
    edges = np.r_[0.0, time, tau]
    heights = np.r_[1.0, surv]
    pieces = heights * np.diff(edges)
    years = float(pieces.sum())
    # A_j = area from t_j to tau = the pieces from j+1 on (pieces[0] is [0, t_1)).
    tail = np.cumsum(pieces[::-1])[::-1][1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where((d > 0) & (n > d), tail**2 * d / (n * (n - d)), 0.0)
    se = float(np.sqrt(terms.sum()))
    return RestrictedMean(tau=tau, years=years, se=se, ci_lower=years - Z95 * se, ci_upper=years + Z95 * se)
