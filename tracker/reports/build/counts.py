"""Sections 2 (activity) and 5 (data quality): counts over the cached case arrays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from tracker import vocabulary
from tracker.charts.report import bar_figure
from tracker.reports.build import confidentiality as conf
from tracker.reports.build.common import (
    BREAKDOWN_HEADERS,
    EXCLUSION_TEXT,
    count_table,
    counts_scope,
    first_published,
    group_label,
    group_order,
    note,
    scope_note,
    source_note,
)
from tracker.reports.build.inputs import ReportInputs
from tracker.reports.content import CONFIDENTIAL, Column, Figure, Paragraph, Section, Table
from tracker.reports.render.formatting import long_date, pct, thousands
from tracker.survival import CLOSURE_REASONS, EXCLUSION_REASONS, LOSS_REASONS

Row = list[Any]  # a table row: its label, then counts (CONFIDENTIAL where suppressed)
KINDS = (("open", "Still operating or followed"), ("closure", "Closed"), ("loss", "Cooperative form lost"))


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


# --- section 2 ---------------------------------------------------------------------------------

def activity_section(inputs: ReportInputs, counts: CaseCounts) -> Section:
    per_year = transfers_per_year(inputs, counts)
    blocks = (
        Paragraph(_activity_summary(inputs, counts)),
        per_year,
        transfers_figure(inputs, per_year),
        transfers_by(inputs, counts, "country", "2.2", "transfers_by_country"),
        transfers_by(inputs, counts, "transfer_type", "2.3", "transfers_by_type"),
        year_activity(inputs, counts),
    )
    return Section("2", "activity", "Activity", blocks)


def _activity_summary(inputs: ReportInputs, counts: CaseCounts) -> str:
    t = counts.table
    total, in_year = len(t), int(t["transferred_in_year"].sum())
    opened, exits = int(t["opened_in_year"].sum()), int(t["exit_in_year"].sum())
    published = [conf.count(v) for v in (in_year, opened, exits)]
    words = ["fewer than 5" if v is CONFIDENTIAL else thousands(v) for v in published]
    return (f"The federations had recorded {thousands(total)} transfers to employees by {long_date(inputs.as_of)}. "
            f"In {inputs.year}, {words[0]} enterprises were transferred, {words[1]} cases were opened "
            f"(follow-up started) and {words[2]} exits were recorded.")


def transfers_per_year(inputs: ReportInputs, counts: CaseCounts) -> Table:
    t = counts.table
    types = group_order("transfer_type", sorted(t["transfer_type"].unique()))
    pivot = pd.crosstab(t["year"], t["transfer_type"]).reindex(columns=types, fill_value=0)
    years = range(int(t["year"].min()), inputs.year + 1) if len(t) else range(inputs.year, inputs.year + 1)
    pivot = pivot.reindex(years, fill_value=0)
    columns = [Column("year", "Year of transfer", "year"),
               *(Column(k, group_label("transfer_type", k), "count") for k in types),
               Column("total", "Total", "count")]
    rows: list[Row] = [[int(y), *(int(v) for v in pivot.loc[y]), int(pivot.loc[y].sum())] for y in pivot.index]
    rows.append(["Total", *(int(v) for v in pivot.sum()), int(pivot.to_numpy().sum())])
    year_row = next((r for r in rows if r[0] == inputs.year), rows[-1])
    return count_table(
        "2.1", "transfers_per_year", "Transfers to employees per year, by transfer type", columns, rows,
        reading=f"In {inputs.year}, {_count_words(year_row[-1])} transfers to employees were recorded.",
        scope=counts_scope(inputs), source=source_note(inputs),
        components=types, total_column="total", column_totals=())


def _count_words(value: int | Any) -> str:  # a count, or CONFIDENTIAL
    return "fewer than 5" if value is CONFIDENTIAL else thousands(int(value))


def transfers_figure(inputs: ReportInputs, table: Table) -> Figure:
    rows = table.rows[:-1]
    totals = [float("nan") if r[-1] is CONFIDENTIAL else float(r[-1]) for r in rows]
    svg = bar_figure([str(r[0]) for r in rows], [("Transfers", totals)], "Transfers", salt="fig-2-1")
    hidden = sum(1 for r in rows if r[-1] is CONFIDENTIAL)
    return Figure("2.1", "transfers_per_year_figure", "Transfers to employees per year", svg,
                  alt=f"Bar chart of the number of transfers per year of transfer, up to {inputs.year}.",
                  note=note(f"Each bar is the number of transfers recorded for that year of transfer (table 2.1)."
                            f"{' Years with fewer than 5 transfers are not shown.' if hidden else ''}",
                            counts_scope(inputs), source_note(inputs)))


def transfers_by(inputs: ReportInputs, counts: CaseCounts, field: str, number: str, slug: str) -> Table:
    t = counts.table
    names = group_order(field, sorted(t[field].unique()), inputs)
    kinds = pd.crosstab(t[field], t["kind"]).reindex(index=names, columns=[k for k, _ in KINDS], fill_value=0)
    in_year = t.groupby(field)["transferred_in_year"].sum().reindex(names, fill_value=0)
    columns = [Column("group", BREAKDOWN_HEADERS[field]), Column("transfers", "Transfers", "count"),
               Column("in_year", f"of which in {inputs.year}", "count"),
               *(Column(k, label, "count") for k, label in KINDS)]
    rows = [[group_label(field, n, inputs), int(kinds.loc[n].sum()), int(in_year[n]),
             *(int(v) for v in kinds.loc[n].to_numpy())] for n in names]
    rows.append(["All transfers", len(t), int(t["transferred_in_year"].sum()),
                 *(int((t["kind"] == k).sum()) for k, _ in KINDS)])
    top = first_published(rows[:-1], 1, key=lambda r: -(r[1] if isinstance(r[1], int) else 0))
    reading = (f"{top[0]}: {thousands(top[1])} transfers recorded, of which {_count_words(conf.count(top[4]))} "
               f"closed and {_count_words(conf.count(top[5]))} no longer cooperatives by "
               f"{long_date(inputs.as_of)}." if top else "No transfer recorded.")
    title = "Transfers by country" if field == "country" else "Transfers by transfer type"
    return count_table(number, slug, f"{title} and situation at the reference date", columns, rows,
                       reading=reading, scope=counts_scope(inputs, "Situation at the reference date: exits "
                                                                   "dated on or before it."),
                       source=source_note(inputs), components=[k for k, _ in KINDS], total_column="transfers",
                       column_totals=["in_year"])


def year_activity(inputs: ReportInputs, counts: CaseCounts) -> Table:
    t = counts.table
    names = group_order("federation", sorted(t["federation"].unique()), inputs)
    grouped = t.groupby("federation")
    exits = t[t["exit_in_year"]]
    closures = exits[exits["kind"] == "closure"].groupby("federation").size()
    losses = exits[exits["kind"] == "loss"].groupby("federation").size()
    columns = [Column("group", "Federation"), Column("transferred", f"Transfers in {inputs.year}", "count"),
               Column("opened", "Cases opened", "count"), Column("closures", "Exits: closures", "count"),
               Column("losses", "Exits: cooperative form lost", "count"), Column("exits", "Exits: total", "count")]
    rows: list[Row] = []
    for n in names:
        c, lo = int(closures.get(n, 0)), int(losses.get(n, 0))
        rows.append([group_label("federation", n, inputs), int(grouped["transferred_in_year"].sum().get(n, 0)),
                     int(grouped["opened_in_year"].sum().get(n, 0)), c, lo, c + lo])
    rows.append(["All federations", int(t["transferred_in_year"].sum()), int(t["opened_in_year"].sum()),
                 int((exits["kind"] == "closure").sum()), int((exits["kind"] == "loss").sum()), len(exits)])
    last = rows[-1]
    period = _period(inputs)
    return count_table(
        "2.4", "activity_in_year", f"Activity during {inputs.year}, by federation", columns, rows,
        reading=(f"{period}, {_count_words(conf.count(last[2]))} cases were opened and "
                 f"{_count_words(conf.count(last[5]))} exits were recorded."),
        scope=counts_scope(inputs, f"Cases opened: follow-up started by the federation {period.lower()}. "
                                   f"Exits: exit dated {period.lower()}."),
        source=source_note(inputs), components=["closures", "losses"], total_column="exits",
        column_totals=["transferred", "opened"])


def _period(inputs: ReportInputs) -> str:
    if inputs.as_of >= date(inputs.year, 12, 31):
        return f"In {inputs.year}"
    return f"From 1 January to {long_date(inputs.as_of)}"


# --- section 5 ---------------------------------------------------------------------------------

def quality_section(inputs: ReportInputs, counts: CaseCounts) -> Section:
    return Section("5", "data-quality", "Data quality", (
        Paragraph("Survival can only be measured on cases whose situation is known. An open case counts as "
                  "operating only up to the last date it was verified; the less recent the checks, the shorter "
                  "the follow-up and the wider the confidence intervals."),
        verification_table(inputs, counts),
        exclusions_table(inputs),
    ))


def verification_table(inputs: ReportInputs, counts: CaseCounts) -> Table:
    t = counts.table
    open_cases = t[t["kind"] == "open"]
    names = group_order("federation", sorted(t["federation"].unique()), inputs)
    g = open_cases.groupby("federation")
    columns = [Column("group", "Federation"), Column("open", "Open cases", "count"),
               Column("verified", "Verified in the last 12 months", "count"),
               Column("share", "Share verified (%)", "pct"),
               Column("stale", "Last verified more than 12 months ago", "count"),
               Column("never", "Never verified", "count")]

    def row(label: str, frame: pd.DataFrame) -> list:
        total, recent, never = len(frame), int(frame["verified_recently"].sum()), int(frame["never_verified"].sum())
        return [label, total, recent, conf.share(recent, total), total - recent - never, never]

    rows = [row(group_label("federation", n, inputs), g.get_group(n) if n in g.groups else open_cases.iloc[:0])
            for n in names]
    rows.append(row("All federations", open_cases))
    last = rows[-1]
    reading = (f"Of the {_count_words(conf.count(last[1]))} cases open at {long_date(inputs.as_of)}, "
               f"{pct(last[3])} % had been verified as operating in the previous 12 months."
               if isinstance(last[3], float) else "No open case to verify.")
    return count_table(
        "5.1", "verification", "Open cases verified as operating in the last 12 months, by federation",
        columns, rows, reading=reading,
        scope=counts_scope(inputs, f"Open cases: no exit dated on or before {long_date(inputs.as_of)}. "
                                   "Verified: last confirmed operating within 12 months before the reference date."),
        source=source_note(inputs), components=["verified", "stale", "never"], total_column="open",
        derived={"share": "verified"})


def exclusions_table(inputs: ReportInputs) -> Table:
    excluded = inputs.overall.report.exclusions
    columns = [Column("reason", "Why the case is left out"), Column("code", "Code"), Column("cases", "Cases", "count")]
    rows: list[Row] = [[EXCLUSION_TEXT[r], r, int(excluded.get(r, 0))] for r in EXCLUSION_REASONS]
    rows.append(["All cases left out", "", sum(excluded.values())])
    total = len(inputs.frame)
    left_out = rows[-1][2]
    reading = (f"{_count_words(conf.count(left_out))} of the {thousands(total)} cases recorded are left out of the "
               f"survival analysis; the most frequent reason is: {max(rows[:-1], key=lambda r: r[2])[0].lower()}."
               if left_out else "No case is left out of the survival analysis.")
    return count_table(
        "5.2", "cases_left_out", "Cases left out of the survival analysis, and why", columns, rows,
        reading=reading, scope=scope_note(inputs, "Each case is counted under the first reason that applies."),
        source=source_note(inputs), column_totals=["cases"])


def exit_reasons(inputs: ReportInputs, counts: CaseCounts) -> Table:
    t = counts.table
    exits = t[t["kind"] != "open"]
    order = [*CLOSURE_REASONS, *LOSS_REASONS]
    by_reason = exits.groupby("reason").size()
    in_year = exits[exits["exit_in_year"]].groupby("reason").size()
    columns = [Column("reason", "Exit reason"), Column("kind", "Counts as"),
               Column("exits", f"Exits by {long_date(inputs.as_of)}", "count"),
               Column("in_year", f"of which in {inputs.year}", "count"), Column("share", "Share of exits (%)", "pct")]
    rows = []
    for reason in order:
        n = int(by_reason.get(reason, 0))
        rows.append([vocabulary.EXIT_REASONS[reason],
                     "closure" if reason in CLOSURE_REASONS else "loss of cooperative form",
                     n, int(in_year.get(reason, 0)), _share(n, len(exits))])
    rows.append(["All exits", "", len(exits), int(exits["exit_in_year"].sum()), 1.0 if len(exits) else None])
    top = first_published(rows[:-1], 2, key=lambda r: -(r[2] if isinstance(r[2], int) else 0))
    reading = (f"{top[0]} accounts for {pct(top[4])} % of the exits recorded." if top and isinstance(top[4], float)
               else "No exit recorded.")
    return count_table(
        "4.2", "exit_reasons", "Exits by reason", columns, rows, reading=reading,
        scope=counts_scope(inputs, f"Exits dated on or before {long_date(inputs.as_of)}."),
        source=source_note(inputs), column_totals=["exits", "in_year"], derived={"share": "exits"})


def _share(n: int, total: int) -> float | None:
    return n / total if total else None
