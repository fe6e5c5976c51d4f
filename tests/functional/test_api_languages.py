"""The JSON API writes its error messages in the language the request asks for (`?lang=`, or an
`Accept-Language` naming one of the four), in English when it asks for none — whatever the
account's own setting — and its figures the same in every language."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.functional.support_research import load_oracle
from tracker.extensions import db
from tracker.models import Role

FIGURES = "/api/v1/survival?as_of=2025-12-31&group_by=transfer_type&horizons=1,3,5&rmst_tau=2.5"


def test_a_bad_parameter_is_named_in_the_language_the_request_asks_for(client, login):
    login(Role.RESEARCHER)
    asked = {
        "fr": "doit être un nombre d’années supérieur à 0, pas « -1 »",
        "it": "deve essere un numero di anni maggiore di 0, non «-1»",
        "es": "debe ser un número de años mayor que 0, no «-1»",
    }
    english = client.get("/api/v1/survival?rmst_tau=-1")
    assert english.status_code == 400
    assert english.get_json() == {"error": "must be a number of years greater than 0, not '-1'",
                                  "parameter": "rmst_tau"}
    for language, message in asked.items():
        response = client.get("/api/v1/survival?rmst_tau=-1", headers={"Accept-Language": f"{language}-XX, en;q=0.1"})
        body = response.get_json()
        assert response.status_code == 400 and response.headers["Content-Language"] == language
        assert body["parameter"] == "rmst_tau", "the parameter keeps its machine name"
        assert body["error"].replace("\u00a0", " ").replace("\u202f", " ") == message, body


def test_a_script_that_asks_for_no_language_gets_english_whatever_its_owner_reads(client, login, make_user, app):
    app.config["BABEL_DEFAULT_LOCALE"] = "fr"
    user = make_user(Role.RESEARCHER)
    user.language = "fr"
    db.session.commit()
    login(user=user)
    assert '<html lang="fr">' in client.get("/account/profile").get_data(as_text=True)
    response = client.get("/api/v1/survival?group_by=colour")
    assert response.status_code == 400 and response.headers["Content-Language"] == "en"
    assert response.get_json()["error"].isascii() and "colour" in response.get_json()["error"]
    unknown = client.get("/api/v1/survival?group_by=colour", headers={"Accept-Language": "pl-PL,de;q=0.5"})
    assert unknown.get_json() == response.get_json(), "a language the API does not speak is English"


@pytest.mark.parametrize("headers, expected", [
    ({}, "authentication required: log in first"),
    ({"Accept-Language": "fr"}, "authentification requise : connectez-vous d’abord"),
    ({"Accept-Language": "es"}, "se requiere autenticación: inicie sesión primero"),
])
def test_the_401_is_written_in_the_asked_language(client, headers, expected):
    response = client.get("/api/v1/survival", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"].replace("\u00a0", " ") == expected


def test_404_and_405_are_json_in_the_asked_language(client, login):
    login(Role.STAFF)  # staff may read their own figures; an unknown address is a 404 for anyone
    missing = client.get("/api/v1/surviva?lang=it")
    assert missing.status_code == 404 and missing.mimetype == "application/json"
    assert missing.headers["Content-Language"] == "it" and "Set-Cookie" not in missing.headers
    assert missing.get_json()["error"].startswith("L’API non ha questo indirizzo")
    client.post("/logout")
    assert client.get("/api/v1/surviva").get_json()["error"].startswith("The API has no such address")
    wrong_method = client.post("/api/v1/survival", headers={"Accept-Language": "fr"})
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error"] == "Cette adresse de l’API ne répond qu’aux requêtes GET."


def test_a_user_without_the_right_gets_a_translated_403(client, login, app, monkeypatch):
    from tracker.api import routes

    login(Role.RESEARCHER)
    monkeypatch.setattr(routes, "can", lambda user, permission: False)
    response = client.get("/api/v1/survival", headers={"Accept-Language": "fr"})
    assert response.status_code == 403
    assert response.get_json()["error"].startswith("non autorisé")
    assert client.get("/api/v1/survival").get_json()["error"].startswith("not allowed")


def test_the_figures_are_the_same_in_every_language(client, login, make_federation):
    load_oracle(make_federation, baselines=True)
    login(Role.RESEARCHER)
    english = client.get(FIGURES)
    assert english.status_code == 200
    for headers in ({"Accept-Language": "fr"}, {"Accept-Language": "it"}, {}):
        assert client.get(FIGURES, headers=headers).get_json() == english.get_json()
    spanish = client.get(FIGURES + "&lang=es")
    assert spanish.get_json() == english.get_json()
    assert spanish.headers["Content-Language"] == "es"
    assert '"as_of":"2025-12-31"' in spanish.get_data(as_text=True).replace(" ", "")


def test_the_microdata_are_the_same_in_every_language(client, login, make_federation):
    load_oracle(make_federation)
    login(Role.RESEARCHER)

    def files(headers):
        response = client.get("/api/v1/microdata?as_of=2025-12-31", headers=headers)
        assert response.status_code == 200
        with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    english, french = files({}), files({"Accept-Language": "fr"})
    assert french["microdata.csv"] == english["microdata.csv"], "codes, ISO dates and . decimals"
    assert b"Transfer Tracker: anonymised microdata" in english["README.txt"]
    assert "Transfer Tracker : microdonnées anonymisées" in french["README.txt"].decode().replace("\u00a0", " "), \
        "the README is written for people, in the language asked"
