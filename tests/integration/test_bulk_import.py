"""The command line's bulk import (services.spreadsheets.bulk): the same cases, audit entries and
problems as the upload's import of the same file, read from disk in batches; all or nothing once
the caller rolls back; only the file's identities looked up for possible duplicates."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, select, text

from tests.integration.test_imports import TODAY, case_row, csv_bytes
from tracker.extensions import db
from tracker.models import AuditEntry, Case
from tracker.services.errors import EditConflict
from tracker.services.spreadsheets import bulk, imports
from tracker.services.spreadsheets.imports import UnconfirmedDuplicates

COLUMNS = [c.key for c in Case.__table__.columns if c.key not in ("id", "created_at", "updated_at", "changed_in",
                                                                   "federation_id")]


@pytest.fixture
def fed(make_federation):
    return make_federation(code="BULK", country="FR")


def rows_of(federation) -> list[tuple]:
    cases = db.session.scalars(select(Case).where(Case.federation_id == federation.id).order_by(Case.ref)).all()
    return [tuple(getattr(case, name) for name in COLUMNS) for case in cases]


def audits_of(federation) -> list[tuple]:
    ids = {case_id: ref for case_id, ref in db.session.execute(
        select(Case.id, Case.ref).where(Case.federation_id == federation.id))}
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.table_name == "cases",
                                                          AuditEntry.row_id.in_(ids))).all()
    return sorted((ids[e.row_id], e.action, e.changes, e.context) for e in entries)


def bulk_run(fed, path, dry_run=False, confirm=False):
    result = bulk.import_file(None, fed, path, dry_run=dry_run, today=TODAY, confirm_distinct=confirm)
    if result.ok and not dry_run:
        db.session.commit()
    else:
        db.session.rollback()
    return result


def many(n: int, **fields) -> list[dict[str, str]]:
    return [case_row(ref=f"R-{i:05d}", name=f"Coopérative {i}", national_id=f"FR{i:09d}",
                     transfer_date=f"{2000 + i % 20}-0{1 + i % 9}-1{i % 10}", **fields) for i in range(n)]


def test_bulk_writes_what_the_upload_import_writes(make_federation, tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH", 7)  # several batches
    rows = [*many(30), case_row(ref="X", name="Fermée", exit_date="2020-01-01", exit_reason="liquidation",
                                last_verified_on="2019-06-30", region="FRK", registered_on="2014-01-01")]
    data = csv_bytes(rows, delimiter=";").decode().encode("cp1252")
    path = tmp_path / "cases.csv"
    path.write_bytes(data)
    web, cli = make_federation(code="WEB", country="FR"), make_federation(code="CLI", country="FR")
    uploaded = imports.import_cases(None, web, data, "cases.csv", dry_run=False, today=TODAY)
    db.session.commit()
    streamed = bulk_run(cli, path, confirm=True)  # the same cases as WEB's: possible duplicates
    assert streamed.ok, streamed.problems
    assert (streamed.created, streamed.rows, streamed.source, streamed.dates) == \
        (uploaded.created, uploaded.rows, uploaded.source, uploaded.dates) == (31, 31, streamed.source, uploaded.dates)
    assert streamed.source.encoding == "cp1252" and streamed.source.delimiter == ";"
    assert rows_of(cli) == rows_of(web)
    assert audits_of(cli) == audits_of(web)
    db.session.expire_all()
    closed = db.session.scalar(select(Case).where(Case.federation_id == cli.id, Case.ref == "X"))
    assert (closed.exit_date, closed.registered_on, closed.version) == (date(2020, 1, 1), date(2014, 1, 1), 1)


def test_a_reimport_updates_and_leaves_unchanged_as_the_upload_does(fed, tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH", 4)
    path = tmp_path / "cases.csv"
    path.write_bytes(csv_bytes(many(10)))
    assert bulk_run(fed, path).created == 10
    changed = many(10)
    changed[3]["employees"] = "99"
    path.write_bytes(csv_bytes(changed))
    result = bulk_run(fed, path)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 9)
    case = db.session.scalar(select(Case).where(Case.ref == "R-00003"))
    assert (case.employees, case.version) == (99, 2)


def test_a_problem_in_a_late_batch_leaves_nothing_after_rollback(fed, tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH", 5)
    rows = many(23)
    rows[21]["employees"] = "-1"
    rows[22]["ref"] = "R-00002"
    path = tmp_path / "cases.csv"
    path.write_bytes(csv_bytes(rows))
    result = bulk_run(fed, path)
    assert {(p.row, p.column) for p in result.problems} == {(23, "employees"), (24, "ref")}
    assert "ref R-00002 already appears in row 4" in str(result.problems)
    assert db.session.scalar(select(Case.id).where(Case.federation_id == fed.id)) is None
    assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.table_name == "cases")) is None


@pytest.mark.postgres
def test_a_ref_created_elsewhere_while_its_batch_waits_to_be_written_stops_the_import(fed, tmp_path, monkeypatch):
    """On PostgreSQL a batch is written while the next one is checked (`bulk._Writes`). Another
    user creating a case with one of the file's refs after its batch was looked up makes that
    batch's COPY fail: the import stops with the conflict, and the rollback leaves nothing of the
    file, the other user's case kept."""
    monkeypatch.setattr(bulk, "BATCH", 5)
    db.session.commit()  # the federation, for the other connection
    new_ids, calls = bulk._new_ids, []

    def someone_else_meanwhile(count: int) -> list[int]:
        calls.append(count)
        if len(calls) == 2:  # the second batch is checked and about to be written
            with db.engine.begin() as other:
                other.execute(text(
                    "INSERT INTO cases (federation_id, ref, name, country, transfer_date, transfer_type, "
                    "registered_on, created_at, updated_at, version) VALUES (:federation, 'R-00007', 'Ailleurs', "
                    "'FR', '2010-01-01', 'succession', '2010-01-01', now(), now(), 1)"), {"federation": fed.id})
        return new_ids(count)

    monkeypatch.setattr(bulk, "_new_ids", someone_else_meanwhile)
    path = tmp_path / "cases.csv"
    path.write_bytes(csv_bytes(many(17)))
    with pytest.raises(EditConflict, match="created by someone else during the import"):
        bulk.import_file(None, fed, path, dry_run=False, today=TODAY)
    db.session.rollback()
    assert db.session.execute(select(Case.ref, Case.name).where(Case.federation_id == fed.id)).all() == \
        [("R-00007", "Ailleurs")]
    assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.table_name == "cases")) is None
    monkeypatch.setattr(bulk, "_new_ids", new_ids)
    path.write_bytes(csv_bytes([row for row in many(17) if row["ref"] != "R-00007"]))
    assert bulk_run(fed, path).created == 16  # the connection serves the next import as before


def test_a_dry_run_writes_nothing(fed, tmp_path):
    path = tmp_path / "cases.csv"
    path.write_bytes(csv_bytes(many(5)))
    result = bulk_run(fed, path, dry_run=True)
    assert result.ok and result.created == 5 and result.dry_run
    assert db.session.scalar(select(Case.id)) is None


def test_an_unreadable_or_empty_file_is_one_problem(fed, tmp_path):
    path = tmp_path / "cases.csv"
    path.write_bytes(csv_bytes([case_row()]) + b"\x00\x01")
    assert "NUL characters (first on line 3)" in bulk_run(fed, path).problems[0].message
    path.write_bytes(b"\r\n\r\n")
    assert bulk_run(fed, path).problems[0].message == "the file is empty"
    path.write_bytes(csv_bytes([]))
    assert bulk_run(fed, path).problems[0].message == "the file has a header row but no case rows"


def test_dates_day_first_are_read_in_the_order_the_whole_file_shows(fed, tmp_path, monkeypatch):
    """The order is decided by the reading pass: a day above 12 in the last batch decides it for the first."""
    monkeypatch.setattr(bulk, "BATCH", 2)
    rows = [case_row(ref="A", name="Alpha", transfer_date="05/04/2013", last_verified_on="01/02/2024"),
            case_row(ref="B", name="Beta", transfer_date="06/04/2013"),
            case_row(ref="C", name="Gamma", transfer_date="04/25/2013")]
    path = tmp_path / "cases.csv"
    path.write_bytes(csv_bytes(rows))
    result = bulk_run(fed, path)
    assert result.ok and result.dates.order == "MDY", result.problems
    assert db.session.scalar(select(Case.transfer_date).where(Case.ref == "A")) == date(2013, 5, 4)


def test_duplicates_are_looked_up_for_the_files_identities_only(fed, make_federation, make_case, tmp_path):
    other = make_federation(code="OTHER", country="FR")
    make_case(federation=other, ref="O-1", name="Atelier du Nord", national_id="FR 552 100 554",
              transfer_date=date(2010, 5, 1))
    make_case(federation=other, ref="O-2", name="menuiserie dupont", national_id="123456789",
              transfer_date=date(2012, 5, 1))
    make_case(federation=other, ref="O-3", name="Unrelated", national_id="999")
    db.session.commit()
    rows = [case_row(ref="N-1", name="Boulangerie", national_id="123 456 789"),  # id written otherwise
            case_row(ref="N-2", name="Menuiserie Dupont", transfer_date="2012-09-01"),  # same name, same year
            case_row(ref="N-3", name="Dupont Menuiserie SCOP", transfer_date="2012-10-01"),  # = N-2 normalised
            case_row(ref="N-4", name="Atelier du Nord", transfer_date="2011-01-01")]  # another year
    path = tmp_path / "cases.csv"
    path.write_bytes(csv_bytes(rows))
    statements: list[str] = []
    listen = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        with pytest.raises(UnconfirmedDuplicates) as refused:
            bulk_run(fed, path)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
        db.session.rollback()
    found = {(p.case.ref, p.other.ref, p.reasons) for p in refused.value.pairs}
    assert found == {("N-1", "O-2", ("same national id",)),
                     ("N-2", "O-2", ("very similar name, transfer in the same year",)),
                     ("N-2", "N-3", ("very similar name, transfer in the same year",)),
                     ("N-3", "O-2", ("very similar name, transfer in the same year",))}
    # No query selects by country (a whole country's cases): only by refs, names and national ids.
    assert not any("cases.country =" in s or "cases.country IN" in s for s in statements)
    assert any("lower(cases.name) IN" in s for s in statements)
    assert db.session.scalar(select(Case.id).where(Case.federation_id == fed.id)) is None  # not confirmed
    assert bulk_run(fed, path, confirm=True).created == 4


def test_the_create_entries_json_is_the_json_modules_text():
    """The bulk writer builds the audit JSON itself (a hot path): the same text as json.dumps."""
    import json

    from tracker.models import ExitReason, TransferType

    values = {"ref": 'Q-"1"\\', "name": "Coopérative « Ünïon » \u2028 é\t", "national_id": None, "employees": 0,
              "transfer_date": date(1900, 1, 1), "transfer_type": TransferType.RESCUE, "exit_reason": ExitReason.SOLD,
              "big": 10**30, "flag": True, "ratio": 0.5, "emoji": "\U0001f600"}
    expected = json.dumps({k: [None, imports._jsonable(v)] for k, v in values.items() if v is not None})
    assert bulk._created_json(values) == expected


def test_the_packed_identities_give_back_every_row():
    identities = bulk._Identities()
    rows = [bulk._Row(2, "A-1", "Coopérative", None, "FR", 2015, None),
            bulk._Row(3, "A-2", "Ünïon", "552 100 554", "DE", 1900, 2**31 - 1)]
    for r in rows:
        identities.append(r)
    assert [identities[i] for i in range(len(identities))] == rows
    assert identities.slice(1, 99) == rows[1:] and identities.case_ids() == {2**31 - 1}
    with pytest.raises(ValueError):
        identities.append(bulk._Row(4, "A-\x1f", "x", None, "FR", 2015, None))
