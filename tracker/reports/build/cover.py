"""Page 1: a title that states the finding in a sentence built from the figures, the lead
paragraph, and the key figures."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from tracker.reports.build.counts import CaseCounts, activity_summary
from tracker.reports.build.inputs import ReportInputs
from tracker.reports.build.survival import (
    closures_hidden,
    estimates,
    expected_five,
    five_year,
    incidence_values,
    overall,
    relative_at,
)
from tracker.reports.content import CONFIDENTIAL, Estimate, KeyFigure
from tracker.reports.render.formatting import interval, pct_ci, pct_sign, ratio, thousands

SIGNIFICANT = 0.05


def headline(inputs: ReportInputs) -> str:
    """The finding as a sentence: 'Seven in ten … against five in ten …', in tens."""
    g = overall(inputs)
    five, expected = five_year(inputs, g), expected_five(g)
    if not isinstance(five, Estimate):
        return _("%(num)s enterprises taken over by their employees are followed by %(who)s", num=thousands(g.n),
                 who=_("the member federations") if inputs.scope == "ALL" else inputs.scope_label)
    x = round(10 * five.value)
    if expected is None:
        return _("%(x)s in 10 enterprises taken over by their employees are still operating five years later", x=x)
    return _("%(x)s in 10 enterprises taken over by their employees are still operating five years later, against "
             "%(y)s in 10 of all new enterprises", x=x, y=round(10 * expected))


def lead(inputs: ReportInputs, counts: CaseCounts) -> str:
    g = overall(inputs)
    parts = [activity_summary(inputs, counts)]
    five, expected = five_year(inputs, g), expected_five(g)
    if isinstance(five, Estimate):
        if expected is not None:
            parts.append(_("Five years after their transfer, %(observed)s were still operating, against %(expected)s "
                           "expected from the national business statistics for enterprises of the same countries, "
                           "sectors and cohorts.", observed=pct_ci(five), expected=pct_sign(expected)))
        else:
            parts.append(_("Five years after their transfer, %(observed)s were still operating.",
                           observed=pct_ci(five)))
    parts += [s for s in (_types_sentence(inputs), _exits_sentence(inputs)) if s]
    parts.append(_("A transfer is not a birth: the comparison gives an order of magnitude, not a like-for-like "
                   "benchmark."))
    return " ".join(parts)


def _types_sentence(inputs: ReportInputs) -> str:
    analysis = inputs.by["transfer_type"]
    groups = {gr.group: gr for gr in analysis.report.groups}
    five = {name: five_year(inputs, gr) for name, gr in groups.items() if name in ("succession", "rescue")}
    if not all(isinstance(five.get(k), Estimate) for k in ("succession", "rescue")):
        return ""
    test = analysis.report.logrank
    significant = test is not None and test.p_value is not None and test.p_value < SIGNIFICANT
    if significant:
        return _("Successions fare differently from rescues: %(succession)s of them were still operating after five "
                 "years, against %(rescue)s of rescues (log-rank test, p < 0.05).",
                 succession=pct_sign(five["succession"].value), rescue=pct_sign(five["rescue"].value))
    return _("Successions (%(succession)s still operating after five years) and rescues (%(rescue)s) do not differ "
             "significantly.", succession=pct_sign(five["succession"].value), rescue=pct_sign(five["rescue"].value))


def _exits_sentence(inputs: ReportInputs) -> str:
    if not inputs.competing_all:
        return ""
    closed, lost = incidence_values(inputs, inputs.competing_all[0][1])[4]
    if not (isinstance(closed, float) and isinstance(lost, float)):
        return ""
    return _("Within five years, %(closed)s of the enterprises had closed and %(lost)s had left the cooperative form "
             "while staying in business.", closed=pct_sign(closed), lost=pct_sign(lost))


def key_figures(inputs: ReportInputs, counts: CaseCounts) -> tuple[KeyFigure, ...]:
    g = overall(inputs)
    observed = estimates(inputs, g)
    five, expected, relative = observed[4], expected_five(g), relative_at(inputs, g, observed)[4]
    in_year = int(counts.table["transferred_in_year"].sum())
    return (
        KeyFigure(_("Transfers followed"), thousands(len(counts.table)),
                  _("%(num)s in the survival analysis", num=thousands(g.n))),
        KeyFigure(_("Still operating after five years"), _value(five, pct_sign), _ci(five)),
        KeyFigure(_("Expected from national statistics"), pct_sign(expected) if expected is not None else ":",
                  _("all new enterprises of the same countries, sectors and cohorts")),
        KeyFigure(_("Relative survival at five years"), _value(relative, ratio),
                  _("observed ÷ expected; %(ci)s", ci=_ci(relative, percent=False))
                  if isinstance(relative, Estimate) else _("observed ÷ expected")),
        KeyFigure(_("Transfers in %(year)s", year=inputs.year), thousands(in_year), _("recorded by the federations")),
    )


def _value(value: Any, show: Any) -> str:
    if value is CONFIDENTIAL:
        return "c"
    if value is None:
        return ":"
    return show(value.value if isinstance(value, Estimate) else value)


def _ci(value: Any, percent: bool = True) -> str:
    if not isinstance(value, Estimate):
        return _("not published") if value is CONFIDENTIAL else _("not available")
    return _("95 %% CI %(interval)s", interval=interval(value, percent) + (" %" if percent else ""))


__all__ = ["closures_hidden", "headline", "key_figures", "lead"]
