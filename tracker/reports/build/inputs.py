"""Everything the annual report is computed from, gathered once through the analytics service
(the user's scope, cached case arrays, cached baseline matching): no ORM rows are read for
statistics. The result is plain data for the section builders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from tracker.extensions import db
from tracker.i18n import N_
from tracker.models import SCOPE_ALL, Baseline, Federation, User
from tracker.reports.build.confidentiality import DEFAULT_MIN_CELL, Rules
from tracker.reports.fingerprint import baselines_fingerprint, fingerprint
from tracker.services import reference
from tracker.services.analytics import queries as analytics
from tracker.services.analytics.frame import CaseFrame
from tracker.services.analytics.queries import Analysis, SurvivalQuery
from tracker.services.errors import InvalidReportRequest
from tracker.survival import CompetingResult, FollowUp, analyse_competing, prepare_followup

Progress = Callable[[str], None]
BREAKDOWNS = ("transfer_type", "country", "nace_section", "size_class", "cohort")
#: The stages of a report as it is generated, in order: English msgids (stored as such in a job's
#: `stage`, translated where they are shown: `tracker.reports.jobs.stage_text`).
STAGES = (N_("Reading cases"), N_("Fingerprinting the data"), N_("Overall survival"),
          N_("Survival by transfer type"), N_("Survival by country"), N_("Survival by sector"),
          N_("Survival by size at transfer"), N_("Survival by year of transfer"), N_("Exits"),
          N_("Survival by year since transfer"), N_("Tables and figures"))
assert len(STAGES) == len(BREAKDOWNS) + 6
MAX_FIGURE_YEARS = 20
MIN_FIGURE_YEARS = 5



def app_version() -> str:
    try:
        return version("transfer-tracker")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True, eq=False)
class ReportInputs:
    year: int
    as_of: date
    scope: str  # ALL or a federation code
    scope_label: str
    frame: CaseFrame
    followup: FollowUp
    overall: Analysis
    by: dict[str, Analysis]
    by_year: Analysis  # overall survival at every year 1..figure_years (figure data)
    competing_all: tuple[tuple[str, CompetingResult], ...]
    competing_by_type: tuple[tuple[str, CompetingResult], ...]
    federations: dict[str, str]  # code -> name
    baseline_citations: tuple[dict[str, Any], ...]
    comparisons: tuple[dict[str, str], ...]
    fingerprint: str
    baselines_fingerprint: str
    app_version: str
    figure_years: int
    unstable_below: int
    rules: Rules = Rules()


def check_request(year: int, as_of: date, today: date) -> None:
    """Refuse an impossible year or reference date (the message in the language of the moment)."""
    from tracker.i18n import format_date

    if not 1900 <= year <= today.year:
        raise InvalidReportRequest(_("the year must be between 1900 and %(last)s, not %(year)s", last=today.year,
                                     year=year), "year")
    if as_of < date(year, 1, 1):
        raise InvalidReportRequest(_("the reference date %(date)s is before the year %(year)s starts",
                                     date=format_date(as_of), year=year), "as_of")
    if as_of > today:
        raise InvalidReportRequest(_("the reference date %(date)s is in the future: follow-up is only known up to "
                                     "today (%(today)s); give an earlier reference date", date=format_date(as_of),
                                     today=format_date(today)), "as_of")


def gather(user: User | None, year: int, as_of: date, progress: Progress) -> ReportInputs:
    """Compute every analysis of the report for what `user` may see (None: all federations)."""
    scope_id = analytics.scope_of(user)
    progress(STAGES[0])
    _version, frame = analytics.case_frame(scope_id)
    federations = {code: name for code, name in db.session.execute(select(Federation.code, Federation.name))}
    scope = SCOPE_ALL if scope_id is None else db.session.get_one(Federation, scope_id).code
    scope_label = _("All member federations") if scope_id is None else f"{federations[scope]} ({scope})"

    progress(STAGES[1])
    catalogue, _curves = analytics.matched_baselines(scope_id)
    settings = current_app.config.get("BASELINE_SERIES", {})
    unstable = current_app.config.get("SURVIVAL_UNSTABLE_AT_RISK", 10)
    base = SurvivalQuery(as_of=as_of)
    # Suppression in the public all-federation edition only: a federation's own edition shows its own figures.
    rules = Rules(min_cell=int(current_app.config.get("REPORT_MIN_CELL", DEFAULT_MIN_CELL)), active=scope_id is None)
    parameters = {"year": year, "as_of": as_of.isoformat(), "scope": scope, "endpoint": base.endpoint,
                  "delayed_entry": base.delayed_entry, "horizons": list(base.horizons),
                  "confidentiality": {"min_cell": rules.min_cell, "active": rules.active}}
    print_ = fingerprint(frame, catalogue, settings, parameters)

    progress(STAGES[2])
    overall = analytics.compute(user, base)
    followup = prepare_followup(frame.cases, as_of, base.endpoint, base.delayed_entry)
    by = {}
    for stage, name in zip(STAGES[3:3 + len(BREAKDOWNS)], BREAKDOWNS, strict=True):
        progress(stage)
        by[name] = analytics.compute(user, replace(base, group_by=name))

    progress(STAGES[3 + len(BREAKDOWNS)])
    options = base.options(unstable)
    typed = by["transfer_type"]
    competing_all = analyse_competing(typed.frame.cases, None, replace(options, group_by=None))
    competing_by_type = analyse_competing(typed.frame.cases, typed.groups, replace(options, group_by="transfer_type"))

    progress(STAGES[4 + len(BREAKDOWNS)])
    years = figure_years(followup, rules.min_cell)
    by_year = analytics.compute(user, replace(base, horizons=tuple(range(1, years + 1))))

    used = sorted({m.series for g in overall.report.groups if g.baseline for m in g.baseline.matches})
    return ReportInputs(
        year=year, as_of=as_of, scope=scope, scope_label=scope_label, frame=frame, followup=followup,
        overall=overall, by=by, by_year=by_year, competing_all=competing_all, competing_by_type=competing_by_type,
        federations=federations, baseline_citations=baseline_citations(used),
        comparisons=published_comparisons(set(frame.country[followup.included].tolist()) - {None}),
        fingerprint=print_, baselines_fingerprint=baselines_fingerprint(catalogue, settings),
        app_version=app_version(), figure_years=years, unstable_below=unstable, rules=rules)


def figure_years(followup: FollowUp, min_at_risk: int = DEFAULT_MIN_CELL) -> int:
    """Whole years shown on the survival figures: up to the last year with `min_at_risk` or more at risk."""
    entry = np.sort(followup.entry[followup.included])
    stop = np.sort(followup.stop[followup.included])
    years = np.arange(1, MAX_FIGURE_YEARS + 1, dtype=float)
    at_risk = np.searchsorted(entry, years, side="left") - np.searchsorted(stop, years, side="left")
    enough = np.flatnonzero(at_risk >= min_at_risk)
    last = int(years[enough[-1]]) if len(enough) else 0
    return max(MIN_FIGURE_YEARS, last)


def baseline_citations(series: list[str]) -> tuple[dict[str, Any], ...]:
    """Full citation of every source of the baseline series used (publisher, title, date, address)."""
    if not series:
        return ()
    rows = db.session.execute(
        select(Baseline.series, Baseline.publisher, Baseline.source_title, Baseline.published, Baseline.url)
        .where(Baseline.series.in_(series)).distinct()
        .order_by(Baseline.series, Baseline.publisher, Baseline.source_title, Baseline.published)).all()
    return tuple({"series": r.series, "publisher": r.publisher, "title": r.source_title,
                  "published": r.published, "url": r.url} for r in rows)


def published_comparisons(countries: set[str]) -> tuple[dict[str, str], ...]:
    """Published cooperative figures (shipped with their sources), for the countries in the report
    (all of them when none matches); UK in the file is GB in the cases."""
    rows = reference.published_comparisons()
    wanted = countries | ({"UK"} if "GB" in countries else set())
    chosen = [r for r in rows if r["country"] in wanted]
    return tuple(chosen or rows)
