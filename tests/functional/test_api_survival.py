from __future__ import annotations

import json
from datetime import date

import pytest

from tests.conftest import ORACLE_DIR
from tracker.extensions import db
from tracker.models import Role
from tracker.services.analytics import queries as analytics
from tracker.services.spreadsheets.imports import import_cases


@pytest.fixture
def oracle(app, make_federation):
    analytics.clear_cache()
    fed = make_federation(code="ORACLE")
    assert not import_cases(None, fed, (ORACLE_DIR / "cases.csv").read_bytes(), "cases.csv", dry_run=False).problems
    db.session.commit()
    return fed


def test_anonymous_gets_401_json(client):
    response = client.get("/api/v1/survival")
    assert response.status_code == 401
    assert "error" in response.get_json()


def test_researcher_gets_the_reference_figures(client, login, oracle):
    login(Role.RESEARCHER)
    expected = json.loads((ORACLE_DIR / "expected_by_transfer_type.json").read_text())
    response = client.get("/api/v1/survival?as_of=2025-12-31&group_by=transfer_type")
    assert response.status_code == 200
    got = response.get_json()
    assert [g["group"] for g in got["groups"]] == [g["group"] for g in expected["groups"]]
    for exp, g in zip(expected["groups"], got["groups"], strict=True):
        assert g["n"] == exp["n"] and g["events"] == exp["events"]
        assert abs(g["horizons"][4]["survival"] - exp["horizons"][4]["survival"]) < 1e-9
    assert abs(got["logrank"]["statistic"] - expected["logrank"]["statistic"]) < 1e-9


def test_same_parameters_as_the_cli(client, login, oracle, runner):
    login(Role.ADMIN)
    api = client.get("/api/v1/survival?as_of=2025-12-31&endpoint=cooperative&group_by=country"
                     "&horizons=1,3,5&delayed_entry=false&where=transfer_type=rescue,succession").get_json()
    cli = runner.invoke(args=["survival", "--as-of", "2025-12-31", "--endpoint", "cooperative", "--group-by",
                              "country", "--horizons", "1,3,5", "--no-delayed-entry", "--where",
                              "transfer_type=rescue,succession", "--format", "json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output) == api


@pytest.mark.parametrize("query, parameter", [
    ("group_by=colour", "group_by"), ("as_of=yesterday", "as_of"), ("horizons=0", "horizons"),
    ("horizons=99", "horizons"), ("where=country", "where"), ("endpoint=x", "endpoint"),
])
def test_bad_parameters_give_400_with_a_message(client, login, query, parameter):
    login(Role.RESEARCHER)
    response = client.get(f"/api/v1/survival?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter and body["error"]


def test_staff_cannot_see_other_federations_figures(client, login, oracle, make_federation, make_case):
    mine = make_federation(code="MINE")
    make_case(mine, transfer_date=date(2012, 5, 1), registered_on=date(2012, 5, 1), last_verified_on=date(2025, 1, 1))
    login(Role.STAFF, federation=mine)
    for query in ("", "&where=federation=ORACLE", "&group_by=federation"):
        got = client.get(f"/api/v1/survival?as_of=2025-12-31{query}").get_json()
        assert sum(g["n"] for g in got["groups"]) <= 1
        assert all(g["group"] in ("all", "MINE") for g in got["groups"])


def test_competing_outcomes(client, login, oracle):
    login(Role.RESEARCHER)
    got = client.get("/api/v1/survival/competing?as_of=2025-12-31").get_json()
    assert got["groups"][0]["group"] == "all"
    five = got["groups"][0]["horizons"][4]
    survival = client.get("/api/v1/survival?as_of=2025-12-31&endpoint=cooperative").get_json()
    # every exit in the reference registry is a liquidation: closure = 1 - survival, no loss
    assert abs(five["closure"] - (1 - survival["groups"][0]["horizons"][4]["survival"])) < 1e-9
    assert five["loss"] == 0


def test_cli_bad_option_exits_2(runner):
    result = runner.invoke(args=["survival", "--group-by", "colour"])
    assert result.exit_code == 2
    assert "group-by" in result.output


BAD_FURTHER = [
    ("model=weibull&covariates=transfer_type", "model"),
    ("model=cox", "covariates"),
    ("model=cox&covariates=colour", "covariates"),
    ("model=cox&covariates=transfer_type,transfer_type", "covariates"),
    ("model=cox&covariates=transfer_type&where=transfer_type=rescue", "covariates"),
    ("covariates=transfer_type", "covariates"),
    ("rmst_tau=0", "rmst_tau"), ("rmst_tau=-2", "rmst_tau"), ("rmst_tau=five", "rmst_tau"),
    ("rmst_tau=nan", "rmst_tau"), ("rmst_tau=inf", "rmst_tau"),
    ("group_by=transfer_type,country,cohort", "group_by"), ("group_by=country,country", "group_by"),
    ("group_by=country,colour", "group_by"),
]


@pytest.mark.parametrize("query, parameter", BAD_FURTHER)
def test_bad_further_parameters_give_400_never_a_silent_200(client, login, query, parameter):
    login(Role.RESEARCHER)
    for path in ("/api/v1/survival", "/api/v1/survival/competing"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, response.get_data(as_text=True))
        body = response.get_json()
        assert body["parameter"] == parameter and body["error"]


@pytest.mark.parametrize("query, parameter", BAD_FURTHER)
def test_cli_bad_further_options_exit_2_with_the_message(runner, query, parameter):
    args = ["survival", "--format", "json"]
    for item in query.split("&"):
        name, _, value = item.partition("=")
        args += [f"--{name.replace('_', '-')}", value] if name != "where" else ["--where", value]
    result = runner.invoke(args=args)
    assert result.exit_code == 2, result.output
    assert f"--{parameter.replace('_', '-')}" in result.output


def test_api_returns_the_further_estimates_and_a_cox_model(client, login, oracle):
    login(Role.RESEARCHER)
    got = client.get("/api/v1/survival?as_of=2025-12-31&group_by=transfer_type,country&rmst_tau=2.5"
                     "&model=cox&covariates=transfer_type,log_employees").get_json()
    group = got["groups"][0]
    assert group["group"] == "conversion / BE" and group["levels"] == {"transfer_type": "conversion", "country": "BE"}
    assert group["rmst"]["tau"] == 2.5 and set(group["median_ci"]) == {"lower", "upper"}
    assert len(group["hazard"]) == 5
    assert len(got["logrank"]["pairwise"]) == len(got["groups"]) * (len(got["groups"]) - 1) // 2
    cox = got["cox"]
    assert [(t["covariate"], t["level"]) for t in cox["terms"]] == [
        ("transfer_type", "conversion"), ("transfer_type", "rescue"), ("log_employees", None)]
    assert cox["ph_test"]["method"] and len(cox["ph_test"]["terms"]) == 3


def test_a_model_that_cannot_be_fitted_says_why_in_the_json(client, login, oracle):
    login(Role.RESEARCHER)
    # Every case in France: country has one level in the model (the data's doing, not the query's).
    got = client.get("/api/v1/survival?as_of=2025-12-31&where=country=FR&model=cox&covariates=transfer_type,"
                     "federation")
    assert got.status_code == 200
    assert "one level" in got.get_json()["cox"]["error"]
