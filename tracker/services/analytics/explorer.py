"""The survival explorer's content for one query and one user's scope: the analysis, the drawn
figures, the horizon rows, the published cooperative figures to set beside them, and the cases of
a group. Everything is cached on (database, data version, the user's scope, the language, the
query): a write to the data is never hidden by the cache, and a French page never shows an English
figure. The research blueprint only reads the query string, calls `build_explorer` (or
`group_cases`) and renders; the downloads' tables are in `explorer_tables`.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from flask import current_app
from matplotlib.figure import Figure
from sqlalchemy import select

from tracker import vocabulary
from tracker.charts import style
from tracker.charts.survival import PALETTE, competing_figure, figure_png, figure_svg, km_figure
from tracker.extensions import db
from tracker.i18n import current_language
from tracker.models import Case, Federation, User
from tracker.services.analytics import data_version
from tracker.services.analytics import queries as analytics
from tracker.services.analytics.baseline_matching import EUROSTAT_CODES
from tracker.services.analytics.frame import CaseFrame
from tracker.services.analytics.survival_query import SurvivalQuery
from tracker.services.permissions import Scope, scope_cases
from tracker.services.reference import published_comparisons
from tracker.survival import LEVEL_SEPARATOR, SurvivalReport, analyse_competing, prepare_followup
from tracker.survival._arrays import at_risk, factorize_labels

CACHE_SIZE = 32
CASES_PER_PAGE = 100
#: More groups than colours of the palette make a figure nobody can read: tables only, then.
MAX_DRAWN_GROUPS = len(PALETTE)
#: Published figures about populations that are not cooperatives (conventional takeovers) are context
#: for the annual report, not points to set beside cooperative curves.
NOT_COOPERATIVE = frozenset({"takeovers", "takeover_by_employee"})

# --- cache --------------------------------------------------------------------------------------

@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    entries: OrderedDict = field(default_factory=OrderedDict)


_draw_lock = threading.Lock()  # one Figure must not be saved by two threads at once


def _store() -> _Cache:
    """This app's cache (one per app: tests' apps never share one)."""
    return current_app.extensions.setdefault("research_explorer_cache", _Cache())


def _cached(key: tuple, build: Callable[[], Any]) -> Any:
    store = _store()
    with store.lock:
        if key in store.entries:
            store.entries.move_to_end(key)
            return store.entries[key]
    value = build()
    with store.lock:
        store.entries[key] = value
        while len(store.entries) > CACHE_SIZE:
            store.entries.popitem(last=False)
    return value


def _cache_key(user: User | None, *parts: Any) -> tuple:
    """Database, data version, the user's scope and the language: what makes a cached figure valid
    for this user."""
    config = current_app.config
    return (str(db.engine.url), data_version.identity(), analytics.scope_of(user), current_language(),
            config.get("SURVIVAL_UNSTABLE_AT_RISK", 10), tuple(sorted(config.get("BASELINE_SERIES", {}).items())),
            *parts)



# --- the selection ---------------------------------------------------------------------------

def federation_choices(user: User) -> list[tuple[str, str]] | None:
    if analytics.scope_of(user) is not None:
        return None  # staff: their own federation only, no choice to make
    rows = db.session.execute(select(Federation.code, Federation.name).order_by(Federation.code))
    return [(code, f"{code} — {name}") for code, name in rows]


def present_countries(user: User) -> list[str]:
    def build() -> list[str]:
        _version, frame = analytics.case_frame(analytics.scope_of(user))
        return sorted({str(v) for v in pd.unique(frame.country) if v is not None})

    return _cached(_cache_key(user, "countries"), build)



def filters_in_words(user: User, query: SurvivalQuery) -> list[tuple[str, str]]:
    """The selection's filters as the page prints them. A staff user's filter on another federation
    selects nothing they may see; its code is not repeated back."""
    own = None if Scope.of(user).everything or user.federation is None else user.federation.code
    out = []
    for name, values in query.where:
        if own is not None and name == "federation":
            values = tuple(v if v == own else "another federation" for v in values)
        out.append((name, ", ".join(values)))
    return out



# --- published cooperative figures --------------------------------------------------------------

def _selection_countries(query: SurvivalQuery, analysis: analytics.Analysis) -> list[str]:
    """Countries a published figure may be compared with: those filtered on, else the groups' when
    grouping by country, else the only country of the selection (none when it mixes countries)."""
    for name, values in query.where:
        if name == "country":
            return list(values)
    if query.group_by == "country":
        return [g.group for g in analysis.report.groups]
    present = {str(c) for c in pd.unique(analysis.frame.country) if c is not None}
    return sorted(present) if len(present) == 1 else []


def matching_published(query: SurvivalQuery, analysis: analytics.Analysis) -> list[dict[str, Any]]:
    """Published cooperative survival figures for the selection's countries, as figure points."""
    points = []
    for country in _selection_countries(query, analysis):
        code = EUROSTAT_CODES.get(country, country)
        for row in published_comparisons():
            if row["country"] != code or row["population"] in NOT_COOPERATIVE:
                continue
            points.append({
                "years": float(row["horizon_years"]), "survival": float(row["survival_pct"]) / 100,
                "label": f"{row['population'].replace('_', ' ')}, {row['period']} ({country})",
                "group": country if query.group_by == "country" else None,
                "country": country, "population": row["population"], "period": row["period"],
                "survival_pct": float(row["survival_pct"]), "comparator_label": row["comparator_label"],
                "comparator_pct": row["comparator_pct"], "publisher": row["publisher"],
                "source_title": row["source_title"], "url": row["url"], "notes": row["notes"],
            })
    return points


# --- the explorer's content ---------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Explorer:
    """Everything the page and the downloads show for one query and one scope (cached). The
    Kaplan-Meier figure is drawn with it (the page inlines it); the other drawings on first use."""

    query: SurvivalQuery
    report: SurvivalReport
    groups: list[dict[str, Any]]
    logrank: dict[str, Any] | None
    competing: list[dict[str, Any]]
    competing_results: tuple
    published: list[dict[str, Any]]
    baseline_sources: list[dict[str, Any]]
    n: int
    events: int
    excluded: dict[str, int]
    message: str | None
    figure_note: str | None
    small_groups: list[str]
    max_years: int
    km: Figure | None
    km_svg: str | None
    drawn: dict[tuple[str, str], Any] = field(default_factory=dict)

    def drawing(self, kind: str, fmt: str) -> str | bytes:
        """The `km` or `competing` figure as an SVG document or PNG bytes (drawn once)."""
        with _draw_lock:
            if (kind, fmt) not in self.drawn:
                fig = self.km if kind == "km" else self._competing_figure()
                assert fig is not None  # an explorer made for a download has its figure (need_figure)
                self.drawn[(kind, fmt)] = figure_svg(fig, id_prefix=kind) if fmt == "svg" else figure_png(fig)
            return self.drawn[(kind, fmt)]

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """A download built once per cached explorer."""
        with _draw_lock:
            if (key, "") not in self.drawn:
                self.drawn[(key, "")] = build()
            return self.drawn[(key, "")]

    def _competing_figure(self) -> Figure:
        if ("competing", "figure") not in self.drawn:
            self.drawn[("competing", "figure")] = competing_figure(self.competing_results, max_years=self.max_years)
        return self.drawn[("competing", "figure")]


def _group_codes(labels: np.ndarray | tuple[np.ndarray, ...] | None, size: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer code of each case's group and the group names, as the engine names them (its own
    factorising; two grouping fields: "rescue / FR")."""
    if labels is None:
        return np.zeros(size, dtype=np.int64), ("all",)
    if isinstance(labels, tuple):
        (codes_a, names_a), (codes_b, names_b) = (factorize_labels(a) for a in labels)
        return codes_a * len(names_b) + codes_b, tuple(f"{a}{LEVEL_SEPARATOR}{b}" for a in names_a for b in names_b)
    return factorize_labels(labels)


def _group_names(labels: np.ndarray | tuple[np.ndarray, ...] | None, size: int) -> np.ndarray:
    """Group name of each case as the engine names it (missing → "unknown")."""
    codes, names = _group_codes(labels, size)
    return np.asarray(names, dtype=object)[codes] if size else np.empty(0, dtype=object)


def at_risk_by_year(analysis: analytics.Analysis, years: int) -> dict[str, list[int]]:
    """Per group, cases at risk at whole years 0..years: `entry < t <= stop` (docs/design.md), and at 0 the
    cases under observation from the transfer itself (entry == 0)."""
    query = analysis.query
    followup = prepare_followup(analysis.frame.cases, query.as_of, query.endpoint, query.delayed_entry)
    codes, names = _group_codes(analysis.groups, len(analysis.frame))
    times: np.ndarray = np.r_[np.nextafter(0.0, 1.0), np.arange(1, years + 1, dtype=float)]
    wanted = {g.group for g in analysis.report.groups}
    out = {}
    for code, name in enumerate(names):
        if name not in wanted:
            continue
        inside = followup.included & (codes == code)
        counts = at_risk(np.sort(followup.entry[inside]), np.sort(followup.stop[inside]), times)
        out[name] = [int(c) for c in counts]
    return out


def _optional(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _group_rows(report: SurvivalReport) -> list[dict[str, Any]]:
    rows = []
    colours = style.group_colours((report.group_by or "").split(",")[0] or None, [g.group for g in report.groups])
    for group in report.groups:
        relative = {h.years: h for h in group.baseline.horizons} if group.baseline is not None else {}
        horizons = []
        for h in group.horizons:
            r = relative.get(h.years)
            horizons.append({
                "years": h.years, "survival": h.survival, "ci_lower": h.ci_lower, "ci_upper": h.ci_upper,
                "at_risk": h.at_risk, "unstable": h.unstable,
                "expected": _optional(r.expected) if r else None, "relative": _optional(r.relative) if r else None,
                "relative_ci_lower": _optional(r.ci_lower) if r else None,
                "relative_ci_upper": _optional(r.ci_upper) if r else None,
            })
        baseline = group.baseline
        rows.append({
            "group": group.group, "n": group.n, "events": group.events, "median_years": group.median_years,
            "excluded": dict(group.exclusions), "horizons": horizons, "colour": colours[group.group],
            "baseline_series": list(baseline.series) if baseline else [],
            "baseline_matched": sum(m.n for m in baseline.matches) if baseline else 0,
            "baseline_unmatched": baseline.unmatched if baseline else group.n,
            "baseline_matches": [m.__dict__ for m in baseline.matches] if baseline else [],
        })
    return rows


def _empty_message(n: int, excluded: Mapping[str, int], threshold: int) -> str | None:
    if n == 0:
        left_out = sum(excluded.values())
        if not left_out:
            return "No case matches these filters. Widen the selection (fewer filters, another analysis date)."
        reasons = ", ".join(f"{vocabulary.EXCLUSION_REASONS.get(r, r)}: {k}" for r, k in excluded.items())
        return (f"None of the {left_out} matching cases can be analysed ({reasons}). "
                "Widen the selection or change the analysis date.")
    if n < threshold:
        return (f"Only {n} case{'s' if n != 1 else ''} can be analysed: too few for a survival curve "
                f"(at least {threshold} are needed). The counts are below; widen the selection to see curves.")
    return None


_SHORT_NUMBER = re.compile(r"(\d\.\d\d)\d+")  # coordinates: matplotlib writes 6 decimals


def _inline(svg: str) -> str:
    """An SVG document made fit for an HTML page under a strict Content-Security-Policy: no XML
    prologue, no <style> element, and style="..." turned into presentation attributes."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<defs>\s*<style[^>]*>.*?</style>\s*</defs>", "", svg, count=1, flags=re.S)

    def attributes(match: re.Match[str]) -> str:
        pairs = (part.split(":", 1) for part in match.group(1).split(";") if ":" in part)
        return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in pairs)

    svg = re.sub(r'style="([^"]*)"', attributes, svg)
    # Two decimals of a point are plenty on screen and halve the page's weight.
    svg = _SHORT_NUMBER.sub(r"\1", svg)
    return svg.replace("<svg ", '<svg class="img-fluid" role="img" stroke-linejoin="round" stroke-linecap="butt" ', 1)


def build_explorer(user: User, query: SurvivalQuery) -> Explorer:
    """Compute and draw the explorer for `query` as `user` may see it (cached)."""
    return _cached(_cache_key(user, "explorer", query), lambda: _build_explorer(user, query))


def _build_explorer(user: User, query: SurvivalQuery) -> Explorer:
    threshold = int(current_app.config.get("SURVIVAL_UNSTABLE_AT_RISK", 10))
    analysis = analytics.compute(user, query)
    report = analysis.report
    n = sum(g.n for g in report.groups)
    events = sum(g.events for g in report.groups)
    message = _empty_message(n, report.exclusions, threshold)
    competing = analyse_competing(analysis.frame.cases, analysis.groups, query.options(threshold)) if n else ()
    published = matching_published(query, analysis) if n else []
    km = km_svg = figure_note = None
    longest = max((float(g.steps.time[-1]) for g in report.groups if g.n), default=1.0)
    years = max(1, math.ceil(longest))
    if n >= threshold and len(report.groups) > MAX_DRAWN_GROUPS:
        figure_note = (f"{len(report.groups)} groups are too many for a readable figure (at most {MAX_DRAWN_GROUPS}, "
                       "one colour-blind-safe colour each). Narrow the selection, group cohorts in bands "
                       "(e.g. 2000-2007,2008-2014) or group by another field; the tables below have every group.")
    elif n >= threshold:
        km = km_figure(report, at_risk=at_risk_by_year(analysis, years), unstable_below=threshold,
                       baseline_sources=analysis.baseline_sources, published=published)
        with _draw_lock:
            km_svg = _inline(figure_svg(km, id_prefix="km"))
    logrank = report.logrank
    return Explorer(
        query=query, report=report, groups=_group_rows(report),
        logrank=None if logrank is None else {"statistic": logrank.statistic, "df": logrank.df,
                                              "p_value": logrank.p_value, "reason": logrank.reason},
        competing=[{"group": name, "n": r.n, "closures": r.closures, "losses": r.losses,
                    "horizons": [h.__dict__ for h in r.horizons]} for name, r in competing],
        competing_results=tuple(competing), published=published, baseline_sources=list(analysis.baseline_sources),
        n=n, events=events, excluded=dict(report.exclusions), message=message, figure_note=figure_note,
        small_groups=[g.group for g in report.groups if 0 < g.n < threshold] if km is not None else [],
        max_years=years, km=km, km_svg=km_svg)



# --- the cases of a group -----------------------------------------------------------------------

def _visible_frame(user: User) -> tuple[np.ndarray, CaseFrame]:
    """The analysis' own arrays of the cases `user` may see (same scope, same version), with each
    case's id."""
    _version, frame = analytics.case_frame(analytics.scope_of(user))
    return frame.ids, frame


def group_cases(user: User, query: SurvivalQuery, group: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the visible cases in the selection (and in `group` when given), with, per case, None
    when it is in the analysis or the reason it is left out. Uses the analysis' own filter and
    grouping functions, so the included cases are exactly the group's n."""
    ids, frame = _visible_frame(user)
    mask = analytics.filter_mask(frame, query.where) if query.where else np.ones(len(frame), dtype=bool)
    if group is not None and query.group_by:
        mask &= _group_names(analytics.labels(frame, query.group_by, query.cohort_bands), len(frame)) == group
    elif group not in (None, "all"):
        mask &= False
    frame = frame.subset(mask)
    followup = prepare_followup(frame.cases, query.as_of, query.endpoint, query.delayed_entry)
    order = np.lexsort((ids[mask], ~followup.included))  # analysed cases first, then by id
    return ids[mask][order], followup.reasons[order]



@dataclass(frozen=True)
class CasePage:
    """One page of the cases of a selection (or of one group of it)."""

    rows: list[Any]
    reason_of: dict[int, str | None]
    total: int
    included: int
    page: int
    pages: int
    federation_codes: dict[int, str]


CASE_COLUMNS = (Case.id, Case.ref, Case.name, Case.federation_id, Case.country, Case.region, Case.nace,
                Case.employees, Case.transfer_date, Case.transfer_type, Case.registered_on, Case.last_verified_on,
                Case.exit_date, Case.exit_reason)


def case_page(user: User, query: SurvivalQuery, group: str | None, page: int) -> CasePage:
    """Page `page` (from 1) of the visible cases of the selection, analysed ones first."""
    ids, reasons = group_cases(user, query, group)
    page = max(page, 1)
    pages = max(1, math.ceil(len(ids) / CASES_PER_PAGE))
    start = (page - 1) * CASES_PER_PAGE
    shown = [int(i) for i in ids[start:start + CASES_PER_PAGE]]
    reason_of = dict(zip(shown, reasons[start:start + CASES_PER_PAGE], strict=True))
    by_id = {row.id: row for row in db.session.execute(scope_cases(select(*CASE_COLUMNS), user)
                                                       .where(Case.id.in_(shown)))} if shown else {}
    codes = dict(db.session.execute(select(Federation.id, Federation.code)).all())
    return CasePage(rows=[by_id[i] for i in shown if i in by_id], reason_of=reason_of, total=len(ids),
                    included=int(sum(r is None for r in reasons)), page=page, pages=pages, federation_codes=codes)


__all__ = ["CASES_PER_PAGE", "MAX_DRAWN_GROUPS", "CasePage", "Explorer", "at_risk_by_year", "build_explorer",
           "case_page", "federation_choices", "filters_in_words", "group_cases", "matching_published",
           "present_countries"]
