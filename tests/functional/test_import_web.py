"""Importing cases in the browser: upload and check, then confirm; nothing is written
before the confirmation; the confirmed import is all or nothing, audited, and says what it did."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select
from support_cases import csrf_token_from, errors_next_to
from support_import import (
    case_row,
    csv_bytes,
    full_problem_rows,
    problem_rows,
    read_csv,
    text_of,
    token_of,
    upload,
    written,
    xlsx_bytes,
)

from tracker.extensions import db
from tracker.models import AuditEntry, Case, Role


@pytest.fixture(autouse=True)
def staging_dir(app, tmp_path):
    folder = tmp_path / "staging"
    app.config["IMPORT_STAGING_DIR"] = str(folder)
    return folder


@pytest.fixture
def fed(make_federation):
    return make_federation(code="FR-WEB", country="FR")


def cases_of(fed) -> dict[str, Case]:
    return {case.ref: case for case in db.session.scalars(select(Case).where(Case.federation_id == fed.id))}


# --- the two steps ----------------------------------------------------------------------------

def test_the_upload_page_offers_the_template_and_help(client, login, fed):
    login(Role.STAFF, federation=fed)
    html = client.get("/cases/import").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html
    assert "/cases/import/template.xlsx" in html and "/cases/import/template.csv" in html
    assert "/cases/import/help" in html
    assert 'id="federation"' not in html and "FR-WEB" in html  # staff import into their own federation
    assert "at most 20 MB" in html


def test_the_check_says_what_would_happen_and_writes_nothing(client, login, fed, make_case):
    make_case(federation=fed, ref="OLD-1", name="Old Name")
    login(Role.STAFF, federation=fed)
    before = written()
    data = csv_bytes([case_row(ref="NEW-1"), case_row(ref="NEW-2", name="Beta"),
                      case_row(ref="OLD-1", name="New Name")])
    token = token_of(upload(client, data))
    assert written() == before
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    summary = text_of(html, "summary")
    assert "Importing it will create 2 cases, update 1 and leave 0 unchanged" in summary
    assert "Nothing has been written yet" in summary
    assert 'name="submit"' in html and "csrf_token" in html


def test_confirming_imports_audits_and_says_what_was_done(client, login, fed, make_case, staging_dir):
    make_case(federation=fed, ref="OLD-1", name="Old Name")
    staff = login(Role.STAFF, federation=fed)
    token = token_of(upload(client, csv_bytes([case_row(ref="NEW-1"), case_row(ref="OLD-1", name="New Name")])))
    response = client.post(f"/cases/import/{token}", data={})
    assert response.status_code == 303 and response.headers["Location"] == f"/cases/import/{token}"
    cases = cases_of(fed)
    assert set(cases) == {"NEW-1", "OLD-1"} and cases["OLD-1"].name == "New Name"
    assert cases["NEW-1"].created_by_id == staff.id
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.table_name == "cases")).all()
    assert {(e.action, e.user_id, e.context) for e in entries} == {("create", staff.id, "import cases.csv"),
                                                                    ("update", staff.id, "import cases.csv")}
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported cases.csv into FR-WEB: 1 created, 1 updated, 0 unchanged." in html
    assert "1 case created, 1 updated, 0 unchanged" in text_of(html, "summary")
    assert not list(staging_dir.glob("*.data"))  # the file is gone: it cannot be imported twice
    again = client.post(f"/cases/import/{token}", data={})
    assert again.status_code == 409 and len(cases_of(fed)) == 2


def test_the_confirmation_validates_the_file_again(client, login, fed, make_case):
    case = make_case(federation=fed, ref="OLD-1")
    login(Role.STAFF, federation=fed)
    token = token_of(upload(client, csv_bytes([case_row(ref="NEW-1"), case_row(ref="OLD-1", name="Renamed")])))
    case.deleted_at = datetime(2025, 1, 1)  # meanwhile an admin deleted the case the file updates
    db.session.commit()
    before = written()
    response = client.post(f"/cases/import/{token}", data={})
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "no longer passes the checks" in html
    assert ("3", "ref", "case OLD-1 was deleted; restore it first") in problem_rows(html)
    assert written() == before


def test_admins_choose_the_federation(client, login, fed, make_federation):
    other = make_federation(code="ES-WEB", country="ES")
    login(Role.ADMIN)
    html = client.get("/cases/import").get_data(as_text=True)
    assert f'<option value="{other.id}">ES-WEB' in html
    missing = upload(client, csv_bytes([case_row(country="ES")]))
    assert errors_next_to(missing.get_data(as_text=True), "federation") == ["This field is required."]
    token = token_of(upload(client, csv_bytes([case_row(country="ES")]), federation=str(other.id)))
    client.post(f"/cases/import/{token}", data={})
    assert set(cases_of(other)) == {"R-1"} and cases_of(fed) == {}


def test_xlsx_with_real_date_cells_is_accepted(client, login, fed):
    login(Role.STAFF, federation=fed)
    data = xlsx_bytes([["X-1", "Coop X", None, "FR", None, "C", 12.0, datetime(2015, 3, 1), "rescue", None,
                        date(2015, 3, 1), datetime(2024, 12, 31), None, None]])
    token = token_of(upload(client, data, "cases.xlsx"))
    client.post(f"/cases/import/{token}", data={})
    case = cases_of(fed)["X-1"]
    assert (case.transfer_date, case.last_verified_on, case.employees) == (date(2015, 3, 1), date(2024, 12, 31), 12)


def test_semicolon_csv_with_bom_is_accepted(client, login, fed):
    login(Role.STAFF, federation=fed)
    data = b"\xef\xbb\xbf" + csv_bytes([case_row()], delimiter=";")
    token = token_of(upload(client, data))
    client.post(f"/cases/import/{token}", data={})
    assert set(cases_of(fed)) == {"R-1"}


# --- problems ---------------------------------------------------------------------------------

def test_every_problem_is_listed_and_downloadable_as_csv(client, login, fed):
    login(Role.STAFF, federation=fed)
    data = csv_bytes([case_row(ref="A"), case_row(ref="B", employees="-3"), case_row(ref="C", country="XX")])
    token = token_of(upload(client, data))
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    assert "2 rows have problems" in text_of(html, "summary")  # the valid row may still be imported
    assert full_problem_rows(html) == [
        ("3", "B", "Coopérative Alpha", "employees", "-3", "must be 0 or more"),
        ("4", "C", "Coopérative Alpha", "country", "XX", "'XX' is not an ISO 3166-1 alpha-2 country code")]
    assert 'name="submit"' not in html  # the whole file cannot be imported as it is
    download = client.get(f"/cases/import/{token}/problems.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert 'filename="cases-problems.csv"' in download.headers["Content-Disposition"]
    assert read_csv(download.data) == [
        ["row", "ref", "name", "column", "value", "message"],
        ["3", "B", "Coopérative Alpha", "employees", "'-3", "must be 0 or more"],  # -3 kept from running as a formula
        ["4", "C", "Coopérative Alpha", "country", "XX", "'XX' is not an ISO 3166-1 alpha-2 country code"]]
    assert client.post(f"/cases/import/{token}", data={}).status_code == 409  # not without "only the valid rows"
    assert cases_of(fed) == {}


def test_problem_messages_that_look_like_formulas_are_neutralised_in_the_download(client, login, fed):
    login(Role.STAFF, federation=fed)
    token = token_of(upload(client, csv_bytes([case_row(employees="-3")], columns=[*case_row(), "=cmd()"])))
    rows = read_csv(client.get(f"/cases/import/{token}/problems.csv").data)
    assert ["1", "", "", "'=cmd()", "", "unknown column (the columns are: ref, name, national_id, country, region, "
            "nace, employees, transfer_date, transfer_type, legal_form, registered_on, last_verified_on, exit_date, "
            "exit_reason, founded_on)"] in rows


def review_problems(client, data: bytes, filename: str = "cases.csv") -> list[tuple[str, str, str]]:
    token = token_of(upload(client, data, filename))
    return problem_rows(client.get(f"/cases/import/{token}").get_data(as_text=True))


def test_a_windows_1252_file_with_day_first_dates_is_read_and_the_review_says_how(client, login, fed):
    login(Role.STAFF, federation=fed)
    data = csv_bytes([case_row(name="Coopérative", transfer_date="31/12/2014")]).decode().encode("cp1252")
    page = client.get(upload(client, data).headers["Location"]).get_data(as_text=True)
    reading = page.split('id="reading"', 1)[1].split("</p>", 1)[0]
    assert "Windows-1252" in reading and "commas" in reading
    assert "31/12/2014 was read as December 31, 2014" in reading
    assert written() == (0, 0, 0, 0)


def test_an_ambiguous_file_says_it_was_read_in_the_national_order(client, login, fed):
    login(Role.STAFF, federation=fed)
    data = csv_bytes([case_row(transfer_date="05/04/2014", last_verified_on="01/02/2024")])
    page = client.get(upload(client, data).headers["Location"]).get_data(as_text=True)
    assert "read in the national order, day/month/year: 05/04/2014 was read as April 5, 2014" in page


def test_a_binary_file_is_refused_next_to_the_file_field(client, login, fed):
    login(Role.STAFF, federation=fed)
    response = upload(client, csv_bytes([case_row()]) + b"\xe9\x00")
    assert response.status_code == 200
    [message] = errors_next_to(response.get_data(as_text=True), "file")
    assert message.startswith("the file is not UTF-8, Windows-1252 or Latin-1 text (byte 0x00 at position")
    assert "save it as CSV UTF-8 or as XLSX" in message
    assert written() == (0, 0, 0, 0)


@pytest.mark.parametrize(("data", "filename", "fragment"), [
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01", "photo.png", "a PNG image, not UTF-8", id="png"),
    pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "cases.pdf", "a PDF document, not UTF-8", id="pdf"),
    pytest.param(b"PK\x03\x04 this is not a zip", "cases.xlsx", "not a readable XLSX workbook", id="fake-xlsx"),
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "cases.xls", "old Excel files (.xls)",
                 id="old-excel"),
    pytest.param(b"", "cases.csv", "the file is empty", id="empty"),
])
def test_a_file_that_is_not_a_spreadsheet_is_refused_next_to_the_file_field(client, login, fed, data, filename,
                                                                            fragment):
    login(Role.STAFF, federation=fed)
    response = upload(client, data, filename)
    assert response.status_code == 200
    [message] = errors_next_to(response.get_data(as_text=True), "file")
    assert fragment in message
    assert written() == (0, 0, 0, 0)


def test_plain_text_that_is_not_a_table_names_the_expected_columns(client, login, fed):
    login(Role.STAFF, federation=fed)
    problems = review_problems(client, b"Dear colleagues,\nplease find the cases attached.\n")
    assert problems == [("1", "—", "no known column name in the header row; the first row must name the columns: "
                                   "ref, name, national_id, country, region, nace, employees, transfer_date, "
                                   "transfer_type, legal_form, registered_on, last_verified_on, exit_date, "
                                   "exit_reason, founded_on")]


def test_a_renamed_column_is_named(client, login, fed):
    login(Role.STAFF, federation=fed)
    columns = ["nom" if c == "name" else c for c in case_row()]
    problems = review_problems(client, csv_bytes([case_row(nom="Alpha")], columns=columns))
    assert ("1", "nom", "unknown column (the columns are: ref, name, national_id, country, region, nace, employees, "
                        "transfer_date, transfer_type, legal_form, registered_on, last_verified_on, exit_date, "
                        "exit_reason, founded_on)") in problems
    assert ("1", "name", "required column is missing") in problems
    assert written() == (0, 0, 0, 0)


def test_a_missing_column_is_named(client, login, fed):
    login(Role.STAFF, federation=fed)
    columns = [c for c in case_row() if c != "transfer_type"]
    assert review_problems(client, csv_bytes([case_row()], columns=columns)) == [
        ("1", "transfer_type", "required column is missing")]


def test_a_formula_in_a_csv_cell_is_refused_at_its_row_and_column(client, login, fed):
    login(Role.STAFF, federation=fed)
    data = csv_bytes([case_row(ref="A"), case_row(ref="B", name='=HYPERLINK("http://evil.example","x")')])
    [(row, column, message)] = review_problems(client, data)
    assert (row, column) == ("3", "name")
    assert message.startswith('is a formula (=HYPERLINK("http://evil.example","x")); the import reads values only')
    assert written() == (0, 0, 0, 0)


def test_a_formula_cell_in_xlsx_is_refused_but_quoted_text_is_kept(client, login, fed):
    login(Role.STAFF, federation=fed)
    formula = xlsx_bytes([["A", "Coop A", None, "FR", None, "C", "=2*6", "2015-03-01", "rescue", None, None,
                           "2024-12-31", None, None]])
    [(row, column, message)] = review_problems(client, formula, "cases.xlsx")
    assert (row, column) == ("2", "employees") and message.startswith("is a formula (=2*6)")
    quoted = csv_bytes([case_row(name="'=1+2")])  # as the export writes a text that starts with =
    client.post(f"/cases/import/{token_of(upload(client, quoted))}", data={})
    assert cases_of(fed)["R-1"].name == "=1+2"


def test_a_duplicate_ref_inside_the_file_is_reported_on_its_second_row(client, login, fed):
    login(Role.STAFF, federation=fed)
    data = csv_bytes([case_row(ref="A"), case_row(ref="B", name="Beta"), case_row(ref="A", name="Gamma")])
    assert review_problems(client, data) == [("4", "ref", "ref A already appears in row 2")]
    assert written() == (0, 0, 0, 0)


@pytest.mark.slow
def test_a_100000_row_file_with_one_bad_row_at_the_end_writes_nothing(client, login, fed):
    login(Role.STAFF, federation=fed)
    lines = [",".join(case_row())] + [
        f"R-{n},Coop {n},,FR,,25.62,12,2015-03-01,succession,SCOP,,2024-12-31,," for n in range(1, 100_000)]
    lines.append("R-100000,Coop 100000,,FR,,25.62,12,2015-03-01,merger,SCOP,,2024-12-31,,")
    token = token_of(upload(client, ("\r\n".join(lines) + "\r\n").encode()))
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    assert problem_rows(html) == [("100001", "transfer_type",
                                    "'merger' is not one of: succession, rescue, conversion, other")]
    assert "100,000 case rows read" in html
    assert client.post(f"/cases/import/{token}", data={}).status_code == 409
    assert written() == (0, 0, 0, 0)


# --- federations, users and tokens -------------------------------------------------------------

def test_staff_cannot_upload_to_another_federation(client, login, fed, make_federation):
    other = make_federation(code="IT-OTHER", country="IT")
    login(Role.STAFF, federation=fed)
    token = token_of(upload(client, csv_bytes([case_row()]), federation=str(other.id)))
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    assert "Into FR-WEB" in html and "IT-OTHER" not in html
    client.post(f"/cases/import/{token}", data={})
    assert set(cases_of(fed)) == {"R-1"} and cases_of(other) == {}


def test_a_staged_upload_belongs_to_the_user_who_uploaded_it(app, client, login, fed, make_user, make_federation):
    login(Role.STAFF, federation=fed)
    token = token_of(upload(client, csv_bytes([case_row()])))
    for intruder in (make_user(Role.STAFF, federation=make_federation()), make_user(Role.STAFF, federation=fed),
                     make_user(Role.ADMIN)):
        login(user=intruder)
        for response in (client.get(f"/cases/import/{token}"), client.post(f"/cases/import/{token}", data={}),
                         client.get(f"/cases/import/{token}/problems.csv")):
            assert response.status_code == 404
    assert written() == (0, 0, 0, 0)


def test_researchers_cannot_import(client, login, fed):
    login(Role.RESEARCHER)
    assert client.get("/cases/import").status_code == 403
    assert upload(client, csv_bytes([case_row()]), federation=str(fed.id)).status_code == 403


def test_staff_whose_upload_federation_is_not_theirs_any_more_cannot_confirm(client, login, fed, make_federation):
    staff = login(Role.STAFF, federation=fed)
    token = token_of(upload(client, csv_bytes([case_row()])))
    staff.federation = make_federation()  # moved to another federation after uploading
    db.session.commit()
    assert client.post(f"/cases/import/{token}", data={}).status_code == 404
    assert written()[0] == 0


@pytest.mark.parametrize("token", ["..%2F..%2Fetc%2Fpasswd", "short", "A" * 31 + "!", "A" * 33,
                                   "..%2Fstaging%2F" + "A" * 32])
def test_a_token_that_is_not_one_of_ours_is_404(client, login, fed, token):
    login(Role.STAFF, federation=fed)
    assert client.get(f"/cases/import/{token}").status_code == 404
    assert client.post(f"/cases/import/{token}", data={}).status_code == 404


def test_an_expired_upload_is_refused_and_purged(app, client, login, fed, staging_dir):
    login(Role.STAFF, federation=fed)
    token = token_of(upload(client, csv_bytes([case_row()])))
    app.config["IMPORT_STAGING_TTL"] = -1
    response = client.post(f"/cases/import/{token}", data={})
    assert response.status_code == 404 and "expired" in response.get_data(as_text=True)
    assert list(staging_dir.iterdir()) == [] and written() == (0, 0, 0, 0)


def test_old_uploads_are_purged_when_a_new_one_arrives(app, client, login, fed, staging_dir):
    login(Role.STAFF, federation=fed)
    old = token_of(upload(client, csv_bytes([case_row()])))
    app.config["IMPORT_STAGING_TTL"] = -1
    new = token_of(upload(client, csv_bytes([case_row()])))
    names = {path.name.split(".")[0] for path in staging_dir.iterdir()}
    assert old not in names and new in names


def test_staged_files_are_private_to_the_server_process(client, login, fed, staging_dir):
    login(Role.STAFF, federation=fed)
    token_of(upload(client, csv_bytes([case_row()])))
    for path in staging_dir.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path


def test_a_staged_file_changed_on_disk_is_not_imported(client, login, fed, staging_dir):
    login(Role.STAFF, federation=fed)
    token = token_of(upload(client, csv_bytes([case_row()])))
    (staging_dir / f"{token}.data").write_bytes(csv_bytes([case_row(ref="EVIL")]))
    assert client.post(f"/cases/import/{token}", data={}).status_code == 404
    assert written() == (0, 0, 0, 0)


# --- size limit and CSRF ----------------------------------------------------------------------

# Limits under 500 KB keep the test client's request body in memory (no temporary file left open).

def test_an_upload_over_the_limit_gets_a_clear_message_on_the_page(app, client, login, fed):
    app.config["MAX_CONTENT_LENGTH"] = 300 * 1024
    login(Role.STAFF, federation=fed)
    response = upload(client, b"x" * (400 * 1024))
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert errors_next_to(html, "file") == [
        "The file is larger than the upload limit of 300 KB. Split it into smaller files (or save it as XLSX, "
        "which is usually smaller) and upload each."]
    assert 'enctype="multipart/form-data"' in html  # the upload form again, ready for a smaller file
    assert written() == (0, 0, 0, 0)


def test_the_size_limit_message_also_comes_when_csrf_protection_reads_the_form(app, client, login, fed):
    app.config["MAX_CONTENT_LENGTH"] = 300 * 1024
    login(Role.STAFF, federation=fed)
    app.config["WTF_CSRF_ENABLED"] = True
    token = csrf_token_from(client.get("/cases/import").get_data(as_text=True))
    response = upload(client, b"x" * (400 * 1024), csrf_token=token)
    assert response.status_code == 413
    assert "larger than the upload limit of 300 KB" in " ".join(errors_next_to(response.get_data(as_text=True), "file"))


def test_upload_and_confirmation_need_the_csrf_token(app, client, login, fed):
    login(Role.STAFF, federation=fed)
    token = token_of(upload(client, csv_bytes([case_row()])))
    app.config["WTF_CSRF_ENABLED"] = True
    refused = upload(client, csv_bytes([case_row(ref="OTHER")]))
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    assert client.post(f"/cases/import/{token}", data={}).status_code == 400
    assert written() == (0, 0, 0, 0)
    review = client.get(f"/cases/import/{token}").get_data(as_text=True)
    response = client.post(f"/cases/import/{token}", data={"csrf_token": csrf_token_from(review)})
    assert response.status_code == 303 and set(cases_of(fed)) == {"R-1"}


def test_choosing_no_file_is_an_error_next_to_the_field(client, login, fed):
    login(Role.STAFF, federation=fed)
    response = client.post("/cases/import", data={}, content_type="multipart/form-data")
    assert errors_next_to(response.get_data(as_text=True), "file") == ["Choose a CSV or XLSX file."]


def test_an_odd_file_name_is_shown_escaped_and_kept_out_of_headers(client, login, fed):
    login(Role.STAFF, federation=fed)
    token = token_of(upload(client, csv_bytes([case_row(employees="-1")]), "x <img src=x onerror=alert(1)>\u00e9.csv"))
    html = client.get(f"/cases/import/{token}").get_data(as_text=True)
    assert "<img src=x" not in html and "x &lt;img src=x onerror=alert(1)&gt;\u00e9.csv" in html
    download = client.get(f"/cases/import/{token}/problems.csv")
    assert download.headers["Content-Disposition"] == 'attachment; filename="x_img_srcx_onerroralert1e-problems.csv"'
    path = token_of(upload(client, csv_bytes([case_row()]), "../../etc/passwd.csv"))
    assert "Import of passwd.csv" in client.get(f"/cases/import/{path}").get_data(as_text=True)  # a name, not a path


def test_a_ref_created_by_someone_else_while_importing_is_a_conflict_and_nothing_is_written(client, login, fed,
                                                                                             monkeypatch):
    from tracker.services.spreadsheets import imports

    login(Role.STAFF, federation=fed)
    token = token_of(upload(client, csv_bytes([case_row(ref="R-1"), case_row(ref="R-2", name="Beta")])))
    write = imports._write

    def racing(actor, federation, plan, context, progress):  # noqa: ANN001, ANN202
        db.session.add(Case(federation_id=federation.id, ref="R-2", name="Sneaky", country="FR",
                            transfer_date=date(2015, 3, 1), transfer_type="rescue", registered_on=date(2015, 3, 1),
                            last_verified_on=date(2024, 1, 1)))
        db.session.flush()  # as if another import had committed it after this one was validated
        return write(actor, federation, plan, context, progress)

    monkeypatch.setattr(imports, "_write", racing)
    response = client.post(f"/cases/import/{token}", data={})
    assert response.status_code == 409
    assert "nothing was imported" in response.get_data(as_text=True)
    assert written() == (0, 0, 0, 0)
