"""Sections 1 (headline), 3 (survival) and 4 (exits): the engine's estimates as published tables
and figures, with confidentiality applied (fewer than 5 at risk: not published)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tracker.charts.report import RiskRow, StepCurve, incidence_figure, survival_figure
from tracker.reports.build import confidentiality as conf
from tracker.reports.build.common import (
    BREAKDOWN_HEADERS,
    BREAKDOWN_TITLES,
    count_table,
    first_published,
    group_label,
    group_order,
    note,
    scope_note,
    source_note,
)
from tracker.reports.build.counts import CaseCounts, exit_reasons
from tracker.reports.build.inputs import ReportInputs
from tracker.reports.content import CONFIDENTIAL, Column, Estimate, Figure, KeyFigure, Paragraph, Section, Table
from tracker.reports.render.formatting import pct, pct_ci, ratio, thousands
from tracker.survival import CompetingResult, GroupSurvival, LogRankResult

HORIZONS = (1, 2, 3, 4, 5)
READING_WHO = {
    "transfer_type": "of transfer type “{}”",
    "country": "transferred in {}",
    "nace_section": "of section {}",
    "size_class": "with {} at transfer",
    "cohort": "transferred in {}",
}
KM_METHOD = "Kaplan–Meier estimates with delayed entry, 95 % log(−log) confidence intervals"


def _years(h: int) -> str:
    return f"{h} year" if h == 1 else f"{h} years"


def _overall(inputs: ReportInputs) -> GroupSurvival:
    return inputs.overall.report.groups[0]


def survival_row(label: str, group: GroupSurvival) -> list[Any]:
    if group.n < conf.THRESHOLD:
        return [label, CONFIDENTIAL, CONFIDENTIAL, *(CONFIDENTIAL for _ in group.horizons)]
    return [label, group.n, group.events,
            *(conf.estimate(h.survival, h.ci_lower, h.ci_upper, h.at_risk) for h in group.horizons)]


def _five(group: GroupSurvival) -> Any:
    h = group.horizons[HORIZONS.index(5)]
    return conf.estimate(h.survival, h.ci_lower, h.ci_upper, h.at_risk) if group.n >= conf.THRESHOLD else CONFIDENTIAL


def _expected_five(group: GroupSurvival) -> Any:
    if group.baseline is None:
        return None
    rel, obs = group.baseline.horizons[HORIZONS.index(5)], group.horizons[HORIZONS.index(5)]
    return conf.point(rel.expected, min(rel.at_risk, obs.at_risk))


def _relative_five(group: GroupSurvival) -> Any:
    if group.baseline is None:
        return None
    rel, obs = group.baseline.horizons[HORIZONS.index(5)], group.horizons[HORIZONS.index(5)]
    if rel.relative is None:
        return None
    return conf.estimate(rel.relative, rel.ci_lower, rel.ci_upper, min(rel.at_risk, obs.at_risk))


def _series(group: GroupSurvival) -> str:
    if group.baseline is None or not group.baseline.series:
        return "none"
    return ", ".join(group.baseline.series)


# --- section 1 ---------------------------------------------------------------------------------

def headline_section(inputs: ReportInputs, counts: CaseCounts) -> Section:
    overall = _overall(inputs)
    five, expected, relative = _five(overall), _expected_five(overall), _relative_five(overall)
    transferred = len(counts.table)
    in_year = conf.count(int(counts.table["transferred_in_year"].sum()))
    keys = (
        KeyFigure("Transfers followed", _count_value(transferred),
                  f"{_count_value(overall.n)} in the survival analysis"),
        KeyFigure("Five-year survival", _pct_value(five), _ci_words(five)),
        KeyFigure("Expected from national baselines", _pct_value(expected),
                  "enterprises of the same countries, sectors and cohorts" if expected is not None else
                  "some countries' baselines stop before five years: see table 1.1"),
        KeyFigure("Relative survival at five years", _ratio_value(relative),
                  _ci_words(relative, percent=False) if relative is not None else "by country in table 1.1"),
        KeyFigure(f"Transfers in {inputs.year}", _count_value(in_year),
                  "recorded by the federations"),
    )
    return Section("1", "headline", "Headline", (
        keys,
        Paragraph(_headline_sentence(inputs, overall, five, expected)),
        country_headline(inputs),
        comparisons_table(inputs),
    ))


def _count_value(value: Any) -> str:
    published = conf.count(value) if isinstance(value, int) else value
    return "c" if published is CONFIDENTIAL else thousands(published)


def _pct_value(value: Any) -> str:
    if value is CONFIDENTIAL:
        return "c"
    if value is None:
        return ":"
    return f"{pct(value.value if isinstance(value, Estimate) else value)} %"


def _ratio_value(value: Any) -> str:
    return "c" if value is CONFIDENTIAL else ":" if value is None else ratio(value.value)


def _ci_words(value: Any, percent: bool = True) -> str:
    if not isinstance(value, Estimate) or value.lower is None:
        return "not published" if value is CONFIDENTIAL else "not available"
    if percent:
        return f"95 % CI {pct(value.lower)}–{pct(value.upper)} %"
    return f"95 % CI {ratio(value.lower)}–{ratio(value.upper)}"


def _headline_sentence(inputs: ReportInputs, overall: GroupSurvival, five: Any, expected: Any) -> str:
    if not isinstance(five, Estimate):
        return (f"{_count_value(overall.n)} transferred enterprises are in the survival analysis; too few were "
                "followed for five years for their five-year survival to be published.")
    text = (f"Of the enterprises transferred to their employees and followed by "
            f"{'the member federations' if inputs.scope == 'ALL' else inputs.scope_label}, {pct_ci(five)} were "
            f"still operating five years after the transfer")
    if isinstance(expected, float):
        text += (f", against {pct(expected)} % expected for enterprises of the same countries, sectors and cohorts "
                 f"in national business statistics")
    return text + (". National statistics follow enterprise births; a transfer is not a birth (section 6.2), so "
                   "the comparison is context, not a like-for-like benchmark.")


def country_headline(inputs: ReportInputs) -> Table:
    analysis = inputs.by["country"]
    groups = {g.group: g for g in analysis.report.groups}
    columns = (Column("group", "Country", width=2.0), Column("n", "Enterprises", "count"),
               Column("observed", "Five-year survival (%)", "est_pct", width=1.4),
               Column("expected", "Expected from baseline (%)", "pct", width=1.4),
               Column("relative", "Relative survival", "est_ratio", width=1.2),
               Column("series", "Baseline series", width=2.4))

    def row(label: str, g: GroupSurvival) -> list[Any]:
        if g.n < conf.THRESHOLD:
            return [label, CONFIDENTIAL, CONFIDENTIAL, CONFIDENTIAL, CONFIDENTIAL, _series(g)]
        return [label, g.n, _five(g), _expected_five(g), _relative_five(g), _series(g)]

    rows = [row(group_label("country", n), groups[n]) for n in group_order("country", list(groups))]
    rows.append(row("All countries", _overall(inputs)))
    by_size = sorted(rows[:-1], key=lambda r: -(r[1] if isinstance(r[1], int) else 0))
    top = first_published([r for r in by_size if isinstance(r[3], float)], 2) or first_published(by_size, 2)
    reading = "No five-year survival can be published."
    if top is not None:
        reading = f"{top[0]}: {pct_ci(top[2])} of the transferred enterprises were operating five years on"
        reading += (f", against {pct(top[3])} % expected from the national baseline." if isinstance(top[3], float)
                    else ".")
    return count_table("1.1", "headline_by_country", "Five-year survival by country, against national baselines",
                       list(columns), rows, reading=reading, scope=scope_note(inputs),
                       source=source_note(inputs, KM_METHOD + "; expected survival by the Ederer II method",
                                          baselines=True),
                       column_totals=["n"])


def comparisons_table(inputs: ReportInputs) -> Table:
    columns = (Column("country", "Country", width=0.8), Column("population", "Population", width=1.7),
               Column("period", "Period", width=1.6), Column("horizon", "Years", "count", width=0.6),
               Column("survival", "Survival (%)", "pct", width=0.9), Column("comparator", "Comparator", width=1.6),
               Column("comparator_pct", "Comparator (%)", width=1.0), Column("source", "Source", width=3.2),
               Column("url", "Address", "url", printed=False), Column("notes", "Notes", width=2.0))
    rows = tuple(
        (r["country"], r["population"].replace("_", " "), r["period"], int(r["horizon_years"]),
         float(r["survival_pct"]) / 100, r["comparator_label"] or None, r["comparator_pct"] or None,
         f"{r['publisher']}, “{r['source_title']}”", r["url"], r["notes"] or "")
        for r in inputs.comparisons)
    first = inputs.comparisons[0] if inputs.comparisons else None
    reading = (f"{first['publisher']} reported a {first['horizon_years']}-year survival of {first['survival_pct']} % "
               f"for {first['population'].replace('_', ' ')} ({first['period']})." if first else "")
    return Table("1.2", "published_comparisons", "Published survival figures for cooperatives and employee transfers "
                 "(context)", columns, rows,
                 note=note(reading, "figures published by cooperative networks and the press for the countries in "
                                    "this report; periods, populations and definitions differ from this report's and "
                                    "from one another: they are context, not comparisons.",
                           "as cited in each row (shipped with Transfer Tracker as published_comparisons.csv)."))


# --- section 3 ---------------------------------------------------------------------------------

def survival_section(inputs: ReportInputs) -> Section:
    blocks: list[Any] = [
        Paragraph("The Kaplan–Meier estimator gives the share of transferred enterprises still operating a given "
                  "number of years after the transfer, taking into account that most are still followed and "
                  "that some were only registered with a federation years after their transfer (section 6.1)."),
        overall_figure(inputs), survival_by_year(inputs), type_figure(inputs),
    ]
    for number, field in (("3.2", "transfer_type"), ("3.3", "country"), ("3.4", "nace_section"),
                          ("3.5", "size_class"), ("3.6", "cohort")):
        blocks.append(survival_table(inputs, field, number))
    blocks.append(Paragraph("Relative survival compares the observed survival with the survival expected if the "
                            "transferred enterprises had fared like all enterprises of the same country, sector and "
                            "birth cohort in the national statistics (the matched baselines of section 6.3). A ratio "
                            "above 1 means they fared better than the baseline."))
    blocks.extend(relative_tables(inputs))
    return Section("3", "survival", "Survival", tuple(blocks))


def _ticks(inputs: ReportInputs) -> list[int]:
    step = 1 if inputs.figure_years <= 10 else 2
    return list(range(0, inputs.figure_years + 1, step))


def _risk_ticks(inputs: ReportInputs) -> list[int]:
    """Years of the number-at-risk table: the axis ticks, every other one when counts are long."""
    ticks = _ticks(inputs)
    if int(inputs.followup.included.sum()) >= 10_000 and len(ticks) > 6:
        return ticks[::2]
    return ticks


def _at_risk_row(label: str, inputs: ReportInputs, mask: np.ndarray | None, ticks: list[int]) -> RiskRow:
    f = inputs.followup
    keep = f.included if mask is None else f.included & mask
    entry, stop = np.sort(f.entry[keep]), np.sort(f.stop[keep])
    times = np.asarray(ticks, dtype=float)
    counts = np.searchsorted(entry, times, side="left") - np.searchsorted(stop, times, side="left")
    counts[times == 0] = int(np.sum(entry == 0))  # at the origin: the cases followed from their transfer
    published = [conf.count(int(c)) for c in counts]
    return RiskRow(label, tuple("c" if c is CONFIDENTIAL else f"{c:,}" for c in published))


def _curve_end(time: np.ndarray, at_risk: np.ndarray, limit: float) -> float:
    low = np.flatnonzero(at_risk < conf.THRESHOLD)
    end = float(time[low[0]]) if len(low) else (float(time[-1]) if len(time) else 0.0)
    return min(end, limit)


def overall_figure(inputs: ReportInputs) -> Figure:
    g = _overall(inputs)
    ticks = _ticks(inputs)
    end = _curve_end(g.steps.time, g.steps.at_risk, ticks[-1])
    curves = [StepCurve("Transferred enterprises (95 % CI shaded)", g.steps.time, g.steps.survival,
                        g.steps.ci_lower, g.steps.ci_upper, end=end)]
    if g.baseline is not None and np.isfinite(g.baseline.steps.expected).any():
        curves.append(StepCurve("Expected from national baselines", g.baseline.steps.time,
                                g.baseline.steps.expected, dashed=True, end=end))
    risk_ticks = _risk_ticks(inputs)
    svg = survival_figure(curves, ticks, [_at_risk_row("All", inputs, None, risk_ticks)], risk_ticks,
                          salt="fig-3-1")
    five = _five(g)
    return Figure("3.1", "survival_curve", "Survival of the transferred enterprises since their transfer", svg,
                  alt="Kaplan–Meier survival curve of all transferred enterprises with its 95 % confidence band, "
                      "the survival expected from the national baselines, and the number at risk by year.",
                  note=note(f"Five years after the transfer, {pct_ci(five)} of the enterprises were still operating."
                            if isinstance(five, Estimate) else "The curve is shown while 5 or more enterprises "
                                                               "remain at risk.",
                            scope_note(inputs, "Curves stop where fewer than 5 enterprises remain at risk."),
                            source_note(inputs, KM_METHOD, baselines=True)))


def survival_by_year(inputs: ReportInputs) -> Table:
    g = inputs.by_year.report.groups[0]
    columns = (Column("years", "Years since transfer", "count", width=1.2), Column("at_risk", "At risk", "count"),
               Column("observed", "Survival (%)", "est_pct"), Column("expected", "Expected from baselines (%)", "pct"))
    rows = []
    for i, h in enumerate(g.horizons):
        rel = g.baseline.horizons[i] if g.baseline is not None else None
        rows.append((int(h.years), conf.count(h.at_risk), conf.estimate(h.survival, h.ci_lower, h.ci_upper, h.at_risk),
                     conf.point(rel.expected, min(rel.at_risk, h.at_risk)) if rel else None))
    return Table("3.1", "survival_by_year", "Survival and number at risk by year since transfer (data of figure 3.1)",
                 columns, tuple(rows),
                 note=note("At risk: enterprises followed at that time (transferred at least that long ago, "
                           "registered with their federation and not yet exited or censored).",
                           scope_note(inputs), source_note(inputs, KM_METHOD, baselines=True)))


def type_figure(inputs: ReportInputs) -> Figure:
    analysis = inputs.by["transfer_type"]
    groups = {g.group: g for g in analysis.report.groups}
    names = [n for n in group_order("transfer_type", list(groups)) if groups[n].n >= conf.THRESHOLD]
    ticks, risk_ticks = _ticks(inputs), _risk_ticks(inputs)
    labels = analysis.groups
    curves, rows = [], []
    for name in names:
        g = groups[name]
        label = group_label("transfer_type", name)
        curves.append(StepCurve(label, g.steps.time, g.steps.survival,
                                end=_curve_end(g.steps.time, g.steps.at_risk, ticks[-1])))
        rows.append(_at_risk_row(label.split(" (")[0], inputs, np.asarray(labels == name), risk_ticks))
    svg = survival_figure(curves, ticks, rows, risk_ticks, salt="fig-3-2")
    return Figure("3.2", "survival_by_type_curve", "Survival by transfer type", svg,
                  alt="Kaplan–Meier survival curves by transfer type, with the number at risk by year.",
                  note=note("Each curve is the share of the enterprises of that transfer type still operating; "
                            "see table 3.2 for the estimates and their confidence intervals.",
                            scope_note(inputs, "Types with fewer than 5 enterprises are not drawn; curves stop "
                                               "where fewer than 5 remain at risk."),
                            source_note(inputs, KM_METHOD)))


def survival_table(inputs: ReportInputs, field: str, number: str) -> Table:
    analysis = inputs.by[field]
    groups = {g.group: g for g in analysis.report.groups}
    columns = [Column("group", BREAKDOWN_HEADERS[field]), Column("n", "Enterprises", "count"),
               Column("events", "Closures", "count"), *(Column(f"y{h}", _years(h), "est_pct") for h in HORIZONS)]
    names = sorted(groups, key=lambda n: (n == "unknown", n)) if field == "cohort" else \
        group_order(field, list(groups), inputs)
    rows = [survival_row(group_label(field, n, inputs), groups[n]) for n in names]
    rows.append(survival_row("All transfers", _overall(inputs)))
    top = first_published(rows[:-1], columns.index(columns[-1]),
                          key=lambda r: -(r[1] if isinstance(r[1], int) else 0))
    reading = "No five-year survival can be published for these groups."
    if top is not None:
        reading = (f"Of the enterprises {READING_WHO[field].format(top[0])}, {pct_ci(top[-1])} were still operating "
                   f"five years after the transfer.")
    title = ("Survival at 1 to 5 years by year of transfer (successive generations)" if field == "cohort" else
             f"Survival at 1 to 5 years by {BREAKDOWN_TITLES[field]}")
    slug = "survival_by_cohort" if field == "cohort" else f"survival_by_{field}"
    footnotes = (_logrank_words(analysis.report.logrank),) if analysis.report.logrank else ()
    return count_table(number, slug, title, columns, rows, reading=reading,
                       scope=scope_note(inputs, "Survival in %, 95 % confidence interval below; ':' beyond the "
                                                "longest follow-up of the group."),
                       source=source_note(inputs, KM_METHOD), column_totals=["n", "events"], footnotes=footnotes)


def _logrank_words(result: LogRankResult) -> str:
    if result.statistic is None or result.p_value is None:
        return f"Log-rank test of equal survival across the groups: not defined ({result.reason})."
    p = "< 0.001" if result.p_value < 0.001 else f"= {result.p_value:.3f}"
    return (f"Log-rank test of equal survival across the groups: chi-square {result.statistic:.1f} on {result.df} "
            f"degrees of freedom, p {p}.")


def relative_tables(inputs: ReportInputs) -> tuple[Table, Table]:
    analysis = inputs.by["country"]
    groups = {g.group: g for g in analysis.report.groups}
    names = group_order("country", list(groups))
    pairs = [(group_label("country", n), groups[n]) for n in names] + [("All countries", _overall(inputs))]
    expected_rows, relative_rows = [], []
    for label, g in pairs:
        if g.n < conf.THRESHOLD:
            expected_rows.append([label, _series(g), *(CONFIDENTIAL for _ in HORIZONS)])
            relative_rows.append([label, CONFIDENTIAL, *(CONFIDENTIAL for _ in HORIZONS)])
        elif g.baseline is None:
            expected_rows.append([label, _series(g), *(None for _ in HORIZONS)])
            relative_rows.append([label, 0, *(None for _ in HORIZONS)])
        else:
            both = list(zip(g.baseline.horizons, g.horizons, strict=True))
            expected_rows.append([label, _series(g), *(conf.point(r.expected, min(r.at_risk, o.at_risk))
                                                       for r, o in both)])
            relative_rows.append([label, g.n - g.baseline.unmatched, *(
                conf.estimate(r.relative, r.ci_lower, r.ci_upper, min(r.at_risk, o.at_risk)) for r, o in both)])
    source = source_note(inputs, KM_METHOD + "; expected survival by the Ederer II method", baselines=True)
    expected = Table("3.7", "expected_by_country", "Survival expected from the matched national baselines, by country",
                     (Column("group", "Country"), Column("series", "Baseline series"),
                      *(Column(f"y{h}", _years(h), "pct") for h in HORIZONS)),
                     tuple(tuple(r) for r in expected_rows),
                     note=note(_expected_reading(expected_rows[-1]),
                               scope_note(inputs, "Survival in %; ':' where the baseline or the follow-up does not "
                                                  "reach the horizon."), source))
    relative = count_table("3.8", "relative_by_country", "Relative survival (observed ÷ expected), by country",
                           [Column("group", "Country"), Column("matched", "Enterprises with a baseline", "count"),
                            *(Column(f"y{h}", _years(h), "est_ratio") for h in HORIZONS)],
                           relative_rows, reading=_relative_reading(relative_rows[-1]),
                           scope=scope_note(inputs, "Ratio, 95 % confidence interval below."), source=source,
                           column_totals=["matched"])
    return expected, relative


def _expected_reading(row: list[Any]) -> str:
    value = row[-1]
    if isinstance(value, float):
        return (f"Had they fared like all enterprises of the same countries, sectors and cohorts, {pct(value)} % of "
                f"the transferred enterprises would have been operating five years after the transfer.")
    return "Expected survival: the survival of the national baseline curves, weighted by the enterprises at risk."


def _relative_reading(row: list[Any]) -> str:
    value = row[-1]
    if isinstance(value, Estimate):
        return (f"At five years, the survival of the transferred enterprises is {ratio(value.value)} times the "
                f"survival expected from the national baselines (95 % CI {ratio(value.lower)}–{ratio(value.upper)}).")
    return "A ratio above 1 means the transferred enterprises fared better than the national baseline."


# --- section 4 ---------------------------------------------------------------------------------

def exits_section(inputs: ReportInputs, counts: CaseCounts) -> Section:
    return Section("4", "exits", "Exits", (
        Paragraph("An enterprise leaves the cooperative movement in two ways: it closes (liquidation, dissolution or "
                  "another closure), or it goes on as a business but loses its cooperative form (sold to non-members, "
                  "merged, or demutualised). The cumulative incidence of each outcome is the share of enterprises "
                  "that had exited that way by a given time, the other outcome competing with it "
                  "(Aalen–Johansen estimator)."),
        incidence_curve(inputs),
        incidence_table(inputs),
        exit_reasons(inputs, counts),
    ))


def incidence_curve(inputs: ReportInputs) -> Figure:
    ticks = _ticks(inputs)
    curves = []
    if inputs.competing_all:
        steps = inputs.competing_all[0][1].steps
        end = _curve_end(steps.time, steps.at_risk, ticks[-1])
        curves = [StepCurve("Closure", steps.time, steps.closure, start=0.0, end=end),
                  StepCurve("Loss of the cooperative form", steps.time, steps.loss, start=0.0, end=end, dashed=True)]
    svg = incidence_figure(curves, ticks, salt="fig-4-1")
    closure = _incidence_at(inputs.competing_all, 5)
    reading = (f"Five years after the transfer, {pct(closure[0])} % of the enterprises had closed and "
               f"{pct(closure[1])} % had lost their cooperative form." if closure else
               "Cumulative shares of each kind of exit.")
    return Figure("4.1", "exits_curve", "Closure and loss of the cooperative form since the transfer", svg,
                  alt="Cumulative incidence curves of closure and of loss of the cooperative form by years since "
                      "transfer.",
                  note=note(reading, scope_note(inputs, "Curves stop where fewer than 5 enterprises remain at risk."),
                            source_note(inputs, "Aalen–Johansen cumulative incidence with delayed entry")))


def _incidence_at(results: tuple[tuple[str, CompetingResult], ...], years: int) -> tuple[float, float] | None:
    if not results:
        return None
    h = results[0][1].horizons[HORIZONS.index(years)]
    if h.closure is None or h.loss is None or h.at_risk < conf.THRESHOLD:  # (both None beyond the follow-up)
        return None
    return h.closure, h.loss


def incidence_table(inputs: ReportInputs) -> Table:
    results = dict(inputs.competing_by_type)
    names = group_order("transfer_type", list(results))
    entries = [(group_label("transfer_type", n), results[n]) for n in names]
    entries += [("All transfers", r) for _, r in inputs.competing_all]
    columns = (Column("group", "Transfer type"), Column("outcome", "Outcome"),
               *(Column(f"y{h}", _years(h), "pct") for h in HORIZONS))
    rows = []
    for label, r in entries:
        for outcome, attr in (("Closure", "closure"), ("Loss of cooperative form", "loss")):
            if r.n < conf.THRESHOLD:
                rows.append((label, outcome, *(CONFIDENTIAL for _ in HORIZONS)))
            else:
                rows.append((label, outcome, *(conf.point(getattr(h, attr), h.at_risk) for h in r.horizons)))
    return Table("4.1", "exits_by_type", "Cumulative incidence of closure and of loss of the cooperative form, by "
                 "transfer type", columns, tuple(rows),
                 note=note(_incidence_reading(inputs),
                           scope_note(inputs, "Cumulative share in %; ':' beyond the longest follow-up. Numbers of "
                                              "enterprises: table 3.2; exits by reason: table 4.2."),
                           source_note(inputs, "Aalen–Johansen cumulative incidence with delayed entry")),
                 total_rows=2 if inputs.competing_all else 0)


def _incidence_reading(inputs: ReportInputs) -> str:
    at_five = _incidence_at(inputs.competing_all, 5)
    if not at_five:
        return "Share of the enterprises that had exited each way by the given number of years after the transfer."
    return (f"Five years after the transfer, {pct(at_five[0])} % of all transferred enterprises had closed and "
            f"{pct(at_five[1])} % had left the cooperative form while continuing in business.")
