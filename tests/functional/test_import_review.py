"""An import review that lets people finish: every problem with the row's ref and name, the
column and the bad value, all at once; a preview of the cases to create and of each update as
old → new; importing only the valid rows (one transaction, audited) with the rejected rows
back as a file to fix."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from support_import import case_row, csv_bytes, full_problem_rows, read_csv, text_of, token_of, upload

from tracker.extensions import db
from tracker.models import AuditEntry, Case, Role


def cases_of(fed) -> dict[str, Case]:  # noqa: ANN001
    return {case.ref: case for case in db.session.scalars(select(Case).where(Case.federation_id == fed.id))}


def mixed_file() -> bytes:
    """Row 2 creates, row 3 updates OLD-1 (name and transfer type), rows 4 and 5 are wrong."""
    return csv_bytes([
        case_row(ref="NEW-1", name="Scop Nouvelle"),
        case_row(ref="OLD-1", name="Menuiserie Renommée", transfer_type="rescue"),
        case_row(ref="BAD-1", name="Atelier Faux", employees="-3", country="XX"),
        case_row(ref="BAD-2", name="Atelier Futur", transfer_date="2099-01-01"),
    ])


def test_the_review_lists_every_problem_and_previews_creates_and_updates(client, login, make_federation,
                                                                         make_case):
    fed = make_federation(code="FR-REV")
    make_case(federation=fed, ref="OLD-1", name="Menuiserie Dupont", transfer_date=date(2015, 3, 1))
    login(Role.STAFF, federation=fed)
    html = client.get(f"/cases/import/{token_of(upload(client, mixed_file()))}").get_data(as_text=True)
    problems = full_problem_rows(html)
    assert ("4", "BAD-1", "Atelier Faux", "employees", "-3", "must be 0 or more") in problems
    assert ("4", "BAD-1", "Atelier Faux", "country", "XX",
            "'XX' is not an ISO 3166-1 alpha-2 country code") in problems
    assert ("5", "BAD-2", "Atelier Futur", "transfer_date", "2099-01-01", "2099-01-01 is in the future") in problems
    assert "1 case to create" in text_of(html, "creates") and "NEW-1" in text_of(html, "creates")
    updates = text_of(html, "updates")
    assert "OLD-1" in updates
    assert "Name: Menuiserie Dupont → Menuiserie Renommée" in updates
    assert "Transfer type: Succession (no successor) → Rescue (difficulty or insolvency)" in updates
    assert "Import only the valid rows" in html
    assert set(cases_of(fed)) == {"OLD-1"}  # nothing written by the check


def test_importing_only_the_valid_rows_writes_them_and_gives_back_the_others(client, login, make_federation,
                                                                            make_case):
    fed = make_federation(code="FR-PART")
    make_case(federation=fed, ref="OLD-1", name="Menuiserie Dupont", transfer_date=date(2015, 3, 1))
    staff = login(Role.STAFF, federation=fed)
    token = token_of(upload(client, mixed_file()))
    assert client.post(f"/cases/import/{token}", data={"submit": "Import"}).status_code == 409  # not the whole file
    assert set(cases_of(fed)) == {"OLD-1"}
    response = client.post(f"/cases/import/{token}", data={"import_valid": "Import only the valid rows"})
    assert response.status_code == 303
    cases = cases_of(fed)
    assert set(cases) == {"OLD-1", "NEW-1"} and cases["OLD-1"].name == "Menuiserie Renommée"
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    assert "2 rows with problems were left out" in text_of(html, "summary")
    rejected = read_csv(client.get(f"/cases/import/{token}/rejected-rows.csv").data)
    assert rejected[0][:2] == ["ref", "name"] and rejected[0][-1] == "problems"
    assert [row[0] for row in rejected[1:]] == ["BAD-1", "BAD-2"]
    assert "employees: must be 0 or more" in rejected[1][-1] and "country:" in rejected[1][-1]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "import_valid_rows"))
    assert (entry.user_id, entry.row_id, entry.changes["rejected_rows"][1]) == (staff.id, fed.id, [4, 5])
    assert client.post(f"/cases/import/{token}", data={"import_valid": "x"}).status_code in (404, 409)  # once only


def test_a_file_whose_every_row_is_wrong_offers_no_partial_import(client, login, make_federation):
    fed = make_federation(code="FR-NONE")
    login(Role.STAFF, federation=fed)
    token = token_of(upload(client, csv_bytes([case_row(ref="X", country="XX")])))
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    assert "Nothing can be imported" in text_of(html, "summary") and "Import only the valid rows" not in html
    assert client.post(f"/cases/import/{token}", data={"import_valid": "x"}).status_code == 409
    assert read_csv(client.get(f"/cases/import/{token}/rejected-rows.csv").data)[1][0] == "X"
    assert cases_of(fed) == {}


def test_the_templates_example_row_is_refused_with_a_clear_message(client, login, make_federation):
    fed = make_federation(code="FR-TPL")
    login(Role.STAFF, federation=fed)
    template = client.get("/cases/import/template.csv").data
    html = client.get(f"/cases/import/{token_of(upload(client, template))}").get_data(as_text=True)
    assert ("2", "EXAMPLE-1", "Atelier Coopératif du Nord", "ref", "EXAMPLE-1",
            "this is the example row of the blank template: delete it and enter your own cases") \
        in full_problem_rows(html)
    assert cases_of(fed) == {}
