"""The optional founding date of a case: its rules, the import/export column, and the figures it
gives (the `age_band` grouping and the `age_at_transfer` Cox covariate)."""

from __future__ import annotations

import csv
import io
from datetime import date

import numpy as np
import pandas as pd
import pytest
from flask_babel import force_locale
from lifelines import CoxPHFitter

from tracker.extensions import db
from tracker.models import Case, ExitReason
from tracker.services.analytics import queries as analytics
from tracker.services.casework.cases import CASE_FIELDS, clean_case_values
from tracker.services.spreadsheets.exports import export_cases
from tracker.services.spreadsheets.imports import import_cases
from tracker.survival import CaseArrays
from tracker.survival.followup import prepare_followup

VALID = {"ref": "F-1", "name": "Coop", "country": "FR", "transfer_date": "2015-03-01",
         "transfer_type": "succession", "last_verified_on": "2024-12-31"}


def test_founded_on_is_optional_and_must_not_be_after_the_transfer_or_in_the_future(app):
    values, errors = clean_case_values(VALID)
    assert errors == {} and values["founded_on"] is None
    values, errors = clean_case_values({**VALID, "founded_on": "2015-03-01"})
    assert errors == {} and values["founded_on"] == date(2015, 3, 1)
    _, errors = clean_case_values({**VALID, "founded_on": "2015-03-02"})
    assert errors["founded_on"] == ["founding date (founded_on) 2015-03-02 is after the transfer (2015-03-01)"]
    _, errors = clean_case_values({**VALID, "founded_on": "2030-01-01"}, today=date(2025, 1, 1))
    assert errors["founded_on"] == ["founding date (founded_on) 2030-01-01 is in the future"]
    _, errors = clean_case_values({**VALID, "founded_on": "01/02/1990"})
    assert "founded_on" in errors


def test_the_founding_date_message_is_translated(app):
    with app.test_request_context(), force_locale("fr"):
        _, errors = clean_case_values({**VALID, "founded_on": "2016-01-01"})
    assert errors["founded_on"] == ["la date de création (founded_on) 2016-01-01 est postérieure à la reprise "
                                    "(2015-03-01)"]


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CASE_FIELDS))
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in CASE_FIELDS})
    return out.getvalue().encode()


def test_founded_on_imports_exports_and_round_trips(app, make_federation):
    fed = make_federation(code="FOUND")
    data = _csv([{**VALID, "founded_on": "1990-06-15"}, {**VALID, "ref": "F-2"}])
    assert not import_cases(None, fed, data, "f.csv", dry_run=False).problems
    db.session.commit()
    assert {c.ref: c.founded_on for c in db.session.query(Case)} == {"F-1": date(1990, 6, 15), "F-2": None}
    exported = list(csv.DictReader(io.StringIO(export_cases(None, fed).decode("utf-8-sig"))))
    assert {row["ref"]: row["founded_on"] for row in exported} == {"F-1": "1990-06-15", "F-2": ""}
    again = import_cases(None, fed, export_cases(None, fed), "again.csv", dry_run=True)
    assert not again.problems and again.created == 0


def test_a_founding_date_after_the_transfer_rejects_the_import(app, make_federation):
    fed = make_federation(code="FOUND2")
    result = import_cases(None, fed, _csv([{**VALID, "founded_on": "2016-01-01"}]), "f.csv", dry_run=False)
    assert [(p.row, p.column) for p in result.problems] == [(2, "founded_on")]
    assert "after the transfer" in result.problems[0].message


@pytest.fixture
def aged(app, make_federation, make_case):
    """Cases of three ages at transfer and some without a founding date."""
    analytics.clear_cache()
    fed = make_federation(code="AGED")
    rng = np.random.default_rng(7)
    for i in range(90):
        founded = (None, date(2013, 1, 1), date(2005, 1, 1), date(1980, 1, 1))[i % 4]
        closes = rng.random() < 0.4
        exit_day = date(2016 + int(rng.integers(0, 8)), 1 + int(rng.integers(0, 12)), 1)
        make_case(fed, ref=f"A-{i}", founded_on=founded, employees=int(rng.integers(1, 80)),
                  exit_date=exit_day if closes else None, exit_reason=ExitReason.LIQUIDATION if closes else None,
                  last_verified_on=None if closes else date(2024, 12, 31))
    return fed


def test_age_band_groups_the_cases_by_age_at_transfer(aged):
    query = analytics.SurvivalQuery.from_params({"as_of": "2025-12-31", "group_by": "age_band", "baselines": "false"})
    out = analytics.survival_json(None, query)
    # Youngest first (by their text "20+" would come first), as the explorer and the report list them.
    assert [(g["group"], g["n"]) for g in out["groups"]] == [("<5", 23), ("5-19", 22), ("20+", 22), ("unknown", 23)]
    assert [(p["a"], p["b"]) for p in out["logrank"]["pairwise"]][0] == ("<5", "5-19")
    kept = analytics.SurvivalQuery.from_params({"as_of": "2025-12-31", "age_band": "<5,20+", "baselines": "false"})
    assert analytics.survival_json(None, kept)["groups"][0]["n"] == 45


def test_age_at_transfer_is_a_numeric_cox_covariate(aged):
    query = analytics.SurvivalQuery.from_params({"as_of": "2025-12-31", "model": "cox", "baselines": "false",
                                                 "covariates": "age_at_transfer"})
    cox = analytics.survival_json(None, query)["cox"]
    assert cox["n"] == 67 and cox["excluded"] == {"missing_covariate": 23}
    (term,) = cox["terms"]
    assert term["covariate"] == "age_at_transfer" and term["level"] is None and term["reference"] is None
    # lifelines on a data set built from the case rows, independently of the analytics frame.
    cases = db.session.query(Case).order_by(Case.id).all()
    follow = prepare_followup(CaseArrays.from_rows(cases), as_of=date(2025, 12, 31))
    rows = [(e, s, bool(d), (c.transfer_date - c.founded_on).days / 365.25)
            for c, e, s, d, ok in zip(cases, follow.entry, follow.stop, follow.event, follow.included, strict=True)
            if ok and c.founded_on is not None]
    data = pd.DataFrame(rows, columns=["entry", "stop", "event", "age"])
    fitter = CoxPHFitter().fit(data, "stop", "event", entry_col="entry",
                               fit_options={"precision": 1e-16, "r_precision": 1e-16})
    assert term["coef"] == pytest.approx(fitter.params_["age"], rel=1e-6)
    assert term["se"] == pytest.approx(fitter.standard_errors_["age"], rel=1e-6)


def test_age_band_and_age_at_transfer_are_known_parameters(app):
    with pytest.raises(analytics.InvalidParameter) as exc:
        analytics.SurvivalQuery.from_params({"age_band": "old"})
    assert exc.value.field == "age_band"
    query = analytics.SurvivalQuery.from_params({"model": "cox", "covariates": "age_band,age_at_transfer"})
    assert query.covariates == ("age_band", "age_at_transfer")


def test_the_case_form_records_and_checks_the_founding_date(client, login, make_federation):
    from tests.functional.support_cases import valid_case_form

    fed = make_federation(code="FORMFED")
    login("staff", federation=fed)
    response = client.post("/cases/new", data=valid_case_form(founded_on="2017-01-01"))
    assert response.status_code == 200
    assert "founding date (founded_on) 2017-01-01 is after the transfer (2016-05-02)" in response.get_data(as_text=True)
    response = client.post("/cases/new", data=valid_case_form(founded_on="1994-09-12"))
    assert response.status_code == 302
    case = db.session.query(Case).one()
    assert case.founded_on == date(1994, 9, 12)
    assert "1994-09-12" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    edit = client.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    assert 'name="founded_on"' in edit and "1994-09-12" in edit
