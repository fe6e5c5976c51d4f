"""PDF of the annual report: WeasyPrint renders the report's HTML (print media, A4)."""

from __future__ import annotations

from tracker.reports.content import AnnualReport
from tracker.reports.render.html import render_html


def render_pdf(report: AnnualReport, html: str | None = None) -> bytes:
    from weasyprint import HTML  # imported here: WeasyPrint loads Pango at import, which the web pages do not need

    return HTML(string=html or render_html(report)).write_pdf()
