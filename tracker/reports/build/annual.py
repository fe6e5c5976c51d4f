"""Assemble the annual survival report into plain data: `build_annual` → AnnualReport.

Order of the contents: 1 headline, 2 activity, 3 survival, 4 exits, 5 data quality, 6 methods
and sources. Every figure goes through the analytics service with the user's scope (a staff
user's report covers only their federation's cases); confidentiality is applied here, so every
format publishes the same, already suppressed, figures.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from tracker.models import User
from tracker.reports.build.counts import activity_section, case_counts, quality_section
from tracker.reports.build.inputs import STAGES, InvalidReportRequest, ReportInputs, check_request, gather
from tracker.reports.build.methods import methods_section
from tracker.reports.build.survival import exits_section, headline_section, survival_section
from tracker.reports.content import AnnualReport

__all__ = ["STAGES", "InvalidReportRequest", "build_annual", "inputs_summary"]


def build_annual(user: User | None, year: int, as_of: date | None = None, *, today: date | None = None,
                 progress: Callable[[str], None] | None = None) -> AnnualReport:
    """The report for `year` as of `as_of` (default YEAR-12-31) for what `user` may see (None:
    all federations, as the CLI). Raises InvalidReportRequest for an impossible year or date."""
    as_of = as_of or date(year, 12, 31)
    check_request(year, as_of, today or date.today())
    inputs = gather(user, year, as_of, progress or (lambda stage: None))
    (progress or (lambda stage: None))("Tables and figures")
    counts = case_counts(inputs)
    sections = (
        headline_section(inputs, counts),
        activity_section(inputs, counts),
        survival_section(inputs),
        exits_section(inputs, counts),
        quality_section(inputs, counts),
        methods_section(inputs),
    )
    return AnnualReport(year=year, as_of=as_of, scope=inputs.scope, scope_label=inputs.scope_label,
                        app_version=inputs.app_version, fingerprint=inputs.fingerprint, sections=sections,
                        inputs=inputs_summary(inputs, counts.table))


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

