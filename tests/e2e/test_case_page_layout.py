"""A case's page in the longer languages: its action buttons keep their labels on one line (the row
wraps on a phone) and a label of its details that folds onto two lines does not run into the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.e2e.conftest import demo_user, log_in
from tracker.extensions import db
from tracker.models import Case, Role

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def admin(live_server) -> str:  # noqa: ANN001
    return demo_user(live_server, "case-page@e2e.coop", Role.ADMIN, cases_per_federation=5)


@pytest.fixture(scope="module")
def case_id(live_server, admin) -> int:  # noqa: ANN001
    with live_server.app.app_context():
        return db.session.scalars(select(Case.id).where(Case.deleted_at.is_(None)).order_by(Case.id)).first()


@pytest.fixture
def phone(browser, live_server) -> Iterator[object]:  # noqa: ANN001
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("lang", ["fr", "es"])
def test_on_a_phone_the_case_buttons_keep_their_labels_on_one_line(phone, admin, case_id, lang):
    log_in(phone, admin)
    phone.goto(f"/cases/{case_id}?lang={lang}")
    heights = phone.locator(".case-actions .btn").evaluate_all("buttons => buttons.map(b => b.offsetHeight)")
    assert len(heights) == 3 and max(heights) == min(heights), heights  # edit, move, delete: one line each
    assert not phone.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


def test_a_folded_label_of_the_details_leaves_room_before_the_next(page, admin, case_id):
    log_in(page, admin)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/cases/{case_id}?lang=fr")
    gaps = page.locator("dl.row").first.evaluate("""dl => [...dl.querySelectorAll(':scope > dt')].slice(1).map(dt => {
        const above = dt.previousElementSibling.previousElementSibling;  // the dt of the row above
        return dt.getBoundingClientRect().top - above.getBoundingClientRect().bottom; })""")
    assert min(gaps) >= 6, gaps  # "Dernière vérification le" folds onto two lines at this width
