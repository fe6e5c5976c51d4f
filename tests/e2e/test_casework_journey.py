"""Daily case work in a real browser: the case form's one-pass error summary takes focus and
links to each field; an import shows its update preview and imports only the valid rows; the
staff start page confirms a case in one click."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.e2e.conftest import federation_with_staff, log_in
from tracker.extensions import db
from tracker.models import Case, StatusCheck

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def staff(live_server) -> str:  # noqa: ANN001
    return federation_with_staff(live_server, "FR-WORK", "Fédération du travail", "work@e2e.coop", [
        ("WRK-0007", "Menuiserie Dupont", date(2016, 5, 2), date(2024, 6, 30)),
        ("WRK-0008", "Scierie des Alpes", date(2016, 5, 2), date(2019, 3, 1))])


def test_the_case_form_shows_every_error_at_once_and_the_summary_takes_focus(page, staff):
    from playwright.sync_api import expect

    log_in(page, staff)
    page.goto("/cases/new")
    expect(page.get_by_label("Ref")).to_have_value("WRK-0009")  # the next free ref of the federation
    page.get_by_label("Ref").fill("WRK-0007")  # taken
    page.get_by_label("Name", exact=True).fill("Menuiserie Dupond")  # very like WRK-0007, same year
    page.get_by_label("Employees").fill("-3")
    page.get_by_label("Transfer date").fill("2016-09-01")
    expect(page.get_by_label("Last verified on")).to_have_value("2016-09-01")  # follows the transfer date
    page.get_by_label("Transfer type").select_option("succession")
    page.get_by_role("button", name="Create case").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("ref WRK-0007 already exists")
    expect(summary).to_contain_text("must be 0 or more")
    expect(summary).to_contain_text("tick this box")
    expect(page.get_by_label("Employees")).to_have_attribute("aria-invalid", "true")
    summary.get_by_role("link", name="Employees at transfer").click()
    expect(page.get_by_label("Employees")).to_be_focused()

    page.get_by_label("Ref").fill("WRK-0009")
    page.get_by_label("Employees").fill("3")
    page.get_by_label(re.compile("I checked the possible duplicates")).check()
    page.get_by_role("button", name="Create case").click()
    expect(page.get_by_role("heading", name=re.compile("Menuiserie Dupond"))).to_be_visible()


def test_an_import_previews_its_updates_and_imports_only_the_valid_rows(page, live_server, staff, tmp_path):
    from playwright.sync_api import expect

    path = tmp_path / "cases.csv"
    path.write_text(
        "ref,name,country,transfer_date,transfer_type,last_verified_on,employees\n"
        "WRK-0008,Scierie des Alpes,FR,2016-05-02,rescue,2025-03-31,\n"
        "WRK-0100,Imprimerie Nouvelle,FR,2012-01-10,succession,2025-01-31,8\n"
        "WRK-0101,Atelier Faux,XX,2012-01-10,succession,2025-01-31,-3\n", encoding="utf-8")
    log_in(page, staff)
    page.goto("/cases/import")
    page.get_by_label("Spreadsheet").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check").click()
    updates = page.locator("#updates")
    expect(updates).to_contain_text("WRK-0008")
    expect(updates).to_contain_text(re.compile(r"Transfer type:\s*Succession \(no successor\)\s*→\s*Rescue"))
    expect(page.locator("#problems")).to_contain_text("WRK-0101")
    expect(page.locator("#problems")).to_contain_text("Atelier Faux")
    page.get_by_role("button", name="Import only the valid rows").click()
    expect(page.locator("#summary")).to_contain_text("1 row with problems was left out")
    with page.expect_download() as download:
        page.locator("#summary").get_by_role("link", name=re.compile("rows with problems")).click()
    rejected = download.value.path().read_text(encoding="utf-8-sig")
    assert "WRK-0101" in rejected and "WRK-0100" not in rejected
    with live_server.app.app_context():
        cases = {c.ref: c for c in db.session.scalars(select(Case).where(Case.ref.in_(
            ["WRK-0008", "WRK-0100", "WRK-0101"])))}
        assert set(cases) == {"WRK-0008", "WRK-0100"} and cases["WRK-0008"].transfer_type.value == "rescue"


def test_the_staff_start_page_confirms_a_case_in_one_click(page, live_server, staff):
    from playwright.sync_api import expect

    log_in(page, staff)
    page.goto("/")
    expect(page.get_by_role("heading", name="What is due")).to_be_visible()
    row = page.locator("#due li", has_text="WRK-0008")
    row.get_by_label(re.compile("Source of the confirmation")).fill("business register")
    row.get_by_role("button", name=re.compile("Confirmed operating today")).click()
    expect(page.get_by_text(re.compile(r"WRK-0008 confirmed operating today \(business register\)"))).to_be_visible()
    with live_server.app.app_context():
        case = db.session.scalar(select(Case).where(Case.ref == "WRK-0008"))
        assert case.last_verified_on == date.today()
        assert db.session.scalar(select(StatusCheck.source).where(StatusCheck.case_id == case.id)) == \
            "business register"


def test_on_a_phone_the_confirmation_source_shows_its_prefilled_value_whole(page, live_server, staff):
    """At 390 px the source field takes the row's width (its button goes below): in French the
    prefilled « appel téléphonique » once showed as « appel té »."""
    # WRK-0007 is due and no other test here confirms it (the one-click test confirms WRK-0008)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, staff)
    page.goto("/cases/start?lang=fr")
    source = page.locator("#due li", has_text="WRK-0007").locator("input[id^=confirm-source-]")
    assert source.input_value()  # prefilled
    fits = source.evaluate("e => e.scrollWidth <= e.clientWidth")
    width = source.evaluate("e => e.getBoundingClientRect().width")
    row = page.locator("#due li", has_text="WRK-0007").evaluate("e => e.clientWidth")
    assert fits and width > row * 0.7, (width, row)
