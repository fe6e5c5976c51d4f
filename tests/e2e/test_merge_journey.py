"""The secretariat resolves a duplicate in a real browser: from the duplicates page it compares the
pair side by side, merges it, finds the kept case with the other's follow-ups, and undoes the
merge; a user saves the list's filters as a view and opens it again."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.e2e.conftest import log_in
from tracker.extensions import db
from tracker.models import Case, Federation, Role, StatusCheck

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def admin(live_server) -> str:  # noqa: ANN001
    from tests.e2e.conftest import PASSWORD
    from tracker.services.accounts import users
    from tracker.services.casework.cases import FollowUp, create_case, record_follow_up

    with live_server.app.app_context():
        if db.session.scalar(select(Federation).where(Federation.code == "FR-NORD")) is None:
            nord = Federation(code="FR-NORD", name="Union du Nord", country="FR")
            sud = Federation(code="FR-SUD", name="Union du Sud", country="FR")
            db.session.add_all([nord, sud])
            db.session.flush()
            users.create_user(None, "secretariat@e2e.coop", PASSWORD, Role.ADMIN, None)
            a = create_case(None, nord, {"ref": "NRD-0001", "name": "Verrerie Lefèvre", "country": "FR",
                                         "national_id": "732829320", "transfer_date": date(2014, 3, 3),
                                         "transfer_type": "rescue", "last_verified_on": date(2022, 1, 15),
                                         "employees": 31})
            b = create_case(None, sud, {"ref": "SUD-0001", "name": "Verrerie Lefevre", "country": "FR",
                                        "national_id": "FR 732 829 320", "transfer_date": date(2014, 3, 3),
                                        "transfer_type": "rescue", "last_verified_on": date(2025, 2, 1),
                                        "employees": 33})
            record_follow_up(None, a, FollowUp(date(2022, 1, 15), "operating", source="nord annual check"))
            record_follow_up(None, b, FollowUp(date(2025, 2, 1), "operating", source="sud site visit"))
            db.session.commit()
    return "secretariat@e2e.coop"


def test_the_secretariat_compares_merges_and_undoes_a_duplicate(page, live_server, admin):
    from playwright.sync_api import expect

    log_in(page, admin)
    page.goto("/cases/duplicates")
    pair = page.locator("tr.duplicate-pair").filter(has_text="NRD-0001")
    expect(pair).to_contain_text("same national id")
    pair.get_by_role("link", name=re.compile("Compare and merge")).click()

    expect(page.get_by_role("heading", name="Compare two cases")).to_be_visible()
    expect(page.locator("#row-employees")).to_have_attribute("data-differs", "1")
    expect(page.locator("#row-transfer_date")).not_to_have_attribute("data-differs", "1")
    expect(page.locator("#follow-ups")).to_contain_text("nord annual check")
    expect(page.locator("#follow-ups")).to_contain_text("sud site visit")
    page.get_by_label("Keep case A").check()
    page.locator("#value-last_verified_on-b").check()  # the later verification, from the other record
    page.get_by_role("button", name="Merge the two cases").click()

    expect(page.get_by_role("heading", name="Verrerie Lefèvre")).to_be_visible()
    expect(page.locator(".alert-success")).to_contain_text("was merged into case NRD-0001")
    expect(page.get_by_text("sud site visit")).to_be_visible()  # the other's follow-up is here now
    expect(page.get_by_text("nord annual check")).to_be_visible()
    expect(page.locator("#merged-here")).to_contain_text("SUD-0001")
    with live_server.app.app_context():
        kept = db.session.scalar(select(Case).where(Case.ref == "NRD-0001"))
        assert kept.last_verified_on == date(2025, 2, 1) and kept.employees == 31

    page.locator("#merged-here").get_by_role("button", name=re.compile("Undo the merge")).click()
    expect(page.locator(".alert-success")).to_contain_text("The merge was undone")
    expect(page.get_by_role("heading", name="Verrerie Lefevre")).to_be_visible()
    expect(page.get_by_text("sud site visit")).to_be_visible()
    expect(page.get_by_text("nord annual check")).to_have_count(0)
    with live_server.app.app_context():
        kept = db.session.scalar(select(Case).where(Case.ref == "NRD-0001"))
        restored = db.session.scalar(select(Case).where(Case.ref == "SUD-0001"))
        assert kept.last_verified_on == date(2022, 1, 15) and restored.deleted_at is None
        assert [c.source for c in db.session.scalars(select(StatusCheck).where(StatusCheck.case_id == restored.id))
                ] == ["sud site visit"]
    page.goto("/cases/duplicates")
    expect(page.locator("tr.duplicate-pair").filter(has_text="NRD-0001")).to_have_count(1)  # reported again


def test_a_user_saves_the_filters_as_a_view_and_opens_it_again(page, admin):
    from playwright.sync_api import expect

    log_in(page, admin)
    page.goto("/cases/?transfer_type=rescue&sort=name&dir=desc")
    page.get_by_placeholder("Name of the view").fill("Rescues, by name")
    page.get_by_role("button", name="Save this view").click()
    expect(page.locator(".alert-success")).to_contain_text("Rescues, by name")
    page.goto("/cases/")
    page.locator("#saved-view-list").get_by_role("link", name="Rescues, by name").click()
    expect(page).to_have_url(re.compile(r"transfer_type=rescue"))
    expect(page.locator("#active-filters")).to_contain_text("Rescue")
    page.get_by_role("button", name="Delete the view Rescues, by name").click()
    expect(page.locator("#saved-view-list")).to_have_count(0)
