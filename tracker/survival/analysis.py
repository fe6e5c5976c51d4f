"""One call from case arrays to the survival report of docs/design.md, and its JSON shape.

``analyse`` prepares follow-up (``followup``), estimates Kaplan-Meier per group (``km``), tests
the groups with the log-rank test (``logrank``) and, when given baselines, adds relative
survival (``relative``). ``report_to_dict`` gives exactly the ``tracker survival --format json``
/ ``GET /api/v1/survival`` shape, plus a few extra keys (``unstable``, ``excluded``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from ._arrays import SortedCases, factorize_labels, split_by_code
from .competing import CompetingResult, cumulative_incidence
from .cox import CoxCovariate, CoxModelError, CoxResult, cox_model
from .errors import N_, InvalidSurvivalOptions
from .followup import ENDPOINTS, CaseArrays, FollowUp, prepare_followup
from .groups import AGE_BAND_VALUES
from .hazard import HazardYear, annual_hazard
from .km import (
    HorizonEstimate,
    KMSteps,
    MedianInterval,
    RestrictedMean,
    kaplan_meier_sorted,
    median_interval,
    restricted_mean,
)
from .logrank import LogRankResult, PairwiseLogRank, logrank_with_pairs
from .relative import BaselineCurve, RelativeHorizon, RelativeResult, relative_survival

DEFAULT_HORIZONS = (1, 2, 3, 4, 5)
MAX_HORIZON = 50
DEFAULT_RMST_TAU = 5.0
ALL = "all"
#: A two-field group is named "<level 1> / <level 2>".
LEVEL_SEPARATOR = " / "


def _check_horizons(horizons: Iterable[object]) -> tuple[int, ...]:
    values = tuple(horizons)
    if not values:
        raise InvalidSurvivalOptions(N_("give at least one horizon"))
    checked: list[int] = []
    for h in values:
        if isinstance(h, bool) or not isinstance(h, int | np.integer) or not 1 <= h <= MAX_HORIZON:
            raise InvalidSurvivalOptions(N_("horizons must be whole numbers of years from 1 to %(max)d, not %(value)s"),
                                         max=MAX_HORIZON, value=repr(h))
        checked.append(int(h))
    if len(set(values)) != len(values):
        raise InvalidSurvivalOptions(N_("horizons must not repeat"))
    return tuple(sorted(checked))


def parse_horizons(text: str) -> tuple[int, ...]:
    """Parse ``"1,2,3,4,5"`` (the ``--horizons`` option) into validated horizons (years)."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidSurvivalOptions(N_("horizons must be comma-separated whole numbers of years, not %(value)s"),
                                     value=repr(text)) from None
    return _check_horizons(values)


@dataclass(frozen=True)
class AnalysisOptions:
    """Options of one analysis; invalid values raise ``InvalidSurvivalOptions``.

    ``as_of``: analysis date. ``endpoint``: ``enterprise`` or ``cooperative``. ``delayed_entry``:
    enter cases at registration (left truncation). ``group_by``: name of the grouping field, or
    two names joined by a comma (the labels themselves are passed to ``analyse``). ``horizons``:
    whole years 1..50. ``unstable_below``: flag horizons with fewer cases at risk than this.
    ``rmst_tau``: the restriction time (years, > 0) of the restricted mean survival time.
    """

    as_of: date
    endpoint: str = "enterprise"
    delayed_entry: bool = True
    group_by: str | None = None
    horizons: tuple[int, ...] = DEFAULT_HORIZONS
    unstable_below: int = 10
    rmst_tau: float = DEFAULT_RMST_TAU

    @property
    def group_fields(self) -> tuple[str, ...]:
        """The grouping field names (one or two), empty without grouping."""
        return tuple(self.group_by.split(",")) if self.group_by else ()

    def __post_init__(self) -> None:
        if not isinstance(self.as_of, date):
            raise InvalidSurvivalOptions(f"as_of must be a date, not {self.as_of!r}")
        if self.endpoint not in ENDPOINTS:
            raise InvalidSurvivalOptions(f"endpoint must be one of {', '.join(ENDPOINTS)}, not {self.endpoint!r}")
        if not isinstance(self.delayed_entry, bool):
            raise InvalidSurvivalOptions("delayed_entry must be true or false")
        if self.group_by is not None and (not isinstance(self.group_by, str) or not self.group_by):
            raise InvalidSurvivalOptions("group_by must be a field name")
        if self.group_by is not None:
            fields = self.group_by.split(",")
            if len(fields) > 2 or not all(fields) or len(set(fields)) != len(fields):
                raise InvalidSurvivalOptions("group_by takes one field or two different fields joined by a comma")
        if isinstance(self.unstable_below, bool) or not isinstance(self.unstable_below, int):
            raise InvalidSurvivalOptions("unstable_below must be a whole number")
        tau = self.rmst_tau
        if isinstance(tau, bool) or not isinstance(tau, int | float | np.number) or not (np.isfinite(tau) and tau > 0):
            raise InvalidSurvivalOptions(f"rmst_tau must be a number of years greater than 0, not {tau!r}")
        object.__setattr__(self, "rmst_tau", float(tau))
        object.__setattr__(self, "horizons", _check_horizons(self.horizons))


@dataclass(frozen=True, eq=False)
class BaselineInput:
    """Baselines for relative survival: the curves and, per case, an index into them (-1: none).

    ``curve_index`` is aligned with the ``CaseArrays`` given to ``analyse``.
    """

    curves: tuple[BaselineCurve, ...]
    curve_index: np.ndarray


@dataclass(frozen=True)
class GroupSurvival:
    """Survival of one group: counts, median (with its CI) and horizons in years, curve,
    exclusions, restricted mean (None beyond the longest follow-up), the annual hazard and, for
    a two-field grouping, the group's level of each field."""

    group: str
    n: int
    events: int
    median_years: float | None
    horizons: tuple[HorizonEstimate, ...]
    steps: KMSteps
    exclusions: dict[str, int] = field(default_factory=dict)
    baseline: RelativeResult | None = None
    median_ci: MedianInterval = MedianInterval(None, None)
    rmst: RestrictedMean | None = None
    hazard: tuple[HazardYear, ...] = ()
    levels: dict[str, str] | None = None


@dataclass(frozen=True)
class SurvivalReport:
    """Result of ``analyse``: groups sorted by name, age bands by age (one named ``all`` without
    grouping)."""

    as_of: date
    endpoint: str
    delayed_entry: bool
    group_by: str | None
    horizons: tuple[int, ...]
    groups: tuple[GroupSurvival, ...]
    logrank: LogRankResult | None
    exclusions: dict[str, int]
    pairwise: tuple[PairwiseLogRank, ...] = ()
    rmst_tau: float = DEFAULT_RMST_TAU


#: Group labels: one array of labels per case, or (for two fields) a tuple of two such arrays.
GroupLabels = np.ndarray | tuple[np.ndarray, ...]


def _group_codes(
    cases: CaseArrays, groups: GroupLabels | None, options: AnalysisOptions
) -> tuple[np.ndarray, tuple[str, ...], tuple[dict[str, str] | None, ...]]:
    """Integer group codes, group names and (two fields) each group's levels, sorted by level."""
    if groups is None:
        if options.group_by is not None:
            raise InvalidSurvivalOptions(f"group_by={options.group_by!r} needs group labels")
        return np.zeros(len(cases), dtype=np.int64), (ALL,), (None,)
    if options.group_by is None:
        raise InvalidSurvivalOptions("group labels given without naming group_by")
    fields = options.group_fields
    arrays = groups if isinstance(groups, tuple) else (groups,)
    if len(arrays) != len(fields):
        raise InvalidSurvivalOptions(f"group_by={options.group_by!r} needs {len(fields)} label arrays")
    if any(len(a) != len(cases) for a in arrays):
        raise InvalidSurvivalOptions("there must be one group label per case")
    if len(arrays) == 1:
        codes, names = _field_codes(fields[0], arrays[0])
        return codes, names, (None,) * len(names)
    (codes_a, names_a), (codes_b, names_b) = (_field_codes(f, a) for f, a in zip(fields, arrays, strict=True))
    # Code order = (first level, second level) order: names sort by their levels, not their text.
    codes = codes_a * len(names_b) + codes_b
    names = tuple(f"{a}{LEVEL_SEPARATOR}{b}" for a in names_a for b in names_b)
    levels = tuple({fields[0]: a, fields[1]: b} for a in names_a for b in names_b)
    return codes, names, levels


def _field_codes(field: str, labels: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """``factorize_labels``, except that age bands are ordered by age (youngest first, "unknown"
    last) rather than by their text ("20+" would come before "<5")."""
    codes, names = factorize_labels(labels)
    if field != "age_band":
        return codes, names
    rank = {name: i for i, name in enumerate(AGE_BAND_VALUES)}
    order = sorted(range(len(names)), key=lambda i: (rank.get(names[i], len(rank)), names[i]))
    remap = np.empty(len(names), dtype=np.int64)
    remap[order] = np.arange(len(names))
    return remap[codes], tuple(names[i] for i in order)


def _group(
    name: str,
    index: np.ndarray,
    followup: FollowUp,
    options: AnalysisOptions,
    baseline: BaselineInput | None,
    levels: dict[str, str] | None = None,
) -> tuple[GroupSurvival, SortedCases]:
    inside = index[followup.included[index]]
    entry, stop = followup.entry[inside], followup.stop[inside]
    cases = SortedCases.of(entry, stop, followup.event[inside])
    km = kaplan_meier_sorted(cases, options.horizons, unstable_below=options.unstable_below)
    relative = None
    if baseline is not None:
        curve_index = np.asarray(baseline.curve_index)[inside]
        relative = relative_survival(entry, stop, curve_index, baseline.curves, km)
    result = GroupSurvival(
        group=name,
        n=km.n,
        events=km.events,
        median_years=km.median_years,
        horizons=km.horizons,
        steps=km.steps,
        exclusions=followup.exclusions(index),
        baseline=relative,
        median_ci=median_interval(km.steps),
        rmst=restricted_mean(km.steps, options.rmst_tau, km.max_follow_up_years),
        hazard=annual_hazard(entry, stop, followup.event[inside], max(options.horizons)),
        levels=levels,
    )
    return result, cases


def analyse(
    cases: CaseArrays,
    groups: GroupLabels | None,
    options: AnalysisOptions,
    *,
    baseline: BaselineInput | None = None,
) -> SurvivalReport:
    """Kaplan-Meier survival per group (years since transfer), log-rank test, exclusions.

    ``groups``: one label per case (None = "unknown"), a tuple of two such arrays for a
    two-field grouping, or None for a single group ``all``.
    Censoring, delayed entry and exclusions follow ``prepare_followup``. Groups with no
    included case are omitted (their exclusions still count in ``SurvivalReport.exclusions``),
    except ``all``, which is always there without grouping.
    The log-rank test is None without grouping or with fewer than two groups left; with two
    or more groups the pairwise tests (Holm-adjusted) come with it.
    """
    if baseline is not None and len(baseline.curve_index) != len(cases):
        raise InvalidSurvivalOptions("baseline curve_index must have one entry per case")
    followup = prepare_followup(cases, options.as_of, options.endpoint, options.delayed_entry)
    codes, names, levels = _group_codes(cases, groups, options)
    results = [
        _group(name, index, followup, options, baseline, level)
        for name, index, level in zip(names, split_by_code(codes, len(names)), levels, strict=True)
        if groups is None or followup.included[index].any()
    ]
    # Without grouping the single group "all" is kept even when empty (one group, always).
    results = [(g, c) for g, c in results if g.n > 0 or groups is None]
    logrank: LogRankResult | None = None
    pairwise: tuple[PairwiseLogRank, ...] = ()
    if groups is not None and len(results) > 1:
        parts, group_names = [c for _, c in results], [g.group for g, _ in results]
        logrank, pairwise = logrank_with_pairs(parts, group_names)
    return SurvivalReport(
        as_of=options.as_of,
        endpoint=options.endpoint,
        delayed_entry=options.delayed_entry,
        group_by=options.group_by if groups is not None else None,
        horizons=options.horizons,
        groups=tuple(group for group, _ in results),
        logrank=logrank,
        exclusions=followup.exclusions(),
        pairwise=pairwise,
        rmst_tau=options.rmst_tau,
    )


def fit_cox(cases: CaseArrays, options: AnalysisOptions, covariates: Sequence[CoxCovariate]) -> CoxResult:
    """The Cox model on every included case (same follow-up as ``analyse``; grouping does not
    stratify it). ``covariates`` are aligned with ``cases``. Raises ``CoxModelError``."""
    followup = prepare_followup(cases, options.as_of, options.endpoint, options.delayed_entry)
    inside = followup.included
    return cox_model(
        followup.entry[inside],
        followup.stop[inside],
        followup.event[inside],
        [CoxCovariate(c.name, np.asarray(c.values)[inside], c.categorical, c.missing_labels) for c in covariates],
    )


def analyse_competing(
    cases: CaseArrays, groups: GroupLabels | None, options: AnalysisOptions
) -> tuple[tuple[str, CompetingResult], ...]:
    """Cumulative incidence of closure and of loss of the cooperative form, per group.

    Uses the same follow-up as ``analyse`` (the endpoint option does not matter here).
    """
    followup = prepare_followup(cases, options.as_of, options.endpoint, options.delayed_entry)
    codes, names, _levels = _group_codes(cases, groups, options)
    out = []
    for name, index in zip(names, split_by_code(codes, len(names)), strict=True):
        inside = index[followup.included[index]]
        if len(inside):
            result = cumulative_incidence(
                followup.entry[inside],
                followup.stop[inside],
                followup.cause[inside],
                options.horizons,
            )
            out.append((name, result))
    return tuple(out)


# ---------------------------------------------------------------- JSON shape


def _horizon_dict(h: HorizonEstimate) -> dict[str, Any]:
    return {
        "years": h.years,
        "survival": h.survival,
        "ci_lower": h.ci_lower,
        "ci_upper": h.ci_upper,
        "at_risk": h.at_risk,
        "unstable": h.unstable,
    }


def _floats(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in np.asarray(values, dtype=float)]


def steps_to_dict(steps: KMSteps) -> dict[str, list[Any]]:
    """The step curve as JSON-ready columns (NaN → None), for plots and downloads."""
    return {
        "time": _floats(steps.time),
        "at_risk": [int(v) for v in steps.at_risk],
        "events": [int(v) for v in steps.events],
        "censored": [int(v) for v in steps.censored],
        "survival": _floats(steps.survival),
        "ci_lower": _floats(steps.ci_lower),
        "ci_upper": _floats(steps.ci_upper),
    }


def not_extrapolated(result: RelativeResult, horizon: RelativeHorizon) -> str | None:
    """Why the expected survival at a horizon is null although the observed one is not: the
    group's baseline curves stop before it (they are never extrapolated). None otherwise."""
    reach = result.reach_years
    if horizon.expected is not None or horizon.observed is None or reach is None or horizon.years <= reach:
        return None
    return (f"the baseline curves of this group stop at {reach:g} years (the last horizon published): "
            f"expected and relative survival are not extrapolated beyond it")


def baseline_to_dict(result: RelativeResult) -> dict[str, Any]:
    """The per-group ``baseline`` block: series, expected, relative (with CI), matches, and where
    the curves stop (``reach_years``; a null figure beyond it carries the ``reason``)."""

    def why(h: RelativeHorizon) -> dict[str, str]:
        reason = not_extrapolated(result, h)
        return {"reason": reason} if reason else {}

    return {
        "series": list(result.series),
        "reach_years": result.reach_years,
        "expected": [{"years": h.years, "survival": h.expected, "at_risk": h.at_risk, **why(h)}
                     for h in result.horizons],
        "relative": [
            {
                "years": h.years,
                "survival": h.relative,
                "ci_lower": h.ci_lower,
                "ci_upper": h.ci_upper,
                **why(h),
            }
            for h in result.horizons
        ],
        "matches": [
            {
                "series": m.series,
                "country": m.country,
                "region": m.region or None,
                "sector": m.sector,
                "cohort": m.cohort_year,
                "n": m.n,
            }
            for m in result.matches
        ],
        "unmatched": result.unmatched,
    }


def _rmst_dict(rmst: RestrictedMean | None, tau: float) -> dict[str, Any] | None:
    if rmst is None:
        return None
    return {"tau": int(tau) if float(tau).is_integer() else tau, "years": rmst.years, "se": rmst.se,
            "ci_lower": rmst.ci_lower, "ci_upper": rmst.ci_upper}


def _hazard_dict(row: HazardYear) -> dict[str, Any]:
    return {"from": row.start, "to": row.end, "person_years": row.person_years, "events": row.events,
            "rate": row.rate, "ci_lower": row.ci_lower, "ci_upper": row.ci_upper}


def _group_dict(group: GroupSurvival, include_steps: bool, tau: float) -> dict[str, Any]:
    out: dict[str, Any] = {"group": group.group}
    if group.levels is not None:
        out["levels"] = dict(group.levels)
    out.update({
        "n": group.n,
        "events": group.events,
        "median_years": group.median_years,
        "median_ci": {"lower": group.median_ci.lower, "upper": group.median_ci.upper},
        "rmst": _rmst_dict(group.rmst, tau),
        "horizons": [_horizon_dict(h) for h in group.horizons],
        "hazard": [_hazard_dict(row) for row in group.hazard],
        "excluded": dict(group.exclusions),
    })
    if group.baseline is not None:
        out["baseline"] = baseline_to_dict(group.baseline)
    if include_steps:
        out["steps"] = steps_to_dict(group.steps)
    return out


def report_to_dict(report: SurvivalReport, *, include_steps: bool = False) -> dict[str, Any]:
    """The docs/design.md JSON of ``tracker survival --format json`` (steps only if asked)."""
    return {
        "as_of": report.as_of.isoformat(),
        "endpoint": report.endpoint,
        "delayed_entry": report.delayed_entry,
        "group_by": report.group_by,
        "groups": [_group_dict(g, include_steps, report.rmst_tau) for g in report.groups],
        "logrank": logrank_to_dict(report),
        "excluded": dict(report.exclusions),
    }


def logrank_to_dict(report: SurvivalReport) -> dict[str, Any] | None:
    """The ``logrank`` block: the k-sample test (null statistic with a ``reason`` when undefined)
    and the pairwise tests with Holm-adjusted p-values."""
    logrank = report.logrank
    if logrank is None:
        return None
    out: dict[str, Any] = {"statistic": logrank.statistic, "df": logrank.df, "p_value": logrank.p_value}
    if logrank.reason:
        out["reason"] = logrank.reason
    out["pairwise"] = [
        {"a": p.a, "b": p.b, "statistic": p.statistic, "p_value": p.p_value, "p_holm": p.p_holm}
        for p in report.pairwise
    ]
    return out


def cox_to_dict(result: CoxResult | CoxModelError) -> dict[str, Any]:
    """The top-level ``cox`` block (docs/design.md), or ``{"error": message}``."""
    if isinstance(result, CoxModelError):
        return {"error": str(result)}
    return {
        "n": result.n,
        "events": result.events,
        "ties": result.ties,
        "excluded": {"missing_covariate": result.missing_covariate},
        "terms": [
            {"covariate": t.covariate, "level": t.level, "reference": t.reference, "coef": t.coef, "se": t.se,
             "hazard_ratio": t.hazard_ratio, "ci_lower": t.ci_lower, "ci_upper": t.ci_upper, "z": t.z,
             "p_value": t.p_value}
            for t in result.terms
        ],
        "loglik_null": result.loglik_null,
        "loglik": result.loglik,
        "lr_test": {"statistic": result.lr_statistic, "df": result.lr_df, "p_value": result.lr_p_value},
        "ph_test": {
            "method": result.ph_method,
            "terms": [{"covariate": p.covariate, "level": p.level, "statistic": p.statistic, "df": p.df,
                       "p_value": p.p_value} for p in result.ph_test],
        },
    }


def competing_to_dict(results: Sequence[tuple[str, CompetingResult]]) -> list[dict[str, Any]]:
    """Per-group cumulative incidence at the horizons, JSON-ready."""
    return [
        {
            "group": name,
            "n": r.n,
            "closures": r.closures,
            "losses": r.losses,
            "horizons": [
                {"years": h.years, "closure": h.closure, "loss": h.loss,
                 "closure_ci": {"lower": h.closure_ci[0], "upper": h.closure_ci[1]},
                 "loss_ci": {"lower": h.loss_ci[0], "upper": h.loss_ci[1]}, "at_risk": h.at_risk}
                for h in r.horizons
            ],
        }
        for name, r in results
    ]
