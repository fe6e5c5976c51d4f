"""The annual survival report: the generated files are opened (PDF text, XLSX cells,
CSV rows) and their figures checked against the engine and the R oracle; confidentiality,
reproducibility, editions and the staff scope."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import zipfile
from datetime import date

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.conftest import ORACLE_DIR
from tests.functional.support_research import load_oracle
from tracker import vocabulary
from tracker.extensions import db
from tracker.models import Case, ReportEdition, Role
from tracker.reports.build.annual import build_annual
from tracker.reports.build.inputs import InvalidReportRequest
from tracker.reports.content import CONFIDENTIAL, Estimate
from tracker.reports.editions import generate_edition
from tracker.services.analytics import queries as analytics

AS_OF = date(2025, 12, 31)
TODAY = date(2026, 6, 30)
HORIZONS = (1, 2, 3, 4, 5)
ORACLE_BY_TYPE = json.loads((ORACLE_DIR / "expected_by_transfer_type.json").read_text()) \
    if (ORACLE_DIR / "expected_by_transfer_type.json").exists() else {}
ORACLE_OVERALL = json.loads((ORACLE_DIR / "expected_overall.json").read_text()) \
    if (ORACLE_DIR / "expected_overall.json").exists() else {}
TYPE_LABELS = vocabulary.TRANSFER_TYPES


@pytest.fixture
def oracle(app, make_federation):
    return load_oracle(make_federation, baselines=True, name="Oracle federation")


def close(a: float, b: float, tolerance: float = 1e-9) -> bool:
    return abs(a - b) <= tolerance * max(1.0, abs(b))


# --- XLSX -------------------------------------------------------------------------------------

def test_xlsx_has_one_sheet_per_table_with_the_oracle_figures(oracle, runner, tmp_path):
    path = tmp_path / "report.xlsx"
    result = runner.invoke(args=["report", "annual", "2025", "--format", "xlsx", "--output", str(path)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(path)
    edition = db.session.scalars(select(ReportEdition)).one()
    assert book.sheetnames[0] == "About"
    assert len(book.sheetnames) == 1 + len(edition.figures["tables"])
    assert "2 Survival by type" in book.sheetnames and "A.5 Survival by sector" in book.sheetnames
    about = book["About"]
    links = {c.value: c.hyperlink.location for row in about.iter_rows() for c in row if c.hyperlink}
    assert links["2 Survival by type"] == "'2 Survival by type'!A1"
    sheet = book["2 Survival by type"]
    assert sheet.freeze_panes == "B4" and sheet.auto_filter.ref.startswith("A3:")
    header = [c.value for c in sheet[3]]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True) if r[0]}
    for group in ORACLE_BY_TYPE["groups"]:
        row = rows[TYPE_LABELS[group["group"]]]
        assert row[1] == group["n"] and row[2] == group["events"]
        for h in group["horizons"]:
            at = header.index(f"{h['years']} year{'s' if h['years'] > 1 else ''}")
            assert close(row[at], h["survival"]) and close(row[at + 1], h["ci_lower"]) \
                and close(row[at + 2], h["ci_upper"])
    total = rows["All transfers"]
    five = next(h for h in ORACLE_OVERALL["groups"][0]["horizons"] if h["years"] == 5)
    assert total[1] == ORACLE_OVERALL["groups"][0]["n"]
    assert close(total[header.index("5 years")], five["survival"])
    # real numbers with number formats, not text
    cell = sheet.cell(4, header.index("1 year") + 1)
    assert isinstance(cell.value, float) and cell.number_format == "0.0%"
    assert sheet.cell(4, 2).number_format == "#,##0"
    notes = [r[0] for r in sheet.iter_rows(min_row=4, values_only=True) if isinstance(r[0], str)]
    assert any(n.startswith("Reading:") for n in notes) and any(n.startswith("Scope:") for n in notes) \
        and any(n.startswith("Source:") for n in notes)


def test_transfer_counts_match_a_group_by_and_are_never_withheld(oracle):
    report = build_annual(None, 2025, today=TODAY)
    table = report.table("transfers_per_year")
    year = func.strftime("%Y", Case.transfer_date) if db.engine.dialect.name == "sqlite" else \
        func.to_char(Case.transfer_date, "YYYY")
    expected = {int(y): n for y, n in db.session.execute(
        select(year, func.count()).where(Case.deleted_at.is_(None), Case.transfer_date <= AS_OF).group_by(year))}
    total_column = table.column("total")
    published = {row[0]: row[total_column] for row in table.rows[:-1]}
    for y, n in expected.items():
        assert published[y] == n  # counts of transfers are not secret, however small
    assert table.rows[-1][total_column] == sum(expected.values())


def test_confidentiality_is_applied_in_the_report_but_not_in_researchers_figures(oracle, make_case):
    # A small generation: 6 enterprises transferred in 1999, 4 closed within the first year, so
    # from the second year on its survival rests on 2 enterprises.
    for day in range(1, 7):
        closed = day <= 4
        make_case(oracle, transfer_date=date(1999, 1, day), registered_on=date(1999, 1, day),
                  last_verified_on=None if closed else date(2025, 6, 30),
                  exit_date=date(1999, 6, day) if closed else None, exit_reason="liquidation" if closed else None)
    analytics.clear_cache()
    report = build_annual(None, 2025, today=TODAY)
    cohorts = report.table("survival_by_cohort")
    engine = analytics.survival_json(None, analytics.SurvivalQuery(as_of=AS_OF, group_by="cohort", baselines=False))
    checked = 0
    for group in engine["groups"]:
        row = next(r for r in cohorts.rows if r[0] == group["group"])
        assert row[1] == group["n"]  # the number of enterprises followed is always published
        for h in group["horizons"]:
            cell = row[cohorts.column(f"y{h['years']}")]
            if h["survival"] is None:
                assert cell is None
            elif h["at_risk"] < 3:
                assert cell is CONFIDENTIAL
                assert h["survival"] is not None  # the researchers' figure is still there
                checked += 1
            elif isinstance(cell, Estimate):
                assert close(cell.value, h["survival"])
    assert checked >= 4, "the 1999 generation has fewer than 3 at risk from year 2 on"
    assert cohorts.has_confidential


# --- CSV --------------------------------------------------------------------------------------

def test_csv_zip_has_one_file_per_table(oracle, runner, tmp_path):
    path = tmp_path / "report.zip"
    result = runner.invoke(args=["report", "annual", "2025", "--format", "csv", "--output", str(path)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        edition = db.session.scalars(select(ReportEdition)).one()
        assert len([n for n in names if n.endswith(".csv")]) == len(edition.figures["tables"])
        assert "README.txt" in names
        text = archive.read("table_2_survival_by_transfer_type.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], {r[0]: r for r in rows[1:]}
    for group in ORACLE_BY_TYPE["groups"]:
        row = body[TYPE_LABELS[group["group"]]]
        assert int(row[1]) == group["n"]
        for h in group["horizons"]:
            at = header.index(f"{h['years']} year{'s' if h['years'] > 1 else ''}")
            assert abs(float(row[at]) - 100 * h["survival"]) <= 0.005


# --- PDF --------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (apt-get install poppler-utils)")
def test_pdf_has_the_contents_in_order_with_page_numbers_and_vector_figures(oracle, runner, tmp_path):
    path = tmp_path / "report.pdf"
    result = runner.invoke(args=["report", "annual", "2025", "--output", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    text = text.replace("\u00a0", " ")
    pages = [p for p in text.split("\f") if p.strip()]
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    meta = subprocess.run(["pdfinfo", "-meta", str(path)], capture_output=True, text=True).stdout
    assert "Tagged:          yes" in info and 'pdfuaid:part="1"' in meta  # a tagged PDF/UA-1 document
    structure = subprocess.run(["pdfinfo", "-struct", str(path)], capture_output=True, text=True).stdout
    assert "H1" in structure and "Table" in structure
    outline = subprocess.run(["pdftohtml", "-xml", "-i", "-stdout", str(path)], capture_output=True, text=True).stdout
    assert "<outline>" in outline and "2 Survival year by year</item>" in outline
    overall_five = next(h for h in ORACLE_OVERALL["groups"][0]["horizons"] if h["years"] == 5)
    # page 1: the finding as a sentence built from the figures, the lead, the key figures
    assert f"{round(10 * overall_five['survival'])} in 10 enterprises taken over by their employees" in pages[0]
    assert "TRANSFERS" in pages[0] and "FOLLOWED" in pages[0]
    assert "Edition" not in pages[0] and "SHA-256" not in pages[0]
    titles = ["1 Five years on", "2 Survival year by year", "3 Successions, rescues", "4 Relative survival",
              "5 When the risk", "6 Closing down", "Annex: detailed tables", "About this edition"]
    body = re.sub(" +", " ", "\f".join(pages[1:]))
    assert [body.index(t) for t in titles] == sorted(body.index(t) for t in titles)
    assert "SHA-256" in pages[-1] and "First edition" in pages[-1]  # the colophon, at the end
    assert f"Page 1 of {len(pages)}" in pages[0]
    for code in ("insee-sine", "ended_before_entry", "no_follow_up", "eurostat-bd", "Source: exits"):
        assert code not in text, code
    assert "100.0–100.0" not in text
    overall = ORACLE_OVERALL["groups"][0]
    five = next(h for h in overall["horizons"] if h["years"] == 5)
    assert f"{100 * five['survival']:.1f} %" in text
    assert f"95 % CI {100 * five['ci_lower']:.1f}–{100 * five['ci_upper']:.1f} %" in text
    for marker in ("Reading:", "Scope:", "Source:", "A transfer is not an enterprise birth",
                   "Data fingerprint", "Number at risk"):
        assert marker in text, marker
    edition = db.session.scalars(select(ReportEdition)).one()
    assert edition.fingerprint in text.replace("\n", "")
    assert f"Transfer Tracker {edition.app_version}" in text
    # Figures are vectors: the PDF holds no raster image.
    if shutil.which("pdfimages"):
        images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True).stdout
        assert len(images.strip().splitlines()) == 2  # the header lines only


# --- reproducibility and editions ---------------------------------------------------------------

def test_a_staff_report_covers_only_their_federation(oracle, make_federation, make_case, make_user):
    other = make_federation(code="OTHER", name="Other federation", country="BE")
    for i in range(6):
        make_case(other, country="BE", transfer_date=date(2012, 1, 1 + i), registered_on=date(2012, 1, 1 + i),
                  last_verified_on=date(2025, 6, 30))
    staff = make_user(Role.STAFF, federation=other)
    edition = generate_edition(staff, 2025, "html", today=TODAY).edition
    assert (edition.scope, edition.federation_id, edition.number) == ("OTHER", other.id, None)
    assert edition.figures["inputs"]["transfers"] == 6
    assert edition.figures["tables"]["survival_by_transfer_type"]["rows"][-1][1] == 6
    assert b"Other federation (OTHER)" in edition.file("html").content
    everyone = generate_edition(None, 2025, "html", today=TODAY).edition
    assert (everyone.scope, everyone.number, everyone.figures["inputs"]["transfers"]) == ("ALL", 1, 606)


@pytest.mark.parametrize("year, as_of, field", [
    (2025, date(2027, 1, 1), "as_of"),
    (2025, date(2024, 12, 31), "as_of"),
    (2030, None, "year"),
])
def test_impossible_requests_name_the_field(oracle, year, as_of, field):
    with pytest.raises(InvalidReportRequest) as info:
        build_annual(None, year, as_of, today=TODAY)
    assert info.value.field == field


def test_cli_refuses_a_future_reference_date(oracle, runner, tmp_path):
    result = runner.invoke(args=["report", "annual", "2025", "--as-of", "2999-01-01",
                                 "--output", str(tmp_path / "r.pdf")])
    assert result.exit_code == 1
    assert "--as-of" in result.output and "future" in result.output
    assert not (tmp_path / "r.pdf").exists()
    assert db.session.scalar(select(func.count()).select_from(ReportEdition)) == 0
