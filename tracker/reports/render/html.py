"""HTML of the annual report (also the input of the PDF): one Jinja template, templates/reports/annual.html."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import render_template
from markupsafe import Markup, escape

from tracker.i18n import current_language
from tracker.reports.build import confidentiality as conf
from tracker.reports.changes import change_text
from tracker.reports.content import (
    CONFIDENTIAL,
    CONFIDENTIAL_MARK,
    NOT_AVAILABLE_MARK,
    AnnualReport,
    Column,
    Estimate,
    Figure,
    KeyFigure,
    Table,
)
from tracker.reports.render.flat import DRAFT_WORDS
from tracker.reports.render.formatting import long_date, pct, ratio

_CONFIDENTIAL_HTML = Markup(f'<span class="conf" title="confidential: fewer than {conf.THRESHOLD} enterprises">'
                            f'{CONFIDENTIAL_MARK}</span>')


def cell(value: Any, kind: str) -> Markup | str:
    """A table cell as shown: percentages with one decimal, CI on a second line, marks for
    suppressed (c) and not available (:) figures."""
    if value is CONFIDENTIAL:
        return _CONFIDENTIAL_HTML
    if value is None:
        return NOT_AVAILABLE_MARK
    if isinstance(value, Estimate):
        show = pct if kind == "est_pct" else ratio
        interval = "" if value.lower is None else f"{show(value.lower)}–{show(value.upper)}"
        return Markup(f'{escape(show(value.value))}<span class="ci">{escape(interval)}</span>')
    if kind == "pct" and isinstance(value, float):
        return pct(value)
    if kind == "ratio" and isinstance(value, float):
        return ratio(value)
    if kind == "count" and isinstance(value, int):
        return f"{value:,}"
    if kind == "url" and value:
        return Markup(f'<a href="{escape(value)}">{escape(value)}</a>')
    return str(value)


# Relative widths of the columns by kind (fixed table layout: WeasyPrint lays out much faster
# than with automatic widths, and the columns line up from table to table).
WIDTHS = {"text": 2.2, "url": 3.0, "year": 1.0, "count": 1.1, "pct": 1.0, "ratio": 1.0, "years": 1.0,
          "est_pct": 1.2, "est_ratio": 1.2}


def printed_columns(table: Table) -> list[tuple[int, Column, float]]:
    """(index, column, width %) of the columns shown in HTML and PDF; the first column is wider."""
    shown = [(i, c) for i, c in enumerate(table.columns) if c.printed]
    weights = [c.width or WIDTHS[c.kind] * (1.6 if n == 0 else 1.0) for n, (_, c) in enumerate(shown)]
    total = sum(weights)
    return [(i, c, round(100 * w / total, 2)) for (i, c), w in zip(shown, weights, strict=True)]


def anchor(block: Table | Figure) -> str:
    return f"{'table' if isinstance(block, Table) else 'figure'}-{block.number.replace('.', '-')}"


def utc(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def render_html(report: AnnualReport) -> str:
    return render_template(
        "reports/annual.html", report=report, cell=cell, anchor=anchor, utc=utc, long_date=long_date,
        confidential_note=conf.NOTE, printed_columns=printed_columns, change_text=change_text,
        draft_words=DRAFT_WORDS, lang=current_language(), draft_mark="DRAFT · not an official edition",
        is_table=lambda b: isinstance(b, Table), is_figure=lambda b: isinstance(b, Figure),
        is_keys=lambda b: isinstance(b, tuple) and all(isinstance(k, KeyFigure) for k in b))
