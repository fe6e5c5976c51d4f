"""A federation's staff member logs a transfer and follows it up, in a real browser."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.e2e.conftest import PASSWORD, log_in
from tracker.extensions import db
from tracker.models import Case, Role
from tracker.services.accounts import federations, users


@pytest.fixture(scope="module")
def staff_email(live_server):
    with live_server.app.app_context():
        fed = federations.create_federation(None, code="FR-E2E", name="E2E federation", country="FR")
        users.create_user(None, "staff@e2e.coop", PASSWORD, Role.STAFF, fed)
        db.session.commit()
    return "staff@e2e.coop"


def test_staff_creates_a_case_records_a_follow_up_and_an_exit(page, live_server, staff_email):
    from playwright.sync_api import expect

    log_in(page, staff_email)
    page.goto("/cases/new")
    page.get_by_label("Ref").fill("E2E-1")
    page.get_by_label("Name", exact=True).fill("Menuiserie du Lac")
    page.get_by_label("Country").select_option("FR")
    page.get_by_label("NACE").fill("16.23")
    page.get_by_label("Employees").fill("14")
    page.get_by_label("Transfer date").fill("2016-05-02")
    page.get_by_label("Transfer type").select_option("succession")
    page.get_by_label("Last verified on").fill("2024-11-30")
    page.get_by_role("button", name=re.compile("Save|Create")).click()
    expect(page.get_by_role("heading", name=re.compile("Menuiserie du Lac"))).to_be_visible()

    follow_up = page.locator("form", has=page.get_by_role("button", name=re.compile("Record follow-up")))
    follow_up.get_by_label("On", exact=True).fill("2025-06-30")
    follow_up.get_by_label(re.compile("Outcome")).select_option("operating")
    follow_up.get_by_role("button", name=re.compile("Record follow-up")).click()
    expect(page.get_by_text("2025-06-30").first).to_be_visible()

    follow_up = page.locator("form", has=page.get_by_role("button", name=re.compile("Record follow-up")))
    follow_up.get_by_label("On", exact=True).fill("2025-09-15")
    follow_up.get_by_label(re.compile("Outcome")).select_option("liquidation")
    follow_up.get_by_role("button", name=re.compile("Record follow-up")).click()
    expect(page.get_by_text(re.compile("liquidation", re.I)).first).to_be_visible()

    with live_server.app.app_context():
        case = db.session.scalars(select(Case).where(Case.ref == "E2E-1")).one()
        assert str(case.last_verified_on) == "2025-06-30"
        assert str(case.exit_date) == "2025-09-15" and case.exit_reason.value == "liquidation"
        assert len(case.status_checks) == 2


def test_staff_imports_a_spreadsheet(page, live_server, staff_email, tmp_path):
    from playwright.sync_api import expect

    path = tmp_path / "cases.csv"
    path.write_text(
        "ref;name;country;nace;employees;transfer_date;transfer_type;last_verified_on;exit_date;exit_reason\n"
        "IMP-1;Imprimerie Nouvelle;FR;18.12;22;2011-09-01;rescue;2025-03-31;;\n"
        "IMP-2;Transports de l'Ouest;FR;49.41;35;2015-01-15;succession;;2019-06-30;liquidation\n",
        encoding="utf-8-sig")
    log_in(page, staff_email)
    page.goto("/cases/import")
    page.get_by_label("Spreadsheet").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_text(re.compile(r"2 (new )?cases? (would be|to be) created|create 2|2 to create", re.I)).first
           ).to_be_visible()
    with live_server.app.app_context():
        assert db.session.scalars(select(Case).where(Case.ref.like("IMP-%"))).first() is None  # nothing yet
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text(re.compile("created", re.I)).first).to_be_visible()
    with live_server.app.app_context():
        refs = sorted(db.session.scalars(select(Case.ref).where(Case.ref.like("IMP-%"))))
        assert refs == ["IMP-1", "IMP-2"]


def test_a_date_in_the_import_problems_stays_on_one_line(page, staff_email, tmp_path):
    """The value as written (2024-13-01) is not split at its hyphens beside a long Spanish message."""
    path = tmp_path / "bad.csv"
    path.write_text(
        "ref,name,country,transfer_date,transfer_type,last_verified_on,exit_date,exit_reason\n"
        "BAD-1,,FR,2024-13-01,sale,,,\n"
        "BAD-2,Imprimerie des Travailleurs Associés,FR,2020-05-01,rescue,2021-01-01,2019-01-01,closed\n",
        encoding="utf-8")
    log_in(page, staff_email)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/cases/import?lang=es")
    page.locator("input[type=file]").set_input_files(str(path))
    page.locator("main form [type=submit]").last.click()
    cell = page.locator("#problems td code").filter(has_text="2024-13-01")
    cell.wait_for()
    page.wait_for_load_state("load")  # the stylesheet too: before it, line-height is "normal" (NaN here)
    lines = cell.evaluate("c => c.getBoundingClientRect().height / parseFloat(getComputedStyle(c).lineHeight)")
    assert lines < 1.5, f"the date is split over {lines:.1f} lines"


def test_on_a_phone_the_import_problems_read_as_sentences(page, staff_email, tmp_path):
    """The table scrolls sideways; its message column keeps a readable width instead of folding a
    French message into a word per line."""
    path = tmp_path / "bad.csv"
    path.write_text("ref,name,country,transfer_date,transfer_type,last_verified_on\nBAD-1,,FR,2024-13-01,sale,\n",
                    encoding="utf-8")
    log_in(page, staff_email)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/cases/import?lang=fr")
    page.locator("input[type=file]").set_input_files(str(path))
    page.locator("main form [type=submit]").last.click()
    page.locator("#problems tbody tr").first.wait_for()  # the review page, not the upload form still
    page.wait_for_load_state("load")
    lines = page.locator("#problems tbody tr").evaluate_all("""rows => Math.max(...rows.map(row => {
        const cell = getComputedStyle(row.cells[0]);
        const padding = parseFloat(cell.paddingTop) + parseFloat(cell.paddingBottom);
        return (row.getBoundingClientRect().height - padding) / parseFloat(cell.lineHeight); }))""")
    assert lines < 4.5, f"a problem takes {lines:.1f} lines"  # eleven before
    assert not page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
