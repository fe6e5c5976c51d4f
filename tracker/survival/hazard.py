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


def _person_years(entry: np.ndarray, stop: np.ndarray, years: int) -> np.ndarray:
    """Years at risk inside each year k..k+1 (k < years): sum over cases of
    max(0, min(stop, k+1) - max(entry, k)), in one pass. A case covers the part of its first
    year after its entry, every whole year between, and the part of its last year up to its stop;
    the whole years are added as +1/-1 steps of a running total."""
    first, last = np.floor(entry), np.floor(stop)
    top = years  # one more bin collects everything from `years` on
    ka, kb = np.minimum(first, top).astype(np.int64), np.minimum(last, top).astype(np.int64)
    apart = ka != kb
    # One bincount per end of the span, over all cases (no masked copies): a case inside one year
    # adds stop - entry to it; a case across years adds its first part to year ka, its last part
    # to year kb, and +1 to every whole year between (a running total of +1/-1 steps).
    head = np.where(apart, np.minimum(first + 1, top + 1), stop) - entry
    tail = np.where(apart, stop - last, 0.0)
    out = np.bincount(ka, weights=head, minlength=top + 1) + np.bincount(kb, weights=tail, minlength=top + 1)
    steps = np.bincount(ka + 1, weights=apart, minlength=top + 2)[: top + 1] - np.bincount(
        kb, weights=apart, minlength=top + 1)
    return (out + np.cumsum(steps))[:years]


def annual_hazard(entry: np.ndarray, stop: np.ndarray, event: np.ndarray, years: int) -> tuple[HazardYear, ...]:
    """The life table for the years 0-1, 1-2, ..., (years-1)-years after transfer."""
    entry = np.asarray(entry, dtype=float)
    stop = np.asarray(stop, dtype=float)
    event = np.asarray(event, dtype=bool)
    event_stops = stop[event]
    # Events with k < stop <= k + 1: the year of an event is ceil(stop) - 1.
    event_year = np.ceil(event_stops).astype(np.int64) - 1
    counts = np.bincount(event_year[(event_year >= 0) & (event_year < years)], minlength=years)
    person_years = _person_years(entry, stop, years)
    rows = []
    for k in range(years):
        py, d = float(person_years[k]), int(counts[k])
        if py > 0:
            lower = float(gammaincinv(d, 0.025)) / py if d > 0 else 0.0
            upper = float(gammaincinv(d + 1, 0.975)) / py
            rate: float | None = d / py
        else:
            rate = lower = upper = None  # type: ignore[assignment]
        rows.append(HazardYear(k, k + 1, py, d, rate, lower, upper))
    return tuple(rows)
