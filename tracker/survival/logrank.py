"""k-sample log-rank test over delayed-entry risk sets.

At each distinct event time t, a case is at risk when ``entry < t <= stop`` (years). With
``d`` events among ``n`` at risk, of which ``n_g`` in group g, the observed minus expected count
of group g gains ``d_g - d * n_g / n`` and the hypergeometric covariance gains
``d (n - d) / (n - 1) * n_g / n * (delta_gh - n_h / n)``. The statistic is
``(O - E)' V^- (O - E)`` on the groups with a positive expected count, dropping one of them,
with that many groups minus one degrees of freedom: exactly R ``survdiff`` (rho = 0), which
it equals when no case has delayed entry. lifelines' ``multivariate_logrank_test`` has no
left truncation, hence this implementation.

Where that variance matrix is singular (every case at risk closes at the same time; with delayed
entry, a group whose only case at risk is ever alone), R's ``solve`` stops. Here the statistic
is then taken with the generalised inverse over the non-singular part of the matrix (its
eigenvectors with a non-negligible eigenvalue, as R's ``coxph.wtest`` does for score tests),
on as many degrees of freedom as that part has; with no such part the test is undefined
(statistic and p-value None, with the reason).

``pairwise_logrank`` runs the two-group test on the same risk sets for every pair of groups and
adjusts the p-values by Holm's method (R ``p.adjust(method = "holm")``), leaving undefined pairs
out of the family.
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
    With a variance matrix of rank 0 (no information at all), statistic and p-value are None
    and ``reason`` says why.
    """

    statistic: float | None
    df: int
    p_value: float | None
    groups: tuple[str, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    reason: str | None = None


@dataclass(frozen=True)
class PairwiseLogRank:
    """The two-group log-rank test of groups ``a`` and ``b`` with its Holm-adjusted p-value
    (all three None where the test is undefined: no event, or a variance of zero)."""

    a: str
    b: str
    statistic: float | None
    p_value: float | None
    p_holm: float | None


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
    return _test(n_g, d_g, names)


def _test(n_g: np.ndarray, d_g: np.ndarray, names: Sequence[str]) -> LogRankResult:
    """The k-sample test from the risk table (groups x event times)."""
    n = n_g.sum(axis=0).astype(float)
    d = d_g.sum(axis=0).astype(float)
    share = n_g / n
    observed = d_g.sum(axis=1).astype(float)
    expected = share @ d
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    variance = np.diag(share @ weight) - (share * weight) @ share.T
    statistic, df = _quadratic_form(observed - expected, variance, expected > 0)
    reason = None
    if statistic is None:
        reason = "the variance of the test is zero: every case at risk at each event time had the event"
    return LogRankResult(
        statistic=statistic,
        df=df,
        p_value=None if statistic is None else float(chdtrc(df, statistic)) if df > 0 else 1.0,
        groups=tuple(names),
        observed=tuple(observed.tolist()),
        expected=tuple(expected.tolist()),
        reason=reason,
    )


#: Eigenvalues below this fraction of the largest count as zero (R ``toler.chol`` is 1e-9 too).
SINGULAR_TOLERANCE = 1e-9


def _quadratic_form(diff: np.ndarray, variance: np.ndarray, keep: np.ndarray) -> tuple[float | None, int]:
    """R survdiff: drop groups without expected events, then the first one remaining; solve, or
    use the generalised inverse over the non-singular part when the matrix is singular."""
    index = np.flatnonzero(keep)
    if len(index) < 2:
        return 0.0, 0
    index = index[1:]
    sub = variance[np.ix_(index, index)]
    x = diff[index]
    values, vectors = np.linalg.eigh(sub)
    top = float(values.max(initial=0.0))
    rank = int((values > SINGULAR_TOLERANCE * top).sum()) if top > 0 else 0
    if rank == len(index):
        return float(x @ np.linalg.solve(sub, x)), len(index)
    if rank == 0:
        return None, 0
    kept = values > SINGULAR_TOLERANCE * top
    projected = vectors[:, kept].T @ x
    return float((projected**2 / values[kept]).sum()), rank


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (R ``p.adjust(p, "holm")``), in the order given."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out.tolist()


def logrank_with_pairs(parts: Sequence[SortedCases], names: Sequence[str]
                       ) -> tuple[LogRankResult, tuple[PairwiseLogRank, ...]]:
    """``logrank_sorted`` and ``pairwise_logrank`` from one risk table (at least two groups)."""
    table = _risk_table(parts)
    return _test(*table, names), pairwise_logrank(parts, names, table)


def pairwise_logrank(parts: Sequence[SortedCases], names: Sequence[str],
                     table: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[PairwiseLogRank, ...]:
    """The log-rank test of every pair of groups (a before b in ``names`` order: (1,2), (1,3), ...,
    (2,3), ...) on the same risk sets, with Holm-adjusted p-values over the defined tests.
    ``table``: the groups' risk table when already computed."""
    if len(parts) < 2:
        return ()
    n_g, d_g = table if table is not None else _risk_table(parts)
    tests = []
    for i in range(len(parts)):
        for j in range(i + 1, len(parts)):
            rows = [i, j]
            used = d_g[rows].sum(axis=0) > 0  # the event times of this pair
            result = _test(n_g[rows][:, used], d_g[rows][:, used], [names[i], names[j]])
            defined = result.statistic is not None and result.df > 0
            tests.append((names[i], names[j], result.statistic if defined else None,
                          result.p_value if defined else None))
    adjusted = iter(holm([p for *_, p in tests if p is not None]))
    return tuple(
        PairwiseLogRank(a, b, stat, p, next(adjusted) if p is not None else None) for a, b, stat, p in tests
    )
