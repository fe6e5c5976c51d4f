"""HTML of the annual report (also the input of the PDF): one Jinja template, templates/reports/annual.html,
written in the language of the moment (the report's, forced by the caller)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import render_template
from flask_babel import gettext as _
from markupsafe import Markup, escape

from tracker.i18n import current_language, format_datetime
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
from tracker.reports.render.flat import draft_words
from tracker.reports.render.formatting import has_interval, interval, long_date, pct, ratio, thousands


def cell(value: Any, kind: str) -> Markup | str:
    """A table cell as shown: percentages with one decimal, CI in small type below, marks for
    withheld (c) and not available (:) figures, '—' for an interval R does not define."""
    if value is CONFIDENTIAL:
        return Markup(f'<span class="conf" title="{escape(_("confidential"))}">{CONFIDENTIAL_MARK}</span>')
    if value is None:
        return NOT_AVAILABLE_MARK
    if isinstance(value, Estimate):
        show = pct if kind == "est_pct" else ratio
        ci = escape(interval(value, kind == "est_pct"))
        return Markup(f'{escape(show(value.value))}<span class="ci">{ci}</span>')
    if kind == "pct" and isinstance(value, float):
        return pct(value)
    if kind == "ratio" and isinstance(value, float):
        return ratio(value)
    if kind == "years" and isinstance(value, float):
        return thousands(round(value))
    if kind == "count" and isinstance(value, int):
        return thousands(value)
    if kind == "url" and value:
        return Markup(f'<a href="{escape(value)}">{escape(value)}</a>')
    return str(value)


def has_no_interval(table: Table) -> bool:
    return any(isinstance(v, Estimate) and not has_interval(v) for row in table.rows for v in row)


# Relative widths of the columns by kind (fixed table layout: WeasyPrint lays out much faster
# than with automatic widths, and the columns line up from table to table).
WIDTHS = {"text": 2.2, "url": 3.0, "year": 1.0, "count": 1.1, "pct": 1.0, "ratio": 1.0, "years": 1.0,
          "est_pct": 1.2, "est_ratio": 1.2}


def printed_columns(table: Table) -> list[tuple[int, Column, float]]:
    """(index, column, width %) of the columns shown in HTML and PDF; the first column is wider."""
    shown = [(i, c) for i, c in enumerate(table.columns) if c.printed]
    weights = [c.width or WIDTHS[c.kind] * (1.6 if n == 0 else 1.0) for n, (_i, c) in enumerate(shown)]
    total = sum(weights)
    return [(i, c, round(100 * w / total, 2)) for (i, c), w in zip(shown, weights, strict=True)]


def anchor(block: Table | Figure) -> str:
    return f"{'table' if isinstance(block, Table) else 'figure'}-{block.number.replace('.', '-')}"


def utc(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return format_datetime(value)


def css_string(text: str) -> Markup:
    """A CSS string literal (for the running heads), safe inside the <style> element."""
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3C ") + '"'
    return Markup(quoted)


def page_content() -> Markup:
    """'Page 3 of 12' in the language, as CSS generated content with the page counters."""
    words = _("Page %(page)s of %(pages)s", page="\x00page\x00", pages="\x00pages\x00")
    parts = re.split(r"\x00(page|pages)\x00", words)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"counter({part})")
        elif part:
            out.append(str(css_string(part)))
    return Markup(" ".join(out))


def render_html(report: AnnualReport) -> str:
    draft = report.edition is not None and not report.edition.official
    return render_template(
        "reports/annual.html", report=report, cell=cell, anchor=anchor, utc=utc, long_date=long_date,
        confidential_note=report.confidential_note, printed_columns=printed_columns, change_text=change_text,
        has_no_interval=has_no_interval, draft=draft, draft_words=draft_words(), lang=current_language(),
        draft_mark=css_string(_("DRAFT · not an official edition")),
        running_head=css_string(_("Transfer Tracker · Annual survival report %(year)s", year=report.year)),
        running_foot=css_string(_("Reference date %(date)s · %(scope)s", date=long_date(report.as_of),
                                  scope=report.scope_label)),
        page_content=page_content(),
        not_available_note=_(": not available (beyond the longest follow-up of the group, or no baseline)."),
        no_interval_note=_("—: no confidence interval, because no closure has occurred yet in the group (the "
                           "interval is not defined; R gives NA)."),
        is_table=lambda b: isinstance(b, Table), is_figure=lambda b: isinstance(b, Figure),
        is_keys=lambda b: isinstance(b, tuple) and all(isinstance(k, KeyFigure) for k in b))
