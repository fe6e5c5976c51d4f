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
    """The model cannot be fitted on these cases; the message says why, in English. `reason` names
    the cause and `params` its values (covariate, levels) for a caller that writes it in the
    reader's language (this package translates nothing); empty for a call the query never makes."""

    def __init__(self, message: str, reason: str = "", **params: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.params = params


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
                raise CoxModelError(f"covariate {c.name} has the same value for every case in the model",
                                    "constant", covariate=c.name)
            columns.append(inside.astype(float))
            labels.append((c.name, None, None))
            continue
        # Levels by name; counted and split by hashing (pandas), not by comparing strings.
        codes, uniques = pd.factorize(inside, sort=True)
        levels = np.asarray(uniques, dtype=object)
        counts = np.bincount(codes, minlength=len(levels))
        if len(levels) < 2:
            only = f" ({levels[0]})" if len(levels) else ""
            raise CoxModelError(f"covariate {c.name} has only one level in the model{only}: nothing to compare",
                                "one_level", covariate=c.name)
        events = np.bincount(codes, weights=event[keep], minlength=len(levels))
        without = [str(lv) for lv, d in zip(levels, events, strict=True) if d == 0]
        if without:
            raise CoxModelError(
                f"covariate {c.name}: level {', '.join(without)} has no event, so its hazard ratio "
                "cannot be estimated (leave the covariate out, or filter that level out)",
                "level_without_event", covariate=c.name, levels=", ".join(without),
            )
        # Reference: the most cases, ties broken by name (the levels are sorted by name).
        reference_code = int(np.argmax(counts))
        reference = str(levels[reference_code])
        # Indicators of the other levels, read off an identity matrix by code (one pass, no comparisons).
        others = [code for code in range(len(levels)) if code != reference_code]
        columns.append(np.eye(len(levels))[:, others][codes])
        labels.extend((c.name, str(levels[code]), reference) for code in others)
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
        self._patterns_of: np.ndarray | None = None
        self._patterns: _Patterns | None = None

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

    def patterns(self, x: np.ndarray) -> _Patterns | None:
        """The design's distinct rows, if few: categorical covariates give at most the product of
        their levels (96 for the benchmark's three), however many cases. Built once per design."""
        if self._patterns_of is not x:
            self._patterns_of, self._patterns = x, _Patterns.of(self, x)
        return self._patterns

    def efron(self, x: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """exp(linear predictor) of the cases (of the patterns, with few patterns), then per death
        (in tie-set order) the Efron denominator and numerator, and phi * x (cases or patterns)."""
        slots = len(self.times)
        grouped = self.patterns(x)
        if grouped is not None:
            phi = np.exp(grouped.rows @ beta)
            phi_x = phi[:, None] * grouped.rows
            s0, s1 = grouped.at_risk @ phi, grouped.at_risk @ phi_x
            t0, t1 = grouped.deaths @ phi, grouped.deaths @ phi_x
        else:
            eta = x @ beta
            phi = np.exp(eta)
            phi_x = phi[:, None] * x
            s0, s1 = self.sums(phi), self.sums(phi_x)
            t0 = np.bincount(self.death_slot, weights=phi[self.death], minlength=slots)
            dead_phi_x = phi_x[self.death]
            t1 = np.column_stack([np.bincount(self.death_slot, weights=dead_phi_x[:, k], minlength=slots)
                                  for k in range(x.shape[1])])
        f = self.fraction
        denom = s0[self.death_slot] - f * t0[self.death_slot]
        numer = s1[self.death_slot] - f[:, None] * t1[self.death_slot]
        return phi, denom, numer, phi_x

    def gradients(self, x: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Hessian, gradient and log partial likelihood (Efron), as lifelines' ``_get_gradients``."""
        phi, denom, numer, _phi_x = self.efron(x, beta)
        grouped = self.patterns(x)
        inv = 1.0 / denom
        c = np.bincount(self.death_slot, weights=inv, minlength=len(self.times))
        e = np.bincount(self.death_slot, weights=self.fraction * inv, minlength=len(self.times))
        summand = numer * inv[:, None]
        if grouped is not None:
            # Per pattern: the cases' weights summed over their risk sets (c) less the deaths' (e).
            rows, dead = grouped.rows, grouped.dead_pattern
            eta_dead = (rows @ beta)[dead]
            log_lik = float(eta_dead.sum() - np.log(denom).sum())
            gradient = grouped.deaths.sum(axis=0) @ rows - summand.sum(axis=0)
            weight = phi * (c @ grouped.at_risk - e @ grouped.deaths)
            hessian = summand.T @ summand - (rows * weight[:, None]).T @ rows
            return hessian, gradient, log_lik
        eta = x @ beta
        log_lik = float(eta[self.death].sum() - np.log(denom).sum())
        gradient = x[self.death].sum(axis=0) - summand.sum(axis=0)
        cum_c = np.r_[0.0, np.cumsum(c)]
        weight = phi * (cum_c[self.hi] - cum_c[self.lo])
        weight[self.death] -= phi[self.death] * e[self.death_slot]
        hessian = summand.T @ summand - (x * weight[:, None]).T @ x
        return hessian, gradient, log_lik

    def schoenfeld(self, x: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Schoenfeld residuals of the deaths (in ``self.death`` order), Efron mean at ties."""
        _phi, denom, numer, _phi_x = self.efron(x, beta)
        means = np.zeros((len(self.times), x.shape[1]))
        np.add.at(means, self.death_slot, numer / denom[:, None])
        means /= self.tie_count[:, None]
        grouped = self.patterns(x)
        dead_x = grouped.rows[grouped.dead_pattern] if grouped is not None else x[self.death]
        return dead_x - means[self.death_slot]


#: The most (patterns × event times) cells kept for the grouped sums (8 bytes each, two tables).
MAX_PATTERN_CELLS = 5_000_000


@dataclass(frozen=True, eq=False)
class _Patterns:
    """Cases with the same covariate values contribute alike: the risk-set sums are then counts
    at risk and deaths per (event time, pattern), computed once, times each pattern's weight at
    every iteration (O(event times x patterns) instead of O(cases) per column)."""

    rows: np.ndarray  # patterns x columns
    at_risk: np.ndarray  # event times x patterns: cases of the pattern at risk
    deaths: np.ndarray  # event times x patterns: deaths of the pattern
    dead_pattern: np.ndarray  # the pattern of each death (in the risk sets' death order)

    @classmethod
    def of(cls, risk: _RiskSets, x: np.ndarray) -> _Patterns | None:
        if x.ndim != 2 or not len(x) or not np.all(np.isfinite(x)):
            return None
        # One number per row (a fixed random projection), then a check that equal keys are equal rows.
        key = x @ np.random.default_rng(20251203).uniform(1.0, 2.0, x.shape[1])
        _keys, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        slots = len(risk.times)
        if len(first) * (slots + 1) > MAX_PATTERN_CELLS:
            return None
        rows = x[first]
        if not np.array_equal(rows[inverse], x):
            return None
        count = len(first)
        inverse = inverse.astype(np.int64)
        bins = (slots + 1) * count
        entering = np.bincount(risk.lo * count + inverse, minlength=bins).reshape(slots + 1, count)
        leaving = np.bincount(risk.hi * count + inverse, minlength=bins).reshape(slots + 1, count)
        at_risk = np.cumsum(entering - leaving, axis=0)[:-1].astype(float)
        dead = inverse[risk.death]
        deaths = np.bincount(risk.death_slot * count + dead, minlength=slots * count).reshape(slots, count)
        return cls(rows=rows, at_risk=at_risk, deaths=deaths.astype(float), dead_pattern=dead)


def _log_partial_hazard(fitter: Any, X: Any) -> pd.Series | None:
    """(x - mean) . beta of the rows of a frame holding the model's columns (else None)."""
    names = list(fitter.params_.index)
    if not (isinstance(X, pd.DataFrame) and all(name in X.columns for name in names)):
        return None
    values = X[names].to_numpy(dtype=float)
    return pd.Series((values - fitter._norm_mean[names].to_numpy()) @ fitter.params_.to_numpy(), index=X.index)


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

        def predict_log_partial_hazard(self, X: Any) -> Any:
            # lifelines predicts every training case once at the end of `fit` (through its formula
            # machinery, copying the frame): the same (x - mean) . beta, straight from the columns.
            direct = _log_partial_hazard(self, X)
            return direct if direct is not None else super().predict_log_partial_hazard(X)

        def _choose_gradient_calculator(self, T: Any, X: Any, entries: Any) -> Any:
            if entries is None:
                return super()._choose_gradient_calculator(T, X, entries)
            built: dict[str, Any] = {}

            def gradients(X: Any, T: Any, E: Any, weights: Any, entries: Any, beta: np.ndarray) -> Any:
                if "risk" not in built:
                    if not np.all(np.asarray(weights, dtype=float) == 1.0):
                        raise ValueError("the risk-set sums assume unit case weights")
                    built["risk"] = _RiskSets(np.asarray(entries, dtype=float), np.asarray(T, dtype=float),
                                              np.asarray(E, dtype=bool))
                if built.get("X") is not X:  # the same design at every iteration: its patterns are kept
                    built["X"], built["x"] = X, np.asarray(X, dtype=float)
                return built["risk"].gradients(built["x"], beta)

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
        raise CoxModelError("no case has a value for every covariate", "no_complete_case")
    if not event[keep].any():
        raise CoxModelError("no event among the cases in the model", "no_event")
    x, labels = _columns(covariates, prepared, keep, event)
    columns = [f"x{i}" for i in range(x.shape[1])]
    # One float block, already in lifelines' order (by stop, then event): lifelines copies and
    # sorts the frame, which costs seconds on a million cases when it is made of several blocks.
    inside = (entry[keep], stop[keep], event[keep].astype(float))
    order = np.lexsort((inside[2], inside[1]))
    frame = pd.DataFrame(np.column_stack([x[order], *(v[order] for v in inside)]),
                         columns=[*columns, "entry", "stop", "event"])
    fitter = _fitter_class()()
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            fitter.fit(frame, "stop", "event", entry_col="entry", fit_options=dict(FIT_OPTIONS))
        except (ConvergenceError, ConvergenceWarning, np.linalg.LinAlgError) as exc:
            raise CoxModelError(
                "the model did not converge (a covariate may separate the cases that close from "
                f"those that do not, or two covariates say the same): {str(exc).splitlines()[0][:200]}",
                "no_convergence",
            ) from None
    coef = fitter.params_.to_numpy(dtype=float)
    se = fitter.standard_errors_.to_numpy(dtype=float)
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(se))):
        raise CoxModelError("the model did not converge (infinite coefficients)", "no_convergence")
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
