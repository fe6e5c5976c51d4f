"""The annual census: the census sheet of a census date (CSV, XLSX), its upload back through the
status check's review and confirmation, bad census dates, completeness by census year on a small
handmade registry, and the secretariat's start page with the last edition of the report."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from support_cases import errors_next_to
from support_import import full_problem_rows, problem_rows, read_csv, read_xlsx, text_of, token_of, upload, written

from tracker.extensions import db
from tracker.models import AuditEntry, Case, ExitReason, Role, StatusCheck
from tracker.models.report import ReportEdition, ReportFile
from tracker.services.casework.completeness import census_completeness
from tracker.services.spreadsheets.status_import import CENSUS_COLUMNS

TODAY = date.today()
LAST_YEAR = TODAY.year - 1


@pytest.fixture(autouse=True)
def staging_dir(app, tmp_path):
    app.config["IMPORT_STAGING_DIR"] = str(tmp_path / "staging")
    app.config["CENSUS_YEARS_SHOWN"] = 100  # every year of the registry, whenever the tests run


@pytest.fixture
def registry(make_federation, make_case):
    """FR-A: seven cases (one deleted, one never open on a 31 December); ES-B: one case settled
    every year. The expected counts are worked out case by case in the tests."""
    fr = make_federation(code="FR-A", country="FR", name="Fédération A")
    es = make_federation(code="ES-B", country="ES", name="Federación B")
    liquidation = ExitReason.LIQUIDATION
    make_case(federation=fr, ref="A1", transfer_date=date(2019, 6, 1), last_verified_on=date(2021, 3, 1))
    make_case(federation=fr, ref="A2", transfer_date=date(2019, 12, 31), last_verified_on=date(2020, 5, 1),
              exit_date=date(2021, 12, 31), exit_reason=liquidation)
    make_case(federation=fr, ref="A3", transfer_date=date(2020, 2, 1), last_verified_on=None,
              exit_date=date(2021, 6, 30), exit_reason=ExitReason.SOLD)
    make_case(federation=fr, ref="A4", transfer_date=date(2020, 3, 1), last_verified_on=None)
    make_case(federation=fr, ref="A5", transfer_date=date(2020, 1, 1), last_verified_on=date(2020, 12, 31))
    make_case(federation=fr, ref="A6", transfer_date=date(2019, 1, 1), deleted_at=datetime(2024, 1, 1))
    make_case(federation=fr, ref="A7", transfer_date=date(2021, 1, 5), exit_date=date(2021, 3, 1),
              exit_reason=liquidation, last_verified_on=None)
    make_case(federation=es, ref="B1", country="ES", transfer_date=date(2018, 5, 5),
              last_verified_on=date(LAST_YEAR, 12, 31))
    return fr, es


# --- completeness by census year ----------------------------------------------------------------

def counts(census, fed_id, year):
    cell = census.cells[(fed_id, year)] if fed_id is not None else census.totals[year]
    return cell.open_cases, cell.settled


def test_completeness_by_census_year_counts_open_and_settled_cases(registry, make_user):
    fr, es = registry
    census = census_completeness(make_user(Role.ADMIN))
    assert census.years == tuple(range(LAST_YEAR, 2017, -1))
    assert [code for _id, code, _name in census.federations] == ["ES-B", "FR-A"]
    # A1 settled until 2020 (verified 2021-03-01); A2 open to its exit on 31 December 2021, settled
    # by it; A3 open on 31 December 2020 only; A4 never verified; A5 verified on 31 December 2020.
    assert counts(census, fr.id, 2018) == (0, 0)
    assert counts(census, fr.id, 2019) == (2, 2)
    assert counts(census, fr.id, 2020) == (5, 4)
    assert counts(census, fr.id, 2021) == (4, 1)
    assert counts(census, fr.id, 2022) == (3, 0)
    assert counts(census, fr.id, LAST_YEAR) == (3, 0)
    assert all(counts(census, es.id, year) == (1, 1) for year in census.years)
    assert [counts(census, None, y) for y in (2018, 2019, 2020, 2021, 2022)] == [(1, 1), (3, 3), (6, 5), (5, 2), (4, 1)]
    assert census.cells[(fr.id, 2020)].share_settled == 0.8 and census.cells[(fr.id, 2018)].share_settled is None


def test_the_counts_follow_every_write_though_kept_between_pages(registry, make_user):
    from tracker.services.casework.cases import FollowUp, record_follow_up

    fr, _ = registry
    admin = make_user(Role.ADMIN)
    assert counts(census_completeness(admin), fr.id, 2021) == (4, 1)
    a4 = db.session.scalar(select(Case).where(Case.ref == "A4"))
    record_follow_up(admin, a4, FollowUp(date(2022, 1, 10), "operating", "registre"))
    db.session.commit()
    assert counts(census_completeness(admin), fr.id, 2021) == (4, 2)


def test_staff_see_their_federations_census_years_only(registry, make_user):
    fr, _ = registry
    census = census_completeness(make_user(Role.STAFF, federation=fr))
    assert [code for _id, code, _name in census.federations] == ["FR-A"]
    assert census.years[-1] == 2019 and census.totals[2021].open_cases == 4


def test_an_empty_registry_has_no_census_year(app, make_user):
    assert census_completeness(make_user(Role.ADMIN)).years == ()


def test_the_page_shows_completeness_by_census_year_in_the_locale(client, login, registry):
    login(Role.ADMIN)
    html = client.get("/cases/follow-up").get_data(as_text=True)
    table = text_of(html, "census-years")
    assert "Census date ES-B FR-A All federations" in table
    assert "2020-12-31 100.0% 1 of 1 80.0% 4 of 5 83.3% 5 of 6" in table
    assert "2021-12-31 100.0% 1 of 1 25.0% 1 of 4 40.0% 2 of 5" in table
    french = client.get("/cases/follow-up?lang=fr").get_data(as_text=True)
    assert re.search(r"31/12/2020 100,0\s%\s1 sur 1 80,0\s%\s4 sur 5", text_of(french, "census-years"))
    download = read_csv(client.get("/cases/follow-up/census-completeness.csv").data)
    assert download[0] == ["federation", "census_date", "open_cases", "settled", "not_settled", "share_settled"]
    assert ["FR-A", "2020-12-31", "5", "4", "1", "0.8"] in download
    assert ["all", "2021-12-31", "5", "2", "3", "0.4"] in download


def test_the_page_shows_the_newest_years_and_the_download_every_year(app, client, login, registry):
    app.config["CENSUS_YEARS_SHOWN"] = 2
    login(Role.ADMIN)
    html = client.get("/cases/follow-up").get_data(as_text=True)
    shown = re.findall(r"(\d{4})-12-31", text_of(html, "census-years"))
    assert shown == [str(LAST_YEAR), str(LAST_YEAR - 1)]
    assert "The download has every year, from 2018." in html
    rows = read_csv(client.get("/cases/follow-up/census-completeness.csv").data)
    assert {row[1][:4] for row in rows[1:]} == {str(year) for year in range(2018, LAST_YEAR + 1)}


def test_staff_see_their_own_census_years_on_the_page_and_in_the_download(client, login, registry):
    fr, _ = registry
    login(Role.STAFF, federation=fr)
    table = text_of(client.get("/cases/follow-up").get_data(as_text=True), "census-years")
    assert "ES-B" not in table and "All federations" not in table and "2018-12-31" not in table
    assert "2019-12-31 100.0% 2 of 2" in table
    rows = read_csv(client.get("/cases/follow-up/census-completeness.csv").data)
    assert {row[0] for row in rows[1:]} == {"FR-A"}


# --- the census sheet ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_census_sheet_lists_every_case_open_on_the_census_date(client, login, registry, fmt):
    fr, es = registry
    login(Role.STAFF, federation=fr)
    response = client.get(f"/cases/follow-up/census.{fmt}?census_date=2020-12-31&federation={es.id}")
    assert response.status_code == 200
    assert f'filename="census-FR-A-2020-12-31.{fmt}"' in response.headers["Content-Disposition"]
    rows = read_csv(response.data) if fmt == "csv" else read_xlsx(response.data)
    assert list(rows[0]) == list(CENSUS_COLUMNS)
    column = {name: i for i, name in enumerate(rows[0])}
    assert [r[column["ref"]] for r in rows[1:]] == ["A1", "A2", "A3", "A4", "A5"]  # own federation only
    by_ref = {r[column["ref"]]: r for r in rows[1:]}
    census_day = "2020-12-31" if fmt == "csv" else datetime(2020, 12, 31)
    assert {r[column["census_date"]] for r in rows[1:]} == {census_day}
    exit_of = {ref: (r[column["exit_date"]], r[column["exit_reason"]]) for ref, r in by_ref.items()}
    if fmt == "csv":
        assert exit_of["A3"] == ("2021-06-30", "sold") and exit_of["A1"] == ("", "")
    else:
        assert exit_of["A3"] == (datetime(2021, 6, 30), "sold") and exit_of["A1"] == (None, None)
        notes = read_xlsx(response.data, sheet=1)
        assert any(row[0] == "census_date" for row in notes)


def test_the_census_date_defaults_to_the_end_of_last_year(client, login, registry):
    fr, _ = registry
    login(Role.STAFF, federation=fr)
    response = client.get("/cases/follow-up/census.csv")
    assert f'census-FR-A-{LAST_YEAR}-12-31.csv' in response.headers["Content-Disposition"]
    assert [r[1] for r in read_csv(response.data)[1:]] == ["A1", "A4", "A5"]
    html = client.get("/cases/follow-up").get_data(as_text=True)
    assert re.search(rf'id="census_date"[^>]*value="{LAST_YEAR}-12-31"', html)


def test_admins_get_every_federation_or_the_one_chosen(client, login, registry):
    _, es = registry
    login(Role.ADMIN)
    everything = read_csv(client.get("/cases/follow-up/census.csv?census_date=2019-12-31").data)
    assert [(r[0], r[1]) for r in everything[1:]] == [("FR-A", "A1"), ("FR-A", "A2"), ("ES-B", "B1")]
    chosen = client.get(f"/cases/follow-up/census.csv?census_date=2019-12-31&federation={es.id}")
    assert [r[1] for r in read_csv(chosen.data)[1:]] == ["B1"]
    assert "census-ES-B-2019-12-31.csv" in chosen.headers["Content-Disposition"]


@pytest.mark.parametrize(("value", "message"), [
    ("yesterday", "'yesterday' is not a date in the form YYYY-MM-DD"),
    ("2020-13-01", "'2020-13-01' is not a date in the form YYYY-MM-DD"),
    ("31/12/2020", "'31/12/2020' is not a date in the form YYYY-MM-DD"),
    ((TODAY + timedelta(days=1)).isoformat(), "is in the future"),
    ("1899-12-31", "the census date must be in 1900 or later"),
    ("0001-01-01", "the census date must be in 1900 or later"),
])
def test_a_bad_census_date_is_named_next_to_its_field(client, login, registry, value, message):
    fr, _ = registry
    login(Role.STAFF, federation=fr)
    response = client.get(f"/cases/follow-up/census.xlsx?census_date={value}")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert message in errors_next_to(response.get_data(as_text=True), "census_date")[0]


@pytest.mark.parametrize("value", ["", " ", "2020-02-30", "9999-12-31", "\uff12\uff10\uff12\uff10-01-01", "%00",
                                   "x" * 5000, "2020-12-31T00:00", "-2020-01-01", "+002020-01-01"])
def test_odd_census_dates_never_break_the_page(client, login, registry, value):
    login(Role.ADMIN)
    response = client.get("/cases/follow-up/census.csv", query_string={"census_date": value, "federation": "zz"})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert errors_next_to(response.get_data(as_text=True), "census_date")


def test_researchers_have_no_census(client, login, registry):
    login(Role.RESEARCHER)
    assert client.get("/cases/follow-up/census.csv").status_code == 403
    assert client.get("/cases/follow-up/census-completeness.csv").status_code == 403


def test_the_filled_census_goes_back_checked_then_recorded(client, login, registry):
    fr, _ = registry
    staff = login(Role.STAFF, federation=fr)
    rows = read_csv(client.get("/cases/follow-up/census.csv?census_date=2020-12-31").data)
    header = rows[0]
    filled = [header]
    for row in rows[1:]:
        cells = list(row)
        if cells[1] == "A4":
            cells[header.index("operating_on")] = "2021-01-15"
            cells[header.index("source")] = "registre"
        if cells[1] == "A1":
            cells[header.index("operating_on")] = "2022-06-30"
        filled.append(cells)
    data = ("\r\n".join(",".join(cells) for cells in filled) + "\r\n").encode()
    before = written()
    token = token_of(upload(client, data, "census.csv", url="/cases/follow-up/upload"))
    assert written() == before
    review = client.get(f"/cases/follow-up/upload/{token}").get_data(as_text=True)
    assert "<title>Census of 31 December 2020" in review
    assert text_of(review, "review-title") == "Census of 31 December 2020"
    summary = text_of(review, "summary")
    assert ("Confirming records 2 confirmations of operation and 0 exits (2 exits already recorded, "
            "1 row left empty). It settles 1 case for this census.") in summary  # A1 was settled already
    response = client.post(f"/cases/follow-up/upload/{token}", data={})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("Recorded 2 confirmations of operation and 0 exits from census.csv. "
            "1 case settled for the census of 31 December 2020.") in page
    cases = {c.ref: c for c in db.session.scalars(select(Case))}
    assert (cases["A4"].last_verified_on, cases["A1"].last_verified_on) == (date(2021, 1, 15), date(2022, 6, 30))
    checks = db.session.scalars(select(StatusCheck).order_by(StatusCheck.id)).all()
    # dated as filled in, not moved to the census date; the default source names the census
    assert [(c.case.ref, c.outcome, c.checked_on, c.source, c.recorded_by_id) for c in checks] == [
        ("A1", "operating", date(2022, 6, 30), "census of 2020-12-31 (census.csv)", staff.id),
        ("A4", "operating", date(2021, 1, 15), "registre", staff.id)]
    assert [(e.action, e.context) for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [
        ("follow_up", f"status check {checks[0].id}: operating; census of 2020-12-31"),
        ("follow_up", f"status check {checks[1].id}: operating; census of 2020-12-31")]
    census = census_completeness(staff)
    assert counts(census, fr.id, 2020) == (5, 5) and counts(census, fr.id, 2021) == (4, 2)
    for lang, wording in (("en", "census of 31 December 2020 (census.csv)"),
                          ("fr", "recensement du 31 décembre 2020 (census.csv)"),
                          ("it", "censimento del 31 dicembre 2020 (census.csv)"),
                          ("es", "censo del 31 de diciembre de 2020 (census.csv)")):
        assert wording in client.get(f"/cases/{cases['A1'].id}?lang={lang}").get_data(as_text=True), lang


def test_a_census_review_and_its_flash_speak_the_users_language(client, login, registry):
    fr, _ = registry
    login(Role.STAFF, federation=fr)
    rows = read_csv(client.get("/cases/follow-up/census.csv?census_date=2020-12-31").data)
    header = rows[0]
    rows[4][header.index("operating_on")] = "15/01/2021"  # A4, in the French order
    data = ("\r\n".join(",".join(cells) for cells in rows) + "\r\n").encode()
    token = token_of(upload(client, data, "recensement.csv", url="/cases/follow-up/upload"))
    review = client.get(f"/cases/follow-up/upload/{token}?lang=fr").get_data(as_text=True)
    assert text_of(review, "review-title") == "Recensement du 31 décembre 2020"
    response = client.post(f"/cases/follow-up/upload/{token}?lang=fr", data={})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Recensement du 31 décembre 2020\u00a0: situation désormais connue pour 1 dossier." in page


def census_upload(client, rows, census_dates):
    """The downloaded census rows with the census_date column rewritten (one value per case row)."""
    header = rows[0]
    for cells, value in zip(rows[1:], census_dates, strict=True):
        cells[header.index("census_date")] = value
    data = ("\r\n".join(",".join(cells) for cells in rows) + "\r\n").encode()
    return token_of(upload(client, data, "census.csv", url="/cases/follow-up/upload"))


def test_bad_census_dates_are_problems_of_their_rows_and_nothing_is_recorded(client, login, registry):
    fr, _ = registry
    login(Role.STAFF, federation=fr)
    rows = read_csv(client.get("/cases/follow-up/census.csv?census_date=2020-12-31").data)
    header = rows[0]
    rows[4][header.index("operating_on")] = "2021-01-15"  # A4: a valid follow-up, held back by the others
    future = (TODAY + timedelta(days=2)).isoformat()
    token = census_upload(client, rows, ["2020-12-31", "", "soon", future, "31/12/1899"])
    html = client.get(f"/cases/follow-up/upload/{token}").get_data(as_text=True)
    assert text_of(html, "review-title") == "Census of 31 December 2020"
    assert "Nothing can be recorded" in html and "The file has 4 problems." in text_of(html, "summary")
    assert full_problem_rows(html) == [
        ("3", "A2", rows[2][2], "census_date", "—", "is required"),
        ("4", "A3", rows[3][2], "census_date", "soon", "'soon' is not a date in the form YYYY-MM-DD"),
        ("5", "A4", rows[4][2], "census_date", future, f"{future} is in the future"),
        ("6", "A5", rows[5][2], "census_date", "31/12/1899", "the census date must be in 1900 or later"),
    ]
    assert client.post(f"/cases/follow-up/upload/{token}", data={}).status_code == 409
    assert written()[1:3] == (0, 0)


def test_a_census_date_other_than_the_sheets_is_a_problem_in_the_users_language(client, login, registry):
    fr, _ = registry
    login(Role.STAFF, federation=fr)
    rows = read_csv(client.get("/cases/follow-up/census.csv?census_date=2020-12-31").data)
    token = census_upload(client, rows, ["31/12/2020", "2020-12-31", "2020-12-31", "30/12/2020", "2020-12-31"])
    html = client.get(f"/cases/follow-up/upload/{token}").get_data(as_text=True)
    assert full_problem_rows(html) == [("5", "A4", rows[4][2], "census_date", "30/12/2020",
                                        "differs from the other rows' census date (2020-12-31)")]
    french = client.get(f"/cases/follow-up/upload/{token}?lang=fr").get_data(as_text=True)
    assert text_of(french, "review-title") == "Recensement du 31 décembre 2020"  # the date most rows give


def test_census_problems_are_written_in_the_language_of_the_upload(client, login, registry):
    fr, _ = registry
    login(Role.STAFF, federation=fr)
    rows = read_csv(client.get("/cases/follow-up/census.csv?census_date=2020-12-31").data)
    header = rows[0]
    for cells, value in zip(rows[1:], ["2020-12-31", "2020-12-31", "2020-12-30", "2020-12-31", ""], strict=True):
        cells[header.index("census_date")] = value
    data = ("\r\n".join(",".join(cells) for cells in rows) + "\r\n").encode()
    token = token_of(upload(client, data, "census.csv", url="/cases/follow-up/upload?lang=fr"))
    html = client.get(f"/cases/follow-up/upload/{token}?lang=fr").get_data(as_text=True)
    assert [message for _row, _column, message in problem_rows(html)] == [
        "diffère de la date de recensement des autres lignes (31/12/2020)", "est obligatoire"]


def test_a_census_with_a_bad_row_records_nothing(client, login, registry):
    fr, _ = registry
    login(Role.STAFF, federation=fr)
    rows = read_csv(client.get("/cases/follow-up/census.csv?census_date=2020-12-31").data)
    header = rows[0]
    rows[1][header.index("operating_on")] = "2018-01-01"  # A1, before its transfer
    rows[4][header.index("operating_on")] = (TODAY + timedelta(days=3)).isoformat()  # A4
    data = ("\r\n".join(",".join(cells) for cells in rows) + "\r\n").encode()
    token = token_of(upload(client, data, "census.csv", url="/cases/follow-up/upload"))
    html = client.get(f"/cases/follow-up/upload/{token}").get_data(as_text=True)
    assert "Nothing can be recorded" in html and "The file has 2 problems." in text_of(html, "summary")
    assert "2018-01-01 is before the transfer (2019-06-01)" in html and "is in the future" in html
    assert client.post(f"/cases/follow-up/upload/{token}", data={}).status_code == 409
    assert written()[1] == 0 and db.session.scalars(select(StatusCheck)).all() == []


def test_a_census_with_bad_rows_may_record_its_valid_rows_and_give_the_others_back(client, login, registry):
    fr, _ = registry
    staff = login(Role.STAFF, federation=fr)
    rows = read_csv(client.get("/cases/follow-up/census.csv?census_date=2020-12-31").data)
    header = rows[0]
    rows[1][header.index("operating_on")] = "2018-01-01"  # A1, before its transfer
    rows[4][header.index("operating_on")] = "2021-01-15"  # A4, valid
    data = ("\r\n".join(",".join(cells) for cells in rows) + "\r\n").encode()
    token = token_of(upload(client, data, "census.csv", url="/cases/follow-up/upload"))
    html = client.get(f"/cases/follow-up/upload/{token}").get_data(as_text=True)
    summary = text_of(html, "summary")
    assert "1 row has problems" in summary and "record the follow-up of the 1 valid row now" in summary
    assert "2018-01-01 is before the transfer (2019-06-01)" in html and "Record only the valid rows" in html
    assert client.post(f"/cases/follow-up/upload/{token}", data={}).status_code == 409  # not without saying so
    assert written()[1] == 0
    response = client.post(f"/cases/follow-up/upload/{token}", data={"record_valid": "1"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("Recorded 1 confirmation of operation and 0 exits from census.csv. 1 case settled for the census of "
            "31 December 2020. 1 row with problems was left out: download it, fix it and upload it again.") in page
    assert [(c.case.ref, c.checked_on) for c in db.session.scalars(select(StatusCheck))] == [("A4", date(2021, 1, 15))]
    given_back = read_csv(client.get(f"/cases/follow-up/upload/{token}/rejected-rows.csv").data)
    assert given_back[0] == [*header, "problems"] and [row[1] for row in given_back[1:]] == ["A1"]
    assert given_back[1][-1] == "operating_on: 2018-01-01 is before the transfer (2019-06-01)"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "status_valid_rows")).one()
    assert (entry.table_name, entry.row_id, entry.user_id, entry.context) == (
        "federations", fr.id, staff.id, "census of 2020-12-31 census.csv (valid rows only)")
    assert entry.changes == {"recorded_rows": [None, 1], "rejected_rows": [None, [2]]}
    # the rows given back are the uploader's: another staff user of the same federation gets a 404
    login(Role.STAFF, federation=fr)
    assert client.get(f"/cases/follow-up/upload/{token}/rejected-rows.csv").status_code == 404
    login(user=staff)
    # the upload is settled: confirming again records nothing more
    assert client.post(f"/cases/follow-up/upload/{token}", data={"record_valid": "1"}).status_code == 409
    assert len(db.session.scalars(select(StatusCheck)).all()) == 1


def test_the_valid_rows_alone_are_not_offered_when_no_valid_row_records_anything(client, login, registry):
    fr, _ = registry
    login(Role.STAFF, federation=fr)
    rows = read_csv(client.get("/cases/follow-up/census.csv?census_date=2020-12-31").data)
    rows[1][rows[0].index("operating_on")] = "2018-01-01"  # A1; the other rows are left as they were
    data = ("\r\n".join(",".join(cells) for cells in rows) + "\r\n").encode()
    token = token_of(upload(client, data, "census.csv", url="/cases/follow-up/upload"))
    html = client.get(f"/cases/follow-up/upload/{token}").get_data(as_text=True)
    assert "Nothing can be recorded" in html and "Record only the valid rows" not in html
    assert client.post(f"/cases/follow-up/upload/{token}", data={"record_valid": "1"}).status_code == 409
    assert written()[1] == 0


# --- the secretariat's start page ---------------------------------------------------------------

def add_edition(year: int, number: int, changes: list, as_of: date) -> ReportEdition:
    edition = ReportEdition(year=year, scope="ALL", number=number, official=True, as_of=as_of,
                            generated_at=datetime(2026, 3, 2, 9, 30), app_version="1.0", fingerprint="f" * 64,
                            figures={}, changes=changes)
    edition.files.append(ReportFile(format="pdf", language="en", filename=f"report-{year}-{number}.pdf",
                                    media_type="application/pdf", file_size=3, file_sha256="0" * 64, content=b"pdf"))
    db.session.add(edition)
    db.session.commit()
    return edition


def test_the_secretariat_lands_on_completeness_with_the_last_edition_and_what_changed(client, login, registry):
    add_edition(2023, 4, [], date(2024, 3, 31))
    last = add_edition(2024, 2, [{"kind": "input", "key": "transfers", "old": 1200, "new": 1234},
                                 {"kind": "baselines"}], date(2025, 3, 31))
    add_edition(2024, 1, [], date(2025, 2, 28))
    login(Role.ADMIN)
    response = client.get("/", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.request.path == "/cases/follow-up"
    section = text_of(html, "last-edition")
    assert "Report 2024, edition 2, generated on" in section and "(reference date 2025-03-31)" in section
    assert "Transfers recorded up to the reference date: 1,200 → 1,234." in section
    assert "The national baselines (figures or sources) were updated." in section
    assert f'href="/reports/editions/{last.id}/download?format=pdf&amp;language=en"' in html
    french = text_of(client.get("/cases/follow-up?lang=fr").get_data(as_text=True), "last-edition")
    assert "Rapport 2024" in french or "2024" in french and "31/03/2025" in french


def test_without_an_edition_the_secretariat_reads_so(client, login, registry):
    login(Role.ADMIN)
    section = text_of(client.get("/cases/follow-up").get_data(as_text=True), "last-edition")
    assert "No edition of the annual report has been published yet" in section


def test_a_first_edition_says_there_is_nothing_to_compare_with_and_staff_see_no_edition(client, login, registry):
    fr, _ = registry
    add_edition(2025, 1, [], date(2026, 3, 31))
    login(Role.ADMIN)
    assert "First edition: nothing to compare with." in client.get("/cases/follow-up").get_data(as_text=True)
    login(Role.STAFF, federation=fr)
    assert 'id="last-edition"' not in client.get("/cases/follow-up").get_data(as_text=True)


def test_staff_find_the_census_from_their_start_page(client, login, registry):
    fr, _ = registry
    login(Role.STAFF, federation=fr)
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/cases/follow-up#census"' in html and "The annual census of every open case" in html
