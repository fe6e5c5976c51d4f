"""Assemble the annual survival report into plain data: `build_annual` → AnnualReport.

Page 1: the finding as a title, the lead paragraph, the key figures. The body: the few figures
and tables that carry the message, each with its Reading / Scope / Source note, and a short
methods box. The annex: the detailed tables, definitions and sources. The edition (number,
fingerprint, what changed) is the colophon, rendered at the end. Every figure goes through the
analytics service with the user's scope; confidentiality is applied here, so every format
publishes the same, already suppressed, figures.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask_babel import gettext as _

from tracker.models import User
from tracker.reports.build import cover
from tracker.reports.build.counts import (
    case_counts,
    exclusions_table,
    exit_reasons,
    transfers_by,
    transfers_per_year,
    verification_table,
    year_activity,
)
from tracker.reports.build.inputs import STAGES, InvalidReportRequest, ReportInputs, check_request, gather
from tracker.reports.build.methods import annex_text, comparisons_table, matched_baselines, methods_box
from tracker.reports.build.survival import (
    country_figure,
    country_table,
    expected_table,
    hazard_figure_block,
    hazard_table,
    incidence_curve,
    incidence_table,
    overall_figure,
    relative_table,
    survival_by_year,
    survival_table,
    type_figure,
)
from tracker.reports.content import AnnualReport, Block, Paragraph, Section

__all__ = ["STAGES", "InvalidReportRequest", "build_annual", "inputs_summary"]


def build_annual(user: User | None, year: int, as_of: date | None = None, *, today: date | None = None,
                 progress: Callable[[str], None] | None = None) -> AnnualReport:
    """The report for `year` as of `as_of` (default YEAR-12-31) for what `user` may see (None:
    all federations, as the CLI), in the language of the moment. Raises InvalidReportRequest
    for an impossible year or date."""
    as_of = as_of or date(year, 12, 31)
    check_request(year, as_of, today or date.today())
    inputs = gather(user, year, as_of, progress or (lambda stage: None))
    (progress or (lambda stage: None))(STAGES[-1])
    counts = case_counts(inputs)
    sections = (*body(inputs), annex(inputs, counts))
    return AnnualReport(year=year, as_of=as_of, scope=inputs.scope, scope_label=inputs.scope_label,
                        app_version=inputs.app_version, fingerprint=inputs.fingerprint, sections=sections,
                        inputs=inputs_summary(inputs, counts.table), headline=cover.headline(inputs),
                        lead=cover.lead(inputs, counts), key_figures=cover.key_figures(inputs, counts),
                        confidential_note=inputs.rules.note() if inputs.rules.active else "")


def body(inputs: ReportInputs) -> tuple[Section, ...]:
    return (
        Section("1", "baselines", _("Five years on, against all new enterprises"),
                (country_figure(inputs), country_table(inputs))),
        Section("2", "curve", _("Survival year by year"), (overall_figure(inputs),)),
        Section("3", "types", _("Successions, rescues and conversions"),
                (type_figure(inputs), survival_table(inputs, "transfer_type", "2", _("Survival by type")))),
        Section("4", "relative", _("Relative survival"),
                (Paragraph(_("Relative survival compares the observed survival with the survival expected if the "
                             "transferred enterprises had fared like all enterprises of the same country, sector and "
                             "birth cohort in the national statistics. A ratio above 1 means they fared better than "
                             "the baseline.")), relative_table(inputs, "3"))),
        Section("5", "hazard", _("When the risk of closure is highest"), (hazard_figure_block(inputs),)),
        Section("6", "exits", _("Closing down or leaving the cooperative form"),
                (Paragraph(_("An enterprise leaves the cooperative movement in two ways: it closes, or it goes on as "
                             "a business but loses its cooperative form (sold to non-members, merged, or "
                             "demutualised). Each outcome competes with the other.")),
                 incidence_curve(inputs), incidence_table(inputs, "4"), methods_box(inputs))),
    )


def annex(inputs: ReportInputs, counts: Any) -> Section:
    blocks: list[Block] = [
        transfers_per_year(inputs, counts),
        transfers_by(inputs, counts, "country", "A.2", "transfers_by_country"),
        transfers_by(inputs, counts, "transfer_type", "A.3", "transfers_by_type"),
        year_activity(inputs, counts),
        survival_table(inputs, "nace_section", "A.5", _("Survival by sector")),
        survival_table(inputs, "size_class", "A.6", _("Survival by size")),
        survival_table(inputs, "cohort", "A.7", _("Survival by cohort")),
        survival_by_year(inputs),
        hazard_table(inputs, "A.9"),
        expected_table(inputs, "A.10"),
        matched_baselines(inputs),
        exit_reasons(inputs, counts),
        verification_table(inputs, counts),
        exclusions_table(inputs),
        comparisons_table(inputs),
        *annex_text(inputs),
    ]
    return Section("A", "annex", _("Annex: detailed tables, definitions and sources"), tuple(blocks), annex=True)


def inputs_summary(inputs: ReportInputs, table: Any) -> dict[str, Any]:
    """What later editions compare with to explain revisions (plain JSON values)."""
    overall = inputs.overall.report.groups[0]
    return {
        "as_of": inputs.as_of.isoformat(),
        "cases": len(inputs.frame),
        "transfers": int(len(table)),
        "analysed": overall.n,
        "closures": int((table["kind"] == "closure").sum()),
        "losses": int((table["kind"] == "loss").sum()),
        "exits": int((table["kind"] != "open").sum()),
        "open": int((table["kind"] == "open").sum()),
        "verified_recently": int(table["verified_recently"].sum()),
        "left_out": int(sum(inputs.overall.report.exclusions.values())),
        "fingerprint": inputs.fingerprint,
        "baselines_fingerprint": inputs.baselines_fingerprint,
        "app_version": inputs.app_version,
    }
