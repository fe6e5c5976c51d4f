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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from matplotlib.figure import Figure
from sqlalchemy import select

from tracker import vocabulary
from tracker.charts import style
from tracker.charts.survival import (
    PALETTE,
    competing_figure,
    figure_pdf,
    figure_png,
    figure_svg,
    forest_figure,
    hazard_figure,
    km_figure,
    published_figure,
)
from tracker.extensions import db
from tracker.i18n import current_language, format_date, format_number
from tracker.models import Case, Federation, User
from tracker.services.analytics import data_version
from tracker.services.analytics import queries as analytics
from tracker.services.analytics.baseline_matching import EUROSTAT_CODES
from tracker.services.analytics.frame import CaseFrame
from tracker.services.analytics.survival_query import SurvivalQuery
from tracker.services.permissions import Scope, scope_cases
from tracker.services.reference import countries, nace_sections, published_comparisons
from tracker.survival import LEVEL_SEPARATOR, CoxModelError, SurvivalReport, analyse_competing, prepare_followup
from tracker.survival._arrays import at_risk, factorize_labels

CACHE_SIZE = 32
FIGURE_KINDS = ("km", "competing", "hazard", "forest", "published")
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
            values = tuple(v if v == own else _("another federation") for v in values)
        elif name in ("transfer_type", "size_class", "country", "nace_section"):
            values = tuple(group_label_of(name, v) for v in values)
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
                "label": f"{vocabulary.published_population(row['population'])}, "
                         f"{vocabulary.published_wording(row['period'])} ({country})",
                "group": country if query.group_by == "country" else None,
                "country": country, "population": row["population"], "period": row["period"],
                "survival_pct": float(row["survival_pct"]), "comparator_label": row["comparator_label"],
                "comparator_pct": row["comparator_pct"], "publisher": row["publisher"],
                "source_title": row["source_title"], "url": row["url"], "notes": row["notes"],
            })
    return points


# --- labels and words -------------------------------------------------------------------------------

def group_label_of(field: str | None, code: str) -> str:
    """What a reader sees for a group value: the vocabulary's label, a country's name, a sector's
    title; "All cases" without grouping; cohorts and federations as they are."""
    if code == "all" and field is None:
        return _("All cases")
    if code in ("unknown", ""):
        return str(vocabulary.NOT_RECORDED)
    if field == "transfer_type":
        return vocabulary.label(vocabulary.TRANSFER_TYPES, code)
    if field == "size_class":
        return vocabulary.label(vocabulary.SIZE_CLASSES, code)
    if field == "age_band":
        return vocabulary.label(vocabulary.AGE_BANDS, code)
    if field == "country":
        return countries().get(code, code)
    if field == "nace_section":
        titles = {s.code: s.label for s in nace_sections()}
        return f"{code} · {titles[code]}" if code in titles else code
    return code


def group_labels(query: SurvivalQuery, names: Sequence[str]) -> dict[str, str]:
    fields = query.group_fields
    out = {}
    for name in names:
        parts = name.split(LEVEL_SEPARATOR) if len(fields) > 1 else [name]
        out[name] = LEVEL_SEPARATOR.join(group_label_of(f, p) for f, p in zip(fields or (None,), parts, strict=False))
    return out


def figure_label(text: str, limit: int = 30) -> str:
    """A group's label as a figure shows it: without its explanation in brackets ("Rescue
    (difficulty or insolvency)" → "Rescue"), cut to `limit` characters."""
    parts = [part.split(" (")[0].strip() or part for part in text.split(LEVEL_SEPARATOR)]
    short = LEVEL_SEPARATOR.join(parts)
    return short if len(short) <= limit else short[:limit - 1].rstrip() + "…"


def figure_labels(labels: Mapping[str, str]) -> dict[str, str]:
    return {code: figure_label(text) for code, text in labels.items()}


def chart_words() -> dict[str, str]:
    """The figures' words in the language of the moment (tracker.charts.survival.TEXT's keys)."""
    return {
        "x_label": _("Years since transfer"),
        "y_label": _("Surviving (Kaplan-Meier)"),
        "at_risk": _("Number at risk"),
        "ci": _("95 % confidence interval"),
        "censored": _("censored"),
        "expected": _("expected survival (national baselines)"),
        "expected_source": _("expected survival (national baselines: %(source)s)"),
        "few_at_risk": _("fewer than %(n)s at risk"),
        "group": _("%(group)s (n = %(n)s)"),
        "group_median": _("%(group)s (n = %(n)s; median %(median)s y)"),
        "logrank": _("Log-rank p = %(p)s"),
        "logrank_below": _("Log-rank p < 0.001"),
        "delayed": _("At 0: the cases observed from their transfer; the others enter at their registration "
                     "(delayed entry), so fewer are at risk at 0 than the n of the legend."),
        "closure": _("Closure (liquidation, dissolution, other)"),
        "loss": _("Loss of the cooperative form (sold, merged, demutualised)"),
        "incidence": _("Cumulative incidence"),
        "ci_horizons": _("95 % confidence interval at the horizons"),
        "hazard": _("Events per 100 enterprise-years"),
        "hazard_year": _("Year since transfer"),
        "published_x": _("Surviving"),
        "this_selection": _("this selection"),
        "hazard_ratio": _("Hazard ratio (95 % CI, log scale)"),
    }


def selection_in_words(user: User, query: SurvivalQuery) -> str:
    """The selection as one sentence (under a downloaded figure's title, on the page)."""
    parts = [_("as of %(date)s", date=format_date(query.as_of)), vocabulary.ENDPOINTS_SHORT[query.endpoint],
             _("delayed entry on") if query.delayed_entry else _("delayed entry off")]
    if query.group_by:
        parts.append(_("by %(field)s", field=" × ".join(vocabulary.GROUP_FIELDS.get(f, f).lower()
                                                       for f in query.group_fields)))
    for name, values in filters_in_words(user, query):
        parts.append(_("%(field)s: %(values)s", field=FILTER_LABELS.get(name, name), values=values))
    return " · ".join(parts)


#: Filter names as a reader sees them.
FILTER_LABELS: Mapping[str, Any] = {
    "transfer_type": _l("Transfer type"), "country": _l("Country"), "region": _l("Region"),
    "nace_section": _l("NACE section"), "cohort": _l("Cohort (transfer year)"), "federation": _l("Federation"),
    "size_class": _l("Size class"),
}


# --- the explorer's content ---------------------------------------------------------------------

@dataclass(frozen=True)
class View:
    """How the page shows a query (not part of the analysis): the CI bands on or off (None: for
    one or two groups)."""

    bands: bool | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> View:
        value = str(params.get("bands") or "").strip().lower()
        return cls(bands=True if value in ("on", "1", "true") else False if value in ("off", "0", "false") else None)


@dataclass(frozen=True, eq=False)
class Explorer:
    """Everything the page and the downloads show for one query and one scope (cached). The
    Kaplan-Meier figure is drawn with it (the page inlines it); the other drawings on first use."""

    query: SurvivalQuery
    view: View
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
    labels: dict[str, str]
    colours: dict[str, str]
    headline: dict[str, Any]
    bands_shown: bool
    heatmap: bool
    heat_range: tuple[float, float]
    null_ci: bool
    pairwise: list[dict[str, Any]]
    hazard: list[dict[str, Any]]
    selection: str
    title: str
    at_risk: dict[str, list[int]]
    cox: dict[str, Any] | None = None
    drawn: dict[tuple[str, str], Any] = field(default_factory=dict)

    def drawing(self, kind: str, fmt: str, standalone: bool = True) -> str | bytes:
        """A figure (`km`, `competing`, `hazard`, `published`) as an SVG document, PNG or PDF bytes
        that stands on its own: title, the selection in words, as_of, n and the source (drawn once).
        Not `standalone`: the bare figure, for the page that has its caption around it."""
        with _draw_lock:
            key = (kind, fmt if standalone else f"{fmt}-bare")
            if key not in self.drawn:
                fig = self._figure(kind, standalone=standalone)
                if fig is None:
                    raise LookupError(kind)
                self.drawn[key] = (figure_svg(fig, id_prefix=kind) if fmt == "svg"
                                   else figure_pdf(fig) if fmt == "pdf" else figure_png(fig))
            return self.drawn[key]

    def page(self, key: Any, render: Callable[[], str]) -> str:
        """The page's rendered result for this explorer (one per address): rendering a large table
        in the reader's number format costs more than the cached analysis."""
        return self.memo(f"page:{key!r}", render)

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """A download built once per cached explorer."""
        with _draw_lock:
            if (key, "") not in self.drawn:
                self.drawn[(key, "")] = build()
            return self.drawn[(key, "")]

    def footer(self) -> str:
        sources = "; ".join(sorted({str(s.get("publisher") or s.get("series")) for s in self.baseline_sources}))
        text = _("Source: Transfer Tracker registry, data as of %(date)s; n = %(n)s cases, %(events)s events.",
                 date=format_date(self.query.as_of), n=format_number(self.n), events=format_number(self.events))
        if sources:
            text += " " + _("Expected survival: %(sources)s.", sources=sources)
        return text

    def _header(self, kind: str) -> tuple[str, str]:
        titles = {"km": self.title, "forest": _("Cox model: hazard ratios"),
                  "competing": _("Closure versus loss of the cooperative form"),
                  "hazard": _("Hazard by year since transfer"), "published": _("Published cooperative figures")}
        return titles[kind], self.selection

    def _can_draw(self, kind: str) -> bool:
        return {"km": self.km is not None, "competing": bool(self.competing_results) and self.km is not None,
                "hazard": bool(self.hazard) and self.km is not None,
                "forest": bool(self.cox and self.cox.get("terms")), "published": bool(self.published)}[kind]

    def _figure(self, kind: str, standalone: bool) -> Figure | None:
        if kind not in FIGURE_KINDS:
            raise LookupError(kind)
        if not self._can_draw(kind):
            return None
        if kind == "km" and not standalone:
            return self.km
        extra: dict[str, Any] = {"header": self._header(kind), "footer": self.footer()} if standalone else {}
        words = chart_words()
        if kind == "km":
            return _km(self, int(current_app.config.get("SURVIVAL_UNSTABLE_AT_RISK", 10)), **extra)
        if kind == "competing":
            return competing_figure(self.competing_results, max_years=self.max_years, colours=self.colours,
                                    labels=figure_labels(self.labels), text=words, **extra)
        if kind == "hazard":
            return hazard_figure(self.report, colours=self.colours, labels=figure_labels(self.labels), text=words,
                                 **extra)
        if kind == "forest":
            assert self.cox is not None
            return forest_figure(self.cox["terms"], text=words, number=format_number, **extra)
        return published_figure(self.published, own=self.headline_points(), text=words, **extra)

    def headline_points(self) -> list[dict[str, Any]]:
        """This selection's own survival at the published figures' horizons (for the dot chart)."""
        out = []
        for g in self.groups if len(self.groups) == 1 else []:
            for h in g["horizons"]:
                if h["survival"] is not None:
                    out.append({"years": h["years"], "survival": h["survival"], "ci_lower": h["ci_lower"],
                                "ci_upper": h["ci_upper"]})
        return out


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


def _km(explorer: Explorer, threshold: int, **extra: Any) -> Figure:
    report = explorer.report
    return km_figure(report, at_risk=explorer.at_risk, unstable_below=threshold,
                     # the legend names the series in the reader's language; the footer cites the publishers
                     baseline_sources=[{"series": s["series"],
                                        "publisher": vocabulary.BASELINE_SERIES.get(s["series"], s["series"])}
                                       for s in explorer.baseline_sources],
                     colours=explorer.colours, labels=figure_labels(explorer.labels),
                     bands=explorer.view.bands, logrank_p=(explorer.logrank or {}).get("p_value"),
                     text=chart_words(), number=format_number, **extra)


def _optional(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _group_rows(report: SurvivalReport, colours: Mapping[str, str], labels: Mapping[str, str]) -> list[dict[str, Any]]:
    rows = []
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
        rmst = group.rmst
        rows.append({
            "group": group.group, "label": labels.get(group.group, group.group), "n": group.n, "events": group.events,
            "median_years": group.median_years, "median_lower": group.median_ci.lower,
            "median_upper": group.median_ci.upper,
            "rmst": None if rmst is None else {"tau": rmst.tau, "years": rmst.years, "ci_lower": rmst.ci_lower,
                                               "ci_upper": rmst.ci_upper},
            "excluded": dict(group.exclusions), "horizons": horizons, "colour": colours.get(group.group, "#000000"),
            "baseline_series": [vocabulary.BASELINE_SERIES.get(s, s) for s in baseline.series] if baseline else [],
            "baseline_matched": sum(m.n for m in baseline.matches) if baseline else 0,
            "baseline_unmatched": baseline.unmatched if baseline else group.n,
            "baseline_matches": [m.__dict__ for m in baseline.matches] if baseline else [],
        })
    return rows


def _empty_message(n: int, excluded: Mapping[str, int], threshold: int) -> str | None:
    if n == 0:
        left_out = sum(excluded.values())
        if not left_out:
            return _("No case matches these filters. Widen the selection (fewer filters, another analysis date).")
        reasons = ", ".join(f"{vocabulary.EXCLUSION_REASONS.get(r, r)}: {format_number(k)}"
                            for r, k in excluded.items())
        return _("None of the %(n)s matching cases can be analysed (%(reasons)s). Widen the selection or change "
                 "the analysis date.", n=format_number(left_out), reasons=reasons)
    if n < threshold:
        return ngettext("Only %(num)d case can be analysed: too few for a survival curve (at least %(threshold)d "
                        "are needed). The counts are below; widen the selection to see curves.",
                        "Only %(num)d cases can be analysed: too few for a survival curve (at least %(threshold)d "
                        "are needed). The counts are below; widen the selection to see curves.",
                        n, threshold=threshold)
    return None


_SHORT_NUMBER = re.compile(r"(\d\.\d\d)\d+")  # coordinates: matplotlib writes 6 decimals


def _inline(svg: str) -> str:
    """An SVG document made fit for an HTML page under a strict Content-Security-Policy: no XML
    prologue, no <style> element, and style="..." turned into presentation attributes."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<defs>\s*<style[^>]*>.*?</style>\s*</defs>", "", svg, count=1, flags=re.S)
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)  # RDF: no use on a page

    def attributes(match: re.Match[str]) -> str:
        pairs = (part.split(":", 1) for part in match.group(1).split(";") if ":" in part)
        return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in pairs)

    svg = re.sub(r'style="([^"]*)"', attributes, svg)
    # Two decimals of a point are plenty on screen and halve the page's weight; text is left alone
    # (a p-value of 0.001 must stay 0.001).
    parts = re.split(r"(<text\b.*?</text>)", svg, flags=re.S)
    svg = "".join(part if part.startswith("<text") else _SHORT_NUMBER.sub(r"\1", part) for part in parts)
    return svg.replace("<svg ", '<svg class="figure-svg" focusable="false" aria-hidden="true" '
                                'stroke-linejoin="round" stroke-linecap="butt" ', 1)


def _range(values: Sequence[float | None]) -> tuple[float, float]:
    known = [v for v in values if v is not None]
    return (min(known), max(known)) if known else (0.0, 1.0)


def covariate_label(name: str) -> str:
    if name == "log_employees":
        return _("Employees (log)")
    if name == "age_at_transfer":
        return _("Age at transfer (years)")
    return vocabulary.GROUP_FIELDS.get(name, name)


def cox_error_text(exc: CoxModelError) -> str:
    """Why the model cannot be fitted, in the language of the moment (the engine's English for a
    cause the page's query cannot produce)."""
    params = dict(exc.params)
    if "levels" in params:
        params["levels"] = ", ".join(figure_label(group_label_of(params["covariate"], level))
                                     for level in params["levels"].split(", "))
    if "covariate" in params:
        params["covariate"] = covariate_label(params["covariate"])
    messages = {
        "no_complete_case": lambda: _("no case has a value for every covariate"),
        "no_event": lambda: _("no event among the cases in the model"),
        "constant": lambda: _("%(covariate)s has the same value for every case in the model", **params),
        "one_level": lambda: _("%(covariate)s has only one level in the model: nothing to compare", **params),
        "level_without_event": lambda: _(
            "%(covariate)s: %(levels)s has no event, so its hazard ratio cannot be estimated (leave the "
            "covariate out, or filter that level out)", **params),
        "no_convergence": lambda: _("the model did not converge (a covariate may separate the cases that "
                                    "close from those that do not, or two covariates say the same)"),
    }
    message = messages.get(exc.reason)
    return message() if message else str(exc)


def _cox(analysis: analytics.Analysis, query: SurvivalQuery) -> dict[str, Any]:
    """The Cox model of the query, its terms labelled for a reader (or why it cannot be fitted, in
    the reader's language)."""
    try:
        out = analytics.cox_json(analysis, query, raise_errors=True)
    except CoxModelError as exc:
        return {"error": cox_error_text(exc)}
    for term in out.get("terms", ()):
        name = covariate_label(term["covariate"])
        if term["level"] is None:
            term["label"] = name
        else:
            term["label"] = _("%(covariate)s: %(level)s vs %(reference)s", covariate=name,
                              level=figure_label(group_label_of(term["covariate"], term["level"])),
                              reference=figure_label(group_label_of(term["covariate"], term["reference"])))
    return out


def headline_horizon(query: SurvivalQuery) -> int:
    """The horizon of the headline numbers: 5 years when asked for, else the longest asked."""
    return 5 if 5 in query.horizons else max(query.horizons)


def _headline(user: User, query: SurvivalQuery, report: SurvivalReport) -> dict[str, Any]:
    """n, events, S(h) with CI and relative survival at the headline horizon for the whole selection
    (one more, ungrouped, analysis when grouped), and the log-rank p."""
    whole = report if not query.group_by else analytics.compute(user, query.but(group_by=None,
                                                                                cohort_bands=None)).report
    years = headline_horizon(query)
    out: dict[str, Any] = {"years": years, "survival": None, "ci_lower": None, "ci_upper": None, "relative": None,
                           "relative_ci_lower": None, "relative_ci_upper": None}
    if whole.groups:
        group = whole.groups[0]
        for h in group.horizons:
            if h.years == years:
                out.update(survival=h.survival, ci_lower=h.ci_lower, ci_upper=h.ci_upper, unstable=h.unstable)
        if group.baseline is not None:
            for r in group.baseline.horizons:
                if r.years == years:
                    out.update(relative=_optional(r.relative), relative_ci_lower=_optional(r.ci_lower),
                               relative_ci_upper=_optional(r.ci_upper))
    logrank = report.logrank
    out["logrank_p"] = None if logrank is None else logrank.p_value
    return out


def build_explorer(user: User, query: SurvivalQuery, view: View | None = None) -> Explorer:
    """Compute and draw the explorer for `query` as `user` may see it (cached)."""
    view = view or View()
    return _cached(_cache_key(user, "explorer", query, view), lambda: _build_explorer(user, query, view))


def _build_explorer(user: User, query: SurvivalQuery, view: View) -> Explorer:
    threshold = int(current_app.config.get("SURVIVAL_UNSTABLE_AT_RISK", 10))
    analysis = analytics.compute(user, query)
    report = analysis.report
    names = [g.group for g in report.groups]
    labels = group_labels(query, names)
    colours = style.group_colours(query.group_fields[0] if query.group_fields else None, names)
    n = sum(g.n for g in report.groups)
    events = sum(g.events for g in report.groups)
    message = _empty_message(n, report.exclusions, threshold)
    competing = analyse_competing(analysis.frame.cases, analysis.groups, query.options(threshold)) if n else ()
    published = matching_published(query, analysis) if n else []
    km = km_svg = figure_note = None
    longest = max((float(g.steps.time[-1]) for g in report.groups if g.n), default=1.0)
    years = max(1, math.ceil(longest))
    drawn_groups = [g for g in report.groups if g.n]
    at_risk_rows: dict[str, list[int]] = {}
    if n >= threshold and len(drawn_groups) > MAX_DRAWN_GROUPS:
        figure_note = _("%(n)s groups are too many for one readable figure (at most %(max)s, one colour-blind-safe "
                        "colour each): the table below shows them as a heat map. Narrow the selection, group "
                        "cohorts in bands (e.g. 2000-2007,2008-2014) or group by another field to see curves.",
                        n=len(drawn_groups), max=MAX_DRAWN_GROUPS)
    elif n >= threshold:
        at_risk_rows = at_risk_by_year(analysis, years)
    logrank = report.logrank
    rows = _group_rows(report, colours, labels)
    explorer = Explorer(
        query=query, view=view, report=report, groups=rows,
        logrank=None if logrank is None else {"statistic": logrank.statistic, "df": logrank.df,
                                              "p_value": logrank.p_value, "reason": logrank.reason},
        competing=[{"group": name, "label": labels.get(name, name), "n": r.n, "closures": r.closures,
                    "losses": r.losses, "horizons": [h.__dict__ for h in r.horizons]} for name, r in competing],
        competing_results=tuple(competing), published=published, baseline_sources=list(analysis.baseline_sources),
        n=n, events=events, excluded=dict(report.exclusions), message=message, figure_note=figure_note,
        small_groups=[labels.get(g.group, g.group) for g in report.groups if 0 < g.n < threshold]
        if n >= threshold and len(drawn_groups) <= MAX_DRAWN_GROUPS else [],
        max_years=years, km=None, km_svg=None, labels=labels, colours=colours,
        headline=_headline(user, query, report) if n else {},
        bands_shown=(len(drawn_groups) <= 2) if view.bands is None else view.bands,
        heatmap=len(drawn_groups) > MAX_DRAWN_GROUPS,
        heat_range=_range([h["survival"] for g in rows for h in g["horizons"]]),
        null_ci=any(h["survival"] is not None and h["ci_lower"] is None for g in rows for h in g["horizons"]),
        pairwise=[{"a": p.a, "b": p.b, "a_label": labels.get(p.a, p.a), "b_label": labels.get(p.b, p.b),
                   "statistic": p.statistic, "p_value": p.p_value, "p_holm": p.p_holm} for p in report.pairwise],
        hazard=[{"group": g.group, "label": labels.get(g.group, g.group),
                 "years": [h.__dict__ for h in g.hazard]} for g in report.groups if g.hazard],
        selection=selection_in_words(user, query),
        title=_("%(endpoint)s by years since the transfer", endpoint=vocabulary.ENDPOINTS_SHORT[query.endpoint]),
        at_risk=at_risk_rows, cox=_cox(analysis, query) if query.model == "cox" and n else None)
    if at_risk_rows:
        km = _km(explorer, threshold)
        with _draw_lock:
            km_svg = _inline(figure_svg(km, id_prefix="km"))
        object.__setattr__(explorer, "km", km)
        object.__setattr__(explorer, "km_svg", km_svg)
    return explorer


# --- the cases of a group -----------------------------------------------------------------------

def _visible_frame(user: User) -> tuple[np.ndarray, CaseFrame]:
    """The analysis' own arrays of the cases `user` may see (same scope, same version), with each
    case's id."""
    _version, frame = analytics.case_frame(analytics.scope_of(user))
    return frame.ids, frame


def case_followup(user: User, query: SurvivalQuery, group: str | None) -> dict[str, np.ndarray]:
    """The visible cases of the selection (and of `group` when given), analysed ones first then by
    id: `ids`, `reasons` (None when analysed, else why left out), and the follow-up the analysis
    used: `entry` and `stop` (years since transfer; NaN when left out) and `event`. Uses the
    analysis' own filter and grouping functions, so the analysed cases are exactly the group's n."""
    ids, frame = _visible_frame(user)
    mask = analytics.filter_mask(frame, query.where) if query.where else np.ones(len(frame), dtype=bool)
    if group is not None and query.group_by:
        mask &= _group_names(analytics.group_labels(frame, query), len(frame)) == group
    elif group not in (None, "all"):
        mask &= False
    frame = frame.subset(mask)
    followup = prepare_followup(frame.cases, query.as_of, query.endpoint, query.delayed_entry)
    order = np.lexsort((ids[mask], ~followup.included))  # analysed cases first, then by id
    return {"ids": ids[mask][order], "reasons": followup.reasons[order], "entry": followup.entry[order],
            "stop": followup.stop[order], "event": followup.event[order], "included": followup.included[order]}


def group_cases(user: User, query: SurvivalQuery, group: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the visible cases in the selection (and in `group`), with None or the reason left out."""
    found = case_followup(user, query, group)
    return found["ids"], found["reasons"]


def methods_text(as_of: date | None = None) -> dict[str, Any]:
    """The methods the explorer follows, as the annual report states them (its own text, reused)."""
    from types import SimpleNamespace

    from tracker.reports.build.methods import caveat, definitions

    return {"definitions": definitions(SimpleNamespace(as_of=as_of or date.today())),  # type: ignore[arg-type]
            "caveat": caveat()}


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
    followup: dict[int, tuple[float, float, bool]] = field(default_factory=dict)  # analysed: entry, stop, event


CASE_COLUMNS = (Case.id, Case.ref, Case.name, Case.federation_id, Case.country, Case.region, Case.nace,
                Case.employees, Case.transfer_date, Case.transfer_type, Case.registered_on, Case.last_verified_on,
                Case.exit_date, Case.exit_reason)


def case_page(user: User, query: SurvivalQuery, group: str | None, page: int) -> CasePage:
    """Page `page` (from 1) of the visible cases of the selection, analysed ones first."""
    found = case_followup(user, query, group)
    ids, reasons = found["ids"], found["reasons"]
    page = max(page, 1)
    pages = max(1, math.ceil(len(ids) / CASES_PER_PAGE))
    start = (page - 1) * CASES_PER_PAGE
    shown = [int(i) for i in ids[start:start + CASES_PER_PAGE]]
    reason_of = dict(zip(shown, reasons[start:start + CASES_PER_PAGE], strict=True))
    by_id = {row.id: row for row in db.session.execute(scope_cases(select(*CASE_COLUMNS), user)
                                                       .where(Case.id.in_(shown)))} if shown else {}
    codes = dict(db.session.execute(select(Federation.id, Federation.code)).all())
    followup = {int(i): (e, t, bool(v)) for i, e, t, v, inc in zip(
        found["ids"][start:start + CASES_PER_PAGE], found["entry"][start:start + CASES_PER_PAGE],
        found["stop"][start:start + CASES_PER_PAGE], found["event"][start:start + CASES_PER_PAGE],
        found["included"][start:start + CASES_PER_PAGE], strict=True) if inc}
    return CasePage(rows=[by_id[i] for i in shown if i in by_id], reason_of=reason_of, total=len(ids),
                    included=int(found["included"].sum()), page=page, pages=pages, federation_codes=codes,
                    followup=followup)


__all__ = ["CASES_PER_PAGE", "MAX_DRAWN_GROUPS", "CasePage", "Explorer", "at_risk_by_year", "build_explorer",
           "case_followup", "case_page", "federation_choices", "filters_in_words", "group_cases", "matching_published",
           "methods_text", "present_countries"]
