"""Competing outcomes: cumulative incidence of closure and of loss of the cooperative form.

Aalen-Johansen estimator with delayed entry, computed directly (lifelines'
``AalenJohansenFitter`` jitters tied times, which would change the figures). With ``n`` cases at
risk (``entry < t <= stop``, years since transfer) at a distinct stop time t, ``d_closure`` and
``d_loss`` exits there, and ``S(t-)`` the all-exits Kaplan-Meier just before t::

    CIF_cause(t) = sum over times u <= t of S(u-) * d_cause(u) / n(u)

so that ``CIF_closure + CIF_loss = 1 - KM`` with every exit as the event (the ``cooperative``
endpoint). Closure = liquidation, dissolution, other; loss = sold, merged, demutualised.

95 % pointwise intervals as R ``survfit(Surv(entry, stop, state) ~ 1, id = id)`` reports them:
``F exp(-/+ z se / F)`` (upper capped at 1), None where F = 0, with ``se`` the infinitesimal-
jackknife standard error: the square root of the sum over cases of the squared derivative of F
with respect to the case's weight. With the hazards ``l_k(u) = d_k(u) / n(u)``, a case's
derivative of ``l_k(u)`` is ``(dN_ik(u) - Y_i(u) l_k(u)) / n(u)``, and by the chain rule through
``F_k(t) = sum S(u-) l_k(u)`` and ``S(u) = prod (1 - l(v))`` the derivative of F_k(t) is

    sum_{u<=t} S(u-) a_ik(u)  -  sum_{u<=t} a_i(u) / (1 - l(u)) * (F_k(t) - F_k(u))

with ``a_i = a_i1 + a_i2``; each sum runs over the times at which the case is at risk (plus its
own exit), so cumulative sums give every case's derivative in O(cases + times) per horizon.
Where all cases at risk exit at once (l = 1) this form divides by zero; the derivatives are then
propagated time by time instead (O(cases x times)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from ._arrays import at_risk, readonly
from .followup import CLOSURE, LOSS


@dataclass(frozen=True)
class CompetingHorizon:
    """Cumulative incidence of each outcome ``years`` after transfer (None beyond follow-up)."""

    years: float
    closure: float | None
    loss: float | None
    at_risk: int
    closure_ci: tuple[float | None, float | None] = (None, None)
    loss_ci: tuple[float | None, float | None] = (None, None)


@dataclass(frozen=True, eq=False)
class CompetingSteps:
    """The curves at each distinct stop time (years): counts there and values from there on."""

    time: np.ndarray
    at_risk: np.ndarray
    closures: np.ndarray
    losses: np.ndarray
    censored: np.ndarray
    closure: np.ndarray
    loss: np.ndarray
    survival: np.ndarray


@dataclass(frozen=True)
class CompetingResult:
    """Aalen-Johansen summary of one group: ``n`` cases, exit counts, horizons and steps."""

    n: int
    closures: int
    losses: int
    horizons: tuple[CompetingHorizon, ...]
    steps: CompetingSteps


def _steps(entry: np.ndarray, stop: np.ndarray, cause: np.ndarray) -> CompetingSteps:
    time, slot = np.unique(stop, return_inverse=True)
    counts = np.bincount(slot * 3 + cause, minlength=3 * len(time)).reshape(len(time), 3)
    n = at_risk(np.sort(entry), np.sort(stop), time)
    exits = counts[:, CLOSURE] + counts[:, LOSS]
    survival = np.cumprod(1.0 - exits / n)
    before = np.r_[1.0, survival[:-1]]  # S(t-)
    return CompetingSteps(
        time=readonly(time),
        at_risk=readonly(n),
        closures=readonly(counts[:, CLOSURE]),
        losses=readonly(counts[:, LOSS]),
        censored=readonly(counts[:, 0]),
        closure=readonly(np.cumsum(before * counts[:, CLOSURE] / n)),
        loss=readonly(np.cumsum(before * counts[:, LOSS] / n)),
        survival=readonly(survival),
    )


def cumulative_incidence(
    entry: np.ndarray,
    stop: np.ndarray,
    cause: np.ndarray,
    horizons: Sequence[float] = (1, 2, 3, 4, 5),
) -> CompetingResult:
    """Cumulative incidence of closure and of loss (fractions) at each horizon (years).

    ``cause`` per case is 0 (censored at ``stop``: still open, or exit after as_of), 1 (closure
    at ``stop``) or 2 (loss of the cooperative form at ``stop``), as ``FollowUp.cause``. Cases
    are at risk on ``entry < t <= stop``; horizons beyond the longest follow-up give None.
    """
    entry = np.asarray(entry, dtype=float)
    stop = np.asarray(stop, dtype=float)
    cause = np.asarray(cause, dtype=np.int64)
    steps = _steps(entry, stop, cause)
    t = np.asarray(horizons, dtype=float)
    k = np.searchsorted(steps.time, t, side="right")
    beyond = t > (steps.time[-1] if len(steps.time) else -np.inf)
    closure = np.where(beyond, np.nan, np.r_[0.0, steps.closure][k])
    loss = np.where(beyond, np.nan, np.r_[0.0, steps.loss][k])
    counts = at_risk(np.sort(entry), np.sort(stop), t)
    se = _jackknife_se(entry, stop, cause, steps, t)
    return CompetingResult(
        n=len(stop),
        closures=int((cause == CLOSURE).sum()),
        losses=int((cause == LOSS).sum()),
        horizons=tuple(
            CompetingHorizon(
                years=h,
                closure=None if beyond[i] else float(closure[i]),
                loss=None if beyond[i] else float(loss[i]),
                at_risk=int(counts[i]),
                closure_ci=(None, None) if beyond[i] else _log_interval(closure[i], se[i, 0]),
                loss_ci=(None, None) if beyond[i] else _log_interval(loss[i], se[i, 1]),
            )
            for i, h in enumerate(horizons)
        ),
        steps=steps,
    )


#: qnorm(0.975) to full precision.
_Z = float(ndtri(0.975))


def _log_interval(f: float, se: float) -> tuple[float | None, float | None]:
    """R's ``conf.type = "log"`` interval of a cumulative incidence; None where F = 0."""
    if not f > 0 or not np.isfinite(se):
        return None, None
    return float(f * np.exp(-_Z * se / f)), float(min(1.0, f * np.exp(_Z * se / f)))


def _jackknife_se(
    entry: np.ndarray, stop: np.ndarray, cause: np.ndarray, steps: CompetingSteps, horizons: np.ndarray
) -> np.ndarray:
    """Infinitesimal-jackknife standard errors of (closure, loss) at each horizon, (horizons x 2)."""
    time, n = steps.time, steps.at_risk.astype(float)
    d = np.stack([steps.closures, steps.losses], axis=1).astype(float)  # (times x 2)
    hazard = d / n[:, None]
    total = hazard.sum(axis=1)
    out = np.zeros((len(horizons), 2))
    if len(time) == 0:
        return out
    # Each case's at-risk times are the indices lo..hi (entry < time <= stop); its exit at hi.
    lo = np.searchsorted(time, entry, side="right")
    hi = np.searchsorted(time, stop, side="left")
    last = np.searchsorted(time, horizons, side="right") - 1  # last time <= each horizon
    if np.any(total[: max(last.max(initial=-1), -1) + 1] >= 1):
        return _jackknife_se_loop(lo, hi, cause, steps, last)
    before = np.r_[1.0, steps.survival[:-1]]  # S(u-)
    cif = np.stack([steps.closure, steps.loss], axis=1)
    # l = 1 can only occur after the last horizon here: the values computed there are never used.
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 1.0 / (n * (1.0 - total))  # a_i(u) / (1 - l(u)) = (dN_i(u) - Y_i(u) l(u)) * scale
        exits = cause > 0
        for h, j in enumerate(last):
            if j < 0:
                continue  # before the first time: F = 0, no variance
            top = np.minimum(hi, j)  # at-risk times up to the horizon
            for k in range(2):
                f_t = cif[j, k]

                def span(values: np.ndarray, j: int = int(j), top: np.ndarray = top) -> np.ndarray:
                    """Sum of ``values`` over each case's at-risk times up to the horizon."""
                    cum = np.r_[0.0, np.cumsum(values[: j + 1])]
                    return np.where(top >= lo, cum[np.clip(top + 1, 0, j + 1)] - cum[np.clip(lo, 0, j + 1)], 0.0)

                # sum_{u<=t} S(u-) a_ik(u): own exit of cause k, minus the at-risk part.
                own = np.where((cause == k + 1) & (hi <= j), before[np.minimum(hi, len(time) - 1)]
                               / n[np.minimum(hi, len(time) - 1)], 0.0)
                direct = own - span(before * hazard[:, k] / n)
                # sum_{u<=t} a_i(u) / (1 - l(u)) * (F_k(t) - F_k(u)): own exit, minus the at-risk part.
                gap = f_t - cif[:, k]
                safe_hi = np.minimum(hi, len(time) - 1)
                own_total = np.where(exits & (hi <= j), scale[safe_hi] * gap[safe_hi], 0.0)
                indirect = own_total - span(total * scale * gap)
                influence = direct - indirect
                out[h, k] = float(np.sqrt(np.sum(influence**2)))
    return out


def _jackknife_se_loop(
    lo: np.ndarray, hi: np.ndarray, cause: np.ndarray, steps: CompetingSteps, last: np.ndarray
) -> np.ndarray:
    """The same derivatives propagated time by time (valid where every case at risk exits)."""
    n = steps.at_risk.astype(float)
    d = np.stack([steps.closures, steps.losses], axis=1).astype(float)
    hazard = d / n[:, None]
    out = np.zeros((len(last), 2))
    ds = np.zeros(len(cause))  # derivative of S(u-)
    df = np.zeros((len(cause), 2))
    s_before = 1.0
    wanted: dict[int, list[int]] = {}
    for h, j in enumerate(last):
        wanted.setdefault(int(j), []).append(h)
    for u in range(int(last.max(initial=-1)) + 1):
        at = (lo <= u) & (hi >= u)
        exit_here = hi == u
        a = np.zeros((len(cause), 2))
        for k in range(2):
            a[:, k] = (((cause == k + 1) & exit_here).astype(float) - at * hazard[u, k]) / n[u]
        df += ds[:, None] * hazard[u] + s_before * a
        ds = ds * (1.0 - hazard[u].sum()) - s_before * a.sum(axis=1)
        s_before = s_before * (1.0 - hazard[u].sum())
        for h in wanted.get(u, ()):
            out[h] = np.sqrt((df**2).sum(axis=0))
    return out
