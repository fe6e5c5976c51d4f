"""The survival parts of the report: the figures and tables of the body (five-year survival
against the baselines by country, the survival curve, survival by transfer type, relative
survival, the hazard by year since transfer, closure against loss of the cooperative form) and
the detailed survival tables of the annex. Confidentiality is applied here (`inputs.rules`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from flask_babel import gettext as _
from flask_babel import ngettext

from tracker.charts.report import (
    Comparison,
    HazardBar,
    RiskRow,
    StepCurve,
    comparison_figure,
    hazard_figure,
    incidence_figure,
    survival_figure,
)
from tracker.reports.build.common import (
    BREAKDOWN_HEADERS,
    BREAKDOWN_TITLES,
    count_table,
    first_published,
    group_label,
    group_order,
    km_method,
    note,
    scope_note,
    source_note,
)
from tracker.reports.build.inputs import ReportInputs
from tracker.reports.content import CONFIDENTIAL, Column, Estimate, Figure, Table
from tracker.reports.render.formatting import number, pct, pct_ci, pct_sign, ratio, thousands
from tracker.survival import CompetingResult, GroupSurvival, LogRankResult

HORIZONS = (1, 2, 3, 4, 5)
FIVE = HORIZONS.index(5)
STEADY_CLOSURES = 20


def years_label(h: int) -> str:
    return ngettext("%(num)s year", "%(num)s years", h)


def overall(inputs: ReportInputs) -> GroupSurvival:
    return inputs.overall.report.groups[0]


def events_by(group: GroupSurvival, years: float) -> int:
    return int(group.steps.events[group.steps.time <= years].sum())


def closures_hidden(inputs: ReportInputs, group: GroupSurvival) -> bool:
    """Whether the group's count of closures is withheld (its curve would give it back)."""
    return inputs.rules.outcome_count(group.events, group.n) is CONFIDENTIAL


def estimates(inputs: ReportInputs, group: GroupSurvival) -> list[Any]:
    """The survival at 1..5 years as published: withheld where fewer than the minimum are at
    risk, or after the first closure of a group whose closure count is withheld."""
    hidden = closures_hidden(inputs, group)
    return [inputs.rules.estimate(h.survival, h.ci_lower, h.ci_upper, h.at_risk,
                                  reveals_hidden_count=hidden and events_by(group, h.years) > 0)
            for h in group.horizons]


def five_year(inputs: ReportInputs, group: GroupSurvival) -> Any:
    return estimates(inputs, group)[FIVE]


def expected_five(group: GroupSurvival) -> float | None:
    """Expected five-year survival from the national baselines (not secret: national figures)."""
    if group.baseline is None:
        return None
    return group.baseline.horizons[FIVE].expected


def relative_at(inputs: ReportInputs, group: GroupSurvival, observed: list[Any]) -> list[Any]:
    """Relative survival (a ratio) at 1..5 years, withheld with the observed survival."""
    if group.baseline is None:
        return [None for _h in HORIZONS]
    out: list[Any] = []
    for rel, obs in zip(group.baseline.horizons, observed, strict=True):
        if rel.relative is None or obs is None:
            out.append(None)
        elif obs is CONFIDENTIAL:
            out.append(CONFIDENTIAL)
        else:
            out.append(Estimate(rel.relative, rel.ci_lower, rel.ci_upper))
    return out


def series_label(group: GroupSurvival) -> str:
    from tracker import vocabulary

    if group.baseline is None or not group.baseline.series:
        return _("none")
    return "; ".join(vocabulary.BASELINE_SERIES.get(s, s) for s in group.baseline.series)


# --- 1. five-year survival against the national baselines, by country ---------------------------

def country_rows(inputs: ReportInputs) -> list[tuple[str, str, GroupSurvival]]:
    analysis = inputs.by["country"]
    groups = {g.group: g for g in analysis.report.groups}
    return [(n, group_label("country", n), groups[n]) for n in group_order("country", list(groups))]


def country_figure(inputs: ReportInputs) -> Figure:
    points = []
    for _code, label, g in country_rows(inputs):
        five = five_year(inputs, g)
        if isinstance(five, Estimate):
            points.append(Comparison(label, five.value, five.lower, five.upper, expected_five(g)))
    five = five_year(inputs, overall(inputs))
    if isinstance(five, Estimate):
        points.append(Comparison(_("All countries"), five.value, five.lower, five.upper,
                                 expected_five(overall(inputs)), total=True))
    svg = comparison_figure(points, observed_label=_("Transferred enterprises (95 % confidence interval)"),
                            expected_label=_("Expected from the national baselines"),
                            axis_label=_("Still operating five years after the transfer"), salt="fig-1")
    return Figure("1", "survival_by_country_figure", _("Five-year survival by country, against national baselines"),
                  svg, alt=_("Dot chart: for each country, the share of transferred enterprises still operating "
                             "five years on, with its confidence interval, beside the share expected from the "
                             "national business statistics."),
                  note=note(_country_reading(inputs), scope_note(inputs, _("Countries whose five-year survival "
                                                                           "cannot be published are not shown.")),
                            source_note(inputs, km_method() + " " + _("Expected survival by the Ederer II method."),
                                        baselines=True)),
                  series=tuple(p.label for p in points))


def _country_reading(inputs: ReportInputs) -> str:
    five, expected = five_year(inputs, overall(inputs)), expected_five(overall(inputs))
    if not isinstance(five, Estimate):
        return _("Too few enterprises were followed for five years for their survival to be published.")
    if expected is None:
        return _("Five years after their transfer, %(observed)s of the enterprises were still operating.",
                 observed=pct_ci(five))
    return _("Five years after their transfer, %(observed)s of the enterprises were still operating; had they "
             "fared like all enterprises of the same countries, sectors and cohorts, %(expected)s would have been.",
             observed=pct_ci(five), expected=pct_sign(expected))


def country_table(inputs: ReportInputs) -> Table:
    columns = (Column("group", _("Country"), width=2.0), Column("n", _("Enterprises"), "count"),
               Column("observed", _("Five-year survival (%)"), "est_pct", width=1.4),
               Column("expected", _("Expected from the baseline (%)"), "pct", width=1.4),
               Column("relative", _("Relative survival (ratio)"), "est_ratio", width=1.3),
               Column("series", _("Baseline series"), width=2.4))

    def row(label: str, g: GroupSurvival) -> list[Any]:
        observed = estimates(inputs, g)
        return [label, g.n, observed[FIVE], expected_five(g), relative_at(inputs, g, observed)[FIVE], series_label(g)]

    entries = country_rows(inputs)
    rows = [row(label, g) for _c, label, g in entries] + [row(_("All countries"), overall(inputs))]
    top = first_published(sorted(rows[:-1], key=lambda r: -r[1]), 2)
    reading = _("No five-year survival can be published by country.")
    if top is not None:
        reading = _("%(country)s: %(observed)s of the transferred enterprises were still operating five years on.",
                    country=top[0], observed=pct_ci(top[2]))
        if isinstance(top[3], float):
            reading += " " + _("The national baseline gives %(expected)s for enterprises of the same sectors and "
                               "cohorts.", expected=pct_sign(top[3]))
    return count_table("1", "survival_by_country", _("Five-year survival by country, against national baselines"),
                       list(columns), rows, reading=reading, scope=scope_note(inputs),
                       source=source_note(inputs, km_method() + " " + _("Expected survival by the Ederer II "
                                                                        "method."), baselines=True),
                       rules=inputs.rules, column_totals=["n"], keys=[c for c, _l, _g in entries] + ["all"])


# --- 2. the survival curve ---------------------------------------------------------------------

def ticks(inputs: ReportInputs) -> list[int]:
    step = 1 if inputs.figure_years <= 10 else 2
    return list(range(0, inputs.figure_years + 1, step))


def risk_ticks(inputs: ReportInputs) -> list[int]:
    """Years of the number-at-risk table: the axis ticks, every other one when counts are long."""
    t = ticks(inputs)
    if int(inputs.followup.included.sum()) >= 10_000 and len(t) > 6:
        return t[::2]
    return t


def at_risk_row(label: str, inputs: ReportInputs, mask: np.ndarray | None, years: list[int],
                colour_key: str | None = None) -> RiskRow:
    """Numbers at risk: never withheld (they say how many were followed, not what became of them)."""
    f = inputs.followup
    keep = f.included if mask is None else f.included & mask
    entry, stop = np.sort(f.entry[keep]), np.sort(f.stop[keep])
    times = np.asarray(years, dtype=float)
    counts = np.searchsorted(entry, times, side="left") - np.searchsorted(stop, times, side="left")
    counts[times == 0] = int(np.sum(entry == 0))  # at the origin: the cases followed from their transfer
    return RiskRow(label, tuple(thousands(int(c)) for c in counts), colour_key=colour_key)


def curve_end(inputs: ReportInputs, time: np.ndarray, at_risk: np.ndarray, limit: float) -> float:
    """Where a published curve stops: before fewer than the minimum remain at risk."""
    low = np.flatnonzero([not inputs.rules.curve_allowed(int(n)) for n in at_risk])
    end = float(time[low[0]]) if len(low) else (float(time[-1]) if len(time) else 0.0)
    return min(end, limit)


def overall_figure(inputs: ReportInputs) -> Figure:
    g = overall(inputs)
    t = ticks(inputs)
    curves = []
    if not closures_hidden(inputs, g):
        end = curve_end(inputs, g.steps.time, g.steps.at_risk, t[-1])
        curves.append(StepCurve(_("Transferred enterprises (95 % confidence band; + censored)"), g.steps.time,
                                g.steps.survival, g.steps.ci_lower, g.steps.ci_upper, end=end,
                                censored=g.steps.censored, colour_key="all"))
        if g.baseline is not None and np.isfinite(g.baseline.steps.expected).any():
            curves.append(StepCurve(_("Expected from the national baselines"), g.baseline.steps.time,
                                    g.baseline.steps.expected, dashed=True, end=end, colour_key="all"))
    years = risk_ticks(inputs)
    svg = survival_figure(curves, t, [at_risk_row(_("All"), inputs, None, years)], years,
                          ylabel=_("Share still operating"), xlabel=_("Years since the transfer"),
                          risk_title=_("Number at risk"), field=None, salt="fig-2")
    five = five_year(inputs, g)
    reading = (_("Five years after the transfer, %(observed)s of the enterprises were still operating.",
                 observed=pct_ci(five)) if isinstance(five, Estimate) else
               _("The curve is drawn while enough enterprises remain at risk."))
    return Figure("2", "survival_curve", _("Survival of the transferred enterprises since their transfer"), svg,
                  alt=_("Kaplan–Meier survival curve of all transferred enterprises with its 95 % confidence band "
                        "and censoring marks, the survival expected from the national baselines, and the number "
                        "at risk by year."),
                  note=note(reading, scope_note(inputs, _stop_words(inputs)),
                            source_note(inputs, km_method(), baselines=True)),
                  series=tuple(c.label for c in curves))


def _stop_words(inputs: ReportInputs) -> str:
    if not inputs.rules.active:
        return ""
    return _("Curves stop where fewer than %(n)s enterprises remain at risk.", n=inputs.rules.min_cell)


def survival_by_year(inputs: ReportInputs) -> Table:
    g = inputs.by_year.report.groups[0]
    columns = (Column("years", _("Years since the transfer"), "year", width=1.2),
               Column("at_risk", _("At risk"), "count"),
               Column("observed", _("Survival (%)"), "est_pct"),
               Column("expected", _("Expected from the baselines (%)"), "pct"))
    observed = estimates(inputs, g)
    rows = []
    for i, h in enumerate(g.horizons):
        rel = g.baseline.horizons[i] if g.baseline is not None else None
        rows.append((int(h.years), h.at_risk, observed[i], rel.expected if rel else None))
    return Table("A.8", "survival_by_year", _("Survival and number at risk by year since the transfer (data of "
                                                "figure 2)"), columns, tuple(rows),
                 note=note(_("At risk: the enterprises followed at that time, that is transferred at least that long "
                             "ago, registered with their federation and neither exited nor censored before."),
                           scope_note(inputs), source_note(inputs, km_method(), baselines=True)),
                 short=_("Survival by year"))


# --- 3. by transfer type -----------------------------------------------------------------------

def type_figure(inputs: ReportInputs) -> Figure:
    analysis = inputs.by["transfer_type"]
    groups = {g.group: g for g in analysis.report.groups}
    names = [n for n in group_order("transfer_type", list(groups))
             if not closures_hidden(inputs, groups[n]) and groups[n].n >= inputs.rules.min_cell]
    t, years = ticks(inputs), risk_ticks(inputs)
    curves, rows = [], []
    for name in names:
        g = groups[name]
        label = group_label("transfer_type", name)
        curves.append(StepCurve(label, g.steps.time, g.steps.survival, end=curve_end(inputs, g.steps.time,
                                                                                     g.steps.at_risk, t[-1]),
                                censored=g.steps.censored, colour_key=name))
        rows.append(at_risk_row(label.split(" (")[0], inputs, np.asarray(analysis.groups == name), years,
                                colour_key=name))
    svg = survival_figure(curves, t, rows, years, ylabel=_("Share still operating"),
                          xlabel=_("Years since the transfer"), risk_title=_("Number at risk"),
                          field="transfer_type", salt="fig-3")
    reading = _("Each curve is the share of the enterprises of that transfer type still operating.")
    if analysis.report.logrank is not None:
        reading += " " + logrank_words(analysis.report.logrank)
    return Figure("3", "survival_by_type_curve", _("Survival by transfer type"), svg,
                  alt=_("Kaplan–Meier survival curves by transfer type, with the number at risk by year."),
                  note=note(reading, scope_note(inputs, " ".join(filter(None, (
                      _("Types whose closures cannot be published are not drawn.") if inputs.rules.active else "",
                      _stop_words(inputs))))), source_note(inputs, km_method())),
                  series=tuple(c.label for c in curves))


def logrank_words(result: LogRankResult) -> str:
    if result.statistic is None or result.p_value is None:
        return _("The log-rank test of equal survival across the types is not defined here.")
    if result.p_value < 0.001:
        return _("The log-rank test rejects equal survival across the groups (chi-square %(stat)s on %(df)s degrees "
                 "of freedom, p < 0.001).", stat=ratio(result.statistic), df=result.df)
    return _("Log-rank test of equal survival across the groups: chi-square %(stat)s on %(df)s degrees of freedom, "
             "p = %(p)s.", stat=ratio(result.statistic), df=result.df, p=number(result.p_value, 3))


def survival_table(inputs: ReportInputs, field: str, number: str, short: str) -> Table:
    analysis = inputs.by[field]
    groups = {g.group: g for g in analysis.report.groups}
    columns = [Column("group", str(BREAKDOWN_HEADERS[field])), Column("n", _("Enterprises"), "count"),
               Column("events", _("Closures"), "count"),
               *(Column(f"y{h}", years_label(h), "est_pct") for h in HORIZONS)]
    names = group_order(field, list(groups), inputs)
    rows = [[group_label(field, n, inputs), groups[n].n, groups[n].events, *estimates(inputs, groups[n])]
            for n in names]
    g = overall(inputs)
    rows.append([_("All transfers"), g.n, g.events, *estimates(inputs, g)])
    top = first_published(sorted(rows[:-1], key=lambda r: -r[1]), len(columns) - 1)
    reading = _("No five-year survival can be published for these groups.")
    if top is not None:
        reading = _("%(group)s: %(observed)s of these enterprises were still operating five years after the "
                    "transfer.", group=top[0], observed=pct_ci(top[-1]))
    footnotes = (logrank_words(analysis.report.logrank),) if analysis.report.logrank else ()
    return count_table(number, f"survival_by_{field}", str(BREAKDOWN_TITLES[field]), columns, rows, reading=reading,
                       scope=scope_note(inputs, _("Survival in %, 95 % confidence interval below; ':' beyond the "
                                                  "longest follow-up of the group.")),
                       source=source_note(inputs, km_method()), rules=inputs.rules, sensitive=["events"],
                       group_size="n", column_totals=["n", "events"], footnotes=footnotes,
                       keys=[*names, "all"], short=short)


# --- 4. relative survival ----------------------------------------------------------------------

def relative_table(inputs: ReportInputs, number: str = "3") -> Table:
    entries = country_rows(inputs)
    pairs = [(label, g) for _c, label, g in entries] + [(_("All countries"), overall(inputs))]
    rows = []
    for label, g in pairs:
        matched = g.n - g.baseline.unmatched if g.baseline is not None else 0
        rows.append([label, matched, *relative_at(inputs, g, estimates(inputs, g))])
    value = rows[-1][-1]
    if isinstance(value, Estimate):
        reading = _("Five years after the transfer, the survival of the transferred enterprises is %(ratio)s times "
                    "the survival expected from the national baselines (95 %% confidence interval %(lower)s to "
                    "%(upper)s).", ratio=ratio(value.value), lower=ratio(value.lower), upper=ratio(value.upper))
    else:
        reading = _("A ratio above 1 means the transferred enterprises fared better than the national baseline.")
    return count_table(number, "relative_by_country", _("Relative survival (observed ÷ expected), by country"),
                       [Column("group", _("Country")), Column("matched", _("Enterprises with a baseline"), "count"),
                        *(Column(f"y{h}", years_label(h), "est_ratio") for h in HORIZONS)],
                       rows, reading=reading,
                       scope=scope_note(inputs, _("Ratio of observed to expected survival, 95 % confidence "
                                                  "interval below; ':' where the baseline or the follow-up does not "
                                                  "reach the horizon.")),
                       source=source_note(inputs, km_method() + " " + _("Expected survival by the Ederer II "
                                                                        "method."), baselines=True),
                       rules=inputs.rules, column_totals=["matched"], keys=[c for c, _l, _g in entries] + ["all"],
                       short=_("Relative survival"))


def expected_table(inputs: ReportInputs, number: str) -> Table:
    entries = country_rows(inputs)
    pairs = [(label, g) for _c, label, g in entries] + [(_("All countries"), overall(inputs))]
    rows = tuple((label, series_label(g), *((r.expected for r in g.baseline.horizons) if g.baseline is not None
                                             else (None for _h in HORIZONS))) for label, g in pairs)
    value = rows[-1][-1]
    reading = (_("Had they fared like all enterprises of the same countries, sectors and cohorts, %(expected)s of "
                 "the transferred enterprises would have been operating five years after the transfer.",
                 expected=pct_sign(value)) if isinstance(value, float) else
               _("Expected survival: the national baseline curves, weighted by the enterprises at risk."))
    return Table(number, "expected_by_country", _("Survival expected from the matched national baselines, by "
                                                  "country"),
                 (Column("group", _("Country")), Column("series", _("Baseline series")),
                  *(Column(f"y{h}", years_label(h), "pct") for h in HORIZONS)), rows,
                 note=note(reading, scope_note(inputs, _("Survival in %; ':' where the baseline does not reach the "
                                                         "horizon.")),
                           source_note(inputs, _("Expected survival by the Ederer II method."), baselines=True)),
                 keys=tuple(c for c, _l, _g in entries) + ("all",), short=_("Expected survival"))


# --- 5. the hazard by year since transfer -------------------------------------------------------

def hazard_rows(inputs: ReportInputs) -> list[tuple[int, float, Any, Any, Any, Any]]:
    """(year, person-years, closures, rate, lower, upper) per year since transfer, as published."""
    g = inputs.by_year.report.groups[0]
    out = []
    for row in g.hazard:
        closures = inputs.rules.outcome_count(row.events)
        hide = closures is CONFIDENTIAL
        out.append((row.start, row.person_years, closures, CONFIDENTIAL if hide else row.rate,
                    CONFIDENTIAL if hide else row.ci_lower, CONFIDENTIAL if hide else row.ci_upper))
    return out


def hazard_figure_block(inputs: ReportInputs) -> Figure:
    rows = hazard_rows(inputs)
    published = [r for r in rows if isinstance(r[3], float) and isinstance(r[4], float) and isinstance(r[5], float)]
    bars = [HazardBar(f"{start}–{start + 1}", rate, lower, upper) for start, _py, _d, rate, lower, upper in published]
    # The reading names the peak among the years with enough closures for a stable rate.
    steady = [HazardBar(f"{r[0]}–{r[0] + 1}", r[3], r[4], r[5]) for r in published
              if isinstance(r[2], int) and r[2] >= STEADY_CLOSURES]
    svg = hazard_figure(bars, ylabel=_("Closures per 100 enterprise-years"), xlabel=_("Years since the transfer"),
                        salt="fig-4")
    peak = max(steady or bars, key=lambda b: b.rate) if bars else None
    reading = (_("The risk of closure is highest %(years)s years after the transfer: %(rate)s closures per 100 "
                 "enterprises followed for a year.", years=peak.label, rate=pct(peak.rate)) if peak else
               _("Too few closures to draw the risk by year."))
    return Figure("4", "hazard_figure", _("Risk of closure by year since the transfer"), svg,
                  alt=_("Bar chart of the annual rate of closure, with its 95 % confidence interval, for each year "
                        "since the transfer."),
                  note=note(reading, scope_note(inputs, _("Years with too few closures to publish are left out.")
                                                if inputs.rules.active else ""),
                            source_note(inputs, _("Annual life table: closures divided by the years lived by the "
                                                  "enterprises at risk in that year, with exact Poisson 95 % "
                                                  "confidence intervals."))),
                  series=tuple(b.label for b in bars))


def hazard_table(inputs: ReportInputs, number: str) -> Table:
    rows = [[f"{start}–{start + 1}", py, d, rate, lower, upper]
            for start, py, d, rate, lower, upper in hazard_rows(inputs)]
    columns = [Column("years", _("Years since the transfer")), Column("person_years", _("Enterprise-years at risk"),
                                                                      "years"),
               Column("closures", _("Closures"), "count"), Column("rate", _("Rate per 100 enterprise-years"), "pct"),
               Column("lower", _("95 % CI lower"), "pct"), Column("upper", _("95 % CI upper"), "pct")]
    return Table(number, "hazard_by_year", _("Closures per 100 enterprise-years, by year since the transfer (data "
                                             "of figure 4)"), tuple(columns), tuple(tuple(r) for r in rows),
                 note=note(_("Enterprise-years: the time the enterprises spent at risk within that year of their "
                             "life since the transfer."), scope_note(inputs),
                           source_note(inputs, _("Annual life table with exact Poisson confidence intervals."))),
                 short=_("Risk by year"))


# --- 6. closure against loss of the cooperative form --------------------------------------------

def _incidence_at(inputs: ReportInputs, results: tuple[tuple[str, CompetingResult], ...],
                  years: int) -> tuple[Any, Any] | None:
    if not results:
        return None
    return incidence_values(inputs, results[0][1])[years - 1]


def incidence_values(inputs: ReportInputs, r: CompetingResult) -> list[tuple[Any, Any]]:
    """(closure, loss) cumulative incidence at 1..5 years, withheld like the survival."""
    rules = inputs.rules
    closures_hidden_ = rules.outcome_count(r.closures, r.n) is CONFIDENTIAL
    losses_hidden = rules.outcome_count(r.losses, r.n) is CONFIDENTIAL
    out = []
    for h in r.horizons:
        by = r.steps.time <= h.years
        out.append((rules.point(h.closure, h.at_risk, closures_hidden_ and int(r.steps.closures[by].sum()) > 0),
                    rules.point(h.loss, h.at_risk, losses_hidden and int(r.steps.losses[by].sum()) > 0)))
    return out


def incidence_curve(inputs: ReportInputs) -> Figure:
    t = ticks(inputs)
    curves = []
    if inputs.competing_all:
        r = inputs.competing_all[0][1]
        steps = r.steps
        end = curve_end(inputs, steps.time, steps.at_risk, t[-1])
        if inputs.rules.outcome_count(r.closures, r.n) is not CONFIDENTIAL:
            curves.append(StepCurve(_("Closure"), steps.time, steps.closure, start=0.0, end=end, colour_key="closure"))
        if inputs.rules.outcome_count(r.losses, r.n) is not CONFIDENTIAL:
            curves.append(StepCurve(_("Loss of the cooperative form"), steps.time, steps.loss, start=0.0, end=end,
                                    dashed=True, colour_key="loss"))
    svg = incidence_figure(curves, t, ylabel=_("Cumulative share of enterprises"), xlabel=_("Years since the transfer"),
                           salt="fig-5")
    at_five = _incidence_at(inputs, inputs.competing_all, 5)
    reading = (_("Five years after the transfer, %(closed)s of the enterprises had closed and %(lost)s had left the "
                 "cooperative form while continuing in business.", closed=pct_sign(at_five[0]),
                 lost=pct_sign(at_five[1]))
               if at_five and all(isinstance(v, float) for v in at_five) else
               _("Cumulative shares of each kind of exit."))
    return Figure("5", "exits_curve", _("Closure and loss of the cooperative form since the transfer"), svg,
                  alt=_("Cumulative incidence curves of closure and of loss of the cooperative form by years since "
                        "the transfer."),
                  note=note(reading, scope_note(inputs, _stop_words(inputs)),
                            source_note(inputs, _("Aalen–Johansen cumulative incidence with delayed entry, each "
                                                  "outcome competing with the other."))),
                  series=tuple(c.label for c in curves))


def incidence_table(inputs: ReportInputs, number: str) -> Table:
    results = dict(inputs.competing_by_type)
    names = group_order("transfer_type", list(results))
    entries = [(n, group_label("transfer_type", n), results[n]) for n in names]
    entries += [("all", _("All transfers"), r) for _g, r in inputs.competing_all]
    columns = (Column("group", _("Transfer type")), Column("outcome", _("Outcome")),
               *(Column(f"y{h}", years_label(h), "pct") for h in HORIZONS))
    rows, keys = [], []
    for key, label, r in entries:
        values = incidence_values(inputs, r)
        for i, (code, outcome) in enumerate((("closure", _("Closure")), ("loss", _("Loss of the cooperative form")))):
            rows.append((label, outcome, *(v[i] for v in values)))
            keys.append(f"{key}|{code}")
    at_five = _incidence_at(inputs, inputs.competing_all, 5)
    reading = (_("Five years after the transfer, %(closed)s of all transferred enterprises had closed and %(lost)s "
                 "had left the cooperative form while continuing in business.", closed=pct_sign(at_five[0]),
                 lost=pct_sign(at_five[1]))
               if at_five and all(isinstance(v, float) for v in at_five) else
               _("Share of the enterprises that had exited each way by the given number of years after the transfer."))
    return Table(number, "exits_by_type", _("Cumulative incidence of closure and of loss of the cooperative form, "
                                            "by transfer type"), columns, tuple(rows),
                 note=note(reading, scope_note(inputs, _("Cumulative share in %; ':' beyond the longest follow-up. "
                                                         "Numbers of enterprises: table 2; exits by reason: table "
                                                         "A.12.")),
                           source_note(inputs, _("Aalen–Johansen cumulative incidence with delayed entry."))),
                 total_rows=2 if inputs.competing_all else 0, keys=tuple(keys), short=_("Closure and loss"))
