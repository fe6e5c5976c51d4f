"""The secretariat generates the annual report in the browser and downloads it."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import demo_user, log_in
from tracker.models import Role


@pytest.fixture(scope="module")
def admin_email(live_server):
    return demo_user(live_server, "admin@e2e.coop", Role.ADMIN, cases_per_federation=40)


def test_admin_generates_the_annual_report(page, admin_email, tmp_path):
    from playwright.sync_api import expect

    log_in(page, admin_email)
    page.goto("/reports/")
    page.get_by_label("Year").fill("2025")
    page.get_by_label("Format").select_option("xlsx")
    page.get_by_role("button", name="Generate the report").click()
    link = page.get_by_role("link", name=re.compile("Download", re.I)).first
    expect(link).to_be_visible(timeout=180_000)  # every format of the edition is rendered in the background
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    from openpyxl import load_workbook

    download.save_as(tmp_path / "report.xlsx")
    book = load_workbook(tmp_path / "report.xlsx", read_only=True)
    assert len(book.sheetnames) >= 5
