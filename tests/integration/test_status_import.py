"""The annual status check (services.casework.completeness and services.spreadsheets.status_import): which cases are
stale, the sheet, and the upload back: one follow-up per filled row, all or nothing, every
problem at its row and column."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import AuditEntry, Case, ExitReason, Role, StatusCheck
from tracker.services.casework import completeness
from tracker.services.spreadsheets.status_import import (
    CENSUS_COLUMNS,
    STATUS_COLUMNS,
    import_status_checks,
    write_status_check,
)

TODAY = date(2025, 6, 30)


@pytest.fixture
def fed(make_federation):
    return make_federation(code="FR-S", country="FR")


@pytest.fixture
def stale(fed, make_case):
    """Open cases: two stale (one never verified), one recent; a closed one."""
    return {
        "old": make_case(federation=fed, ref="OLD", last_verified_on=date(2024, 6, 29)),
        "never": make_case(federation=fed, ref="NEVER", last_verified_on=None),
        "recent": make_case(federation=fed, ref="RECENT", last_verified_on=date(2024, 6, 30)),
        "closed": make_case(federation=fed, ref="CLOSED", last_verified_on=None, exit_date=date(2020, 1, 1),
                            exit_reason=ExitReason.SOLD),
    }


def sheet(rows: list[dict[str, str]], columns=STATUS_COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return buffer.getvalue().encode()


def row(ref: str, federation: str = "FR-S", **fields: str) -> dict[str, str]:
    return {"federation": federation, "ref": ref, **fields}


def run(actor, data: bytes, dry_run: bool = False):
    result = import_status_checks(actor, data, "check.csv", dry_run=dry_run, today=TODAY)
    if result.ok and not dry_run:
        db.session.commit()
    else:
        db.session.rollback()
    return result


def where(result) -> set[tuple[int, str]]:
    return {(p.row, p.column) for p in result.problems}


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(StatusCheck)),
            db.session.scalar(select(func.count()).select_from(AuditEntry)))


# --- completeness ---------------------------------------------------------------------------------

def test_the_cutoff_is_the_same_day_a_year_before():
    assert completeness.verification_cutoff(date(2025, 6, 30)) == date(2024, 6, 30)
    assert completeness.verification_cutoff(date(2024, 2, 29)) == date(2023, 2, 28)


def test_share_verified_per_federation(fed, stale, make_user, make_federation, make_case):
    other = make_federation(code="ES-S", country="ES")
    make_case(federation=other, last_verified_on=date(2025, 1, 1))
    make_federation(code="EMPTY")
    admin = make_user(Role.ADMIN)
    rows = {r.code: r for r in completeness.completeness_by_federation(admin, today=TODAY)}
    assert (rows["FR-S"].open_cases, rows["FR-S"].verified, rows["FR-S"].stale) == (3, 1, 2)
    assert rows["FR-S"].share_verified == pytest.approx(1 / 3)
    assert rows["ES-S"].share_verified == 1.0 and rows["EMPTY"].share_verified is None
    total = completeness.total(list(rows.values()))
    assert (total.open_cases, total.verified) == (4, 2)
    staff = make_user(Role.STAFF, federation=fed)
    assert [r.code for r in completeness.completeness_by_federation(staff, today=TODAY)] == ["FR-S"]


def test_stale_cases_are_open_unverified_for_12_months_never_verified_first(fed, stale, make_user, make_case):
    make_case(federation=fed, ref="GONE", last_verified_on=None, deleted_at=date(2025, 1, 1))
    admin = make_user(Role.ADMIN)
    cases = db.session.scalars(completeness.stale_cases_query(admin, today=TODAY)).all()
    assert [c.ref for c in cases] == ["NEVER", "OLD"]


def test_the_sheet_lists_the_stale_cases_with_empty_columns_to_fill(fed, stale, make_user):
    buffer = io.BytesIO()
    assert write_status_check(buffer, make_user(Role.STAFF, federation=fed), "csv", today=TODAY) == 2
    rows = list(csv.reader(io.StringIO(buffer.getvalue().decode("utf-8-sig"))))
    assert rows[0] == list(STATUS_COLUMNS)
    assert [r[:2] for r in rows[1:]] == [["FR-S", "NEVER"], ["FR-S", "OLD"]]
    assert rows[2][5:] == ["2015-03-01", "2024-06-29", "", "", "", "", ""]


# --- the upload back ------------------------------------------------------------------------------

def test_filled_rows_record_follow_ups_blank_rows_are_skipped(fed, stale, make_user):
    staff = make_user(Role.STAFF, federation=fed)
    data = sheet([row("OLD", operating_on="2025-05-01", source="register"),
                  row("NEVER", exit_date="2023-04-01", exit_reason="Liquidation", note="court"),
                  row("RECENT")])
    result = run(staff, data)
    assert result.problems == ()
    assert (result.operating, result.exits, result.unchanged, result.blank, result.rows) == (1, 1, 0, 1, 3)
    old, never = db.session.get(Case, stale["old"].id), db.session.get(Case, stale["never"].id)
    assert old.last_verified_on == date(2025, 5, 1)
    assert (never.exit_date, never.exit_reason) == (date(2023, 4, 1), ExitReason.LIQUIDATION)
    checks = {c.case_id: c for c in db.session.scalars(select(StatusCheck))}
    assert (checks[old.id].outcome, checks[old.id].source, checks[old.id].recorded_by_id) == ("operating",
                                                                                             "register", staff.id)
    assert (checks[never.id].outcome, checks[never.id].source, checks[never.id].note) == (
        "liquidation", "annual status check check.csv", "court")
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions == ["follow_up", "follow_up"]


def test_dry_run_records_nothing(fed, stale):
    result = run(None, sheet([row("OLD", operating_on="2025-05-01")]), dry_run=True)
    assert result.operating == 1 and counts() == (0, 0)


def test_the_same_exit_again_is_unchanged(fed, stale):
    result = run(None, sheet([row("CLOSED", exit_date="2020-01-01", exit_reason="sold")]))
    assert (result.unchanged, result.exits, counts()) == (1, 0, (0, 0))


@pytest.mark.parametrize(("fields", "expected", "fragment"), [
    ({"operating_on": "2025-07-01"}, {(2, "operating_on")}, "2025-07-01 is in the future"),
    ({"operating_on": "05/2025"}, {(2, "operating_on")}, "is not a date in the form YYYY-MM-DD"),
    ({"operating_on": "2010-01-01"}, {(2, "operating_on")}, "is before the transfer (2015-03-01)"),
    ({"operating_on": "2025-01-01", "exit_date": "2025-01-01", "exit_reason": "sold"}, {(2, "operating_on")},
     "fill either operating_on, or exit_date and exit_reason, not both"),
    ({"exit_date": "2025-01-01"}, {(2, "exit_reason")}, "is required with exit_date"),
    ({"exit_reason": "sold"}, {(2, "exit_date")}, "is required with exit_reason"),
    ({"exit_date": "2025-01-01", "exit_reason": "vanished"}, {(2, "exit_reason")}, "'vanished' is not one of"),
    ({"exit_date": "2025-01-01", "exit_reason": "Cession à des non-associés"}, {(2, "exit_reason")},
     "is not one of: liquidation, dissolution, sold, merged, demutualised, other; for “Sold to non-members”, "
     "write sold"),
    ({"exit_date": "2024-01-01", "exit_reason": "sold"}, {(2, "exit_date")},
     "the case was confirmed operating on 2024-06-29, after this exit"),
    ({"source": "phone"}, {(2, "operating_on")}, "a source or note alone records nothing"),
])
def test_bad_rows_are_reported_at_their_column_and_nothing_is_recorded(fed, stale, fields, expected, fragment):
    data = sheet([row("OLD", **fields), row("NEVER", operating_on="2025-01-01")])
    result = run(None, data)
    assert where(result) == expected, result.problems
    assert any(fragment in p.message for p in result.problems), result.problems
    assert counts() == (0, 0) and db.session.get(Case, stale["never"].id).last_verified_on is None


def test_an_exit_for_a_case_that_already_exited_differently_is_refused(fed, stale):
    result = run(None, sheet([row("CLOSED", exit_date="2021-01-01", exit_reason="liquidation")]))
    assert where(result) == {(2, "exit_date")} and "already exited on 2020-01-01 (sold)" in result.problems[0].message


def test_operating_after_the_recorded_exit_is_refused(fed, stale):
    result = run(None, sheet([row("CLOSED", operating_on="2021-01-01")]))
    assert where(result) == {(2, "operating_on")} and "exited on 2020-01-01" in result.problems[0].message


def test_unknown_refs_and_federations_and_repeated_rows(fed, stale):
    result = run(None, sheet([row("NOPE", operating_on="2025-01-01"), row("OLD", federation="XX-NONE",
                                                                          operating_on="2025-01-01"),
                              row("OLD", operating_on="2025-01-01"), row("old", federation="fr-s",
                                                                         operating_on="2025-01-01"),
                              row("OLD", operating_on="2025-02-01")]))
    assert where(result) == {(2, "ref"), (3, "federation"), (5, "ref"), (6, "ref")}
    messages = [p.message for p in result.problems]
    assert "no case with ref NOPE in federation FR-S" in messages
    assert "'XX-NONE' is not a federation code" in messages
    assert "ref OLD already appears in row 4" in messages and counts() == (0, 0)


def test_staff_cannot_record_follow_ups_for_another_federation(fed, stale, make_user, make_federation, make_case):
    other = make_federation(code="IT-S", country="IT")
    theirs = make_case(federation=other, ref="THEIRS", country="IT", last_verified_on=date(2020, 1, 1))
    staff = make_user(Role.STAFF, federation=fed)
    result = run(staff, sheet([row("OLD", operating_on="2025-01-01"),
                               row("THEIRS", federation="IT-S", operating_on="2025-01-01")]))
    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (3, "federation", "IT-S is not your federation: you may only record follow-ups for your federation's cases")]
    assert counts() == (0, 0) and db.session.get(Case, theirs.id).last_verified_on == date(2020, 1, 1)


def test_header_problems(fed, stale):
    result = run(None, sheet([row("OLD")], columns=["federation", "ref", "operating", "exit_date", "exit_reason"]))
    assert where(result) == {(1, "operating"), (1, "operating_on")}


def test_the_descriptive_columns_may_be_dropped(fed, stale):
    data = sheet([row("OLD", operating_on="2025-01-01")], columns=["federation", "ref", "operating_on", "exit_date",
                                                                    "exit_reason"])
    assert run(None, data).operating == 1


def test_xlsx_with_date_cells_is_read(fed, stale):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(list(STATUS_COLUMNS))
    workbook.active.append(["FR-S", "OLD", "x", None, "FR", date(2015, 3, 1), None, date(2025, 2, 3)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = import_status_checks(None, buffer.getvalue(), "check.xlsx", dry_run=False, today=TODAY)
    assert result.operating == 1
    assert db.session.get(Case, stale["old"].id).last_verified_on == date(2025, 2, 3)


def test_a_file_that_is_not_a_spreadsheet(fed):
    result = run(None, b"\x89PNG\r\n\x1a\n\x00\x00")
    assert [p.row for p in result.problems] == [0] and "not UTF-8" in result.problems[0].message


# --- census sheets --------------------------------------------------------------------------------

CENSUS = date(2024, 12, 31)


def census_row(ref: str, census_date: str = "2024-12-31", **fields: str) -> dict[str, str]:
    return row(ref, census_date=census_date, **fields)


def test_a_census_sheet_names_its_census_and_counts_the_cases_it_settles(fed, stale, make_user):
    staff = make_user(Role.STAFF, federation=fed)
    data = sheet([census_row("OLD", "31/12/2024", operating_on="01/05/2025"),  # the French order
                  census_row("NEVER", exit_date="2025-01-10", exit_reason="liquidation"),
                  census_row("RECENT", operating_on="2024-09-01"),  # recorded, but before the census
                  census_row("CLOSED")], columns=CENSUS_COLUMNS)
    result = run(staff, data)
    assert result.problems == () and result.census_date == CENSUS
    assert (result.operating, result.exits, result.blank, result.settled) == (2, 1, 1, 2)
    checks = {c.case.ref: c for c in db.session.scalars(select(StatusCheck))}
    assert {ref: (c.checked_on, c.source) for ref, c in checks.items()} == {
        "OLD": (date(2025, 5, 1), "census of 2024-12-31 (check.csv)"),
        "NEVER": (date(2025, 1, 10), "census of 2024-12-31 (check.csv)"),
        "RECENT": (date(2024, 9, 1), "census of 2024-12-31 (check.csv)")}
    contexts = db.session.scalars(select(AuditEntry.context)).all()
    assert len(contexts) == 3 and all(c.endswith(": operating; census of 2024-12-31")
                                      or c.endswith(": liquidation; census of 2024-12-31") for c in contexts)


def test_a_status_check_sheet_has_no_census(fed, stale):
    result = run(None, sheet([row("OLD", operating_on="2025-05-01")]))
    assert result.census_date is None and result.settled == 0
    assert db.session.scalar(select(StatusCheck.source)) == "annual status check check.csv"


def test_the_census_date_most_rows_give_is_the_sheets_and_another_is_a_problem(fed, stale):
    data = sheet([census_row("OLD", "2024-12-30", operating_on="2025-05-01"), census_row("NEVER"),
                  census_row("RECENT")], columns=CENSUS_COLUMNS)
    result = run(None, data)
    assert result.census_date == CENSUS and counts() == (0, 0)
    assert [(p.row, p.column, p.ref, p.value, p.message) for p in result.problems] == [
        (2, "census_date", "OLD", "2024-12-30", "differs from the other rows' census date (2024-12-31)")]
    tie = run(None, sheet([census_row("OLD", "2024-12-30"), census_row("NEVER")], columns=CENSUS_COLUMNS))
    assert tie.census_date == date(2024, 12, 30) and where(tie) == {(3, "census_date")}  # the first one given


def test_every_row_of_a_census_gives_a_census_date_blank_rows_too(fed, stale):
    data = sheet([census_row("OLD", operating_on="2025-05-01"), census_row("NEVER", ""),
                  census_row("RECENT", "2025-07-01"), census_row("CLOSED", "31/12/24")], columns=CENSUS_COLUMNS)
    result = run(None, data)
    assert [(p.row, p.message) for p in result.problems] == [
        (3, "is required"), (4, "2025-07-01 is in the future"),
        (5, "'31/12/24' is not a date in the form YYYY-MM-DD")]  # a two-digit year is left unread
    assert counts() == (0, 0) and db.session.get(Case, stale["old"].id).last_verified_on == date(2024, 6, 29)


def test_a_census_xlsx_with_date_cells_is_read(fed, stale):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(list(CENSUS_COLUMNS))
    workbook.active.append(["FR-S", "OLD", "x", None, "FR", date(2015, 3, 1), None, date(2024, 12, 31),
                            date(2025, 2, 3)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = import_status_checks(None, buffer.getvalue(), "census.xlsx", dry_run=True, today=TODAY)
    assert (result.problems, result.census_date, result.operating, result.settled) == ((), CENSUS, 1, 1)
