"""The annual census in a real browser: staff choose a census date, download the census sheet
(XLSX), fill it in with a spreadsheet program (openpyxl here), upload it, review and confirm,
and see the follow-ups recorded and the census year complete."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.e2e.conftest import federation_with_staff, log_in
from tracker.extensions import db
from tracker.models import Case, ExitReason, StatusCheck

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def staff(live_server) -> str:  # noqa: ANN001
    return federation_with_staff(live_server, "FR-CENS", "Fédération du recensement", "census@e2e.coop", [
        ("CEN-1", "Imprimerie du Port", date(2015, 4, 1), date(2019, 6, 30)),
        ("CEN-2", "Boulangerie Coop", date(2018, 9, 1), date(2019, 2, 1)),
        ("CEN-3", "Transports Réunis", date(2021, 2, 1), date(2021, 2, 1))])


def download_census(page, tmp_path: Path) -> tuple[Path, str]:  # noqa: ANN001
    """The census sheet of 31 December 2020 from the follow-up page: where it was saved, its name."""
    page.goto("/cases/follow-up")
    census = page.locator("#census")
    census.get_by_label("Census date").fill("2020-12-31")
    with page.expect_download() as download:
        census.get_by_role("button", name="Download the census (XLSX)").click()
    path = tmp_path / "census.xlsx"
    download.value.save_as(path)
    return path, download.value.suggested_filename


def fill_census(path: Path, values: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """Fill in the sheet as a spreadsheet program would ({ref: {column: value}}); every row listed,
    as it was downloaded ({ref: {column: value}})."""
    workbook = load_workbook(path)
    sheet = workbook["census"]
    header = [cell.value for cell in sheet[1]]
    listed = {}
    for row in range(2, sheet.max_row + 1):
        cells = {name: sheet.cell(row, column).value for column, name in enumerate(header, start=1)}
        listed[cells["ref"]] = cells
        for name, value in values.get(cells["ref"], {}).items():
            sheet.cell(row, header.index(name) + 1).value = value
    workbook.save(path)
    return listed


def upload_census(page, path: Path) -> None:  # noqa: ANN001
    page.goto("/cases/follow-up")
    page.locator("#census").get_by_role("link", name="Upload the filled-in sheet").click()
    page.get_by_label("Filled-in status check").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check").click()


def test_staff_download_fill_upload_and_confirm_the_census(page, live_server, staff, tmp_path):
    from playwright.sync_api import expect

    log_in(page, staff)
    path, name = download_census(page, tmp_path)
    assert name == "census-FR-CENS-2020-12-31.xlsx"
    listed = fill_census(path, {
        "CEN-1": {"operating_on": date(2021, 1, 20), "source": "registre du commerce"},
        "CEN-2": {"exit_date": date(2020, 6, 30), "exit_reason": "liquidation"}})
    assert set(listed) == {"CEN-1", "CEN-2"}  # CEN-3 was transferred after the census date
    assert listed["CEN-1"]["census_date"] == datetime(2020, 12, 31)

    upload_census(page, path)
    summary = page.locator("#summary")
    expect(summary).to_contain_text("The file passes every check")
    expect(summary).to_contain_text("Confirming records 1 confirmation of operation and 1 exit")
    page.get_by_role("button", name="Record the follow-ups").click()
    expect(page.get_by_text("Recorded 1 confirmation of operation and 1 exit from census.xlsx.")).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("Recorded")

    with live_server.app.app_context():
        cases = {c.ref: c for c in db.session.scalars(select(Case).where(Case.ref.in_(["CEN-1", "CEN-2"])))}
        assert cases["CEN-1"].last_verified_on == date(2021, 1, 20)
        assert (cases["CEN-2"].exit_date, cases["CEN-2"].exit_reason) == (date(2020, 6, 30), ExitReason.LIQUIDATION)
        assert db.session.scalar(select(StatusCheck.source).where(StatusCheck.case_id == cases["CEN-1"].id)) == \
            "registre du commerce"

    page.get_by_role("link", name="Back to the follow-up page").click()
    row = page.locator("#census-years tr", has_text="2020-12-31")
    expect(row).to_contain_text(re.compile(r"100\.0%\s*1 of 1"))  # CEN-2 exited before: one case open, settled


def test_a_census_date_in_the_future_is_refused_next_to_the_field(page, staff):
    from playwright.sync_api import expect

    log_in(page, staff)
    page.goto("/cases/follow-up")
    census = page.locator("#census")
    census.get_by_label("Census date").fill(f"{date.today().year + 1}-12-31")
    census.get_by_role("button", name="Download the census (CSV)").click()
    expect(census.locator(".invalid-feedback")).to_contain_text("is in the future")
    expect(census.get_by_label("Census date")).to_be_focused()  # the page opens at the field, not at its top


@pytest.fixture(scope="module")
def staff_with_a_bad_row(live_server) -> str:  # noqa: ANN001
    return federation_with_staff(live_server, "FR-CENP", "Fédération des relevés partiels", "partial@e2e.coop", [
        ("CEP-1", "Scierie du Val", date(2015, 4, 1), date(2019, 6, 30)),
        ("CEP-2", "Librairie Coopérative", date(2018, 9, 1), date(2019, 2, 1))])


def test_a_census_with_a_bad_row_records_the_valid_rows_and_gives_the_bad_one_back(
        page, live_server, staff_with_a_bad_row, tmp_path):
    """The review of a sheet with one bad row offers to record the others; on a phone it fits the
    screen in every language; the bad row comes back as a CSV with its problem, to fix and upload."""
    from playwright.sync_api import expect

    log_in(page, staff_with_a_bad_row)
    path, _name = download_census(page, tmp_path)
    fill_census(path, {"CEP-1": {"operating_on": date(2021, 1, 20)},
                       "CEP-2": {"operating_on": date(2017, 1, 1)}})  # before its transfer
    upload_census(page, path)
    expect(page.locator("#summary")).to_contain_text("1 row has problems")
    expect(page.locator("#summary")).to_contain_text("Nothing has been written yet.")
    expect(page.get_by_text("2017-01-01 is before the transfer (2018-09-01)")).to_be_visible()

    review = page.url
    page.set_viewport_size({"width": 390, "height": 844})
    for lang in ("fr", "it", "es", "en"):
        page.goto(f"{review}?lang={lang}")
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), lang
        for target in ("[name=record_valid]", "#rejected-rows"):  # the button and the bad rows' download
            box = page.locator(target).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (lang, target, box)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("button", name="Record only the valid rows").click()
    summary = page.locator("#summary")
    expect(summary).to_contain_text("1 row with problems was left out.")
    with page.expect_download() as rejected:
        summary.get_by_role("link", name="Download the rows with problems, to fix and upload again (CSV)").click()
    given_back = rejected.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert given_back[0].endswith(",problems") and len(given_back) == 2
    assert "CEP-2" in given_back[1] and "2017-01-01 is before the transfer (2018-09-01)" in given_back[1]

    with live_server.app.app_context():
        cases = {c.ref: c for c in db.session.scalars(select(Case).where(Case.ref.in_(["CEP-1", "CEP-2"])))}
        assert cases["CEP-1"].last_verified_on == date(2021, 1, 20)
        assert cases["CEP-2"].last_verified_on == date(2019, 2, 1)  # left as it was
        assert db.session.scalar(select(StatusCheck.id).where(StatusCheck.case_id == cases["CEP-2"].id)) is None
