"""Competing outcomes: cumulative incidence of closure and of loss of the cooperative form.

Aalen-Johansen estimator with delayed entry, computed directly (lifelines'
``AalenJohansenFitter`` jitters tied times, which would change the figures). With ``n`` cases at
risk (``entry < t <= stop``, years since transfer) at a distinct stop time t, ``d_closure`` and
``d_loss`` exits there, and ``S(t-)`` the all-exits Kaplan-Meier just before t::

    CIF_cause(t) = sum over times u <= t of S(u-) * d_cause(u) / n(u)

so that ``CIF_closure + CIF_loss = 1 - KM`` with every exit as the event (the ``cooperative``
endpoint). Closure = liquidation, dissolution, other; loss = sold, merged, demutualised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._arrays import at_risk, readonly
from .followup import CLOSURE, LOSS


@dataclass(frozen=True)
class CompetingHorizon:
    """Cumulative incidence of each outcome ``years`` after transfer (None beyond follow-up)."""

    years: float
    closure: float | None
    loss: float | None
    at_risk: int


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
            )
            for i, h in enumerate(horizons)
        ),
        steps=steps,
    )
