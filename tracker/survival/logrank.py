"""k-sample log-rank test over delayed-entry risk sets.

At each distinct event time t, a case is at risk when ``entry < t <= stop`` (years). With
``d`` events among ``n`` at risk, of which ``n_g`` in group g, the observed minus expected count
of group g gains ``d_g - d * n_g / n`` and the hypergeometric covariance gains
``d (n - d) / (n - 1) * n_g / n * (delta_gh - n_h / n)``. The statistic is
``(O - E)' V^- (O - E)`` on the groups with a positive expected count, dropping one of them,
with that many groups minus one degrees of freedom: exactly R ``survdiff`` (rho = 0), which
it equals when no case has delayed entry. lifelines' ``multivariate_logrank_test`` has no
left truncation, hence this implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import chdtrc  # chi-square survival function, without importing scipy.stats

from ._arrays import SortedCases, at_risk, factorize_labels, split_by_code


@dataclass(frozen=True)
class LogRankResult:
    """Chi-square ``statistic`` on ``df`` degrees of freedom and its ``p_value``.

    ``groups`` are sorted by name, with ``observed`` and ``expected`` event counts in the same
    order. With fewer than two groups having expected events, statistic 0, df 0, p-value 1.
    """

    statistic: float
    df: int
    p_value: float
    groups: tuple[str, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]


def logrank_test(entry: np.ndarray, stop: np.ndarray, event: np.ndarray, groups: np.ndarray) -> LogRankResult:
    """Log-rank test of equal hazards across ``groups`` (labels, one per case; None = "unknown").

    Cases are at risk on ``entry < t <= stop`` (years since transfer) and have the event at
    ``stop`` when ``event`` is true, else are censored there.
    """
    entry = np.asarray(entry, dtype=float)
    stop = np.asarray(stop, dtype=float)
    event = np.asarray(event, dtype=bool)
    codes, names = factorize_labels(groups)
    parts = [SortedCases.of(entry[i], stop[i], event[i]) for i in split_by_code(codes, len(names))]
    return logrank_sorted(parts, names)


def _risk_table(parts: Sequence[SortedCases]) -> tuple[np.ndarray, np.ndarray]:
    """Risk-set sizes and event counts, both (groups x distinct event times)."""
    event_stops = [p.stop[p.event] for p in parts]  # each already sorted
    times = np.unique(np.concatenate(event_stops))
    at_risk_g = np.stack([at_risk(p.entry, p.stop, times) for p in parts])
    events_g = np.stack([np.bincount(np.searchsorted(times, s), minlength=len(times)) for s in event_stops])
    return at_risk_g, events_g


def logrank_sorted(parts: Sequence[SortedCases], names: Sequence[str]) -> LogRankResult:
    """``logrank_test`` on groups already sorted by ``SortedCases.of``, in ``names`` order."""
    if len(parts) < 2:
        counts = tuple(float(p.event.sum()) for p in parts)
        return LogRankResult(0.0, 0, 1.0, tuple(names), counts, counts)
    n_g, d_g = _risk_table(parts)
    n = n_g.sum(axis=0).astype(float)
    d = d_g.sum(axis=0).astype(float)
    share = n_g / n
    observed = d_g.sum(axis=1).astype(float)
    expected = share @ d
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    variance = np.diag(share @ weight) - (share * weight) @ share.T
    statistic, df = _quadratic_form(observed - expected, variance, expected > 0)
    return LogRankResult(
        statistic=statistic,
        df=df,
        p_value=float(chdtrc(df, statistic)) if df > 0 else 1.0,
        groups=tuple(names),
        observed=tuple(observed.tolist()),
        expected=tuple(expected.tolist()),
    )


def _quadratic_form(diff: np.ndarray, variance: np.ndarray, keep: np.ndarray) -> tuple[float, int]:
    """R survdiff: drop groups without expected events, then the first one remaining."""
    index = np.flatnonzero(keep)
    if len(index) < 2:
        return 0.0, 0
    index = index[1:]
    sub = variance[np.ix_(index, index)]
    return float(diff[index] @ np.linalg.solve(sub, diff[index])), len(index)
