"""PDF of the annual report: WeasyPrint renders the report's HTML (print media, A4) as a tagged
PDF/UA-1 document: its structure (headings, tables, figures with their text alternative) is
readable by assistive technology, it has an outline (bookmarks from the headings) and the
document language of the HTML."""

from __future__ import annotations

from tracker.reports.content import AnnualReport
from tracker.reports.render.html import render_html


def render_pdf(report: AnnualReport, html: str | None = None) -> bytes:
    from weasyprint import HTML  # imported here: WeasyPrint loads Pango at import, which the web pages do not need

    return HTML(string=html or render_html(report)).write_pdf(pdf_variant="pdf/ua-1", uncompressed_pdf=False)
