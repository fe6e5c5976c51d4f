"""Section 6: methods and sources in plain words, with full citations."""

from __future__ import annotations

from tracker import vocabulary
from tracker.reports.build import confidentiality as conf
from tracker.reports.build.common import count_table, note, scope_note, source_note
from tracker.reports.build.inputs import ReportInputs
from tracker.reports.content import Block, Column, Paragraph, Section, Table
from tracker.reports.render.formatting import country_label, long_date
from tracker.services.reference import NACE_SOURCE

CAVEAT = (
    "A transfer is not an enterprise birth. National business statistics follow enterprises from their creation; "
    "a transferred enterprise had usually existed for years, often as a conventional company, before its employees "
    "took it over, and only this report restarts its clock at the transfer. Rescues start from a business in "
    "difficulty, successions from a healthy one. The national baselines are therefore context for the order of "
    "magnitude, not a counterfactual: a relative survival above 1 does not by itself show that transfers to "
    "employees make enterprises last longer."
)


def definitions(inputs: ReportInputs) -> tuple[str, ...]:
    as_of = long_date(inputs.as_of)
    return (
        "Transfer: an enterprise taken over by its employees, most often as a worker cooperative: a succession "
        "(a healthy business whose owner had no successor), a rescue (a business in difficulty or insolvency) or "
        "the conversion of an existing association or other organisation.",
        "Time origin: survival time is counted from the date of the transfer, in years of 365.25 days.",
        f"Reference date ({as_of}): transfers after it are left out; exits after it are ignored, since the "
        "enterprise was still operating on that date; checks made after it count as made on it.",
        "Endpoint: an enterprise fails when it closes (liquidation, dissolution or another closure). When it is "
        "sold to non-members, merged or demutualised, the business lives on: its follow-up ends there without a "
        "failure. Section 4 treats every exit from the cooperative form as an outcome.",
        "Censoring: an enterprise still open is followed up to the last date its federation confirmed it was "
        "operating, never up to 'today', because an enterprise nobody checked is not known to be alive. Its "
        "survival time is censored: it is known to be at least that long.",
        "Delayed entry: federations often register a case years after the transfer. Such an enterprise had to "
        "survive until then to be recorded at all, so counting it from the transfer would overstate survival. It "
        "enters the calculation only from its registration (left truncation). A case whose follow-up ends at or "
        "before its registration is left out (table 5.2).",
        "Kaplan–Meier estimate: the share still operating at a time is the product, over every closure until then, "
        "of the share of the enterprises followed at that moment that did not close.",
        "Confidence interval: 95 % pointwise intervals on the log(−log) scale from Greenwood's variance, as R's "
        "survival package computes them (conf.type = \"log-log\").",
        "Horizons: survival is given 1 to 5 years after the transfer; a horizon beyond the longest follow-up of a "
        "group is not estimated (':'), never extrapolated.",
        "Number at risk at a time t: the enterprises registered before t whose follow-up ends at t or later.",
        "Comparison of groups: the log-rank test, over the same delayed-entry risk sets, of the hypothesis that "
        "all groups have the same survival.",
        "Relative survival: observed survival divided by the survival expected if each enterprise had fared like "
        "the enterprises of its country, sector and birth cohort in national statistics (Ederer II method: the "
        "expected hazard averaged over the enterprises still at risk at each time).",
        "Cumulative incidence: the share of enterprises that had closed, or had lost the cooperative form, by a "
        "given time, each outcome competing with the other (Aalen–Johansen estimator).",
        "Generation (cohort): the enterprises transferred in the same calendar year.",
    )


def methods_section(inputs: ReportInputs) -> Section:
    blocks: list[Block] = [
        Paragraph(title="6.1 Definitions", kind="definitions", items=definitions(inputs)),
        Paragraph(title="6.2 A transfer is not an enterprise birth", kind="caveat", text=CAVEAT),
        Paragraph(title="6.3 National baselines", text=_matching_words()),
        matched_baselines(inputs),
        Paragraph(kind="citations", title="Baseline sources", items=baseline_citations(inputs)
                  or ("No baseline was matched to the cases of this report.",)),
        Paragraph(kind="citations", title="6.4 Other sources", items=other_citations(inputs)),
        Paragraph(title="6.5 Confidentiality", text=conf.NOTE + " Researchers' exports from the application are "
                  "not affected: they hold the estimates with their numbers at risk."),
        Paragraph(title="6.6 Reproducibility", text=(
            f"Reference date: {long_date(inputs.as_of)}. Application: Transfer Tracker {inputs.app_version}. Data "
            f"fingerprint (SHA-256): {inputs.fingerprint}. The fingerprint is computed over the case columns the "
            "analysis reads (sorted), the national baselines, the published comparisons and the report's "
            "parameters: the same fingerprint with the same application version gives the same figures.")),
    ]
    return Section("6", "methods", "Methods and sources", tuple(blocks))


def _matching_words() -> str:
    return ("Each enterprise is compared with a published survival curve of its country: the series configured for "
            "the country (Insee's SINE for France, Eurostat's business demography elsewhere where it covers the "
            "country, else the national statistical office), the enterprise's region or NACE section where the "
            "series publishes them (else all activities), and the birth cohort nearest to its transfer year. Between "
            "published horizons the curve is interpolated log-linearly from 100 % at birth; beyond the last published "
            "horizon it is not extended. Series differ in scope (some include micro-enterprises) and are never "
            "mixed in one curve.")


def matched_baselines(inputs: ReportInputs) -> Table:
    overall = inputs.overall.report.groups[0]
    matches = overall.baseline.matches if overall.baseline is not None else ()
    columns = (Column("series", "Series"), Column("country", "Country"), Column("region", "Region"),
               Column("sector", "Sector"), Column("cohort", "Birth cohort", "year"),
               Column("n", "Enterprises matched", "count"))
    rows = [[m.series, country_label(m.country), m.region or "national", m.sector, m.cohort_year, m.n]
            for m in matches]
    unmatched = overall.baseline.unmatched if overall.baseline is not None else overall.n
    rows.append(["All baselines", "", "", "", "", overall.n - unmatched])
    return count_table(
        "6.1", "baselines_matched", "National baseline curves matched to the enterprises", list(columns), rows,
        reading=(f"{unmatched:,} enterprises in the analysis have no baseline for their country: they are in the "
                 "observed survival but not in the expected one." if unmatched >= conf.THRESHOLD else
                 "Fewer than 5 enterprises in the analysis have no baseline for their country." if unmatched else
                 "Every enterprise in the analysis was matched to a national baseline curve."),
        scope=scope_note(inputs), source=source_note(inputs, baselines=True), column_totals=["n"])


def baseline_citations(inputs: ReportInputs) -> tuple[str, ...]:
    return tuple(
        f"{vocabulary.BASELINE_SERIES.get(c['series'], c['series'])} [{c['series']}]: {c['publisher']} "
        f"({c['published'] or 'undated'}). {c['title']}.{' ' + c['url'] if c['url'] else ''}"
        for c in inputs.baseline_citations)


def other_citations(inputs: ReportInputs) -> tuple[str, ...]:
    seen: dict[tuple[str, str, str], None] = {}
    for r in inputs.comparisons:
        seen.setdefault((r["publisher"], r["source_title"], r["url"]), None)
    comparisons = tuple(f"Published comparison (table 1.2): {p}. {t}. {u}" for p, t, u in seen)
    return (*comparisons, f"Classification of activities: {NACE_SOURCE}.",
            "Countries: ISO 3166-1 alpha-2 codes and names (pycountry).",
            "Cases: the case registers of the member federations, kept in Transfer Tracker; each case is an enterprise "
            "transferred to its employees, with its transfer, registration, verification and exit dates.")


__all__ = ["CAVEAT", "methods_section", "note"]
