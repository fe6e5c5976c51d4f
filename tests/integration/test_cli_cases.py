"""`tracker cases import|export`: what an operator sees (summary, problems, exit status) and
that a failed import writes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import ORACLE_DIR
from tracker.extensions import db
from tracker.models import AuditEntry, Case
from tracker.services.casework.cases import CASE_FIELDS

GOOD = "R-{n},Coop {n},,FR,,25.62,12,2015-03-01,succession,SCOP,,2024-12-31,,"


def write_csv(path, lines: list[str]):
    path.write_text("\n".join([",".join(CASE_FIELDS), *lines]) + "\n", encoding="utf-8")
    return path


def case_count() -> int:
    return db.session.scalar(select(func.count(Case.id)))


def audit_count() -> int:
    return db.session.scalar(select(func.count(AuditEntry.id)))


def test_import_of_the_oracle_file_prints_a_summary(runner, make_federation):
    make_federation(code="ORACLE")
    result = runner.invoke(args=["cases", "import", str(ORACLE_DIR / "cases.csv"), "--federation", "ORACLE"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "600 created, 0 updated, 0 unchanged (600 rows from cases.csv into ORACLE)."
    assert case_count() == 600
    again = runner.invoke(args=["cases", "import", str(ORACLE_DIR / "cases.csv"), "--federation", "oracle"])
    assert again.exit_code == 0
    assert again.stdout.startswith("0 created, 0 updated, 600 unchanged")


def test_dry_run_says_what_it_would_do_and_writes_nothing(runner, make_federation):
    make_federation(code="ORACLE")
    result = runner.invoke(args=["cases", "import", str(ORACLE_DIR / "cases.csv"), "--federation", "ORACLE",
                                 "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("dry run: would create 600, update 0, leave 0 unchanged")
    assert case_count() == 0 and audit_count() == 0


def test_problems_are_listed_exit_1_and_nothing_is_written(runner, make_federation, tmp_path):
    make_federation(code="F1")
    path = write_csv(tmp_path / "bad.csv", [GOOD.format(n=1), GOOD.format(n=2).replace(",12,", ",-4,"),
                                             GOOD.format(n=3).replace("FR", "XX")])
    result = runner.invoke(args=["cases", "import", str(path), "--federation", "F1"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "row 3, column employees: must be 0 or more",
        "row 4, column country: 'XX' is not an ISO 3166-1 alpha-2 country code",
        "Error: 2 problems in bad.csv; nothing was imported.",
    ]
    assert result.stdout == ""
    assert case_count() == 0 and audit_count() == 0


def test_long_problem_lists_are_capped(runner, make_federation, tmp_path):
    make_federation(code="F1")
    path = write_csv(tmp_path / "bad.csv", [GOOD.format(n=n).replace(",12,", ",x,") for n in range(250)])
    result = runner.invoke(args=["cases", "import", str(path), "--federation", "F1"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 202
    assert lines[199] == "row 201, column employees: 'x' is not a whole number"
    assert lines[200:] == ["... and 50 more", "Error: 250 problems in bad.csv; nothing was imported."]


def test_unknown_federation_exits_1(runner, tmp_path):
    path = write_csv(tmp_path / "ok.csv", [GOOD.format(n=1)])
    result = runner.invoke(args=["cases", "import", str(path), "--federation", "NOPE"])
    assert result.exit_code == 1
    assert "no federation with code 'NOPE'" in result.stderr
    assert case_count() == 0


def test_unreadable_file_exits_1_with_the_reason(runner, make_federation, tmp_path):
    make_federation(code="F1")
    path = tmp_path / "binary.csv"
    path.write_bytes(",".join(CASE_FIELDS).encode() + b"\nR-1,\xe9\x00,,FR")
    result = runner.invoke(args=["cases", "import", str(path), "--federation", "F1"])
    assert result.exit_code == 1
    assert "not UTF-8" in result.stderr and "nothing was imported" in result.stderr


def test_large_import_shows_progress_on_stderr_only(runner, make_federation, tmp_path):
    make_federation(code="F1")
    path = write_csv(tmp_path / "big.csv", [GOOD.format(n=n) for n in range(1500)])
    result = runner.invoke(args=["cases", "import", str(path), "--federation", "F1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["1500 created, 0 updated, 0 unchanged (1500 rows from big.csv into F1)."]
    assert "Importing" in result.stderr


def test_export_writes_csv_or_xlsx_by_extension_and_round_trips(runner, make_federation, tmp_path):
    make_federation(code="ORACLE")
    make_federation(code="EMPTY")
    runner.invoke(args=["cases", "import", str(ORACLE_DIR / "cases.csv"), "--federation", "ORACLE"])
    for name in ("out.csv", "out.xlsx"):
        result = runner.invoke(args=["cases", "export", str(tmp_path / name), "--federation", "ORACLE"])
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == f"Exported 600 cases to {tmp_path / name}."
        again = runner.invoke(args=["cases", "import", str(tmp_path / name), "--federation", "ORACLE"])
        assert again.stdout.startswith("0 created, 0 updated, 600 unchanged"), again.output
    assert (tmp_path / "out.xlsx").read_bytes().startswith(b"PK")
    result = runner.invoke(args=["cases", "export", str(tmp_path / "none.csv"), "--federation", "EMPTY"])
    assert result.stdout.strip() == f"Exported 0 cases to {tmp_path / 'none.csv'}."
    assert (tmp_path / "none.csv").read_text(encoding="utf-8-sig").strip() == ",".join(CASE_FIELDS)


def test_export_refuses_an_unknown_extension_or_federation(runner, tmp_path):
    result = runner.invoke(args=["cases", "export", str(tmp_path / "out.txt")])
    assert result.exit_code == 1 and "must end in .csv or .xlsx" in result.stderr
    result = runner.invoke(args=["cases", "export", str(tmp_path / "out.csv"), "--federation", "NOPE"])
    assert result.exit_code == 1 and "no federation with code 'NOPE'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_possible_duplicates_stop_the_import_until_confirmed(runner, make_federation, tmp_path, monkeypatch):
    """The same enterprise already registered by another federation (same national id): listed,
    nothing written, exit 1; --confirm-distinct imports and remembers the pair."""
    from flask_babel import refresh

    from tracker.models import DistinctCasePair

    make_federation(code="F1")
    make_federation(code="F2")
    first = GOOD.format(n=1).replace("Coop 1,,", "Coop Durand,FR123456789,")
    one = runner.invoke(args=["cases", "import", str(write_csv(tmp_path / "a.csv", [first])), "--federation", "F1"])
    assert one.exit_code == 0 and one.stdout.strip() == "1 created, 0 updated, 0 unchanged (1 row from a.csv into F1)."
    again = GOOD.format(n=9).replace("Coop 9,,", "SCOP Durand,FR123456789,")
    path = write_csv(tmp_path / "b.csv", [GOOD.format(n=2), again])
    before = (case_count(), audit_count())

    dry = runner.invoke(args=["cases", "import", str(path), "--federation", "F2", "--dry-run"])
    assert dry.exit_code == 0
    assert dry.stdout.strip() == ("dry run: would create 2, update 0, leave 0 unchanged (2 rows, no problems); "
                                  "nothing written. 1 possible duplicate to confirm.")
    monkeypatch.setenv("TRACKER_LANG", "fr")
    refresh()
    french = runner.invoke(args=["cases", "import", str(path), "--federation", "F2", "--dry-run"])
    assert french.stdout.strip().endswith("(2 lignes, aucun problème). 1 doublon possible à confirmer.")
    monkeypatch.delenv("TRACKER_LANG")
    refresh()

    refused = runner.invoke(args=["cases", "import", str(path), "--federation", "F2"])
    assert refused.exit_code == 1
    lines = refused.stderr.splitlines()
    assert lines[0].startswith("possible duplicate: row 3 R-9 'SCOP Durand' (F2) and case ")
    assert "R-1 'Coop Durand' (F1): same national id" in lines[0]
    assert lines[-1].startswith("Error: 1 possible duplicate in b.csv; nothing was imported.")
    assert (case_count(), audit_count()) == before

    confirmed = runner.invoke(args=["cases", "import", str(path), "--federation", "F2", "--confirm-distinct"])
    assert confirmed.exit_code == 0, confirmed.output
    assert confirmed.stdout.startswith("2 created, 0 updated, 0 unchanged")
    assert confirmed.stdout.strip().endswith("(2 rows from b.csv into F2). 1 possible duplicate confirmed distinct.")
    assert case_count() == before[0] + 2
    assert db.session.scalar(select(func.count()).select_from(DistinctCasePair)) == 1


# --- tracker cases census ------------------------------------------------------------------------

def census_registry(make_federation, make_case):
    from datetime import date

    from tracker.models import ExitReason

    fr = make_federation(code="FR-A", country="FR")
    es = make_federation(code="ES-B", country="ES")
    make_case(federation=fr, ref="A1", transfer_date=date(2019, 6, 1), last_verified_on=date(2021, 3, 1))
    make_case(federation=fr, ref="A2", transfer_date=date(2019, 12, 31), last_verified_on=date(2020, 5, 1),
              exit_date=date(2021, 12, 31), exit_reason=ExitReason.LIQUIDATION)
    make_case(federation=fr, ref="A3", transfer_date=date(2020, 3, 1), last_verified_on=None)
    make_case(federation=es, ref="B1", country="ES", transfer_date=date(2018, 5, 5),
              last_verified_on=date(2020, 12, 31))
    return fr, es


def test_census_writes_the_sheet_the_page_downloads(runner, make_federation, make_case, make_user, tmp_path):
    """Same bytes as the web's census download for the secretariat (one code path), every federation
    by default, one with --federation; the exit recorded after the census date is filled in."""
    import csv
    import io
    from datetime import date

    from tracker.models import Role
    from tracker.services.spreadsheets import status_import

    fr, _es = census_registry(make_federation, make_case)
    out = tmp_path / "census.csv"
    result = runner.invoke(args=["cases", "census", "--census-date", "2020-12-31", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"4 cases open on 2020-12-31 (every federation) written to {out}."
    web = io.BytesIO()
    status_import.write_status_check(web, make_user(Role.ADMIN), "csv", census_date=date(2020, 12, 31))
    assert out.read_bytes() == web.getvalue()
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [(r["federation"], r["ref"]) for r in rows] == [("FR-A", "A1"), ("FR-A", "A2"), ("FR-A", "A3"),
                                                             ("ES-B", "B1")]
    assert (rows[1]["census_date"], rows[1]["exit_date"], rows[1]["exit_reason"]) == (
        "2020-12-31", "2021-12-31", "liquidation")

    one = runner.invoke(args=["cases", "census", "--federation", "fr-a", "--census-date", "2021-06-01",
                              "--format", "xlsx", "-o", str(tmp_path / "fr.sheet")])
    assert one.exit_code == 0, one.output
    assert "3 cases open on 2021-06-01 (FR-A)" in one.stdout
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO((tmp_path / "fr.sheet").read_bytes()))
    assert book.sheetnames == ["census", "notes"]
    assert [c.value for c in book["census"]["B"]][1:] == ["A1", "A2", "A3"]
    assert not list(tmp_path.glob("*.partial"))


def test_census_date_defaults_to_the_end_of_last_year(runner, make_federation, make_case, tmp_path):
    from datetime import date

    census_registry(make_federation, make_case)
    result = runner.invoke(args=["cases", "census", "-o", str(tmp_path / "c.xlsx")])
    assert result.exit_code == 0, result.output
    assert f"open on {date.today().year - 1}-12-31 (every federation)" in result.stdout


def test_census_refuses_bad_options_in_one_line_naming_the_option(runner, make_federation, make_case, tmp_path):
    from datetime import date, timedelta

    census_registry(make_federation, make_case)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    for args, line in [
        (["--federation", "NOPE"], "Error: --federation: no federation with code 'NOPE'"),
        (["--census-date", "31/12/2020"], "Error: --census-date: '31/12/2020' is not a date in the form YYYY-MM-DD"),
        (["--census-date", tomorrow], f"Error: --census-date: {tomorrow} is in the future"),
        (["--census-date", "1899-12-31"], "Error: --census-date: the census date must be in 1900 or later"),
    ]:
        result = runner.invoke(args=["cases", "census", *args, "-o", str(tmp_path / "c.xlsx")])
        assert (result.exit_code, result.stderr.splitlines(), result.stdout) == (2, [line], ""), args
    missing = tmp_path / "no-such-folder" / "c.csv"
    result = runner.invoke(args=["cases", "census", "-o", str(missing)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [f"Error: --output: cannot write {missing}: No such file or directory"]
    assert list(tmp_path.iterdir()) == []


def test_census_speaks_tracker_lang(runner, make_federation, make_case, tmp_path, monkeypatch):
    from flask_babel import refresh

    census_registry(make_federation, make_case)
    monkeypatch.setenv("TRACKER_LANG", "fr")
    refresh()
    result = runner.invoke(args=["cases", "census", "--federation", "NOPE", "-o", str(tmp_path / "c.csv")])
    assert result.exit_code == 2
    assert "--federation" in result.stderr and "NOPE" in result.stderr and "Error" not in result.stderr


def test_census_read_in_batches_keeps_every_row_in_order(runner, make_federation, make_case, tmp_path,
                                                         monkeypatch):
    """The sheet is read a few rows per query (no SQLite read lock held while it is written):
    with batches of 2 it is the same file as in one batch."""
    from tracker.services.spreadsheets import status_import

    census_registry(make_federation, make_case)
    whole = tmp_path / "whole.csv"
    assert runner.invoke(args=["cases", "census", "--census-date", "2020-12-31", "-o", str(whole)]).exit_code == 0
    monkeypatch.setattr(status_import, "SHEET_BATCH", 2)
    batched = tmp_path / "batched.csv"
    assert runner.invoke(args=["cases", "census", "--census-date", "2020-12-31", "-o", str(batched)]).exit_code == 0
    assert batched.read_bytes() == whole.read_bytes()
    assert len(whole.read_text(encoding="utf-8-sig").splitlines()) == 5
