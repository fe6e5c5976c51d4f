"""Resolving duplicates in the browser (admins): compare two cases side by side, merge them, undo
the merge through a new audited action, move a case to another federation; who may do it, and
what hostile or stale requests get (never a 500)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import AuditEntry, Case, Role, StatusCheck
from tracker.services.analytics import data_version
from tracker.services.casework import duplicate_index, duplicates


@pytest.fixture
def feds(make_federation):
    return make_federation(code="FR-ONE", country="FR"), make_federation(code="FR-TWO", country="FR")


@pytest.fixture
def pair(feds, make_case):
    """The same enterprise recorded twice, each record with its own follow-up."""
    one, two = feds
    a = make_case(federation=one, ref="ONE-0001", name="Menuiserie Dupont", national_id="552100554",
                  transfer_date=date(2016, 5, 1), registered_on=date(2016, 5, 1), employees=12,
                  last_verified_on=date(2023, 6, 30), legal_form="SCOP SA")
    b = make_case(federation=two, ref="TWO-0001", name="Menuiserie Dupond", national_id="FR 552 100 554",
                  transfer_date=date(2016, 5, 1), registered_on=date(2016, 5, 1), employees=14,
                  last_verified_on=date(2024, 9, 30), legal_form="SCOP SARL")
    db.session.add_all([StatusCheck(case=a, checked_on=date(2023, 6, 30), outcome="operating", source="a-call"),
                        StatusCheck(case=b, checked_on=date(2024, 9, 30), outcome="operating", source="b-visit")])
    db.session.commit()
    return a, b


def merge_form(a: Case, b: Case, keep: str = "a", **values: str) -> dict[str, object]:
    data: dict[str, object] = {"a_id": a.id, "b_id": b.id, "a_version": a.version, "b_version": b.version,
                               "keep": keep}
    data.update({f"value_{field}": side for field, side in values.items()})
    return data


def history_actions(case_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.table_name == "cases", AuditEntry.row_id == case_id).order_by(AuditEntry.id)))


def test_the_duplicates_page_links_each_pair_to_its_comparison(client, login, pair):
    a, b = pair
    login(Role.ADMIN)
    html = client.get("/cases/duplicates?scope=all").get_data(as_text=True)
    assert f"/cases/duplicates/compare?a={a.id}&amp;b={b.id}" in html
    assert html.count("duplicate-pair") == 1  # one row for the pair, reasons together
    assert "same national id; very similar name" in html


def test_compare_shows_both_cases_and_marks_what_differs(client, login, pair):
    a, b = pair
    login(Role.ADMIN)
    response = client.get(f"/cases/duplicates/compare?a={a.id}&b={b.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    differing = set(re.findall(r'<tr class="table-warning" data-differs="1" id="row-(\w+)"', html))
    assert {"name", "national_id", "employees", "legal_form", "last_verified_on"} <= differing
    assert "transfer_date" not in differing and "country" not in differing
    assert "a-call" in html and "b-visit" in html  # both follow-up timelines


def test_merge_keeps_one_case_with_both_follow_ups_and_the_values_chosen(client, login, pair, app):
    a, b = pair
    admin = login(Role.ADMIN)
    before = data_version.current()
    response = client.post("/cases/duplicates/merge",
                           data=merge_form(a, b, keep="a", employees="b", last_verified_on="b", legal_form="a"))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/cases/{a.id}")
    db.session.expire_all()
    kept, removed = db.session.get(Case, a.id), db.session.get(Case, b.id)
    assert kept.employees == 14 and kept.last_verified_on == date(2024, 9, 30) and kept.legal_form == "SCOP SA"
    assert kept.name == "Menuiserie Dupont"  # not chosen: the kept case's own
    assert removed.deleted_at is not None and removed.merged_into_id == kept.id and removed.deleted_by_id == admin.id
    assert {c.source for c in db.session.scalars(select(StatusCheck).where(StatusCheck.case_id == kept.id))} \
        == {"a-call", "b-visit"}
    assert history_actions(kept.id)[-1] == "merge" and history_actions(removed.id)[-1] == "merged_into"
    assert data_version.current() > before  # analyses and caches see the merge
    page = client.get(f"/cases/{kept.id}").get_data(as_text=True)
    assert "b-visit" in page and "TWO-0001" in text_between(page, 'id="merged-here"')
    assert duplicates.all_duplicates(admin) == []  # the pair left the report


def text_between(html: str, marker: str) -> str:
    start = html.index(marker)
    return html[start:html.index("</div>", start)]


def test_undo_restores_both_cases_exactly_as_before_and_is_audited(client, login, pair):
    a, b = pair
    admin = login(Role.ADMIN)
    before_a = {f: getattr(a, f) for f in ("employees", "last_verified_on", "name")}
    client.post("/cases/duplicates/merge", data=merge_form(a, b, keep="b", name="a", employees="b"))
    db.session.expire_all()
    merged, kept = db.session.get(Case, a.id), db.session.get(Case, b.id)
    assert kept.name == "Menuiserie Dupont" and merged.merged_into_id == kept.id
    page = client.get(f"/cases/{merged.id}").get_data(as_text=True)
    assert "merged-into" in page and "Restore case" not in page  # only the undo brings it back
    response = client.post(f"/cases/{merged.id}/unmerge",
                           data={"version": merged.version, "kept_version": kept.version})
    assert response.status_code == 303
    db.session.expire_all()
    restored, kept = db.session.get(Case, a.id), db.session.get(Case, b.id)
    assert restored.deleted_at is None and restored.merged_into_id is None
    assert {f: getattr(restored, f) for f in before_a} == before_a
    assert kept.name == "Menuiserie Dupond"  # the value taken went back
    assert [c.source for c in db.session.scalars(select(StatusCheck).where(StatusCheck.case_id == a.id))] \
        == ["a-call"]
    assert history_actions(a.id)[-1] == "unmerge" and history_actions(b.id)[-1] == "unmerge"
    assert len(duplicates.all_duplicates(admin)) == 1  # the pair is reported again
    history = client.get(f"/cases/{b.id}").get_data(as_text=True)
    assert "Merge undone" in history and "Another case merged into this one" in history


def test_undo_keeps_a_value_changed_since_the_merge_and_says_so(client, login, pair):
    a, b = pair
    login(Role.ADMIN)
    client.post("/cases/duplicates/merge", data=merge_form(a, b, keep="a", employees="b"))
    db.session.expire_all()
    kept = db.session.get(Case, a.id)
    kept.employees = 20
    db.session.commit()
    merged = db.session.get(Case, b.id)
    response = client.post(f"/cases/{b.id}/unmerge", data={"version": merged.version, "kept_version": kept.version},
                           follow_redirects=True)
    assert "left as they are now: Employees at transfer" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, a.id).employees == 20 and db.session.get(Case, b.id).deleted_at is None


def test_a_stale_comparison_merges_nothing(client, login, pair):
    a, b = pair
    login(Role.ADMIN)
    data = merge_form(a, b)
    b.name = "Menuiserie Dupond et fils"
    db.session.commit()
    response = client.post("/cases/duplicates/merge", data=data)
    assert response.status_code == 409 and "Nothing was merged" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, b.id).deleted_at is None


def test_values_that_break_a_case_rule_together_are_refused(client, login, pair):
    a, b = pair
    login(Role.ADMIN)
    b.exit_date, b.exit_reason, b.last_verified_on = date(2020, 1, 1), "liquidation", date(2019, 12, 1)
    db.session.commit()
    # a's verification (2023) after b's exit (2020): not one coherent case
    response = client.post("/cases/duplicates/merge", data=merge_form(a, b, keep="a", exit_date="b"))
    assert response.status_code == 422
    assert "after its exit" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, b.id).deleted_at is None and db.session.get(Case, a.id).exit_date is None


@pytest.mark.parametrize("role", [Role.STAFF, Role.RESEARCHER])
def test_only_admins_compare_merge_undo_or_move(client, login, pair, feds, role):
    a, b = pair
    login(role, federation=feds[0] if role == Role.STAFF else None)
    assert client.get(f"/cases/duplicates/compare?a={a.id}&b={b.id}").status_code == 403
    assert client.post("/cases/duplicates/merge", data=merge_form(a, b)).status_code == 403
    assert client.post(f"/cases/{a.id}/unmerge", data={"version": 1, "kept_version": 1}).status_code == 403
    assert client.get(f"/cases/{a.id}/move").status_code == 403
    assert client.post(f"/cases/{a.id}/move", data={"federation": feds[1].id, "version": a.version}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Case, b.id).deleted_at is None and db.session.get(Case, a.id).federation_id == feds[0].id


def test_anonymous_visitors_are_sent_to_the_login_page(client, pair):
    a, b = pair
    assert client.get(f"/cases/duplicates/compare?a={a.id}&b={b.id}").status_code == 302
    assert client.post("/cases/duplicates/merge", data=merge_form(a, b)).status_code == 302


@pytest.mark.parametrize("query", ["a=999999&b=1", "a=1", "a=x&b=y", "a=-1&b=-2", "a=99999999999999999999&b=1"])
def test_hostile_ids_are_not_found_or_refused_never_a_500(client, login, pair, query):
    login(Role.ADMIN)
    assert client.get(f"/cases/duplicates/compare?{query}").status_code in (400, 404)


def test_a_deleted_or_merged_case_cannot_be_compared_and_the_page_says_why(client, login, pair, make_case):
    a, b = pair
    login(Role.ADMIN)
    assert client.get(f"/cases/duplicates/compare?a={a.id}&b={a.id}", follow_redirects=True) \
        .get_data(as_text=True).count("cannot be merged with itself") == 1
    client.post("/cases/duplicates/merge", data=merge_form(a, b))
    response = client.get(f"/cases/duplicates/compare?a={a.id}&b={b.id}", follow_redirects=True)
    assert "was already merged into another case" in response.get_data(as_text=True)
    assert client.post("/cases/duplicates/merge", data=merge_form(a, b)).status_code == 302
    assert client.post(f"/cases/{a.id}/unmerge", data={"version": 9, "kept_version": 9},
                       follow_redirects=True).get_data(as_text=True).count("is not merged into another case") == 1
    assert client.post("/cases/999999/unmerge", data={"version": 1, "kept_version": 1}).status_code == 404


def test_the_merge_refreshes_this_process_s_duplicate_index(client, login, pair, make_case, feds):
    a, b = pair
    admin = login(Role.ADMIN)
    third = make_case(federation=feds[0], ref="ONE-0002", name="Menuiserie Dupont", national_id="552100554",
                      transfer_date=date(2016, 5, 1))
    duplicate_index.forget()
    assert len(duplicates.all_duplicates(admin)) == 3  # index built: a-b, a-third, b-third
    client.post("/cases/duplicates/merge", data=merge_form(a, b))
    found = {(p.case.id, p.other.id) for p in duplicates.all_duplicates(admin)}
    assert found == {(a.id, third.id)}


# --- move to another federation -------------------------------------------------------------------

def test_move_keeps_the_ref_when_it_is_free_and_both_federations_see_the_move(client, login, pair, feds, make_user):
    a, _ = pair
    one, two = feds
    login(Role.ADMIN)
    a.ref = "SPECIAL-7"
    db.session.commit()
    response = client.post(f"/cases/{a.id}/move", data={"federation": two.id, "ref": "SPECIAL-7",
                                                         "version": a.version})
    assert response.status_code == 303
    db.session.expire_all()
    moved = db.session.get(Case, a.id)
    assert moved.federation_id == two.id and moved.ref == "SPECIAL-7"
    assert history_actions(a.id)[-1] == "move"
    login(Role.STAFF, federation=two)
    page = client.get(f"/cases/{a.id}").get_data(as_text=True)
    assert "Moved to another federation" in page and "FR-ONE" in page  # in the case's history
    login(Role.STAFF, federation=one)
    page = client.get(f"/cases/{a.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "was moved to federation FR-TWO" in html
    assert "a-call" not in html and "552100554" not in html  # nothing more than the move
    listing = client.get("/cases/").get_data(as_text=True)
    assert "moved-away" in listing and "SPECIAL-7" in listing
    login(Role.STAFF)  # a third federation's staff learn nothing
    assert client.get(f"/cases/{a.id}").status_code == 404


def test_a_ref_taken_in_the_target_is_refused_with_the_next_free_ref_offered(client, login, pair, feds):
    a, b = pair  # ONE-0001 and TWO-0001
    one, two = feds
    login(Role.ADMIN)
    a.ref = "TWO-0001"  # the same ref as b, which is in the target federation
    db.session.commit()
    response = client.post(f"/cases/{a.id}/move", data={"federation": two.id, "ref": "TWO-0001", "version": a.version})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "already exists in federation FR-TWO" in html and "TWO-0002" in html
    assert 'value="TWO-0002"' in html  # offered in the field
    db.session.expire_all()
    assert db.session.get(Case, a.id).federation_id == one.id
    response = client.post(f"/cases/{a.id}/move", data={"federation": two.id, "ref": "TWO-0002", "version": a.version})
    assert response.status_code == 303
    db.session.expire_all()
    assert (db.session.get(Case, a.id).federation_id, db.session.get(Case, a.id).ref) == (two.id, "TWO-0002")


def test_a_move_to_the_same_or_an_unknown_federation_or_with_a_stale_version_is_refused(client, login, pair, feds):
    a, _ = pair
    login(Role.ADMIN)
    assert client.post(f"/cases/{a.id}/move", data={"federation": feds[0].id, "version": a.version}).status_code == 200
    assert client.post(f"/cases/{a.id}/move", data={"federation": 999999, "version": a.version}).status_code == 200
    assert client.post(f"/cases/{a.id}/move", data={"federation": feds[1].id, "version": a.version - 1}
                       ).status_code == 409
    assert client.get("/cases/999999/move").status_code == 404
    db.session.expire_all()
    assert db.session.get(Case, a.id).federation_id == feds[0].id
