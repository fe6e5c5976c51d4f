"""A reader's journey through the annual report: generate it in the browser (in French), open the
HTML edition and read what a journalist would quote — the title sentence, a figure, a table's notes."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import demo_user, log_in
from tracker.models import Role


@pytest.fixture(scope="module")
def secretariat(live_server):
    return demo_user(live_server, "secretariat@e2e.coop", Role.ADMIN, cases_per_federation=60)


def test_the_report_reads_as_a_publication(page, secretariat, tmp_path):
    from playwright.sync_api import expect

    log_in(page, secretariat)
    page.goto("/reports/")
    page.get_by_label("Year").fill("2025")
    page.get_by_label("Format").select_option("html")
    page.get_by_label("Language of the report").select_option("fr")
    page.get_by_role("button", name="Generate the report").click()
    link = page.get_by_role("link", name=re.compile("Download", re.I)).first
    expect(link).to_be_visible(timeout=180_000)
    with page.expect_download() as info:
        link.click()
    path = tmp_path / "report.html"
    info.value.save_as(path)

    page.goto(path.as_uri())
    title = page.locator("h1#headline")
    expect(title).to_have_text(re.compile(r"Sur 10 entreprises reprises par leurs salariés, \d+ sont toujours en "
                                          r"activité cinq ans plus tard"))
    figure = page.locator("#figure-2")
    expect(figure.locator("figcaption")).to_contain_text(
        "Survie des entreprises reprises, selon le temps écoulé depuis la reprise")
    expect(figure.locator("svg")).to_be_visible()
    table = page.locator("#table-1")
    expect(table.locator("table.data tbody tr").first).to_be_visible()
    note = table.locator(".note")
    expect(note).to_contain_text("Lecture :")
    expect(note).to_contain_text("Champ :")
    expect(note).to_contain_text("Source :")
    expect(page.locator("#colophon")).to_contain_text("Empreinte des données")


def test_on_a_phone_the_last_edition_s_downloads_wrap(browser, live_server, secretariat):
    """The follow-up page lists the last edition's files per language; in Italian the four names
    ('Cartella di lavoro Excel', …) are longer than a phone is wide and must wrap between the links."""
    from datetime import date

    from tracker.reports.editions import generate_edition

    with live_server.app.app_context():
        generate_edition(None, 2025, "html", language="it", today=date(2026, 1, 10))
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    phone = context.new_page()
    try:
        log_in(phone, secretariat)
        phone.goto("/cases/follow-up?lang=it")
        assert phone.locator("#last-edition a[href*='/download']").count() >= 4
        assert not phone.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["it", "fr"])
def test_the_report_form_s_fields_and_button_start_at_one_height(page, secretariat, lang):
    """Their help texts are of different lengths; the controls and the button still line up."""
    log_in(page, secretariat)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/reports/?lang={lang}")
    tops = page.locator("form[action$='/reports/annual']").locator(
        "input:not([type=hidden]), select").evaluate_all("cs => cs.map(c => Math.round(c.getBoundingClientRect().top))")
    assert len(tops) == 5 and len(set(tops)) == 1, tops
