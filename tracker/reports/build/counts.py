"""The annex tables of counts (transfers, activity of the year, exits by reason, data quality)
over the cached case arrays. Counts of transfers, of cases followed and the data quality are
never withheld; counts of closures and exits are, in the public edition (`inputs.rules`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from tracker import vocabulary
from tracker.reports.build.common import (
    BREAKDOWN_HEADERS,
    EXCLUSION_TEXT,
    count_table,
    count_words,
    counts_scope,
    first_published,
    group_label,
    group_order,
    scope_note,
    source_note,
)
from tracker.reports.build.inputs import ReportInputs
from tracker.reports.content import Column, Table
from tracker.reports.render.formatting import long_date, pct_sign, thousands
from tracker.survival import CLOSURE_REASONS, EXCLUSION_REASONS, LOSS_REASONS

Row = list[Any]  # a table row: its label, then counts (CONFIDENTIAL where suppressed)
KINDS = (("open", _l("Still operating")), ("closure", _l("Closed")), ("loss", _l("Cooperative form lost")))


@dataclass(frozen=True, eq=False)
class CaseCounts:
    """One row per case transferred on or before as_of, with what the counts need."""

    table: pd.DataFrame


def case_counts(inputs: ReportInputs) -> CaseCounts:
    frame, as_of = inputs.frame, np.datetime64(inputs.as_of, "D")
    cases = frame.cases
    transferred = ~np.isnat(cases.transfer_date) & (cases.transfer_date <= as_of)
    exited = ~np.isnat(cases.exit_date) & (cases.exit_date <= as_of)
    reason = np.where(exited, cases.exit_reason, np.array(None, dtype=object))
    kind = np.full(len(frame), "open", dtype=object)
    kind[np.isin(reason, CLOSURE_REASONS)] = "closure"
    kind[np.isin(reason, LOSS_REASONS)] = "loss"
    start, end = np.datetime64(date(inputs.year, 1, 1), "D"), np.datetime64(date(inputs.year, 12, 31), "D")
    end = min(end, as_of)
    # As in the analysis: an exit after as_of proves the case operating then; later checks count as as_of.
    verified = np.where(~np.isnat(cases.exit_date) & ~exited, as_of, np.minimum(cases.last_verified_on, as_of))
    table = pd.DataFrame({
        "year": frame.transfer_year,
        "transfer_type": _known(frame.transfer_type),
        "country": _known(frame.country),
        "federation": _known(frame.federation),
        "kind": kind,
        "reason": reason,
        "transferred_in_year": (cases.transfer_date >= start) & (cases.transfer_date <= end),
        "opened_in_year": (cases.registered_on >= start) & (cases.registered_on <= end),
        "exit_in_year": exited & (cases.exit_date >= start),
        "verified_recently": ~np.isnat(verified) & (verified > np.datetime64(_year_before(inputs.as_of), "D")),
        "never_verified": np.isnat(verified),
    })[transferred]
    return CaseCounts(table)


def _known(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=object).copy()
    out[pd.isna(out)] = "unknown"
    return out


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day - timedelta(days=365)


# --- transfers --------------------------------------------------------------------------------

def activity_summary(inputs: ReportInputs, counts: CaseCounts) -> str:
    t = counts.table
    total, in_year = len(t), int(t["transferred_in_year"].sum())
    exits = inputs.rules.outcome_count(int(t["exit_in_year"].sum()))
    return _("By %(date)s the federations had recorded %(total)s transfers of enterprises to their employees, "
             "%(in_year)s of them in %(year)s; %(exits)s exits were recorded in %(year)s.",
             date=long_date(inputs.as_of), total=thousands(total), in_year=thousands(in_year), year=inputs.year,
             exits=count_words(exits))


def transfers_per_year(inputs: ReportInputs, counts: CaseCounts) -> Table:
    t = counts.table
    types = group_order("transfer_type", sorted(t["transfer_type"].unique()))
    pivot = pd.crosstab(t["year"], t["transfer_type"]).reindex(columns=types, fill_value=0)
    years = range(int(t["year"].min()), inputs.year + 1) if len(t) else range(inputs.year, inputs.year + 1)
    pivot = pivot.reindex(years, fill_value=0)
    columns = [Column("year", _("Year of transfer"), "year"),
               *(Column(k, group_label("transfer_type", k), "count") for k in types),
               Column("total", _("Total"), "count")]
    rows: list[Row] = [[int(y), *(int(v) for v in pivot.loc[y]), int(pivot.loc[y].sum())] for y in pivot.index]
    rows.append([_("Total"), *(int(v) for v in pivot.sum()), int(pivot.to_numpy().sum())])
    year_row = next((r for r in rows if r[0] == inputs.year), rows[-1])
    return count_table(
        "A.1", "transfers_per_year", _("Transfers to employees per year, by transfer type"), columns, rows,
        reading=_("In %(year)s, %(num)s transfers to employees were recorded.", year=inputs.year,
                  num=thousands(year_row[-1])),
        scope=counts_scope(inputs), source=source_note(inputs), rules=inputs.rules,
        row_sum=(types, "total"), column_totals=[*types, "total"], keys=[*(str(y) for y in pivot.index), "all"],
        short=_("Transfers per year"))


def transfers_by(inputs: ReportInputs, counts: CaseCounts, field: str, number: str, slug: str) -> Table:
    t = counts.table
    names = group_order(field, sorted(t[field].unique()), inputs)
    kinds = pd.crosstab(t[field], t["kind"]).reindex(index=names, columns=[k for k, _w in KINDS], fill_value=0)
    in_year = t.groupby(field)["transferred_in_year"].sum().reindex(names, fill_value=0)
    columns = [Column("group", str(BREAKDOWN_HEADERS[field])), Column("transfers", _("Transfers"), "count"),
               Column("in_year", _("of which in %(year)s", year=inputs.year), "count"),
               *(Column(k, str(label), "count") for k, label in KINDS)]
    rows = [[group_label(field, n, inputs), int(kinds.loc[n].sum()), int(in_year[n]),
             *(int(v) for v in kinds.loc[n].to_numpy())] for n in names]
    rows.append([_("All transfers"), len(t), int(t["transferred_in_year"].sum()),
                 *(int((t["kind"] == k).sum()) for k, _w in KINDS)])
    title = (_("Transfers by country and situation at the reference date") if field == "country" else
             _("Transfers by transfer type and situation at the reference date"))
    table = count_table(number, slug, title, columns, rows, reading="", rules=inputs.rules,
                        scope=counts_scope(inputs, _("Situation at the reference date: exits dated on or before it.")),
                        source=source_note(inputs), sensitive=["closure", "loss"], group_size="transfers",
                        suppressible=["open"], row_sum=(["open", "closure", "loss"], "transfers"),
                        column_totals=["transfers", "in_year", "open", "closure", "loss"], keys=[*names, "all"],
                        short=_("Transfers by country") if field == "country" else _("Transfers by type"))
    top = first_published(sorted(table.rows[:-1], key=lambda r: -r[1]), 4)
    reading = (_("%(group)s: %(num)s transfers recorded, of which %(closed)s had closed and %(lost)s were no longer "
                 "cooperatives by %(date)s.", group=top[0], num=thousands(top[1]), closed=count_words(top[4]),
                 lost=count_words(top[5]), date=long_date(inputs.as_of)) if top else _("No transfer recorded."))
    return replace(table, note=replace(table.note, reading=reading))


def year_activity(inputs: ReportInputs, counts: CaseCounts) -> Table:
    t = counts.table
    names = group_order("federation", sorted(t["federation"].unique()), inputs)
    grouped = t.groupby("federation")
    exits = t[t["exit_in_year"]]
    closures = exits[exits["kind"] == "closure"].groupby("federation").size()
    losses = exits[exits["kind"] == "loss"].groupby("federation").size()
    columns = [Column("group", _("Federation")),
               Column("transferred", _("Transfers in %(year)s", year=inputs.year), "count"),
               Column("opened", _("Cases opened"), "count"), Column("closures", _("Exits: closures"), "count"),
               Column("losses", _("Exits: cooperative form lost"), "count"),
               Column("exits", _("Exits: total"), "count")]
    rows: list[Row] = []
    for n in names:
        c, lo = int(closures.get(n, 0)), int(losses.get(n, 0))
        rows.append([group_label("federation", n, inputs), int(grouped["transferred_in_year"].sum().get(n, 0)),
                     int(grouped["opened_in_year"].sum().get(n, 0)), c, lo, c + lo])
    rows.append([_("All federations"), int(t["transferred_in_year"].sum()), int(t["opened_in_year"].sum()),
                 int((exits["kind"] == "closure").sum()), int((exits["kind"] == "loss").sum()), len(exits)])
    period = _period(inputs)
    table = count_table(
        "A.4", "activity_in_year", _("Activity during %(year)s, by federation", year=inputs.year), columns, rows,
        reading="", rules=inputs.rules,
        scope=counts_scope(inputs, _("Cases opened: follow-up started by the federation in the period. Exits: exit "
                                     "dated in the period.")),
        source=source_note(inputs), sensitive=["closures", "losses", "exits"],
        row_sum=(["closures", "losses"], "exits"),
        column_totals=["transferred", "opened", "closures", "losses", "exits"], keys=[*names, "all"],
        short=_("Activity of the year"))
    last = table.rows[-1]
    reading = _("%(period)s, %(opened)s cases were opened and %(exits)s exits were recorded.", period=period,
                opened=thousands(last[2]), exits=count_words(last[5]))
    return replace(table, note=replace(table.note, reading=reading))


def _period(inputs: ReportInputs) -> str:
    if inputs.as_of >= date(inputs.year, 12, 31):
        return _("In %(year)s", year=inputs.year)
    return _("From 1 January to %(date)s", date=long_date(inputs.as_of))


# --- data quality (never withheld) ---------------------------------------------------------------

def verification_table(inputs: ReportInputs, counts: CaseCounts) -> Table:
    t = counts.table
    open_cases = t[t["kind"] == "open"]
    names = group_order("federation", sorted(t["federation"].unique()), inputs)
    g = open_cases.groupby("federation")
    columns = [Column("group", _("Federation")), Column("open", _("Open cases"), "count"),
               Column("verified", _("Verified in the last 12 months"), "count"),
               Column("share", _("Share verified (%)"), "pct"),
               Column("stale", _("Last verified more than 12 months ago"), "count"),
               Column("never", _("Never verified"), "count")]

    def row(label: str, frame: pd.DataFrame) -> list:
        total, recent, never = len(frame), int(frame["verified_recently"].sum()), int(frame["never_verified"].sum())
        return [label, total, recent, recent / total if total else None, total - recent - never, never]

    rows = [row(group_label("federation", n, inputs), g.get_group(n) if n in g.groups else open_cases.iloc[:0])
            for n in names]
    rows.append(row(_("All federations"), open_cases))
    last = rows[-1]
    reading = (_("Of the %(num)s cases open on %(date)s, %(share)s had been verified as operating in the previous 12 "
                 "months.", num=thousands(last[1]), date=long_date(inputs.as_of), share=pct_sign(last[3]))
               if isinstance(last[3], float) else _("No open case to verify."))
    return count_table(
        "A.13", "verification", _("Open cases verified as operating in the last 12 months, by federation"),
        columns, rows, reading=reading, rules=inputs.rules,
        scope=counts_scope(inputs, _("Open cases: no exit dated on or before %(date)s. Verified: last confirmed "
                                     "operating within the 12 months before the reference date.",
                                     date=long_date(inputs.as_of))),
        source=source_note(inputs), row_sum=(["verified", "stale", "never"], "open"),
        column_totals=["open", "verified", "stale", "never"], keys=[*names, "all"], short=_("Verification"))


def exclusions_table(inputs: ReportInputs) -> Table:
    excluded = inputs.overall.report.exclusions
    columns = [Column("reason", _("Why the case is left out")), Column("cases", _("Cases"), "count")]
    rows: list[Row] = [[str(EXCLUSION_TEXT[r]), int(excluded.get(r, 0))] for r in EXCLUSION_REASONS]
    rows.append([_("All cases left out"), sum(excluded.values())])
    left_out = rows[-1][1]
    reading = (ngettext("%(count)s of the %(total)s cases recorded is left out of the survival analysis: %(reason)s.",
                        "%(count)s of the %(total)s cases recorded are left out of the survival analysis; the most "
                        "frequent reason: %(reason)s.", left_out, count=thousands(left_out),
                        total=thousands(len(inputs.frame)), reason=max(rows[:-1], key=lambda r: r[1])[0].lower())
               if left_out else _("No case is left out of the survival analysis."))
    return count_table(
        "A.14", "cases_left_out", _("Cases left out of the survival analysis, and why"), columns, rows,
        reading=reading, rules=inputs.rules,
        scope=scope_note(inputs, _("Each case is counted under the first reason that applies.")),
        source=source_note(inputs), column_totals=["cases"], keys=[*EXCLUSION_REASONS, "all"],
        short=_("Cases left out"))


def exit_reasons(inputs: ReportInputs, counts: CaseCounts) -> Table:
    t = counts.table
    exits = t[t["kind"] != "open"]
    order = [*CLOSURE_REASONS, *LOSS_REASONS]
    by_reason = exits.groupby("reason").size()
    in_year = exits[exits["exit_in_year"]].groupby("reason").size()
    columns = [Column("reason", _("Exit reason")), Column("kind", _("Counts as")),
               Column("exits", _("Exits by %(date)s", date=long_date(inputs.as_of)), "count"),
               Column("in_year", _("of which in %(year)s", year=inputs.year), "count"),
               Column("share", _("Share of exits (%)"), "pct")]
    rows = []
    for reason in order:
        n = int(by_reason.get(reason, 0))
        rows.append([vocabulary.EXIT_REASONS[reason],
                     _("closure") if reason in CLOSURE_REASONS else _("loss of the cooperative form"),
                     n, int(in_year.get(reason, 0)), n / len(exits) if len(exits) else None])
    rows.append([_("All exits"), "", len(exits), int(exits["exit_in_year"].sum()), 1.0 if len(exits) else None])
    table = count_table(
        "A.12", "exit_reasons", _("Exits by reason"), columns, rows, reading="", rules=inputs.rules,
        scope=counts_scope(inputs, _("Exits dated on or before %(date)s.", date=long_date(inputs.as_of))),
        source=source_note(inputs), sensitive=["exits", "in_year"], column_totals=["exits", "in_year"],
        derived={"share": "exits"}, keys=[*order, "all"], short=_("Exits by reason"))
    top = first_published(sorted(table.rows[:-1], key=lambda r: -(r[2] if isinstance(r[2], int) else 0)), 4)
    reading = (_("%(reason)s accounts for %(share)s of the exits recorded.", reason=top[0], share=pct_sign(top[4]))
               if top and isinstance(top[4], float) else _("No exit recorded."))
    return replace(table, note=replace(table.note, reading=reading))
