"""Methods, definitions and sources in plain words, with full citations: a short methods box in
the body, the definitions, the baselines matched, the published comparisons and every source in
the annex."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from tracker import vocabulary
from tracker.reports.build.common import count_table, note, scope_note, source_note
from tracker.reports.build.inputs import ReportInputs
from tracker.reports.content import Column, Paragraph, Table
from tracker.reports.render.formatting import country_label, long_date, thousands
from tracker.services.reference import NACE_SOURCE


def caveat() -> str:
    return _("A transfer is not an enterprise birth. National business statistics follow enterprises from their "
             "creation; a transferred enterprise had usually existed for years, often as a conventional company, "
             "before its employees took it over, and only this report restarts its clock at the transfer. Rescues "
             "start from a business in difficulty, successions from a healthy one. The national baselines are "
             "therefore context for the order of magnitude, not a counterfactual: a relative survival above 1 does "
             "not by itself show that transfers to employees make enterprises last longer.")


def methods_box(inputs: ReportInputs) -> Paragraph:
    """The short 'Sources and methods' box of the body."""
    items: tuple[str, ...] = (
        _("Source: the case registers that the member federations keep in Transfer Tracker: every enterprise "
          "transferred to its employees that they follow, with its transfer, registration, verification and exit "
          "dates, as of %(date)s.", date=long_date(inputs.as_of)),
        _("Survival is counted from the transfer. An enterprise fails when it closes (liquidation, dissolution or "
          "another closure); a sale, merger or demutualisation ends its follow-up without a failure, since the "
          "business lives on. Open enterprises are followed up to the last date their federation confirmed they "
          "were operating."),
        _("Enterprises registered with a federation years after their transfer enter the calculation only from "
          "their registration (delayed entry): counting them from the transfer would overstate survival."),
        _("Kaplan–Meier estimates with 95 % confidence intervals on the log(−log) scale; log-rank test between "
          "transfer types; relative survival = observed ÷ expected survival, the expected survival coming from the "
          "national business demography statistics of the same country, sector and cohort (Ederer II method)."),
        caveat(),
    )
    if inputs.rules.active:
        items += (inputs.rules.note(),)
    return Paragraph(title=_("Sources and methods"), kind="box", items=items)


def definitions(inputs: ReportInputs) -> tuple[str, ...]:
    as_of = long_date(inputs.as_of)
    return (
        _("Transfer: an enterprise taken over by its employees, most often as a worker cooperative: a succession "
          "(a healthy business whose owner had no successor), a rescue (a business in difficulty or insolvency) or "
          "the conversion of an existing association or other organisation."),
        _("Time origin: survival time is counted from the date of the transfer, in years of 365.25 days."),
        _("Reference date (%(date)s): transfers after it are left out; exits after it are ignored, since the "
          "enterprise was still operating on that date; checks made after it count as made on it.", date=as_of),
        _("Endpoint: an enterprise fails when it closes (liquidation, dissolution or another closure). When it is "
          "sold to non-members, merged or demutualised, the business lives on: its follow-up ends there without a "
          "failure. Figure 5 treats every exit from the cooperative form as an outcome."),
        _("Censoring: an enterprise still open is followed up to the last date its federation confirmed it was "
          "operating, never up to 'today', because an enterprise nobody checked is not known to be alive. Its "
          "survival time is censored: it is known to be at least that long."),
        _("Delayed entry: federations often register a case years after the transfer. Such an enterprise had to "
          "survive until then to be recorded at all, so it enters the calculation only from its registration (left "
          "truncation). A case whose follow-up ends at or before its registration is left out (table A.14)."),
        _("Kaplan–Meier estimate: the share still operating at a time is the product, over every closure until "
          "then, of the share of the enterprises followed at that moment that did not close."),
        _("Confidence interval: 95 % pointwise intervals on the log(−log) scale from Greenwood's variance, as R's "
          "survival package computes them. Where no closure has occurred yet the interval is not defined and is "
          "shown as '—'."),
        _("Horizons: survival is given 1 to 5 years after the transfer; a horizon beyond the longest follow-up of a "
          "group is not estimated (':'), never extrapolated."),
        _("Number at risk at a time t: the enterprises registered before t whose follow-up ends at t or later."),
        _("Comparison of groups: the log-rank test, over the same delayed-entry risk sets, of the hypothesis that "
          "all groups have the same survival."),
        _("Relative survival: observed survival divided by the survival expected if each enterprise had fared like "
          "the enterprises of its country, sector and birth cohort in national statistics (Ederer II method). It is "
          "a ratio throughout this report: 1.10 means 10 % more enterprises still operating than expected."),
        _("Risk of closure by year: the closures of a year since the transfer divided by the time the enterprises "
          "spent at risk in that year (closures per 100 enterprise-years)."),
        _("Cumulative incidence: the share of enterprises that had closed, or had lost the cooperative form, by a "
          "given time, each outcome competing with the other (Aalen–Johansen estimator)."),
        _("Generation (cohort): the enterprises transferred in the same calendar year."),
    )


def matching_words() -> str:
    return _("Each enterprise is compared with a published survival curve of its country: the series configured "
             "for the country (Insee's SINE survey for France, Eurostat's business demography elsewhere where it "
             "covers the country, else the national statistical office), the enterprise's region or NACE section "
             "where the series publishes them (else all activities), and the birth cohort nearest to its transfer "
             "year. Between published horizons the curve is interpolated log-linearly from 100 % at birth; beyond "
             "the last published horizon it is not extended. Series differ in scope (some include "
             "micro-enterprises) and are never mixed in one curve.")


def matched_baselines(inputs: ReportInputs) -> Table:
    overall = inputs.overall.report.groups[0]
    matches = overall.baseline.matches if overall.baseline is not None else ()
    # The series' names are long ("Eurostat, démographie des entreprises"), country, region and sector short:
    # widths that keep most rows on one line in print.
    columns = (Column("series", _("Series"), width=4.6), Column("country", _("Country"), width=1.4),
               Column("region", _("Region"), width=1.2), Column("sector", _("Sector"), width=2.8),
               Column("cohort", _("Birth cohort"), "year"),
               Column("n", _("Enterprises matched"), "count"))
    rows: list[list[Any]] = [[vocabulary.BASELINE_SERIES.get(m.series, m.series), country_label(m.country),
                              m.region or _("national"), _("all activities") if m.sector == "TOTAL" else m.sector,
                              m.cohort_year, m.n] for m in matches]
    unmatched = overall.baseline.unmatched if overall.baseline is not None else overall.n
    rows.append([_("All baselines"), "", "", "", "", overall.n - unmatched])
    return count_table(
        "A.11", "baselines_matched", _("National baseline curves matched to the enterprises"), list(columns), rows,
        reading=(ngettext("%(count)s enterprise in the analysis has no baseline for its country: it is in the "
                          "observed survival but not in the expected one.",
                          "%(count)s enterprises in the analysis have no baseline for their country: they are in the "
                          "observed survival but not in the expected one.", unmatched, count=thousands(unmatched))
                 if unmatched else
                 _("Every enterprise in the analysis was matched to a national baseline curve.")),
        scope=scope_note(inputs), source=source_note(inputs, baselines=True), rules=inputs.rules,
        column_totals=["n"], keys=[f"{m.series}|{m.country}|{m.region}|{m.sector}|{m.cohort_year}" for m in matches]
        + ["all"], short=_("Baseline matches"))


def lowercase_first(label: str) -> str:
    """A label inside a sentence: « 5 ans pour les coopératives »."""
    return label[:1].lower() + label[1:]


def comparisons_table(inputs: ReportInputs) -> Table:
    """Published figures for cooperatives, primary sources first; secondary reports marked."""
    columns = (Column("country", _("Country"), width=1.1), Column("population", _("Population"), width=1.5),
               Column("period", _("Period"), width=1.6), Column("horizon", _("Years"), "year", width=0.8),
               Column("survival", _("Survival (%)"), "pct", width=0.9),
               Column("comparator", _("Comparator"), width=1.6),
               Column("comparator_pct", _("Comparator (%)"), width=1.0),
               Column("source", _("Source"), width=2.8), Column("url", _("Address"), "url", printed=False),
               Column("kind", _("Kind of source"), width=1.2))

    def secondary(r: dict[str, str]) -> bool:
        return "secondary" in (r.get("notes") or "").lower()

    ordered = sorted(inputs.comparisons, key=lambda r: (r["country"], secondary(r)))
    rows = tuple(
        (country_label(r["country"]), vocabulary.published_population(r["population"]),
         vocabulary.published_wording(r["period"]), int(r["horizon_years"]),
         float(r["survival_pct"]) / 100, vocabulary.published_wording(r["comparator_label"]) or None,
         r["comparator_pct"] or None,
         _("%(publisher)s, “%(title)s”", publisher=vocabulary.published_source(r["publisher"]),
           title=r["source_title"]), r["url"],
         _("secondary report (quotes another source)") if secondary(r) else _("primary source"))
        for r in ordered)
    first = next((r for r in ordered if not secondary(r)), ordered[0] if ordered else None)
    reading = (_("%(publisher)s reported a %(years)s-year survival of %(pct)s %% for %(population)s (%(period)s).",
                 publisher=first["publisher"], years=first["horizon_years"], pct=first["survival_pct"],
                 population=lowercase_first(vocabulary.published_population(first["population"])),
                 period=vocabulary.published_wording(first["period"])) if first else "")
    return Table("A.15", "published_comparisons", _("Published survival figures for cooperatives and employee "
                                                   "transfers (context)"), columns, rows,
                 note=note(reading, _("Figures published by cooperative networks and the press for the countries in "
                                      "this report; periods, populations and definitions differ from this report's "
                                      "and from one another: they are context, not comparisons."),
                           _("As cited in each row, the primary source first; a secondary report quotes another "
                             "source and is marked as such.")),
                 short=_("Published comparisons"))


def baseline_citations(inputs: ReportInputs) -> tuple[str, ...]:
    return tuple(
        _("%(series)s: %(publisher)s (%(published)s). %(title)s.",
          series=vocabulary.BASELINE_SERIES.get(c["series"], c["series"]),
          publisher=vocabulary.published_source(c["publisher"]), published=c["published"] or _("undated"),
          title=vocabulary.published_source(c["title"])) + (" " + c["url"] if c["url"] else "")
        for c in inputs.baseline_citations)


def other_citations(inputs: ReportInputs) -> tuple[str, ...]:
    seen: dict[tuple[str, str, str], None] = {}
    for r in inputs.comparisons:
        seen.setdefault((r["publisher"], r["source_title"], r["url"]), None)
    comparisons = tuple(_("Published comparison (table A.15): %(publisher)s. %(title)s. %(url)s",
                          publisher=vocabulary.published_source(p), title=t, url=u) for p, t, u in seen)
    return (*comparisons, _("Classification of activities: %(source)s.", source=NACE_SOURCE),
            _("Countries: ISO 3166-1 alpha-2 codes; names from the Unicode CLDR."),
            _("Cases: the case registers of the member federations, kept in Transfer Tracker."))


def annex_text(inputs: ReportInputs) -> list[Paragraph]:
    """Definitions, the matching of baselines, the sources: the end of the annex."""
    return [
        Paragraph(title=_("Definitions"), kind="definitions", items=definitions(inputs)),
        Paragraph(title=_("A transfer is not an enterprise birth"), kind="caveat", text=caveat()),
        Paragraph(title=_("National baselines"), text=matching_words()),
        Paragraph(kind="citations", title=_("Sources of the national baselines"),
                  items=baseline_citations(inputs) or (_("No baseline was matched to the cases of this report."),)),
        Paragraph(kind="citations", title=_("Other sources"), items=other_citations(inputs)),
    ]


__all__ = ["annex_text", "caveat", "comparisons_table", "matched_baselines", "methods_box", "note"]
