"""Export of the filtered case list (CSV and XLSX, importable again unchanged, formulas
neutralised), the blank template and the help page of the import columns."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from support_import import XLSX, read_csv, read_xlsx, text_of

from tracker import vocabulary
from tracker.extensions import db
from tracker.models import Case, ExitReason, Role, TransferType
from tracker.services.casework.cases import CASE_FIELDS, clean_case_values
from tracker.services.spreadsheets.import_help import column_help, template_row
from tracker.services.spreadsheets.imports import import_cases


@pytest.fixture
def cases(make_federation, make_case):
    fr = make_federation(code="FR-EXP", country="FR")
    es = make_federation(code="ES-EXP", country="ES")
    make_case(federation=fr, ref="FR-1", name="=HYPERLINK(\"http://evil.example\")", national_id="+33 123",
              transfer_date=date(2012, 6, 1), transfer_type=TransferType.RESCUE)
    make_case(federation=fr, ref="FR-2", name="Boulangerie", legal_form="@SCOP", transfer_date=date(2016, 3, 1),
              exit_date=date(2019, 4, 1), exit_reason=ExitReason.LIQUIDATION, last_verified_on=None,
              contact_email="secret@example.org", notes="private notes")
    make_case(federation=fr, ref="FR-3", name="Chantier", transfer_date=date(2019, 9, 1))
    make_case(federation=es, ref="ES-1", name="Cooperativa", country="ES", transfer_date=date(2014, 1, 15))
    return fr, es


def refs(rows: list) -> list[str]:
    return [row[0] for row in rows[1:]]


def test_the_list_page_links_to_the_export_of_the_current_filters(client, login, cases):
    login(Role.ADMIN)
    html = client.get("/cases/?status=open&sort=name&dir=desc").get_data(as_text=True)
    assert "/cases/export.csv?sort=name&amp;dir=desc&amp;status=open" in html
    assert "/cases/export.xlsx?sort=name&amp;dir=desc&amp;status=open" in html


def test_the_csv_export_has_exactly_the_filtered_rows_in_the_lists_order(client, login, cases):
    fr, _ = cases
    login(Role.ADMIN)
    response = client.get(f"/cases/export.csv?federation={fr.id}&status=open&sort=transfer_date&dir=desc")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="cases-')
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = read_csv(response.data)
    assert rows[0] == list(CASE_FIELDS)
    assert refs(rows) == ["FR-3", "FR-1"]


def test_the_xlsx_export_has_the_same_rows_with_real_dates(client, login, cases):
    fr, _ = cases
    login(Role.ADMIN)
    response = client.get(f"/cases/export.xlsx?federation={fr.id}&q=bou")
    assert response.status_code == 200 and response.mimetype == XLSX
    rows = read_xlsx(response.data)
    assert rows[0] == tuple(CASE_FIELDS)
    assert refs(rows) == ["FR-2"]
    assert rows[1][CASE_FIELDS.index("exit_date")].date() == date(2019, 4, 1)


def test_staff_export_only_their_federation_whatever_the_query_says(client, login, cases):
    fr, es = cases
    login(Role.STAFF, federation=fr)
    assert refs(read_csv(client.get(f"/cases/export.csv?federation={es.id}").data)) == ["FR-1", "FR-2", "FR-3"]
    assert "ES-1" not in str(read_xlsx(client.get("/cases/export.xlsx").data))


def test_the_export_leaves_out_personal_data_and_deleted_cases(client, login, cases):
    fr, _ = cases
    deleted = db.session.scalar(db.select(Case).where(Case.ref == "FR-3"))
    deleted.deleted_at = date(2025, 1, 1)
    db.session.commit()
    login(Role.ADMIN)
    data = client.get(f"/cases/export.csv?federation={fr.id}&show_deleted=y").data
    assert b"secret@example.org" not in data and b"private notes" not in data
    assert refs(read_csv(data)) == ["FR-1", "FR-2"]


def test_researchers_may_export_too(client, login, cases):
    login(Role.RESEARCHER)
    assert refs(read_csv(client.get("/cases/export.csv").data)) == ["ES-1", "FR-1", "FR-2", "FR-3"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cells_that_would_run_as_formulas_are_neutralised(client, login, cases, fmt):
    login(Role.ADMIN)
    data = client.get(f"/cases/export.{fmt}?q=FR-").data
    if fmt == "csv":
        text = data.decode("utf-8-sig")
        assert "'=HYPERLINK" in text and "'+33 123" in text and "'@SCOP" in text
        assert ",=HYPERLINK" not in text and ',"=HYPERLINK' not in text
    else:
        sheet = load_workbook(io.BytesIO(data)).worksheets[0]
        cell = sheet.cell(row=2, column=2)
        assert cell.value == '=HYPERLINK("http://evil.example")' and cell.data_type == "s" and cell.quotePrefix


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imports_again_unchanged(client, login, cases, fmt):
    fr, _ = cases
    login(Role.STAFF, federation=fr)
    data = client.get(f"/cases/export.{fmt}?sort=name").data
    before = {c.ref: (c.version, c.name, c.national_id, c.legal_form) for c in db.session.scalars(db.select(Case))}
    result = import_cases(None, fr, data, f"export.{fmt}", dry_run=False)
    assert result.problems == () and (result.created, result.updated, result.unchanged) == (0, 0, 3)
    db.session.commit()
    after = {c.ref: (c.version, c.name, c.national_id, c.legal_form) for c in db.session.scalars(db.select(Case))}
    assert after == before


def test_an_invalid_filter_is_left_out_of_the_export_as_it_is_of_the_list(client, login, cases):
    login(Role.ADMIN)
    assert refs(read_csv(client.get("/cases/export.csv?year_from=abc&country=ES").data)) == ["ES-1"]


def test_anonymous_users_cannot_export(client, cases):
    assert client.get("/cases/export.csv").status_code == 302


# --- template and help ------------------------------------------------------------------------

def test_the_csv_template_has_the_columns_and_an_example_row_that_is_refused(client, login, make_federation):
    fed = make_federation()
    login(Role.STAFF, federation=fed)
    response = client.get("/cases/import/template.csv")
    assert response.status_code == 200 and 'filename="cases-template.csv"' in response.headers["Content-Disposition"]
    rows = read_csv(response.data)
    assert rows[0] == list(CASE_FIELDS) and len(rows) == 2
    assert rows[1][:4] == ["EXAMPLE-1", "Atelier Coopératif du Nord", "552100554", "FR"]
    result = import_cases(None, fed, response.data, "template.csv", dry_run=True)
    # The example shows the format; imported by mistake it would become a case of the federation.
    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (2, "ref", "this is the example row of the blank template: delete it and enter your own cases")]
    edited = response.data.replace(b"EXAMPLE-1", b"OWN-1")
    assert import_cases(None, fed, edited, "template.csv", dry_run=True).created == 1  # otherwise it passes


def test_the_xlsx_template_has_date_cells_and_a_notes_sheet(client, login, make_federation):
    fed = make_federation()
    login(Role.ADMIN)
    data = client.get("/cases/import/template.xlsx").data
    rows = read_xlsx(data)
    assert rows[0] == tuple(CASE_FIELDS)
    assert rows[1][CASE_FIELDS.index("transfer_date")].date() == date(2016, 5, 2)
    notes = read_xlsx(data, sheet=1)
    assert [line[0] for line in notes[1:len(CASE_FIELDS) + 1]] == list(CASE_FIELDS)
    assert "rescue (Rescue (difficulty or insolvency))" in notes[1 + CASE_FIELDS.index("transfer_type")][2]
    assert [p.column for p in import_cases(None, fed, data, "template.xlsx", dry_run=True).problems] == ["ref"]


def test_the_help_page_describes_every_column_and_its_allowed_values(client, login):
    login(Role.STAFF)
    html = client.get("/cases/import/help").get_data(as_text=True)
    for name in CASE_FIELDS:
        assert f'id="column-{name}"' in html, name
    transfer = text_of(html, "column-transfer_type")
    assert "transfer_type yes one of the values listed" in transfer
    for value, label in vocabulary.TRANSFER_TYPES.items():
        assert f"{value} : {label}" in transfer
    exit_reason = text_of(html, "column-exit_reason")
    assert "with exit_date" in exit_reason
    assert all(f"{code} : {label}" in exit_reason for code, label in vocabulary.EXIT_REASONS.items())
    assert "date YYYY-MM-DD (or a date cell in XLSX)" in text_of(html, "column-transfer_date")
    assert "for open cases" in text_of(html, "column-last_verified_on")
    assert "at most 64 characters" in text_of(html, "column-ref")
    country = text_of(html, "column-country")
    assert "FR France" in country and "IT Italy" in country
    nace = text_of(html, "column-nace")
    assert "25.62 Machining" in nace and "C Manufacturing" in nace


def test_researchers_may_read_the_help_but_not_download_the_template(client, login):
    login(Role.RESEARCHER)
    assert client.get("/cases/import/help").status_code == 200
    assert client.get("/cases/import/template.csv").status_code == 403


def test_the_help_lists_exactly_what_the_validator_accepts():
    valid = {name: value for name, value in zip(CASE_FIELDS, template_row(), strict=True)}

    def problems(name: str, value: object) -> list[str]:
        return clean_case_values({**valid, name: value})[1].get(name, [])

    columns = column_help()
    assert [c.name for c in columns] == list(CASE_FIELDS) and all(c.description for c in columns)
    assert clean_case_values(valid)[1] == {}
    for column in columns:
        if column.values:
            closed = {"exit_date": date(2020, 1, 1), "last_verified_on": None}
            for value, _ in column.values:
                extra = closed if column.name == "exit_reason" else {}
                assert clean_case_values({**valid, **extra, column.name: value.upper()})[1] == {}, value
            assert problems(column.name, "not-a-value")
        if column.kind.startswith("date"):
            assert problems(column.name, "01/02/2017") and not problems(column.name, "2017-03-01")
        if column.max_length:
            assert problems(column.name, "X" * (column.max_length + 1))
        required_here = column.required in ("yes", "for open cases")  # the example is an open case
        assert required_here == bool(problems(column.name, None)), column.name
    assert "is required when there is an exit date" in " ".join(
        clean_case_values({**valid, "exit_date": date(2020, 1, 1), "last_verified_on": None})[1]["exit_reason"])


def test_the_xlsx_template_and_status_sheet_carry_drop_downs_and_date_checks(client, login, make_federation,
                                                                            make_case):
    from io import BytesIO

    from openpyxl import load_workbook

    fed = make_federation()
    make_case(federation=fed, last_verified_on=date(2016, 1, 1))
    login(Role.STAFF, federation=fed)

    def rules(data: bytes) -> dict[str, tuple[str, str | None, str | None]]:
        sheet = load_workbook(BytesIO(data)).worksheets[0]
        header = [cell.value for cell in sheet[1]]
        out = {}
        for validation in sheet.data_validations.dataValidation:
            column = header[next(iter(validation.sqref.ranges)).min_col - 1]
            out[column] = (validation.type, validation.formula1, validation.prompt)
        return out

    template = rules(client.get("/cases/import/template.xlsx").data)
    assert template["transfer_type"][:2] == ("list", '"succession,rescue,conversion,other"')
    assert template["exit_reason"][0] == "list" and template["transfer_date"][0] == "date"
    assert template["transfer_date"][2]  # the column's help as the cell's input message
    status = rules(client.get("/cases/follow-up/status-check.xlsx").data)
    assert status["exit_reason"][0] == "list" and status["operating_on"][0] == "date"
