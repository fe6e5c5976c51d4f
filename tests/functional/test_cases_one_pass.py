"""The case form validates in one pass: field, cross-field, unique-ref and duplicate checks all on
the same submit, an error summary at the top linking to each field (and taking focus), fields
marked invalid for assistive technology, required fields marked; a new case starts from the
federation's country and its next free ref."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

from sqlalchemy import func, select
from support_cases import errors_next_to, valid_case_form

from tracker.extensions import db
from tracker.models import Case, Role


def summary_links(html: str) -> list[tuple[str, str]]:
    """(field id, message) of each error the summary lists."""
    match = re.search(r'<div class="alert alert-danger"[^>]*id="error-summary".*?</ul>', html, re.S)
    assert match, "no error summary on the page"
    return [(target, unescape(re.sub(r"<[^>]+>", "", message)).strip())
            for target, message in re.findall(r'<li><a class="alert-link" href="#(\w+)">.*?</a>:(.*?)</li>',
                                              match.group(0), re.S)]


def test_every_kind_of_problem_shows_on_the_first_submit(client, login, make_federation, make_case):
    fed = make_federation(code="ONE")
    make_case(federation=fed, ref="TAKEN-1", name="Menuiserie Dupont", transfer_date=date(2016, 5, 2),
              national_id="552100554")
    login(Role.STAFF, federation=fed)
    # A blank name (form), an exit without its reason (cross-field), a ref in use (uniqueness) and a
    # bad e-mail, all at once.
    response = client.post("/cases/new", data=valid_case_form(
        ref="TAKEN-1", name="", exit_date="2020-01-01", exit_reason="", last_verified_on="2019-06-30",
        contact_email="not-an-address"))
    html = response.get_data(as_text=True)
    targets = {target for target, _ in summary_links(html)}
    assert {"name", "exit_reason", "ref", "contact_email"} <= targets
    assert errors_next_to(html, "ref") == ["ref TAKEN-1 already exists in federation ONE"]
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1


def test_possible_duplicates_show_with_the_other_errors(client, login, make_federation, make_case):
    fed = make_federation(code="DUP")
    other = make_case(federation=fed, ref="OLD-1", name="Menuiserie Dupont",
                      transfer_date=date(2016, 5, 2), national_id="552100554")
    login(Role.STAFF, federation=fed)
    html = client.post("/cases/new", data=valid_case_form(ref="NEW-9", name="Menuiserie Dupond",
                                                         employees="-3")).get_data(as_text=True)
    targets = dict(summary_links(html))
    assert "employees" in targets and "confirm_distinct" in targets
    duplicates = html[html.index('id="duplicates"'):]
    assert duplicates.count(f'/cases/{other.id}"') == 1  # the same case once, with its reasons together
    assert "same national id" in duplicates and "very similar name" in duplicates


def test_the_summary_takes_focus_and_fields_are_marked_for_assistive_technology(client, login):
    login(Role.STAFF)
    html = client.post("/cases/new", data=valid_case_form(name="", transfer_date="")).get_data(as_text=True)
    assert re.search(r'id="error-summary" tabindex="-1" autofocus', html)
    name = re.search(r'<input [^>]*id="name"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in name and 'aria-describedby="name-error"' in name
    assert 'id="name-error"' in html
    ref = re.search(r'<input [^>]*id="ref"[^>]*>', html).group(0)
    assert "aria-invalid" not in ref and 'aria-describedby="ref-help"' in ref


def test_required_fields_are_marked_including_last_verified_while_open(client, login):
    login(Role.STAFF)
    html = client.get("/cases/new").get_data(as_text=True)

    def marked(name: str) -> bool:
        after = re.search(rf'<label class="form-label" for="{name}">.*?</label>(.{{0,80}})', html, re.S).group(1)
        return "required-mark" in after

    for name in ("ref", "name", "country", "transfer_date", "transfer_type"):
        assert marked(name), name
        assert 'aria-required="true"' in re.search(rf'<(?:input|select) [^>]*id="{name}"[^>]*>', html).group(0), name
    assert marked("last_verified_on") and not marked("region")
    verified = re.search(r'<input [^>]*id="last_verified_on"[^>]*>', html).group(0)
    assert 'aria-describedby="last_verified_on-required last_verified_on-help"' in verified
    assert re.search(r'id="last_verified_on-required">\(required while open\)<', html)


def test_a_new_case_starts_with_the_federations_country_and_next_ref(client, login, make_federation, make_case):
    fed = make_federation(code="ALP", country="IT")
    make_case(federation=fed, ref="ALP-0041")
    make_case(federation=fed, ref="ALP-0007")
    login(Role.STAFF, federation=fed)
    html = client.get("/cases/new").get_data(as_text=True)
    assert re.search(r'<input [^>]*id="ref"[^>]*value="ALP-0042"', html)
    assert '<option selected value="IT">' in html


def test_a_federation_without_cases_starts_at_its_code_0001(client, login, make_federation):
    login(Role.STAFF, federation=make_federation(code="NEWFED"))
    assert re.search(r'<input [^>]*id="ref"[^>]*value="NEWFED-0001"',
                     client.get("/cases/new").get_data(as_text=True))
