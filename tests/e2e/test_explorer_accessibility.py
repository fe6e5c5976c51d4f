"""The survival explorer in a real browser: axe-core finds no serious or critical violation, the
figure and its headline numbers are above the fold at 1366×768, and a 390-pixel phone never
scrolls the page sideways (tables and figures scroll inside)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import demo_user, log_in
from tracker.models import Role

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
VIEWS = ["/research/?as_of=2025-12-31&group_by=transfer_type", "/research/?as_of=2025-12-31&country=FR",
         "/research/?as_of=2025-12-31&group_by=cohort", "/research/methods"]


@pytest.fixture(scope="module")
def researcher(live_server):
    return demo_user(live_server, "a11y@e2e.coop", Role.RESEARCHER, cases_per_federation=60)


def _page(browser, live_server, width: int, height: int):
    # axe is injected as a script of the test, which the app's CSP would (rightly) refuse.
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height},
                                  bypass_csp=True)
    context.set_default_timeout(20_000)
    return context, context.new_page()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_axe_finds_no_serious_violation_on_the_explorer(browser, live_server, researcher, language):
    context, page = _page(browser, live_server, 1366, 768)
    try:
        log_in(page, researcher)
        for view in VIEWS:
            page.goto(f"{view}{'&' if '?' in view else '?'}lang={language}")
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("""async () => {
                const r = await axe.run(document, {resultTypes: ['violations']});
                return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                                target: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
            }""")
            serious = [v for v in result if v["impact"] in ("serious", "critical")]
            assert not serious, (view, language, serious)
    finally:
        context.close()


def test_figure_and_headline_numbers_are_above_the_fold(browser, live_server, researcher):
    context, page = _page(browser, live_server, 1366, 768)
    try:
        log_in(page, researcher)
        page.goto(VIEWS[0])
        headline = page.locator("dl.headline").bounding_box()
        figure = page.locator("#km-figure svg").bounding_box()
        assert headline and headline["y"] + headline["height"] < 768
        assert figure and figure["y"] < 400 and figure["y"] + figure["height"] * 0.75 < 768
        # the SVG is an image with a text alternative linked to its caption and the table
        holder = page.locator("#km-figure .figure-scroll")
        assert holder.get_attribute("role") == "img"
        assert page.locator("#km-caption").count() == 1 and page.locator("#km-alt").inner_text().strip()
        assert page.locator("#km-caption a[href='#survival-table']").count() == 1
    finally:
        context.close()


@pytest.mark.parametrize("view", VIEWS)
def test_a_phone_never_scrolls_the_page_sideways(browser, live_server, researcher, view):
    context, page = _page(browser, live_server, 390, 844)
    try:
        log_in(page, researcher)
        page.goto(view)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_the_cox_covariate_boxes_send_one_parameter_in_the_boxes_order(browser, live_server, researcher):
    context, page = _page(browser, live_server, 1366, 768)
    try:
        log_in(page, researcher)
        page.goto("/research/?as_of=2025-12-31&model=cox&covariates=size_class&lang=en")
        with page.expect_navigation():
            page.check('input[name="covariates"][value="transfer_type"]')
        assert "covariates=transfer_type%2Csize_class" in page.url, page.url
        assert page.locator("#cox-table").count() == 1
        assert page.is_checked('input[name="covariates"][value="transfer_type"]')
        assert page.is_checked('input[name="covariates"][value="size_class"]')
    finally:
        context.close()
