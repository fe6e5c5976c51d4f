"""Survival analyses as users ask for them (CLI `tracker survival`, `GET /api/v1/survival`, the
explorer): the caller's permissions, filters, grouping, baseline matching, and a cache keyed on the
data version (never a stale figure after a write). The parameters are read by
`SurvivalQuery.from_params` (`survival_query.py`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flask import current_app

from tracker.extensions import db
from tracker.models import User
from tracker.services.analytics import data_version
from tracker.services.analytics.baseline_matching import BaselineCatalogue, basis_of, load_catalogue, match_coded
from tracker.services.analytics.frame import CaseFrame, count_visible, load_case_frame, load_changes
from tracker.services.analytics.survival_query import GROUP_FIELDS, SurvivalQuery
from tracker.services.errors import InvalidParameter
from tracker.services.permissions import Scope
from tracker.survival import (
    BaselineInput,
    CoxCovariate,
    CoxModelError,
    SurvivalReport,
    age_at_transfer,
    age_band_labels,
    analyse,
    analyse_competing,
    cohort_labels,
    competing_to_dict,
    cox_to_dict,
    fit_cox,
    report_to_dict,
    size_class_labels,
)

#: Grouping fields whose label "unknown" means no value (never a level of a Cox covariate).
UNKNOWN_IS_MISSING = ("size_class", "nace_section", "age_band")


# --- computing ---------------------------------------------------------------------------------

def labels(frame: CaseFrame, name: str, bands: tuple[tuple[int, int], ...] | None = None) -> np.ndarray:
    """The label of each case for a grouping/filter field."""
    if name == "cohort":
        return cohort_labels(frame.cases.transfer_date, bands)
    if name == "size_class":
        return size_class_labels(frame.employees)
    if name == "age_band":
        return age_band_labels(age_at_transfer(frame.founded_on, frame.cases.transfer_date))
    return getattr(frame, name)


def group_labels(frame: CaseFrame, query: SurvivalQuery) -> np.ndarray | tuple[np.ndarray, ...] | None:
    """The labels of the query's grouping: one array, a pair of arrays (two fields) or None."""
    fields = query.group_fields
    if not fields:
        return None
    arrays = tuple(labels(frame, name, query.cohort_bands) for name in fields)
    return arrays if len(arrays) > 1 else arrays[0]


def cox_covariates(frame: CaseFrame, query: SurvivalQuery) -> list[CoxCovariate]:
    """The query's Cox covariates as arrays aligned with the frame's cases."""
    out = []
    for name in query.covariates:
        if name == "log_employees":
            out.append(CoxCovariate(name, np.log1p(np.asarray(frame.employees, dtype=float)), categorical=False))
        elif name == "age_at_transfer":
            out.append(CoxCovariate(name, age_at_transfer(frame.founded_on, frame.cases.transfer_date),
                                    categorical=False))
        else:
            missing = ("unknown",) if name in UNKNOWN_IS_MISSING else ()
            out.append(CoxCovariate(name, labels(frame, name, query.cohort_bands), True, missing))
    return out


def filter_mask(frame: CaseFrame, where: tuple[tuple[str, tuple[str, ...]], ...]) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for name, values in where:
        if name == "cohort":
            years = frame.transfer_year
            any_of = np.zeros(len(frame), dtype=bool)
            for value in values:
                start, end = (int(p) for p in value.split("-"))
                any_of |= (years >= start) & (years <= end)
            mask &= any_of
        else:
            mask &= np.isin(np.asarray(labels(frame, name), dtype=object), np.asarray(values, dtype=object))
    return mask


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    frames: OrderedDict = field(default_factory=OrderedDict)
    derived: OrderedDict = field(default_factory=OrderedDict)
    results: OrderedDict = field(default_factory=OrderedDict)


_cache = _Cache()
FRAME_CACHE_SIZE = 2  # case arrays of the latest data versions (~150 MB each for a million cases)
DERIVED_CACHE_SIZE = 8  # baseline matches and refresh records of the latest versions
RESULT_CACHE_SIZE = 256


def _remember(store: OrderedDict, key: Any, value: Any, size: int) -> None:
    with _cache.lock:
        store[key] = value
        store.move_to_end(key)
        while len(store) > size:
            store.popitem(last=False)


def _recall(store: OrderedDict, key: Any) -> Any:
    with _cache.lock:
        value = store.get(key)
        if value is not None:
            store.move_to_end(key)
        return value


def scope_of(user: User | None) -> int | None:
    """The federation a user's figures are restricted to (staff), or None for all."""
    return Scope.of(user).federation_id


@dataclass(frozen=True)
class _Refresh:
    """How a frame was derived from the one of an earlier version: the entries kept, then `changed`."""

    base_version: int
    kept: np.ndarray
    changed: CaseFrame


def case_frame(scope: int | None) -> tuple[int, CaseFrame]:
    """The visible cases' arrays at the current data version: every federation's (scope None) or
    one federation's, cut from the same cached arrays."""
    epoch, version = data_version.identity()
    url = (str(db.engine.url), epoch)
    frame = _recall(_cache.frames, (url, version))
    if frame is None:
        frame = _refreshed(url, version)
        if frame is None:
            frame = load_case_frame()
        _remember(_cache.frames, (url, version), frame, FRAME_CACHE_SIZE)
    if scope is not None:
        frame = frame.subset(frame.federation_id == scope)
    return version, frame


def _refreshed(url: tuple[str, str], version: int) -> CaseFrame | None:
    """The latest cached frame of an earlier version with the cases written since applied, or None
    (nothing cached, or the refresh does not add up: then everything is read again)."""
    with _cache.lock:
        earlier = [key[1] for key in _cache.frames if key[0] == url and key[1] < version]
        base_version = max(earlier, default=None)
        base = _cache.frames.get((url, base_version)) if base_version is not None else None
    if base_version is None or base is None:
        return None
    changed, deleted_ids = load_changes(base_version)
    frame, kept = base.updated(changed, deleted_ids)
    # A safety net for a write that did not stamp changed_in: the count would not add up. (A
    # concurrent write can also make it differ; reading everything is right then too.)
    if len(frame) != count_visible():
        current_app.logger.warning("survival cache: refresh from version %s to %s did not add up; reading all cases",
                                   base_version, version)
        return None
    _remember(_cache.derived, ("refresh", url, version), _Refresh(base_version, kept, changed), DERIVED_CACHE_SIZE)
    return frame


def matched_baselines(scope: int | None) -> tuple[BaselineCatalogue, np.ndarray]:
    """The baseline catalogue and each visible case's curve (cached with the case arrays). After a
    write that left the baselines as they were, only the cases written since are matched."""
    version, everything = case_frame(None)
    settings = tuple(sorted(current_app.config.get("BASELINE_SERIES", {}).items()))
    url = (str(db.engine.url), data_version.identity()[0])
    cached = _recall(_cache.derived, ("baselines", url, version, settings))
    if cached is None:
        catalogue = load_catalogue()
        refresh = _recall(_cache.derived, ("refresh", url, version))
        earlier = _recall(_cache.derived, ("baselines", url, refresh.base_version, settings)) if refresh else None
        if refresh is not None and earlier is not None and earlier[0] == catalogue:
            catalogue = earlier[0]
            curve_index = np.concatenate([earlier[1][refresh.kept], _match(catalogue, refresh.changed, settings)])
        else:
            curve_index = _match(catalogue, everything, settings)
        cached = (catalogue, curve_index)
        _remember(_cache.derived, ("baselines", url, version, settings), cached, DERIVED_CACHE_SIZE)
    catalogue, curve_index = cached
    if scope is not None:
        curve_index = curve_index[everything.federation_id == scope]
    return catalogue, curve_index


def _match(catalogue: BaselineCatalogue, frame: CaseFrame, settings: tuple[tuple[str, str], ...]) -> np.ndarray:
    c = frame.coded
    return match_coded(catalogue, c["country"], c["region"], c["nace_section"], frame.transfer_year,
                       dict(settings)).curve_index


@dataclass(frozen=True)
class Analysis:
    """A computed analysis: the report, the rows it used, and the baselines' sources."""

    query: SurvivalQuery
    report: SurvivalReport
    frame: CaseFrame
    groups: np.ndarray | tuple[np.ndarray, ...] | None
    baseline_sources: tuple[dict[str, Any], ...]
    catalogue: BaselineCatalogue | None = None


def compute(user: User | None, query: SurvivalQuery) -> Analysis:
    """Run the analysis for what `user` may see (None: everything, for the CLI)."""
    scope = scope_of(user)
    _version, frame = case_frame(scope)
    mask = filter_mask(frame, query.where) if query.where else None
    if mask is not None:
        frame = frame.subset(mask)
    groups = group_labels(frame, query)
    baseline: BaselineInput | None = None
    sources: tuple[dict[str, str | None], ...] = ()
    catalogue: BaselineCatalogue | None = None
    if query.baselines:
        catalogue, curve_index = matched_baselines(scope)
        curve_index = curve_index[mask] if mask is not None else curve_index
        baseline = BaselineInput(curves=catalogue.curves, curve_index=curve_index)
        used = {catalogue.curves[i].series for i in np.unique(curve_index) if i >= 0}
        sources = tuple({"series": s.series, "publisher": s.publisher, "source_title": s.source_title, "url": s.url}
                        for series in sorted(used) for s in catalogue.sources.get(series, ()))
    options = query.options(current_app.config.get("SURVIVAL_UNSTABLE_AT_RISK", 10))
    report = analyse(frame.cases, groups, options, baseline=baseline)
    return Analysis(query, report, frame, groups, sources, catalogue)


def survival_json(user: User | None, query: SurvivalQuery) -> dict[str, Any]:
    """The survival JSON (docs/design.md) for `query`, cached on (data version, caller's scope, query)."""
    key = (str(db.engine.url), data_version.identity(), scope_of(user), query)
    cached = _recall(_cache.results, key)
    if cached is not None:
        return cached
    analysis = compute(user, query)
    out = report_to_dict(analysis.report)
    out["filters"] = {name: list(values) for name, values in query.where}
    out["horizons_years"] = list(query.horizons)
    if query.cohort_bands:
        out["cohort_bands"] = [f"{a}-{b}" for a, b in query.cohort_bands]
    if query.baselines:
        out["baseline_sources"] = list(analysis.baseline_sources)
        if analysis.catalogue is not None:
            describe_matches(out, analysis.catalogue)
    out["rmst_tau"] = query.rmst_tau
    if query.model == "cox":
        out["cox"] = cox_json(analysis, query)
    _remember(_cache.results, key, out, RESULT_CACHE_SIZE)
    return out


#: What each basis of a baseline match means (`matches[].basis`, services.analytics.baseline_matching).
BASIS_NOTES = {
    "configured": "the series set for this country (BASELINE_SERIES)",
    "eurostat": "this country's Eurostat business-demography series",
    "national": "this country's national series (Eurostat publishes no figure for it)",
    "eu27": "no series of this country's own: the EU27 figures of Eurostat",
}


def describe_matches(out: dict[str, Any], catalogue: BaselineCatalogue) -> None:
    """Each baseline match of the survival JSON gains why it was chosen (`basis`, `basis_note`),
    the curve's published horizons and its source (publisher, title, address)."""
    settings = dict(current_app.config.get("BASELINE_SERIES", {}))
    position = {(c.series, c.country, c.region or None, c.sector, c.cohort_year): i
                for i, c in enumerate(catalogue.curves)}
    for group in out["groups"]:
        for match in (group.get("baseline") or {}).get("matches", []):
            i = position.get((match["series"], match["country"], match["region"], match["sector"], match["cohort"]))
            if i is None:
                continue
            curve = catalogue.curves[i]
            basis = basis_of(catalogue, curve, settings)
            match.update(basis=basis, basis_note=BASIS_NOTES[basis], horizons_years=list(curve.horizons_years))
            if i < len(catalogue.curve_sources):
                source = catalogue.curve_sources[i]
                match["source"] = {"publisher": source.publisher, "source_title": source.source_title,
                                   "url": source.url}


def cox_json(analysis: Analysis, query: SurvivalQuery, *, raise_errors: bool = False) -> dict[str, Any]:
    """The ``cox`` block of the query's model on the analysis's cases, or ``{"error": ...}`` (in
    English, as the engine says it); with `raise_errors`, the engine's `CoxModelError` instead."""
    options = query.options(current_app.config.get("SURVIVAL_UNSTABLE_AT_RISK", 10))
    try:
        result = fit_cox(analysis.frame.cases, options, cox_covariates(analysis.frame, query))
    except CoxModelError as exc:
        if raise_errors:
            raise
        return cox_to_dict(exc)
    out = cox_to_dict(result)
    out["covariates"] = list(query.covariates)
    return out


def competing_json(user: User | None, query: SurvivalQuery) -> list[dict[str, Any]]:
    """Cumulative incidence of closure and of loss of the cooperative form, per group."""
    analysis = compute(user, SurvivalQuery(**{**query.__dict__, "baselines": False}))
    options = query.options(current_app.config.get("SURVIVAL_UNSTABLE_AT_RISK", 10))
    return competing_to_dict(analyse_competing(analysis.frame.cases, analysis.groups, options))


def competing_report(user: User | None, query: SurvivalQuery) -> dict[str, Any]:
    """The JSON of `GET /api/v1/survival/competing` (and `tracker survival --competing`)."""
    return {"as_of": query.as_of.isoformat(), "delayed_entry": query.delayed_entry, "group_by": query.group_by,
            "groups": competing_json(user, query)}


def clear_cache() -> None:
    with _cache.lock:
        _cache.frames.clear()
        _cache.derived.clear()
        _cache.results.clear()


__all__ = ["GROUP_FIELDS", "Analysis", "InvalidParameter", "SurvivalQuery", "compute", "competing_json",
           "competing_report", "survival_json"]
