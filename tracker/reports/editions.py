"""Editions of the annual report: generate (assemble, compare with the previous edition, render,
keep), list and fetch. Like the services, these functions flush and never commit: the CLI
command or the view commits once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import User
from tracker.models.base import utcnow
from tracker.models.report import SCOPE_ALL, ReportEdition
from tracker.reports.build.annual import build_annual
from tracker.reports.build.inputs import InvalidReportRequest
from tracker.reports.content import CONFIDENTIAL, AnnualReport, EditionInfo, Estimate
from tracker.reports.render.formatting import long_date, pct, plural, thousands
from tracker.services.permissions import Scope


@dataclass(frozen=True)
class Format:
    extension: str
    media_type: str
    label: str


FORMATS = {
    "pdf": Format("pdf", "application/pdf", "PDF"),
    "xlsx": Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel workbook"),
    "csv": Format("zip", "application/zip", "CSV files (zip)"),
    "html": Format("html", "text/html; charset=utf-8", "HTML page"),
}


def render(report: AnnualReport, fmt: str) -> bytes:
    if fmt == "pdf":
        from tracker.reports.render.pdf import render_pdf

        return render_pdf(report)
    if fmt == "xlsx":
        from tracker.reports.render.xlsx import render_xlsx

        return render_xlsx(report)
    if fmt == "csv":
        from tracker.reports.render.csv_zip import render_csv_zip

        return render_csv_zip(report)
    from tracker.reports.render.html import render_html

    return render_html(report).encode("utf-8")


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidReportRequest(f"the format must be one of {', '.join(FORMATS)}, not {fmt!r}", "format")


def generate_edition(actor: User | None, year: int, fmt: str, as_of: date | None = None, *,
                     today: date | None = None, progress: Callable[[str], None] | None = None) -> ReportEdition:
    """Build the report for what `actor` may see (None: all federations), compare it with the
    previous edition of the same year and scope, render it in `fmt` and keep it (flushed)."""
    check_format(fmt)
    step = progress or (lambda stage: None)
    report = build_annual(actor, year, as_of, today=today, progress=step)
    previous = latest_edition(year, report.scope)
    generated_at = utcnow()
    info = EditionInfo(number=previous.number + 1 if previous else 1, generated_at=generated_at,
                       generated_by=actor.email if actor is not None else "command line",
                       previous_number=previous.number if previous else None,
                       previous_generated_at=previous.generated_at if previous else None,
                       changes=tuple(describe_changes(previous, report)) if previous else ())
    report = replace(report, edition=info)
    step(f"Rendering {FORMATS[fmt].label}")
    content = render(report, fmt)
    scope_part = "" if report.scope == SCOPE_ALL else f"-{report.scope.lower()}"
    edition = ReportEdition(
        year=year, scope=report.scope, number=info.number,
        federation_id=Scope.of(actor).federation_id,
        as_of=report.as_of, format=fmt, generated_at=generated_at,
        generated_by_id=actor.id if actor is not None else None, app_version=report.app_version,
        fingerprint=report.fingerprint, figures=figures_json(report), changes=list(info.changes),
        filename=f"transfer-survival-{year}{scope_part}-edition-{info.number}.{FORMATS[fmt].extension}",
        media_type=FORMATS[fmt].media_type, file_size=len(content),
        file_sha256=hashlib.sha256(content).hexdigest(), content=content)
    db.session.add(edition)
    db.session.flush()
    return edition


def latest_edition(year: int, scope: str) -> ReportEdition | None:
    return db.session.scalars(select(ReportEdition).where(ReportEdition.year == year, ReportEdition.scope == scope)
                              .order_by(ReportEdition.number.desc()).limit(1)).first()


def visible_editions(user: User) -> list[ReportEdition]:
    """Editions the user may download: staff their federation's, admins and researchers all."""
    stmt = select(ReportEdition).order_by(ReportEdition.year.desc(), ReportEdition.scope,
                                          ReportEdition.number.desc())
    return list(db.session.scalars(Scope.of(user).restrict(stmt, ReportEdition.federation_id)))


def may_see(user: User, federation_id: int | None) -> bool:
    """Whether `user` may see an edition (or a report being generated) of that scope: staff their
    federation's only, admins and researchers all."""
    return Scope.of(user).may_see(federation_id)


def get_edition(user: User, edition_id: int) -> ReportEdition | None:
    """The edition if the user may see it (None otherwise: its existence is not disclosed)."""
    edition = db.session.get(ReportEdition, edition_id)
    return edition if edition is not None and may_see(user, edition.federation_id) else None


# --- figures kept with an edition, and what changed ----------------------------------------------

def _json_cell(value: Any) -> Any:
    if value is CONFIDENTIAL:
        return "c"
    if isinstance(value, Estimate):
        return {"value": value.value, "lower": value.lower, "upper": value.upper}
    return value.item() if hasattr(value, "item") else value  # numpy scalars


def figures_json(report: AnnualReport) -> dict[str, Any]:
    """The published figures (after suppression) and the inputs summary, as JSON."""
    return {
        "year": report.year,
        "as_of": report.as_of.isoformat(),
        "scope": report.scope,
        "inputs": report.inputs,
        "tables": {t.slug: {"number": t.number, "title": t.title, "columns": [c.key for c in t.columns],
                            "rows": [[_json_cell(v) for v in row] for row in t.rows]} for t in report.tables},
    }


def _five_year(figures: dict[str, Any]) -> Any:
    """Five-year survival of all transfers as published in table 3.2 (None if absent)."""
    table = figures["tables"].get("survival_by_transfer_type")
    if not table or not table["rows"]:
        return None
    return table["rows"][-1][table["columns"].index("y5")]


def _words(value: Any) -> str:
    if value == "c":
        return "confidential"
    if isinstance(value, dict):
        return f"{pct(value['value'])} %"
    return "not available"


def describe_changes(previous: ReportEdition, report: AnnualReport) -> list[str]:
    """What changed since `previous`, in words: inputs first, then the revised figures."""
    before, now = previous.figures.get("inputs", {}), report.inputs
    n = previous.number
    if before.get("fingerprint") == now["fingerprint"] and previous.app_version == report.app_version:
        return [f"No change since edition {n}: same data (fingerprint {report.fingerprint[:12]}) and same application "
                "version, so every figure is the same."]
    changes: list[str] = []
    late_exits = now["exits"] - before.get("exits", now["exits"]) if before.get("as_of") == now["as_of"] else 0
    if before.get("as_of") != now["as_of"]:
        changes.append(f"Reference date moved from {before.get('as_of')} to {now['as_of']}.")
    if late_exits > 0:
        was = "was" if late_exits == 1 else "were"
        changes.append(f"{plural(late_exits, 'exit')} dated on or before {long_date(report.as_of)} {was} recorded "
                       f"after edition {n} (late {'exit' if late_exits == 1 else 'exits'}).")
    for key, words in (("transfers", "Transfers recorded up to the reference date"),
                       ("analysed", "Enterprises in the survival analysis"), ("left_out", "Cases left out"),
                       ("verified_recently", "Open cases verified in the last 12 months")):
        if before.get(key) is not None and before[key] != now[key]:
            changes.append(f"{words}: {thousands(before[key])} in edition {n}, {thousands(now[key])} now.")
    if before.get("baselines_fingerprint") != now["baselines_fingerprint"]:
        changes.append("The national baselines (figures or sources) were updated.")
    if previous.app_version != report.app_version:
        changes.append(f"Application version {previous.app_version} → {report.app_version}.")
    changes += _revised_figures(previous.figures, figures_json(report), late_exits, n)
    return changes


def _revised_figures(before: dict[str, Any], now: dict[str, Any], late_exits: int, n: int) -> list[str]:
    out = []
    old, new = _five_year(before), _five_year(now)
    if old != new:
        was = "was" if late_exits == 1 else "were"
        because = f" because {plural(late_exits, 'late exit')} {was} recorded" if late_exits > 0 else ""
        out.append(f"Five-year survival of all transfers revised from {_words(old)} to {_words(new)}{because}.")
    revised = []
    for slug, table in now["tables"].items():
        count = _changed_cells(before["tables"].get(slug), table)
        if count:
            revised.append(f"{table['number']} ({count})")
    if revised:
        out.append(f"Figures revised since edition {n}, by table (number of cells): {', '.join(revised)}.")
    return out


def _changed_cells(before: dict[str, Any] | None, now: dict[str, Any]) -> int:
    if before is None or before["columns"] != now["columns"]:
        return sum(len(r) for r in now["rows"])
    old = dict(_keyed(before["rows"]))
    changed = 0
    for key, row in _keyed(now["rows"]):
        previous = old.pop(key, None)
        changed += len(row) if previous is None else sum(1 for a, b in zip(previous, row, strict=True) if a != b)
    return changed + sum(len(r) for r in old.values())


def _keyed(rows: list[list[Any]]) -> list[tuple[tuple[Any, ...], list[Any]]]:
    """Rows keyed by their label (and a second text label, e.g. the outcome), repeated labels numbered."""
    seen: dict[tuple[Any, ...], int] = {}
    out = []
    for row in rows:
        label = (row[0], row[1]) if len(row) > 1 and isinstance(row[1], str) and row[1] != "c" else (row[0],)
        seen[label] = seen.get(label, 0) + 1
        out.append(((*label, seen[label]), row))
    return out


__all__ = ["FORMATS", "InvalidReportRequest", "generate_edition", "get_edition", "latest_edition", "render",
           "visible_editions"]
