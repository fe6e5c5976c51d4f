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
from collections.abc import Iterable, Sequence
from typing import Any

from tracker import vocabulary
from tracker.services.analytics.explorer import Explorer
from tracker.services.analytics.survival_query import SurvivalQuery
from tracker.services.spreadsheets.exports import FORMULA_PREFIXES, table_bytes
from tracker.survival import SurvivalReport

STEP_COLUMNS = ("group", "time_years", "at_risk", "events", "censored", "survival", "ci_lower", "ci_upper",
                "expected")
HORIZON_COLUMNS = ("group", "n", "events", "median_years", "years", "survival", "ci_lower", "ci_upper", "at_risk",
                   "unstable", "expected", "relative", "relative_ci_lower", "relative_ci_upper")
COMPETING_COLUMNS = ("group", "n", "closures", "losses", "years", "closure", "loss", "at_risk")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filename(query: SurvivalQuery, stem: str, extension: str) -> str:
    parts = [stem, query.endpoint, query.as_of.isoformat()]
    if query.group_by:
        parts.append(f"by-{query.group_by.replace(',', '-')}")
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


__all__ = ["COMPETING_COLUMNS", "HORIZON_COLUMNS", "STEP_COLUMNS", "XLSX_MIMETYPE", "about_rows", "competing_csv",
           "filename", "horizons_csv", "horizons_xlsx", "step_rows", "steps_csv", "table"]
