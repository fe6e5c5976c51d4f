"""A researcher filters the survival explorer and downloads the curve as CSV, in a real browser."""

from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.conftest import demo_user, log_in
from tracker.models import Role


@pytest.fixture(scope="module")
def researcher(live_server):
    return demo_user(live_server, "researcher@e2e.coop", Role.RESEARCHER, cases_per_federation=60)


def test_researcher_filters_the_explorer_and_downloads_the_curve(page, researcher):
    from playwright.sync_api import expect

    log_in(page, researcher)
    page.goto("/research/")
    # each change re-runs the query (no button to press, no Ctrl-click): the address follows
    with page.expect_navigation():
        page.get_by_label("Group by").select_option("transfer_type")
    with page.expect_navigation():
        page.get_by_role("checkbox", name="France (FR)").check()
    with page.expect_navigation():
        page.get_by_role("checkbox", name="Italy (IT)").check()
    with page.expect_navigation():
        page.get_by_label("Analysis date (as of)").fill("2025-12-31")
        page.get_by_label("Analysis date (as of)").dispatch_event("change")
    assert "group_by=transfer_type" in page.url and "country=FR" in page.url and "country=IT" in page.url
    expect(page.locator("#km-figure svg")).to_be_visible()
    expect(page.get_by_role("link", name="Remove the filter Country: France (FR)")).to_be_visible()
    expect(page.get_by_text("Rescue").first).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="curve steps (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(info.value.path().read_text(encoding="utf-8-sig"))))
    assert {row["group"] for row in rows} >= {"rescue", "succession"}
    assert all(0.0 <= float(row["survival"]) <= 1.0 for row in rows if row["survival"])


@pytest.mark.parametrize("lang", ["fr", "es"])
def test_the_survival_table_fits_a_laptop_beside_the_filters(page, researcher, lang):
    """At 1280 pixels table 1 (five horizons, intervals in small type) fits without scrolling in the
    longer languages, its caption is read whole, and the first horizon is singular (1 an, 1 año)."""
    from playwright.sync_api import expect

    log_in(page, researcher)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/research/?group_by=transfer_type&as_of=2025-12-31&lang={lang}")
    table = page.locator("#survival-table")
    expect(table.locator("thead th.num").nth(4)).to_have_text({"fr": "1 an", "es": "1 año"}[lang])
    overflow = table.evaluate("t => t.scrollWidth - t.parentElement.clientWidth")
    assert overflow <= 0, f"table 1 is {overflow} px wider than its box"
    clipped = table.evaluate("""t => t.caption.getBoundingClientRect().right
                                     - t.parentElement.getBoundingClientRect().right""")
    assert clipped <= 1, f"the caption runs {clipped} px past its box"


def test_on_a_phone_the_list_of_a_selection_s_cases_keeps_its_rows_short(browser, live_server, researcher):
    """Its text columns (name, transfer type, exit and its Spanish reason) keep a readable width
    while the table scrolls sideways, instead of folding an exit into eight lines."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    phone = context.new_page()
    try:
        log_in(phone, researcher)
        phone.goto("/research/cases?as_of=2025-12-31&lang=es")
        lines = phone.evaluate("""() => Math.max(...[...document.querySelectorAll('main table tbody tr')].map(row => {
            const cell = getComputedStyle(row.cells[0]);
            const padding = parseFloat(cell.paddingTop) + parseFloat(cell.paddingBottom);
            return (row.getBoundingClientRect().height - padding) / parseFloat(cell.lineHeight); }))""")
        assert lines < 4.5, f"a row is {lines:.1f} lines tall"
        assert not phone.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    finally:
        context.close()
