"""Cox proportional-hazards model with delayed entry, Efron ties, and a proportional-hazards test.

The model is fitted by lifelines' ``CoxPHFitter`` (``entry_col`` for delayed entry, Efron ties,
``fit_options={"precision": 1e-16, "r_precision": 1e-16}``: its defaults stop about 1e-5 from the
optimum). With ``entry_col`` lifelines evaluates the partial likelihood with one pass over every
case per event time (``CoxTimeVaryingFitter._get_gradients``), which takes minutes on a million
cases; ``_DelayedEntryCox`` hands it the same log-likelihood, gradient and Hessian computed with
cumulative sums over the risk sets (``entry < t <= stop``), so that lifelines' Newton-Raphson,
standard errors and likelihood-ratio test run unchanged (the unit tests compare the two).

Covariates: categorical ones are coded as indicators of each level against a reference level
(the level with the most cases in the model, ties broken by name), levels by name; numeric ones
enter as they are. A case with no value for some covariate is left out. The figures equal R
``coxph(Surv(entry, stop, event) ~ ..., ties = "efron")`` with the same reference levels.

Proportional-hazards diagnostic: scaled Schoenfeld residuals (Grambsch & Therneau) on the same
delayed-entry risk sets, with the Efron mean at tied event times, tested per model term against
the time transform 1 - KM(t) by lifelines' ``proportional_hazard_test(time_transform="km")``:
a chi-square on 1 degree of freedom per term; a small p-value says the term's hazard ratio
changes with the time since transfer.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import chdtrc, ndtr

from .km import Z95

#: ``CoxPHFitter.fit`` options that reach R's optimum (docs/design.md).
FIT_OPTIONS = {"precision": 1e-16, "r_precision": 1e-16}
PH_TEST_METHOD = (
    "Grambsch-Therneau test of the scaled Schoenfeld residuals against 1 - KM(t), one term at a time "
    "(lifelines proportional_hazard_test, time_transform='km'; chi-square, 1 df per term)"
)


class CoxModelError(ValueError):
    """The model cannot be fitted on these cases; the message says why, for the user."""


@dataclass(frozen=True, eq=False)
class CoxCovariate:
    """One covariate of the model, one value per case.

    Categorical: labels (str; None or ``missing_labels`` mean no value). Numeric: floats (NaN
    means no value).
    """

    name: str
    values: np.ndarray
    categorical: bool
    missing_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class CoxTerm:
    """One coefficient: a numeric covariate (``level`` and ``reference`` None) or one level of a
    categorical one against its reference level. ``hazard_ratio`` = exp(coef), CI exp(coef -/+ z se)."""

    covariate: str
    level: str | None
    reference: str | None
    coef: float
    se: float
    hazard_ratio: float
    ci_lower: float
    ci_upper: float
    z: float
    p_value: float


@dataclass(frozen=True)
class PHTestTerm:
    """The proportional-hazards test of one term: chi-square on 1 df and its p-value."""

    covariate: str
    level: str | None
    statistic: float
    df: int
    p_value: float


@dataclass(frozen=True)
class CoxResult:
    """A fitted model: cases and events in it, cases left out for want of a covariate value,
    terms in the order the covariates were given, log-likelihoods and the likelihood-ratio test."""

    n: int
    events: int
    ties: str
    missing_covariate: int
    terms: tuple[CoxTerm, ...]
    loglik_null: float
    loglik: float
    lr_statistic: float
    lr_df: int
    lr_p_value: float
    ph_test: tuple[PHTestTerm, ...]
    ph_method: str = PH_TEST_METHOD


# --- design matrix ------------------------------------------------------------------------------


def _design(covariates: Sequence[CoxCovariate], n_cases: int) -> tuple[np.ndarray, list[np.ndarray], list[tuple]]:
    """Which cases have every value; the model columns; per column (covariate, level, reference)."""
    names = [c.name for c in covariates]
    if not covariates:
        raise CoxModelError("give at least one covariate")
    if len(set(names)) != len(names):
        raise CoxModelError("a covariate must not be given twice")
    keep = np.ones(n_cases, dtype=bool)
    prepared = []
    for c in covariates:
        if len(c.values) != n_cases:
            raise CoxModelError(f"covariate {c.name}: one value per case is needed")
        if c.categorical:
            labels = pd.Series(np.asarray(c.values, dtype=object), dtype=object)
            missing = labels.isna().to_numpy() | labels.isin(list(c.missing_labels)).to_numpy()
            prepared.append(labels.astype(str).to_numpy(dtype=object))
        else:
            numbers = np.asarray(c.values, dtype=float)
            missing = ~np.isfinite(numbers)
            prepared.append(numbers)
        keep &= ~missing
    return keep, prepared, names  # type: ignore[return-value]


def _columns(
    covariates: Sequence[CoxCovariate], prepared: list[np.ndarray], keep: np.ndarray, event: np.ndarray
) -> tuple[np.ndarray, list[tuple[str, str | None, str | None]]]:
    columns: list[np.ndarray] = []
    labels: list[tuple[str, str | None, str | None]] = []
    for c, values in zip(covariates, prepared, strict=True):
        inside = values[keep]
        if not c.categorical:
            if len(inside) and np.ptp(inside) == 0:
                raise CoxModelError(f"covariate {c.name} has the same value for every case in the model")
            columns.append(inside.astype(float))
            labels.append((c.name, None, None))
            continue
        # Levels by name; counted and split by hashing (pandas), not by comparing strings.
        codes, uniques = pd.factorize(inside, sort=True)
        levels = np.asarray(uniques, dtype=object)
        counts = np.bincount(codes, minlength=len(levels))
        if len(levels) < 2:
            only = f" ({levels[0]})" if len(levels) else ""
            raise CoxModelError(f"covariate {c.name} has only one level in the model{only}: nothing to compare")
        events = np.bincount(codes, weights=event[keep], minlength=len(levels))
        without = [str(lv) for lv, d in zip(levels, events, strict=True) if d == 0]
        if without:
            raise CoxModelError(
                f"covariate {c.name}: level {', '.join(without)} has no event, so its hazard ratio "
                "cannot be estimated (leave the covariate out, or filter that level out)"
            )
        # Reference: the most cases, ties broken by name (the levels are sorted by name).
        reference_code = int(np.argmax(counts))
        reference = str(levels[reference_code])
        for code, level in enumerate(levels):
            if code != reference_code:
                columns.append((codes == code).astype(float))
                labels.append((c.name, str(level), reference))
    return np.column_stack(columns), labels


# --- the partial likelihood with delayed entry, by cumulative sums ------------------------------


class _RiskSets:
    """Index structures of one data set, shared by every Newton-Raphson iteration."""

    def __init__(self, start: np.ndarray, stop: np.ndarray, events: np.ndarray) -> None:
        self.events = events.astype(bool)
        self.times = np.unique(stop[self.events])  # distinct event times
        death = np.flatnonzero(self.events)
        slot = np.searchsorted(self.times, stop[death])
        order = np.argsort(slot, kind="stable")
        self.death, self.death_slot = death[order], slot[order]
        self.tie_count = np.bincount(self.death_slot, minlength=len(self.times)).astype(float)
        first = np.searchsorted(self.death_slot, np.arange(len(self.times)))
        self.tie_rank = np.arange(len(self.death)) - first[self.death_slot]  # r = 0 .. m-1 in its tie set
        self.fraction = self.tie_rank / self.tie_count[self.death_slot]  # r / m
        # Event times at which each case is at risk: slots lo..hi-1 (entry < t <= stop).
        self.lo = np.searchsorted(self.times, start, side="right")
        self.hi = np.searchsorted(self.times, stop, side="right")

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (n or n x d) over the risk set at each event time: a case is in the
        risk sets lo..hi-1, so the sum is the running total of the values binned by ``lo`` minus
        that of the values binned by ``hi`` (two bincounts per column; no sorting, no copy of the
        n x d array)."""
        bins = len(self.times) + 1
        if values.ndim == 1:
            return (np.cumsum(np.bincount(self.lo, weights=values, minlength=bins))
                    - np.cumsum(np.bincount(self.hi, weights=values, minlength=bins)))[:-1]
        return np.column_stack([self.sums(values[:, k]) for k in range(values.shape[1])])

    def efron(self, x: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per death (in tie-set order): denominator, numerator, and the risk-set weights."""
        eta = x @ beta
        phi = np.exp(eta)
        phi_x = phi[:, None] * x
        s0, s1 = self.sums(phi), self.sums(phi_x)
        slots = len(self.times)
        t0 = np.bincount(self.death_slot, weights=phi[self.death], minlength=slots)
        dead_phi_x = phi_x[self.death]
        t1 = np.column_stack([np.bincount(self.death_slot, weights=dead_phi_x[:, k], minlength=slots)
                              for k in range(x.shape[1])])
        f = self.fraction
        denom = s0[self.death_slot] - f * t0[self.death_slot]
        numer = s1[self.death_slot] - f[:, None] * t1[self.death_slot]
        return eta, phi, denom, numer

    def gradients(self, x: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Hessian, gradient and log partial likelihood (Efron), as lifelines' ``_get_gradients``."""
        eta, phi, denom, numer = self.efron(x, beta)
        log_lik = float(eta[self.death].sum() - np.log(denom).sum())
        gradient = x[self.death].sum(axis=0) - (numer / denom[:, None]).sum(axis=0)
        inv = 1.0 / denom
        c = np.bincount(self.death_slot, weights=inv, minlength=len(self.times))
        e = np.bincount(self.death_slot, weights=self.fraction * inv, minlength=len(self.times))
        cum_c = np.r_[0.0, np.cumsum(c)]
        weight = phi * (cum_c[self.hi] - cum_c[self.lo])
        weight[self.death] -= phi[self.death] * e[self.death_slot]
        summand = numer * inv[:, None]
        hessian = summand.T @ summand - (x * weight[:, None]).T @ x
        return hessian, gradient, log_lik

    def schoenfeld(self, x: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Schoenfeld residuals of the deaths (in ``self.death`` order), Efron mean at ties."""
        _eta, _phi, denom, numer = self.efron(x, beta)
        means = np.zeros((len(self.times), x.shape[1]))
        np.add.at(means, self.death_slot, numer / denom[:, None])
        means /= self.tie_count[:, None]
        return x[self.death] - means[self.death_slot]


def _fitter_class() -> type:
    from lifelines import CoxPHFitter
    from lifelines.fitters.coxph_fitter import SemiParametricPHFitter

    class _DelayedEntryModel(SemiParametricPHFitter):
        """The semi-parametric model lifelines fits inside ``CoxPHFitter`` (Breslow baseline), with
        the risk-set sums above for the delayed-entry likelihood. The sums are built on the first
        call, from the arrays lifelines passes (sorted by duration; the same at every iteration)."""

        def _compute_central_values_of_raw_training_data(self, df: Any, strata: Any = None,
                                                         name: str = "baseline") -> Any:
            # lifelines describes every column of the training data here (for its plots and
            # "typical case" predictions, which the app does not use): seconds on a million cases.
            return None

        def _choose_gradient_calculator(self, T: Any, X: Any, entries: Any) -> Any:
            if entries is None:
                return super()._choose_gradient_calculator(T, X, entries)
            built: dict[str, _RiskSets] = {}

            def gradients(X: Any, T: Any, E: Any, weights: Any, entries: Any, beta: np.ndarray) -> Any:
                if "risk" not in built:
                    if not np.all(np.asarray(weights, dtype=float) == 1.0):
                        raise ValueError("the risk-set sums assume unit case weights")
                    built["risk"] = _RiskSets(np.asarray(entries, dtype=float), np.asarray(T, dtype=float),
                                              np.asarray(E, dtype=bool))
                return built["risk"].gradients(np.asarray(X, dtype=float), beta)

            return gradients

    class _DelayedEntryCox(CoxPHFitter):
        """lifelines' ``CoxPHFitter`` whose Breslow model is ``_DelayedEntryModel``."""

        def _fit_model_breslow(self, *args: Any, **kwargs: Any) -> Any:
            model = _DelayedEntryModel(penalizer=self.penalizer, l1_ratio=self.l1_ratio, strata=self.strata,
                                       alpha=self.alpha, label=self._label)
            model.fit(*args, **kwargs)
            return model

    return _DelayedEntryCox


def cox_model(
    entry: np.ndarray,
    stop: np.ndarray,
    event: np.ndarray,
    covariates: Sequence[CoxCovariate],
    *,
    ph_test: bool = True,
) -> CoxResult:
    """Fit the Cox model on the cases at risk on ``entry < t <= stop`` (years since transfer).

    Raises ``CoxModelError`` with a message for the user when the model cannot be fitted: a
    covariate with one level or with the same value everywhere, a level without any event, no
    case or no event in the model, or a fit that does not converge.
    """
    entry = np.asarray(entry, dtype=float)
    stop = np.asarray(stop, dtype=float)
    event = np.asarray(event, dtype=bool)
    keep, prepared, _names = _design(covariates, len(stop))
    n = int(keep.sum())
    if n == 0:
        raise CoxModelError("no case has a value for every covariate")
    if not event[keep].any():
        raise CoxModelError("no event among the cases in the model")
    x, labels = _columns(covariates, prepared, keep, event)
    columns = [f"x{i}" for i in range(x.shape[1])]
    frame = pd.DataFrame(x, columns=columns)
    frame["entry"], frame["stop"], frame["event"] = entry[keep], stop[keep], event[keep].astype(int)
    fitter = _fitter_class()()
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            fitter.fit(frame, "stop", "event", entry_col="entry", fit_options=dict(FIT_OPTIONS))
        except (ConvergenceError, ConvergenceWarning, np.linalg.LinAlgError) as exc:
            raise CoxModelError(
                "the model did not converge (a covariate may separate the cases that close from "
                f"those that do not, or two covariates say the same): {str(exc).splitlines()[0][:200]}"
            ) from None
    coef = fitter.params_.to_numpy(dtype=float)
    se = fitter.standard_errors_.to_numpy(dtype=float)
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(se))):
        raise CoxModelError("the model did not converge (infinite coefficients)")
    z = coef / se
    terms = tuple(
        CoxTerm(
            covariate=name, level=level, reference=reference, coef=float(b), se=float(s),
            hazard_ratio=float(np.exp(b)), ci_lower=float(np.exp(b - Z95 * s)), ci_upper=float(np.exp(b + Z95 * s)),
            z=float(zz), p_value=float(2 * ndtr(-abs(zz))),
        )
        for (name, level, reference), b, s, zz in zip(labels, coef, se, z, strict=True)
    )
    loglik, loglik_null = float(fitter.log_likelihood_), float(fitter._ll_null_)
    lr = 2 * (loglik - loglik_null)
    df = len(coef)
    ph = _ph_test(fitter, frame, columns, coef, labels) if ph_test else ()
    return CoxResult(
        n=n, events=int(event[keep].sum()), ties="efron", missing_covariate=int(len(stop) - n), terms=terms,
        loglik_null=loglik_null, loglik=loglik, lr_statistic=float(lr), lr_df=df,
        lr_p_value=float(chdtrc(df, max(lr, 0.0))), ph_test=ph,
    )


def _ph_test(fitter: Any, frame: pd.DataFrame, columns: list[str], coef: np.ndarray,
             labels: list[tuple[str, str | None, str | None]]) -> tuple[PHTestTerm, ...]:
    from lifelines.statistics import proportional_hazard_test

    x = frame[columns].to_numpy(dtype=float)
    risk = _RiskSets(frame["entry"].to_numpy(float), frame["stop"].to_numpy(float), frame["event"].to_numpy(bool))
    residuals = risk.schoenfeld(x, coef)
    scaled = len(risk.death) * residuals @ fitter.variance_matrix_.to_numpy(dtype=float)
    table = pd.DataFrame(scaled, columns=fitter.params_.index, index=frame.index[risk.death])
    # lifelines reads the residuals in the order of its (sorted) durations.
    order = fitter.durations.index[fitter.event_observed.to_numpy(dtype=bool)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = proportional_hazard_test(fitter, None, time_transform="km", precomputed_residuals=table.loc[order])
    statistic = np.atleast_1d(np.asarray(result.test_statistic, dtype=float))
    p_value = np.atleast_1d(np.asarray(result.p_value, dtype=float))
    return tuple(
        PHTestTerm(covariate=name, level=level, statistic=float(s), df=1, p_value=float(p))
        for (name, level, _ref), s, p in zip(labels, statistic, p_value, strict=True)
    )
