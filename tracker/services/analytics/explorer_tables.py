"""The explorer's downloadable tables, as the engine computed them: curve steps, the horizon table
(CSV and XLSX with an "About" sheet naming the selection), the competing outcomes, and the
drill-down case list with each case's follow-up. Codes, ISO dates and `.` decimals whatever the
language (docs/decisions.md: machine-readable outputs do not follow the language).

Every text cell goes through the spreadsheet formula guard of `spreadsheets.exports`: a value a
spreadsheet would run as a formula (a crafted filter value in a shared link, a case name) is
written as text, never as a formula.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select

from tracker import vocabulary
from tracker.extensions import db
from tracker.models import Case, Federation, User
from tracker.services.analytics.explorer import Explorer, case_followup
from tracker.services.analytics.survival_query import SurvivalQuery
from tracker.services.permissions import scope_cases
from tracker.services.spreadsheets.exports import FORMULA_PREFIXES, table_bytes
from tracker.survival import SurvivalReport

STEP_COLUMNS = ("group", "time_years", "at_risk", "events", "censored", "survival", "ci_lower", "ci_upper",
                "expected")
HORIZON_COLUMNS = ("group", "n", "events", "median_years", "years", "survival", "ci_lower", "ci_upper", "at_risk",
                   "unstable", "expected", "relative", "relative_ci_lower", "relative_ci_upper")
COMPETING_COLUMNS = ("group", "n", "closures", "losses", "years", "closure", "loss", "at_risk")
CASE_COLUMNS = ("id", "ref", "name", "federation", "country", "region", "nace", "employees", "transfer_type",
                "transfer_date", "registered_on", "last_verified_on", "exit_date", "exit_reason", "analysed",
                "left_out_because", "entry_years", "followup_years", "event")
_CHUNK = 2000
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filename(query: SurvivalQuery, stem: str, extension: str, group: str | None = None) -> str:
    parts = [stem, query.endpoint, query.as_of.isoformat()]
    if query.group_by:
        parts.append(f"by-{query.group_by.replace(',', '-')}")
    if group:
        parts.append(re.sub(r"[^A-Za-z0-9.-]+", "_", group)[:40])
    return "-".join(parts) + f".{extension}"


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def step_rows(report: SurvivalReport) -> Iterable[tuple[Any, ...]]:
    """The Kaplan-Meier steps of every group (years; the expected survival where there is a baseline)."""
    for group in report.groups:
        s = group.steps
        expected = group.baseline.steps.expected if group.baseline is not None else None
        for i in range(len(s.time)):
            yield (group.group, float(s.time[i]), int(s.at_risk[i]), int(s.events[i]), int(s.censored[i]),
                   _number(s.survival[i]), _number(s.ci_lower[i]), _number(s.ci_upper[i]),
                   _number(expected[i]) if expected is not None else None)


def horizon_rows(explorer: Explorer) -> Iterable[tuple[Any, ...]]:
    for g in explorer.groups:
        for h in g["horizons"]:
            yield (g["group"], g["n"], g["events"], g["median_years"], h["years"], h["survival"], h["ci_lower"],
                   h["ci_upper"], h["at_risk"], h["unstable"], h["expected"], h["relative"],
                   h["relative_ci_lower"], h["relative_ci_upper"])


def competing_rows(explorer: Explorer) -> Iterable[tuple[Any, ...]]:
    for g in explorer.competing:
        for h in g["horizons"]:
            yield (g["group"], g["n"], g["closures"], g["losses"], h["years"], h["closure"], h["loss"], h["at_risk"])


HAZARD_COLUMNS = ("group", "start_years", "end_years", "person_years", "events", "rate", "ci_lower", "ci_upper")
PAIRWISE_COLUMNS = ("group_a", "group_b", "statistic", "p_value", "p_holm")
COX_COLUMNS = ("covariate", "level", "reference", "coef", "se", "hazard_ratio", "ci_lower", "ci_upper", "z", "p_value")


def hazard_rows(explorer: Explorer) -> Iterable[tuple[Any, ...]]:
    for g in explorer.hazard:
        for h in g["years"]:
            yield (g["group"], h["start"], h["end"], h["person_years"], h["events"], h["rate"], h["ci_lower"],
                   h["ci_upper"])


def pairwise_rows(explorer: Explorer) -> Iterable[tuple[Any, ...]]:
    for p in explorer.pairwise:
        yield (p["a"], p["b"], p["statistic"], p["p_value"], p["p_holm"])


def cox_rows(explorer: Explorer) -> Iterable[tuple[Any, ...]]:
    for t in (explorer.cox or {}).get("terms", ()):
        yield tuple(t[c] for c in COX_COLUMNS)


#: The further tables of the page, by name: columns and rows.
FURTHER_TABLES = {"hazard": (HAZARD_COLUMNS, hazard_rows), "pairwise": (PAIRWISE_COLUMNS, pairwise_rows),
                  "cox": (COX_COLUMNS, cox_rows)}


def further_csv(explorer: Explorer, name: str) -> bytes:
    columns, rows = FURTHER_TABLES[name]
    return explorer.memo(f"{name}.csv", lambda: table("csv", columns, rows(explorer)))


def table(fmt: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], **options: Any) -> bytes:
    """A table as CSV or XLSX bytes (the exports' writer: BOM, formula guard)."""
    return table_bytes(fmt, columns, rows, **options)


def steps_csv(explorer: Explorer) -> bytes:
    return explorer.memo("steps.csv", lambda: table("csv", STEP_COLUMNS, step_rows(explorer.report)))


def horizons_csv(explorer: Explorer) -> bytes:
    return explorer.memo("horizons.csv", lambda: table("csv", HORIZON_COLUMNS, horizon_rows(explorer)))


def competing_csv(explorer: Explorer) -> bytes:
    return explorer.memo("competing.csv", lambda: table("csv", COMPETING_COLUMNS, competing_rows(explorer)))


def about_rows(explorer: Explorer) -> list[list[Any]]:
    """What the selection was, for the "About" sheet of a spreadsheet download."""
    query = explorer.query
    rows: list[list[Any]] = [
        ["Transfer Tracker survival analysis (Kaplan-Meier, 95 % log(-log) CI; docs/design.md definitions)"],
        ["as_of", query.as_of.isoformat()],
        ["endpoint", query.endpoint],
        ["delayed_entry", query.delayed_entry],
        ["group_by", query.group_by or "(none)"],
    ]
    rows += [[f"filter {name}", ", ".join(values)] for name, values in query.where]
    rows.append(["cases analysed", explorer.n])
    rows += [[f"left out: {vocabulary.EXCLUSION_REASONS.get(reason, reason)}", count]
             for reason, count in explorer.excluded.items()]
    if explorer.logrank:
        rows += [["log-rank statistic", explorer.logrank["statistic"]], ["log-rank df", explorer.logrank["df"]],
                 ["log-rank p-value", explorer.logrank["p_value"]]]
    rows += [["baseline source", s["series"], s["publisher"], s["source_title"], s.get("url") or ""]
             for s in explorer.baseline_sources]
    rows += [[f"published figure {number}", p["survival"], p["years"], p["label"], p["source_title"], p["url"]]
             for number, p in enumerate(explorer.published, 1)]
    return rows


def _guard(sheet: Any) -> None:
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_PREFIXES):
                cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
                cell.quotePrefix = True


def horizons_xlsx(explorer: Explorer) -> bytes:
    """The horizon table (sheet "Horizons", numbers as numbers) and the selection (sheet "About")."""
    return explorer.memo("horizons.xlsx", lambda: _horizons_xlsx(explorer))


def _horizons_xlsx(explorer: Explorer) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet

    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)  # a new workbook's one sheet
    sheet.title = "Horizons"
    sheet.append(list(HORIZON_COLUMNS))
    for row in horizon_rows(explorer):
        sheet.append(list(row))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column in ("F", "G", "H", "K", "L", "M", "N"):
        for cell in sheet[column][1:]:
            cell.number_format = "0.0000"
    sheet.freeze_panes = "B2"
    about = book.create_sheet("About")
    for line in about_rows(explorer):
        about.append(line)
    about.column_dimensions["A"].width = 34
    _guard(sheet)
    _guard(about)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def case_rows(user: User, query: SurvivalQuery, group: str | None) -> Iterable[tuple[Any, ...]]:
    """The drill-down list with each case's follow-up as the analysis used it: entry (delayed entry,
    years since transfer), end of follow-up (years) and whether it ended with the event."""
    found = case_followup(user, query, group)
    codes = dict(db.session.execute(select(Federation.id, Federation.code)).all())
    columns = (Case.id, Case.ref, Case.name, Case.federation_id, Case.country, Case.region, Case.nace,
               Case.employees, Case.transfer_type, Case.transfer_date, Case.registered_on, Case.last_verified_on,
               Case.exit_date, Case.exit_reason)
    ids = found["ids"]
    for start in range(0, len(ids), _CHUNK):
        chunk = [int(i) for i in ids[start:start + _CHUNK]]
        by_id = {row.id: row for row in db.session.execute(scope_cases(select(*columns), user)
                                                           .where(Case.id.in_(chunk)))}
        for offset, case_id in enumerate(chunk):
            row = by_id.get(case_id)
            if row is None:
                continue
            k = start + offset
            analysed = bool(found["included"][k])
            reason = found["reasons"][k]
            yield (row.id, row.ref, row.name, codes.get(row.federation_id), row.country, row.region, row.nace,
                   row.employees, getattr(row.transfer_type, "value", row.transfer_type), row.transfer_date,
                   row.registered_on, row.last_verified_on, row.exit_date,
                   getattr(row.exit_reason, "value", row.exit_reason), analysed, None if analysed else reason,
                   round(float(found["entry"][k]), 6) if analysed else None,
                   round(float(found["stop"][k]), 6) if analysed else None,
                   int(bool(found["event"][k])) if analysed else None)


def cases_table(fmt: str, user: User, query: SurvivalQuery, group: str | None) -> bytes:
    """The drill-down case list as CSV or XLSX (formula guard on every text cell)."""
    return table(fmt, CASE_COLUMNS, case_rows(user, query, group), sheet="cases",
                 notes=[["endpoint", query.endpoint], ["as_of", query.as_of.isoformat()],
                        ["delayed_entry", str(query.delayed_entry).lower()], ["group", group or "(all)"],
                        ["entry_years", "start of follow-up, years since transfer (registration, delayed entry)"],
                        ["followup_years", "end of follow-up, years since transfer"],
                        ["event", "1: follow-up ended with the endpoint's event; 0: censored"]])


__all__ = ["CASE_COLUMNS", "COMPETING_COLUMNS", "COX_COLUMNS", "FURTHER_TABLES", "HAZARD_COLUMNS", "HORIZON_COLUMNS",
           "PAIRWISE_COLUMNS", "STEP_COLUMNS", "XLSX_MIMETYPE", "about_rows", "case_rows", "cases_table",
           "competing_csv", "filename", "further_csv", "horizons_csv", "horizons_xlsx", "step_rows", "steps_csv",
           "table"]
