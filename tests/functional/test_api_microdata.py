"""The anonymised microdata download: the same cases as the survival figures, nothing that
identifies a case, ids stable within an edition only, readable by R (CSV) and Stata (.dta)."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from tests.conftest import ORACLE_DIR
from tracker.extensions import db
from tracker.models import Case, Role
from tracker.services.analytics import queries as analytics
from tracker.services.analytics.microdata import VARIABLES, microdata_params
from tracker.services.spreadsheets.imports import import_cases

FILES = {"microdata.csv", "microdata.dta", "codebook.csv", "README.txt"}


@pytest.fixture
def oracle(app, make_federation):
    analytics.clear_cache()
    fed = make_federation(code="ORACLE")
    assert not import_cases(None, fed, (ORACLE_DIR / "cases.csv").read_bytes(), "cases.csv", dry_run=False).problems
    for i, case in enumerate(db.session.query(Case).order_by(Case.id)):
        case.national_id = f"NID{900000 + i}"
        case.contact_name, case.contact_email, case.notes = "Jeanne Secret", "jeanne@secret.example", "private note"
        if i % 3 == 0:
            case.founded_on = date(1990 + i % 20, 1 + i % 12, 1)
    db.session.commit()
    return fed


def download(client, query: str) -> dict[str, bytes]:
    response = client.get(f"/api/v1/microdata?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def csv_of(files: dict[str, bytes]) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(files["microdata.csv"]), dtype={"id": str}, keep_default_na=False,
                       na_values=[""])


def test_the_data_set_holds_the_cases_and_follow_up_of_the_survival_figures(client, login, oracle):
    login(Role.RESEARCHER)
    params = "as_of=2025-12-31&group_by=transfer_type&country=FR,IT"
    files = download(client, params)
    assert set(files) == FILES
    data = csv_of(files)
    figures = client.get(f"/api/v1/survival?{params}").get_json()
    assert len(data) == sum(g["n"] for g in figures["groups"])
    for group in figures["groups"]:
        rows = data[data.transfer_type == group["group"]]
        assert int(rows.event_enterprise.sum()) == group["events"]
        km = KaplanMeierFitter().fit(rows.time, rows.event_enterprise, entry=rows.entry)
        five = next(h for h in group["horizons"] if h["years"] == 5)
        assert float(km.survival_function_at_times(5).iloc[0]) == pytest.approx(five["survival"], abs=1e-9)
    assert set(data.country) == {"FR", "IT"}
    assert set(data.exit_type) <= {0, 1, 2}
    assert (data.event_enterprise == (data.exit_type == 1)).all()
    assert (data.event_cooperative == (data.exit_type > 0)).all()


def test_no_personal_or_identifying_field_leaves_the_app(client, login, oracle):
    login(Role.ADMIN)
    files = download(client, "as_of=2025-12-31")
    data = csv_of(files)
    assert list(data.columns) == [v.name for v in VARIABLES if v.name != "cohort_band"]
    cases = db.session.query(Case).all()
    text = b"\n".join(files.values()).decode("utf-8", errors="replace")
    for case in cases[:200]:
        assert case.ref not in text and case.name not in text and case.national_id not in text
    for secret in ("Jeanne", "secret.example", "private note", "NID9"):
        assert secret not in text
    # No exact date: founded cases show their year only.
    assert not any(c.founded_on.isoformat() in text for c in cases if c.founded_on)
    assert data.founded_year.notna().sum() == data.age_at_transfer.notna().sum() > 0
    assert set(data.id.str.len()) == {16} and data.id.is_unique
    assert list(data.id) == sorted(data.id)  # the order says nothing of the database ids


def test_ids_are_stable_within_an_edition_and_change_with_it(client, login, oracle, make_case):
    login(Role.RESEARCHER)
    first = csv_of(download(client, "as_of=2025-12-31"))
    fr = csv_of(download(client, "as_of=2025-12-31&country=FR"))
    assert set(fr.id) <= set(first.id)  # another selection of the same edition: the same ids
    make_case(oracle, ref="NEW-EDITION")  # any write makes a new edition
    later = csv_of(download(client, "as_of=2025-12-31"))
    assert len(later) == len(first) + 1
    assert not set(later.id) & set(first.id)


def test_stata_file_has_variable_and_value_labels(client, login, oracle):
    login(Role.RESEARCHER)
    files = download(client, "as_of=2025-12-31&cohort_bands=2000-2009,2010-2025")
    with pd.io.stata.StataReader(io.BytesIO(files["microdata.dta"])) as reader:
        stata = reader.read(convert_categoricals=False)
        variable_labels, value_labels = reader.variable_labels(), reader.value_labels()
    data = csv_of(files)
    assert len(stata) == len(data) and list(stata.columns) == list(data.columns)
    assert variable_labels["time"] == "End of follow-up" and all(variable_labels.values())
    assert value_labels["exit_type"] == {0: "censored", 1: "closure", 2: "loss of the cooperative form"}
    assert set(value_labels["transfer_type"].values()) == set(data.transfer_type)
    assert set(value_labels["cohort_band"].values()) == {"2000-2009", "2010-2025"}
    assert np.allclose(stata.time, data.time, rtol=0, atol=1e-12)
    codebook = pd.read_csv(io.BytesIO(files["codebook.csv"]))
    assert list(codebook.columns) == ["variable", "label", "units", "values"]
    assert list(codebook.variable) == list(data.columns)
    readme = files["README.txt"].decode()
    assert "as_of = 2025-12-31" in readme and "cohort_bands = 2000-2009,2010-2025" in readme
    assert f"Cases in the data set: {len(data)}" in readme


def test_staff_get_their_own_federation_only(client, login, oracle, make_federation, make_case):
    mine = make_federation(code="MINE")
    make_case(mine, ref="M-1")
    make_case(mine, ref="M-2")
    login(Role.STAFF, federation=mine)
    data = csv_of(download(client, "as_of=2025-12-31"))
    assert set(data.federation) == {"MINE"} and len(data) == 2
    assert "restricted to the federation MINE" in download(client, "as_of=2025-12-31")["README.txt"].decode()
    assert len(csv_of(download(client, "as_of=2025-12-31&federation=ORACLE"))) == 0


@pytest.mark.parametrize(("query", "parameter"), [
    ("as_of=yesterday", "as_of"), ("country=XX", "country"), ("age_band=old", "age_band"),
    ("cohort_bands=2010-2000", "cohort_bands"), ("colour=red", "colour"),
])
def test_bad_parameters_give_400_with_the_parameter(client, login, oracle, query, parameter):
    login(Role.RESEARCHER)
    response = client.get(f"/api/v1/microdata?{query}")
    assert response.status_code == 400
    assert response.get_json()["parameter"] == parameter and response.get_json()["error"]


def test_anonymous_gets_401(client):
    assert client.get("/api/v1/microdata").status_code == 401


def test_the_cli_writes_the_same_zip(app, oracle, runner, tmp_path):
    out = tmp_path / "md.zip"
    result = runner.invoke(args=["survival", "--as-of", "2025-12-31", "--where", "country=FR", "--microdata", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == FILES
        rows = len(pd.read_csv(io.BytesIO(archive.read("microdata.csv"))))
    assert f"{rows} cases written" in result.output
    bad = runner.invoke(args=["survival", "--where", "age_band=old", "--microdata", str(out)])
    assert bad.exit_code == 2 and "age_band" in bad.output


def test_the_url_builder_keeps_the_selection_only(app):
    query = analytics.SurvivalQuery.from_params({"as_of": "2025-12-31", "group_by": "country", "country": "FR",
                                                 "model": "cox", "covariates": "transfer_type", "horizons": "1,3"})
    assert microdata_params(query) == {"as_of": "2025-12-31", "country": ["FR"]}
    with app.test_request_context():
        from tracker.services.analytics.microdata import microdata_url

        assert microdata_url(query) == "/api/v1/microdata?as_of=2025-12-31&country=FR"
