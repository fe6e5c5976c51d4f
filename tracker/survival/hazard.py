"""The annual hazard: a life table of person-years, events and the event rate per year since transfer.

For the year k (k = 0 .. K-1, from k to k + 1 years after the transfer) with the delayed-entry
follow-up ``entry < t <= stop``:

- person-years PY = sum over cases of max(0, min(stop, k + 1) - max(entry, k));
- events d = the events with k < stop <= k + 1;
- rate d / PY with the exact Poisson 95 % interval (R ``poisson.test(d, PY)$conf.int``):
  qchisq(0.025, 2d) / (2 PY) (0 when d = 0) to qchisq(0.975, 2d + 2) / (2 PY);
  rate and interval are None where PY = 0.

This is the curve of the "liability of newness / adolescence" that studies of cooperative
survival look at: how the risk of closure rises or falls with the years since the transfer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaincinv  # qchisq(p, 2a) / 2 == gammaincinv(a, p)


@dataclass(frozen=True)
class HazardYear:
    """One row of the life table; ``rate`` and its interval are per person-year."""

    start: int
    end: int
    person_years: float
    events: int
    rate: float | None
    ci_lower: float | None
    ci_upper: float | None


def annual_hazard(entry: np.ndarray, stop: np.ndarray, event: np.ndarray, years: int) -> tuple[HazardYear, ...]:
    """The life table for the years 0-1, 1-2, ..., (years-1)-years after transfer."""
    entry = np.asarray(entry, dtype=float)
    stop = np.asarray(stop, dtype=float)
    event = np.asarray(event, dtype=bool)
    event_stops = stop[event]
    # Events with k < stop <= k + 1: the year of an event is ceil(stop) - 1.
    event_year = np.ceil(event_stops).astype(np.int64) - 1
    counts = np.bincount(event_year[(event_year >= 0) & (event_year < years)], minlength=years)
    rows = []
    for k in range(years):
        exposure = np.minimum(stop, k + 1) - np.maximum(entry, k)
        person_years = float(exposure[exposure > 0].sum())
        d = int(counts[k])
        if person_years > 0:
            lower = float(gammaincinv(d, 0.025)) / person_years if d > 0 else 0.0
            upper = float(gammaincinv(d + 1, 0.975)) / person_years
            rate: float | None = d / person_years
        else:
            rate = lower = upper = None  # type: ignore[assignment]
        rows.append(HazardYear(k, k + 1, person_years, d, rate, lower, upper))
    return tuple(rows)
