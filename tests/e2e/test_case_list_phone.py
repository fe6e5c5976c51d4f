"""The case list on a phone (390 × 844): the search stays in view and the other filters fold into a
panel, so the first case is on the first screen; the panel opens on a tap, says how many of its
filters are on, and the active filters' chips stay in view. On a wide screen every filter shows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import demo_user, log_in
from tracker.models import Role

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def admin(live_server) -> str:  # noqa: ANN001
    # The secretariat sees the most filters (federation, country, deleted cases): the longest panel.
    return demo_user(live_server, "phone@e2e.coop", Role.ADMIN, cases_per_federation=20)


@pytest.fixture
def phone(browser, live_server) -> Iterator[object]:  # noqa: ANN001
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, device_scale_factor=1)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _scrolls_sideways(page) -> bool:  # noqa: ANN001
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


def test_on_a_phone_the_first_case_is_on_the_first_screen_and_the_filters_fold(phone, admin):
    from playwright.sync_api import expect

    log_in(phone, admin)
    phone.goto("/cases/")
    expect(phone.get_by_label("Search", exact=True)).to_be_in_viewport()
    first = phone.locator("table tbody tr").first
    expect(first.get_by_role("link")).to_be_in_viewport(ratio=1)  # its ref, a tap away; the table scrolls sideways
    expect(phone.get_by_label("Transfer type")).to_be_hidden()
    assert not _scrolls_sideways(phone)

    phone.get_by_text("More filters and sorting").click()
    for label in ("Transfer type", "Status", "Federation", "Sort by"):
        expect(phone.get_by_label(label, exact=True)).to_be_visible()
    phone.get_by_label("Status", exact=True).select_option("open")
    phone.get_by_role("button", name="Filter").click()

    # Folded again, the panel says a filter is on, and the chip shows which, above the list.
    expect(phone.get_by_label("Status", exact=True)).to_be_hidden()
    expect(phone.locator("#case-filters-summary")).to_contain_text("1 active filter")
    chip = phone.locator("#active-filters li").filter(has_text="Status")
    expect(chip).to_contain_text("Open")
    expect(chip).to_be_in_viewport(ratio=1)
    expect(first.get_by_role("link")).to_be_in_viewport(ratio=1)


def test_on_a_phone_long_filter_values_wrap_and_a_filter_not_understood_stays_open(phone, admin):
    from playwright.sync_api import expect

    log_in(phone, admin)
    phone.goto("/cases/?nace_section=G&legal_form=Soci%C3%A9t%C3%A9+coop%C3%A9rative+et+participative&lang=es")
    expect(phone.locator("#active-filters li")).to_have_count(2)
    assert not _scrolls_sideways(phone)  # the NACE section's long Spanish name wraps inside its chip

    phone.goto("/cases/?year_from=20x5&lang=en")
    expect(phone.get_by_label("Transferred from (year)")).to_be_visible()  # its message must be read


def test_on_a_wide_screen_every_filter_shows_without_a_panel_to_open(page, admin):
    from playwright.sync_api import expect

    log_in(page, admin)
    page.goto("/cases/")
    expect(page.get_by_label("Transfer type")).to_be_visible()
    expect(page.get_by_text("More filters and sorting")).to_be_hidden()


def test_on_a_phone_a_table_that_scrolls_sideways_does_not_widen_the_page(phone, admin):
    """The users' table has hidden labels on its buttons (for screen readers), placed against the
    scrolling table and not the page."""
    log_in(phone, admin)
    phone.goto("/admin/users")
    assert not _scrolls_sideways(phone)


def test_on_a_phone_the_case_list_rows_stay_a_few_lines_tall(phone, admin):
    """In French the transfer types and exit reasons are long: the columns keep a readable width and
    the status wraps like the others, so no row folds into five lines (the table scrolls sideways)."""
    log_in(phone, admin)
    phone.goto("/cases/?lang=fr")
    lines = phone.evaluate("""() => Math.max(...[...document.querySelectorAll('main table tbody tr')].map(row => {
        const cell = getComputedStyle(row.cells[0]);
        const inner = row.getBoundingClientRect().height - parseFloat(cell.paddingTop) - parseFloat(cell.paddingBottom);
        return inner / parseFloat(cell.lineHeight); }))""")
    assert lines < 4.5, f"a case-list row is {lines:.1f} lines tall"  # five before, for the longest exit reason
    assert not _scrolls_sideways(phone)


def test_on_a_phone_the_tokens_table_scrolls_inside_the_page(phone, admin):
    """Six columns of dates and statuses are wider than a phone (in French by 290 px): the table
    scrolls by itself and the page does not."""
    from playwright.sync_api import expect

    log_in(phone, admin)
    phone.goto("/account/tokens?lang=fr")
    phone.locator("input[name=name]").fill("Script annuel de la fédération")
    phone.locator("main form").locator("[type=submit]").click()
    expect(phone.get_by_test_id("new-token")).to_be_visible()
    phone.wait_for_load_state("load")  # measured with the stylesheet applied
    assert not _scrolls_sideways(phone)
    name = phone.locator("td.token-name").first  # a sentence, not a word per line
    lines = name.evaluate("""c => { const s = getComputedStyle(c);
        const padding = parseFloat(s.paddingTop) + parseFloat(s.paddingBottom);
        return (c.getBoundingClientRect().height - padding) / parseFloat(s.lineHeight); }""")
    assert lines < 2.5, f"the token's name takes {lines:.1f} lines"


@pytest.mark.parametrize("lang", ["fr", "it"])
def test_on_a_wide_screen_a_filter_whose_label_folds_keeps_its_control_in_line(page, admin, lang):
    """'Reprises à partir de (année)' folds onto two lines at 1280 px: the controls of a row of filters
    still start at one height, and a message under one (a year not understood) moves none of them."""
    log_in(page, admin)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/cases/?year_from=20x5&lang={lang}")
    tops = page.locator("#case-filters-panel > .row > div").evaluate_all("""cols => cols.map(col => {
        const control = col.querySelector('select, input:not([type=checkbox])');
        const top = element => Math.round(element.getBoundingClientRect().top);
        return control ? [top(col), top(control)] : null;
      }).filter(Boolean)""")
    rows: dict[int, set[int]] = {}
    for row_top, control_top in tops:
        rows.setdefault(row_top, set()).add(control_top)
    assert all(len(controls) == 1 for controls in rows.values()), rows


@pytest.mark.parametrize("lang", ["fr", "es"])
def test_on_a_phone_the_admin_tabs_stay_on_one_line(phone, admin, lang):
    log_in(phone, admin)
    phone.goto(f"/admin/users?lang={lang}")
    tops = phone.locator(".admin-tabs .nav-link").evaluate_all(
        "links => links.map(a => Math.round(a.getBoundingClientRect().top))")
    assert len(tops) == 3 and len(set(tops)) == 1, tops
    assert not _scrolls_sideways(phone)
