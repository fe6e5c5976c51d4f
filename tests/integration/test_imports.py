"""Case import (services.spreadsheets.imports): the oracle file, dry runs, re-imports, and every kind of bad
input, each checked for the exact row and column reported and for nothing written."""

from __future__ import annotations

import io
import random
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, update

from tests.conftest import ORACLE_DIR
from tracker.extensions import db
from tracker.models import AuditEntry, Case, ExitReason, Role, StatusCheck
from tracker.services.analytics import data_version
from tracker.services.casework.cases import CASE_FIELDS
from tracker.services.errors import EditConflict, PermissionDenied
from tracker.services.spreadsheets import imports
from tracker.services.spreadsheets.imports import DEFAULT_MAX_BYTES, ImportProblem, ImportResult, import_cases

TODAY = date(2025, 6, 30)


def case_row(**fields: str) -> dict[str, str]:
    """A valid open case in the import schema; keyword arguments override cells."""
    row = {"ref": "R-1", "name": "Coopérative Alpha", "national_id": "", "country": "FR", "region": "",
           "nace": "25.62", "employees": "12", "transfer_date": "2015-03-01", "transfer_type": "succession",
           "legal_form": "SCOP", "registered_on": "", "last_verified_on": "2024-12-31", "exit_date": "",
           "exit_reason": "", "founded_on": ""}
    row.update(fields)
    return row


def csv_bytes(rows: list[dict[str, str]], columns: tuple[str, ...] | list[str] = CASE_FIELDS,
              delimiter: str = ",", bom: bool = False) -> bytes:
    lines = [delimiter.join(columns)]
    lines += [delimiter.join(row.get(column, "") for column in columns) for row in rows]
    return ("\ufeff" if bom else "").encode() + ("\r\n".join(lines) + "\r\n").encode("utf-8")


def counts() -> tuple[int, int, int]:
    """(cases, audit entries, data version): what a write would change."""
    return (db.session.scalar(select(func.count(Case.id))), db.session.scalar(select(func.count(AuditEntry.id))),
            data_version.current())


def run(fed, data: bytes, filename: str = "cases.csv", dry_run: bool = False, actor=None) -> ImportResult:
    result = import_cases(actor, fed, data, filename, dry_run=dry_run, today=TODAY)
    if result.ok and not dry_run:
        db.session.commit()
    else:
        db.session.rollback()
    return result


def where(result: ImportResult) -> set[tuple[int, str]]:
    return {(problem.row, problem.column) for problem in result.problems}


@pytest.fixture
def fed(make_federation):
    return make_federation(code="IMP", country="FR")


def rejected(fed, data: bytes, expected: set[tuple[int, str]], fragment: str, filename: str = "cases.csv",
             existing: int = 0) -> ImportResult:
    """Import a bad file: the report names exactly `expected` (row, column), one message contains
    `fragment`, and nothing was written."""
    before = counts()
    result = run(fed, data, filename)
    assert where(result) == expected, result.problems
    assert any(fragment in problem.message for problem in result.problems), result.problems
    assert (result.created, result.updated, result.unchanged) == (0, 0, 0)
    assert counts() == before
    assert before[0] == existing
    return result


# --- the good paths --------------------------------------------------------------------------------

def test_oracle_file_imports_600_cases_without_a_problem(fed):
    data = (ORACLE_DIR / "cases.csv").read_bytes()
    result = import_cases(None, fed, data, "cases.csv", dry_run=False)
    db.session.commit()
    assert result.problems == ()
    assert (result.created, result.updated, result.unchanged, result.rows) == (600, 0, 0, 600)
    assert counts()[:2] == (600, 600)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "create")).first()
    assert entry.context == "import cases.csv" and entry.table_name == "cases"
    case = db.session.get(Case, entry.row_id)
    assert entry.changes["ref"] == [None, case.ref]
    assert case.federation_id == fed.id and case.version == 1


def test_dry_run_reports_what_it_would_do_and_writes_nothing(fed):
    before = counts()
    result = run(fed, csv_bytes([case_row(ref="A"), case_row(ref="B")]), dry_run=True)
    assert result.ok and result.dry_run
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert counts() == before


def test_reimport_updates_and_audits_the_changed_case_and_leaves_the_others_alone(fed):
    rows = [case_row(ref="A"), case_row(ref="B"), case_row(ref="C")]
    assert run(fed, csv_bytes(rows)).created == 3
    rows[1] = case_row(ref="B", employees="30", exit_date="2024-01-31", exit_reason="sold",
                       last_verified_on="2023-12-31")
    result = run(fed, csv_bytes(rows), filename="second.csv")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    cases = {case.ref: case for case in db.session.scalars(select(Case))}
    assert cases["B"].employees == 30 and cases["B"].exit_reason == ExitReason.SOLD
    assert cases["B"].version == 2 and cases["A"].version == 1 and cases["C"].version == 1
    updates = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).all()
    assert len(updates) == 1
    assert updates[0].row_id == cases["B"].id and updates[0].context == "import second.csv"
    assert updates[0].changes == {"employees": [12, 30], "exit_date": [None, "2024-01-31"],
                                  "exit_reason": [None, "sold"], "last_verified_on": ["2024-12-31", "2023-12-31"]}
    timeline = db.session.scalars(select(StatusCheck)).all()
    assert [(c.case_id, c.checked_on, c.outcome, c.source) for c in timeline] == [
        (cases["B"].id, date(2024, 1, 31), "sold", "import second.csv")]


def test_reimport_that_clears_an_exit_records_the_withdrawal_in_the_timeline(fed):
    run(fed, csv_bytes([case_row(exit_date="2020-05-31", exit_reason="liquidation", last_verified_on="")]))
    result = run(fed, csv_bytes([case_row(last_verified_on="2024-12-31")]))
    assert result.updated == 1
    case = db.session.scalar(select(Case))
    assert (case.exit_date, case.exit_reason, case.last_verified_on) == (None, None, date(2024, 12, 31))
    check = db.session.scalar(select(StatusCheck))
    assert (check.case_id, check.checked_on, check.outcome) == (case.id, date(2020, 5, 31), "exit_withdrawn")


def test_reimport_without_an_optional_column_keeps_that_field(fed):
    run(fed, csv_bytes([case_row(national_id="123 456 789", legal_form="SCOP")]))
    columns = [c for c in CASE_FIELDS if c not in ("national_id", "legal_form")]
    result = run(fed, csv_bytes([case_row()], columns=columns))
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    case = db.session.scalar(select(Case))
    assert (case.national_id, case.legal_form) == ("123 456 789", "SCOP")


def test_import_never_touches_another_federations_case(fed, make_federation, make_case):
    other = make_federation(code="OTHER")
    theirs = make_case(other, ref="R-1", employees=5)
    result = run(fed, csv_bytes([case_row(ref="R-1", employees="99")]))
    assert (result.created, result.updated) == (1, 0)
    db.session.refresh(theirs)
    assert theirs.employees == 5 and theirs.version == 1
    assert db.session.scalar(select(Case).where(Case.federation_id == fed.id)).employees == 99


def test_a_case_changed_by_someone_else_during_the_import_aborts_it(fed, make_case, monkeypatch):
    case = make_case(fed, ref="A", employees=5)
    validate = imports._plan

    def validate_then_someone_edits(*args, **kwargs):
        plan = validate(*args, **kwargs)
        db.session.execute(update(Case.__table__).where(Case.__table__.c.id == case.id).values(version=2))
        return plan

    monkeypatch.setattr(imports, "_plan", validate_then_someone_edits)
    with pytest.raises(EditConflict):
        import_cases(None, fed, csv_bytes([case_row(ref="B"), case_row(ref="A", employees="50")]), "x.csv",
                     dry_run=False, today=TODAY)
    db.session.rollback()
    assert counts()[:2] == (1, 0)
    db.session.refresh(case)
    assert case.employees == 5


def test_staff_of_another_federation_may_not_import(fed, make_user, make_federation):
    staff = make_user(Role.STAFF, federation=make_federation(code="ELSE"))
    with pytest.raises(PermissionDenied):
        import_cases(staff, fed, csv_bytes([case_row()]), "cases.csv", dry_run=False, today=TODAY)
    assert counts()[0] == 0


def test_staff_import_into_own_federation_records_who(fed, make_user):
    staff = make_user(Role.STAFF, federation=fed)
    assert run(fed, csv_bytes([case_row()]), actor=staff).created == 1
    case = db.session.scalar(select(Case))
    assert case.created_by_id == staff.id
    assert db.session.scalar(select(AuditEntry.user_id).where(AuditEntry.table_name == "cases",
                                                              AuditEntry.row_id == case.id)) == staff.id


def test_bom_and_semicolon_file_imports(fed):
    data = csv_bytes([case_row(ref="A"), case_row(ref="B", name="Société; «Bêta»")], delimiter=";", bom=True)
    data = data.replace("Société; «Bêta»".encode(), '"Société; «Bêta»"'.encode())
    result = run(fed, data)
    assert result.ok and result.created == 2
    assert db.session.scalar(select(Case.name).where(Case.ref == "B")) == "Société; «Bêta»"


def test_header_names_are_trimmed_case_insensitive_in_any_order(fed):
    columns = list(reversed(CASE_FIELDS))
    row = case_row()
    header = ",".join(f" {name.upper()} " if name in ("ref", "exit_reason") else name for name in columns)
    data = (header + "\n" + ",".join(row[name] for name in columns) + "\n").encode()
    assert run(fed, data).created == 1
    assert db.session.scalar(select(Case.ref)) == "R-1"


def test_blank_rows_are_skipped_and_still_counted_in_row_numbers(fed):
    data = csv_bytes([case_row(ref="A"), {}, case_row(ref="B", country="XX")])
    data = data.replace(b"\r\n,,,,,,,,,,,,,,\r\n", b"\r\n,,,,,,,,,,,,,,\r\n\r\n")
    result = rejected(fed, data, {(5, "country")}, "'XX' is not an ISO 3166-1 alpha-2 country code")
    assert result.rows == 2


def test_xlsx_with_real_date_cells_and_float_employees_imports(fed):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(CASE_FIELDS))
    sheet.append(["X-1", "Coop X", None, "FR", None, 25.62, 12.0, datetime(2015, 3, 1), "rescue", None,
                  date(2015, 3, 1), datetime(2024, 12, 31), None, None])
    sheet.append([12345, "Coop Y", 732829320, "IT", None, "C", 7, date(2012, 8, 12), "conversion", None,
                  None, None, date(2015, 5, 19), "liquidation"])
    sheet["H2"].number_format = sheet["H3"].number_format = "dd/mm/yyyy"
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = run(fed, buffer.getvalue(), filename="cases.xlsx")
    assert result.problems == () and result.created == 2
    x, y = (db.session.scalar(select(Case).where(Case.ref == ref)) for ref in ("X-1", "12345"))
    assert (x.transfer_date, x.last_verified_on, x.employees, x.nace) == (date(2015, 3, 1), date(2024, 12, 31),
                                                                          12, "25.62")
    assert (y.national_id, y.exit_date, y.registered_on) == ("732829320", date(2015, 5, 19), date(2012, 8, 12))


def test_leading_apostrophe_before_a_formula_character_is_removed_others_kept(fed):
    data = csv_bytes([case_row(ref="A", name="'=1+2"), case_row(ref="B", name="'t Hooft", legal_form="'-SCOP")])
    assert run(fed, data).created == 2
    names = dict(db.session.execute(select(Case.ref, Case.name)).all())
    assert names == {"A": "=1+2", "B": "'t Hooft"}
    assert db.session.scalar(select(Case.legal_form).where(Case.ref == "B")) == "-SCOP"


# --- bad rows: exact row and column, nothing written ------------------------------------------------

def test_future_transfer_date_is_rejected(fed):
    rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="B", transfer_date="2025-07-01",
                                                          last_verified_on="")]),
             {(3, "transfer_date"), (3, "last_verified_on")}, "2025-07-01 is in the future")


def test_future_verification_and_exit_dates_are_rejected(fed):
    rejected(fed, csv_bytes([case_row(ref="A", last_verified_on="2025-07-01"),
                             case_row(ref="B", exit_date="2026-01-01", exit_reason="liquidation",
                                      last_verified_on="")]),
             {(2, "last_verified_on"), (3, "exit_date")}, "is in the future")


def test_exit_before_transfer_is_rejected(fed):
    rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="B", exit_date="2014-12-31", exit_reason="liquidation",
                                                          last_verified_on="")]),
             {(3, "exit_date")}, "exit 2014-12-31 is before the transfer (2015-03-01)")


def test_verification_after_exit_is_rejected(fed):
    rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="B", exit_date="2020-01-31", exit_reason="sold",
                                                          last_verified_on="2021-06-30")]),
             {(3, "last_verified_on")}, "after its exit on 2020-01-31")


def test_exit_without_reason_is_rejected(fed):
    rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="B", exit_date="2020-01-31", last_verified_on="")]),
             {(3, "exit_reason")}, "is required when there is an exit date")


def test_unknown_country_is_rejected(fed):
    rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="B", country="XX")]),
             {(3, "country")}, "'XX' is not an ISO 3166-1 alpha-2 country code")


def test_unknown_nace_is_rejected(fed):
    rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="B", nace="99.99")]),
             {(3, "nace")}, "is not in the NACE Rev. 2 classification")


def test_unknown_transfer_type_is_rejected(fed):
    rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="B", transfer_type="buyout")]),
             {(3, "transfer_type")}, "'buyout' is not one of: succession, rescue, conversion, other")


@pytest.mark.parametrize(("written", "hint"), [
    ("Transmission", "for “Succession (no successor)”, write succession"),  # the French pages' word
    ("salvataggio", "for “Rescue (difficulty or insolvency)”, write rescue"),  # Italian, any case
    ("Reprise (entreprise en difficulte ou en procedure collective)",  # the whole label, accents aside
     "for “Rescue (difficulty or insolvency)”, write rescue"),
    ("Otro", "for “Other”, write other"),
])
def test_a_transfer_type_written_in_the_pages_words_is_told_its_code(fed, written, hint):
    """Staff fill the sheet with the words the pages show them, in their language: the import
    still takes codes only (the schema), and says which code those words stand for."""
    rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="B", transfer_type=written)]), {(3, "transfer_type")},
             f"'{written[:40]}' is not one of: succession, rescue, conversion, other; {hint}")  # the value cut at 40


def test_the_code_for_the_pages_words_is_told_in_the_readers_language(fed):
    from flask_babel import force_locale

    with force_locale("fr"):
        result = run(fed, csv_bytes([case_row(ref="B", transfer_type="Transmission")]))
    assert result.problems[0].message == (
        "«\u00a0Transmission\u00a0» ne fait pas partie de\u00a0: succession, rescue, conversion, other\u00a0; "
        "pour «\u00a0Transmission (faute de repreneur)\u00a0», écrivez succession")


def test_duplicate_ref_in_the_file_is_reported_on_its_second_row(fed):
    result = rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="B"), case_row(ref="A")]),
                      {(4, "ref")}, "ref A already appears in row 2")
    assert len(result.problems) == 1


def test_negative_employees_is_rejected(fed):
    rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="B", employees="-3")]),
             {(3, "employees")}, "must be 0 or more")


def test_malformed_date_is_rejected(fed):
    rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="B", transfer_date="03/2015")]),
             {(3, "transfer_date")}, "'03/2015' is not a date in the form YYYY-MM-DD")


def test_every_problem_of_every_row_is_reported(fed):
    rows = [case_row(ref="A", country="XX", employees="many"), case_row(ref="B"),
            case_row(ref="", transfer_type="", exit_date="2016-01-01", last_verified_on="")]
    rejected(fed, csv_bytes(rows),
             {(2, "country"), (2, "employees"), (4, "ref"), (4, "transfer_type"), (4, "exit_reason")},
             "is required")


def test_ref_of_a_deleted_case_is_rejected(fed, make_case):
    make_case(fed, ref="GONE", deleted_at=datetime(2025, 1, 1))
    rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="GONE")]), {(3, "ref")},
             "case GONE was deleted; restore it first", existing=1)


def test_an_invalid_row_rolls_back_updates_too(fed, make_case):
    case = make_case(fed, ref="A", employees=5)
    rejected(fed, csv_bytes([case_row(ref="A", employees="50"), case_row(ref="B", nace="ZZ")]),
             {(3, "nace")}, "is not a NACE Rev. 2 code", existing=1)
    db.session.refresh(case)
    assert case.employees == 5 and case.version == 1


def test_value_under_a_column_without_header_is_rejected(fed):
    lines = csv_bytes([case_row(ref="A"), case_row(ref="B")]).decode().splitlines()
    lines[2] += ",surprise"
    rejected(fed, "\n".join(lines).encode(), {(3, "column P")}, "has a value but no column name")


# --- bad files ------------------------------------------------------------------------------------

def test_empty_file_is_rejected(fed):
    rejected(fed, b"", {(0, "")}, "the file is empty")


def test_blank_file_with_only_a_bom_is_rejected(fed):
    rejected(fed, "\ufeff\r\n\r\n".encode(), {(0, "")}, "the file is empty")


def test_header_only_file_is_rejected(fed):
    rejected(fed, csv_bytes([]), {(0, "")}, "the file has a header row but no case rows")


def test_missing_required_column_is_named(fed):
    columns = [c for c in CASE_FIELDS if c != "transfer_type"]
    rejected(fed, csv_bytes([case_row()], columns=columns), {(1, "transfer_type")}, "required column is missing")


def test_extra_column_is_named(fed):
    rejected(fed, csv_bytes([case_row()], columns=[*CASE_FIELDS, "comment"]), {(1, "comment")}, "unknown column")


def test_duplicate_column_is_named(fed):
    rejected(fed, csv_bytes([case_row()], columns=[*CASE_FIELDS, "Name"]), {(1, "name")},
             "appears twice in the header (columns B and P)")


def test_file_without_a_header_row_is_rejected(fed):
    data = b"R-1,Coop,,FR,,25.62,12,2015-03-01,succession,SCOP,,2024-12-31,,\r\n"
    rejected(fed, data, {(1, "")}, "the first row must name the columns")


def test_a_binary_file_is_rejected_with_a_hint(fed):
    data = csv_bytes([case_row()]) + b"\x00\x01\x02\x89PNG"
    result = rejected(fed, data, {(0, "")}, "not UTF-8")
    assert "CSV UTF-8" in str(result.problems[0])


def test_20_mb_of_garbage_is_rejected_before_any_row(fed):
    garbage = random.Random(2).randbytes(DEFAULT_MAX_BYTES)
    rejected(fed, garbage, {(0, "")}, "not UTF-8")


def test_20_mb_of_text_garbage_is_rejected_with_a_few_problems(fed):
    """Text that is no table (random letters, delimiters, quotes and newlines): a bounded report,
    stopped at the first line that cannot be a row of cases, nothing written."""
    rng = random.Random(3)
    garbage = bytes(rng.choice(b"abcdefgh ,;\"\n") for _ in range(DEFAULT_MAX_BYTES // 64)) * 64
    result = run(fed, garbage)
    assert not result.ok and len(result.problems) <= 20
    assert counts()[0] == 0


def test_file_over_the_size_limit_is_refused(fed):
    data = csv_bytes([case_row()])
    data += b" " * (DEFAULT_MAX_BYTES + 1 - len(data))
    rejected(fed, data, {(0, "")}, "over the limit of 20.0 MB")


def test_size_limit_is_configurable(fed):
    result = import_cases(None, fed, csv_bytes([case_row()]), "cases.csv", dry_run=True, today=TODAY, max_bytes=100)
    assert "over the limit" in result.problems[0].message


def test_broken_xlsx_is_rejected(fed):
    rejected(fed, b"PK\x03\x04" + random.Random(4).randbytes(5000), {(0, "")}, "not a readable XLSX workbook",
             filename="cases.xlsx")


def test_old_excel_file_is_rejected_with_a_hint(fed):
    rejected(fed, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), {(0, "")}, "(.xls) are not supported",
             filename="cases.xls")


def test_problem_text_reads_row_column_message():
    assert str(ImportProblem(3, "employees", "must be 0 or more")) == "row 3, column employees: must be 0 or more"
    assert str(ImportProblem(0, "", "the file is empty")) == "the file is empty"


def test_a_file_holding_nul_characters_is_refused_with_its_line(fed):
    """PostgreSQL cannot store NUL in text; such a CSV is garbage, refused whole before any row."""
    result = rejected(fed, csv_bytes([case_row(ref="A"), case_row(ref="B", name="Coop\x00Beta")]), {(0, "")},
                      "NUL characters (first on line 3)")
    assert len(result.problems) == 1


def test_nul_characters_in_baselines_are_refused():
    from tracker.services.analytics.baselines import import_baselines

    result = import_baselines(None, b"series,country\ninsee\x00,FR\n")
    assert result.problems == ("the file holds NUL characters: it is not a text CSV file",)
