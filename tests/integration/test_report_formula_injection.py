"""A federation name that a spreadsheet would run as a formula (an admin can save one) is written
as text in every format of the report: a quoted text cell in the XLSX, an apostrophe before it
in the CSV files, escaped in the HTML, printed as it is in the PDF."""

from __future__ import annotations

import csv
import io
import subprocess
import zipfile
from datetime import date

import openpyxl

from tracker.extensions import db
from tracker.reports.editions import generate_edition
from tracker.services.analytics import queries as analytics

NAME = '=HYPERLINK("http://x","y")'
TODAY = date(2026, 6, 30)


def test_a_formula_in_a_federation_name_is_never_a_live_formula(app, make_federation, make_case, tmp_path):
    analytics.clear_cache()
    fed = make_federation(code="EVIL", name=NAME)
    for i in range(8):
        make_case(fed, transfer_date=date(2016, 1 + i, 1), registered_on=date(2016, 1 + i, 1),
                  last_verified_on=date(2025, 10, 1))
    db.session.commit()
    edition = generate_edition(None, 2025, "xlsx", today=TODAY).edition

    book = openpyxl.load_workbook(io.BytesIO(edition.file("xlsx").content))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    named = [c for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert named and all(c.value.startswith("=") and c.quotePrefix for c in named)

    with zipfile.ZipFile(io.BytesIO(edition.file("csv").content)) as archive:
        fields = [field for name in archive.namelist() if name.endswith(".csv")
                  for row in csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))) for field in row]
    named_fields = [f for f in fields if "HYPERLINK" in f]
    assert named_fields and all(f.startswith("'=") for f in named_fields)

    html = edition.file("html").content.decode()
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in html and NAME not in html

    path = tmp_path / "r.pdf"
    path.write_bytes(edition.file("pdf").content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "=HYPERLINK(" in text
