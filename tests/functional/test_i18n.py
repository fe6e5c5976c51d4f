"""The interface speaks the user's language: their own setting, else the browser's, else the
instance default; a switch on every page; numbers and dates written the way the language does."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale, gettext, refresh

from config import TestingConfig
from tracker.extensions import db
from tracker.i18n import format_date, format_number, format_percent
from tracker.models import Role, User


def test_the_browser_language_is_used_for_an_anonymous_visitor(client):
    page = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Se connecter" in page and "Mot de passe" in page
    assert "Log in" not in page


def test_an_unknown_browser_language_falls_back_to_english(client):
    page = client.get("/login", headers={"Accept-Language": "pl-PL,pl;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page


def test_lang_in_the_url_switches_and_is_remembered(client):
    page = client.get("/login?lang=it").get_data(as_text=True)
    assert '<html lang="it">' in page and "Accedi" in page
    again = client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="it">' in again, "the cookie set by ?lang= wins over the browser's language"


def test_the_switch_on_every_page_sets_the_language_of_an_anonymous_visitor(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'name="language" value="es"' in page
    response = client.post("/language", data={"language": "es", "next": "/login?x=1"})
    assert response.status_code == 302 and response.headers["Location"] == "/login?x=1"
    assert "Iniciar sesión" in client.get("/login").get_data(as_text=True)


def test_the_switch_refuses_to_redirect_off_site_and_ignores_unknown_languages(client):
    response = client.post("/language", data={"language": "xx", "next": "https://evil.example/"})
    assert response.status_code == 302 and "evil" not in response.headers["Location"]
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_a_users_own_setting_wins_over_the_browser(client, login, make_user):
    user = make_user(Role.RESEARCHER)
    user.language = "es"
    db.session.commit()
    login(user=user)
    page = client.get("/account/profile", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="es">' in page and "Su configuración" in page


def test_the_profile_page_changes_the_users_language(client, login):
    user = login(Role.STAFF)
    response = client.post("/account/profile", data={"language": "fr"}, follow_redirects=True)
    assert "Vos paramètres sont enregistrés." in response.get_data(as_text=True)
    assert db.session.get(User, user.id).language == "fr"
    client.post("/account/profile", data={"language": ""})
    assert db.session.get(User, user.id).language is None
    page = client.get("/account/profile", headers={"Accept-Language": "it"}).get_data(as_text=True)
    assert '<html lang="it">' in page


def test_the_switch_stores_a_logged_in_users_language(client, login):
    user = login(Role.ADMIN)
    client.post("/language", data={"language": "it", "next": "/account/profile"})
    assert db.session.get(User, user.id).language == "it"


def test_an_admin_sets_the_language_of_a_new_user(client, login, make_federation):
    login(Role.ADMIN)
    fed = make_federation(country="IT")
    response = client.post("/admin/users/new", data={
        "email": "mario@example.org", "role": "staff", "federation": str(fed.id), "language": "it",
        "password": "a long password 1", "confirm": "a long password 1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    created = db.session.scalar(db.select(User).where(User.email == "mario@example.org"))
    assert created.language == "it"


def test_an_unknown_language_is_refused_by_the_profile_form(client, login):
    user = login(Role.RESEARCHER)
    response = client.post("/account/profile", data={"language": "xx"})
    assert response.status_code == 200
    assert db.session.get(User, user.id).language is None


class FrenchInstance(TestingConfig):
    BABEL_DEFAULT_LOCALE = "fr"


@pytest.mark.parametrize("app_config", [FrenchInstance])
def test_the_instance_default_applies_without_any_other_choice(client):
    assert '<html lang="fr">' in client.get("/login").get_data(as_text=True)


def test_error_pages_are_translated(client):
    page = client.get("/no-such-page", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Página no encontrada" in page and "Volver a la página de inicio" in page


def test_numbers_percentages_and_dates_follow_the_language(app):
    with app.test_request_context():
        with force_locale("fr"):
            assert format_percent(0.761) == "76,1\u00a0%"
            assert format_number(1234567) == "1\u202f234\u202f567"
            assert format_date(date(2025, 12, 31)) == "31/12/2025"
            assert format_date(date(2025, 12, 31), "long") == "31 décembre 2025"
        with force_locale("it"):
            assert format_percent(0.761) == "76,1%"
            assert format_number(1234.5, 1) == "1.234,5"
            assert format_date(date(2025, 12, 31), "long") == "31 dicembre 2025"
        with force_locale("es"):
            assert format_date(date(2025, 12, 31), "long") == "31 de diciembre de 2025"
        with force_locale("en"):
            assert format_percent(0.761) == "76.1%"
            assert format_date(date(2025, 12, 31)) == "2025-12-31"


PASSWORD_RULE = "Password must be at least %(count)s characters long."


def test_the_json_api_speaks_the_language_the_request_asks_for_and_english_otherwise(app, client, login, make_user):
    """The same service messages serve the pages (the user's language) and the API (the request's own)."""
    with app.test_request_context("/api/v1/survival", headers={"Accept-Language": "fr"}):
        refresh()
        assert gettext(PASSWORD_RULE, count=10) == "Le mot de passe doit compter au moins 10 caractères."
    with app.test_request_context("/api/v1/survival"):
        refresh()  # the test's app context outlives each request context
        assert gettext(PASSWORD_RULE, count=10) == "Password must be at least 10 characters long."
    user = make_user(Role.RESEARCHER)
    user.language = "it"
    db.session.commit()
    login(user=user)
    french = client.get("/api/v1/survival?horizons=0", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert french.status_code == 400 and french.headers["Content-Language"] == "fr"
    assert french.get_json() == {"error": "les horizons doivent être des nombres entiers d’années de 1 à 50, "
                                          "pas 0", "parameter": "horizons"}
    plain = client.get("/api/v1/survival?horizons=0")
    assert plain.status_code == 400 and plain.headers["Content-Language"] == "en"
    assert plain.get_json()["parameter"] == "horizons"
    assert plain.get_json()["error"].startswith("horizons must be whole numbers of years"), \
        "a script that asks for no language gets English, whatever its owner's own setting (Italian)"
    assert "Accept-Language" in plain.headers["Vary"]


def test_a_service_message_is_shown_in_the_users_language(client, login, make_user):
    admin = make_user(Role.ADMIN)
    admin.language = "es"
    db.session.commit()
    login(user=admin)
    page = client.post("/admin/federations/new", data={"code": "ES-COCETA", "name": "COCETA", "country": "ZZ"})
    assert "«ZZ» no es un código de país ISO 3166-1 alfa-2." in page.get_data(as_text=True)


def test_cli_messages_follow_tracker_lang(runner, monkeypatch):
    monkeypatch.setenv("TRACKER_LANG", "fr")
    refresh()  # the CLI's locale is chosen once per app context
    result = runner.invoke(args=["federations", "add", "FR-X", "Scop X", "--country", "ZZ"])
    assert result.exit_code == 1
    assert "Erreur\u00a0: «\u00a0ZZ\u00a0» n’est pas un code pays ISO 3166-1 alpha-2." in result.output
    ok = runner.invoke(args=["federations", "add", "FR-X", "Scop X", "--country", "FR"])
    assert "Fédération FR-X (Scop X, FR) ajoutée." in ok.output
    listing = runner.invoke(args=["federations", "list"])
    assert listing.output == "FR-X\tFR\tScop X\n", "listings are for scripts: the same in every language"


def test_cli_messages_default_to_the_instance_language(runner, monkeypatch):
    monkeypatch.delenv("TRACKER_LANG", raising=False)
    refresh()
    result = runner.invoke(args=["users", "create", "x@example.org", "--role", "staff", "--federation", "NONE"],
                           input="long enough password\n")
    assert result.exit_code == 1 and "Error: no federation with code 'NONE'" in result.output


def test_cli_help_is_translated_when_the_app_starts(monkeypatch):
    from tracker import create_app
    from tracker.cli import federations_add

    monkeypatch.setenv("TRACKER_LANG", "it")
    create_app(TestingConfig)
    option = next(p for p in federations_add.params if p.name == "country")
    assert (federations_add.help, option.help) == ("Aggiunge una federazione con codice CODE e nome NAME.",
                                                   "codice paese ISO 3166-1 alpha-2")
    from click import core

    assert core._("Options") == "Opzioni", "Click's own words too"
    monkeypatch.setenv("TRACKER_LANG", "en")
    create_app(TestingConfig)
    assert federations_add.help == "Add a federation CODE named NAME." and core._("Options") == "Options"


def test_an_instance_default_that_is_not_a_language_is_refused():
    from config import ConfigError
    from tracker import create_app

    class GermanInstance(TestingConfig):
        BABEL_DEFAULT_LOCALE = "de"

    with pytest.raises(ConfigError, match="BABEL_DEFAULT_LOCALE"):
        create_app(GermanInstance)


def test_import_messages_and_labels_are_in_the_language_of_the_moment(app):
    from tracker.services.spreadsheets import csv_dialect

    with app.test_request_context(), force_locale("it"):
        with pytest.raises(csv_dialect.UnreadableText, match="il file è un documento PDF"):
            csv_dialect.decode_text(b"%PDF-1.7\n\xe2\xe3\xcf\xd3\x00")
        assert csv_dialect.DELIMITER_LABELS[";"] == "punto e virgola (;)"
    with app.test_request_context(), force_locale("fr"):
        assert csv_dialect.ENCODING_LABELS["utf-8-sig"] == "UTF-8 (avec BOM)"


def test_the_log_in_notice_is_translated(client):
    page = client.get("/admin/", headers={"Accept-Language": "it"}, follow_redirects=True).get_data(as_text=True)
    assert "Accedere per visualizzare questa pagina." in page


def test_the_language_parameter_is_not_a_survival_parameter(client, login):
    login(Role.RESEARCHER)
    page = client.get("/research/?lang=fr").get_data(as_text=True)
    assert "unknown parameter" not in page and '<html lang="fr">' in page
    assert client.get("/api/v1/survival?lang=fr").status_code == 200


def test_the_cli_survival_table_is_written_in_tracker_lang(runner, make_federation, monkeypatch):
    from tests.functional.support_research import load_oracle

    load_oracle(make_federation)
    monkeypatch.setenv("TRACKER_LANG", "fr")
    refresh()
    table = runner.invoke(args=["survival", "--as-of", "2025-12-31", "--group-by", "transfer_type"])
    assert table.exit_code == 0, table.output
    assert "Pérennité au 31/12/2025, critère\u00a0: Pérennité de l’entreprise, avec entrée différée" in table.output
    assert "médiane" in table.output and "log-rank\u00a0: khi2 = " in table.output
    as_json = runner.invoke(args=["survival", "--as-of", "2025-12-31", "--format", "json"])
    assert '"as_of": "2025-12-31"' in as_json.output and "Pérennité" not in as_json.output


def test_cli_survival_refuses_a_bad_option_in_tracker_lang(runner, monkeypatch):
    monkeypatch.setenv("TRACKER_LANG", "fr")
    refresh()
    bad = runner.invoke(args=["survival", "--horizons", "1,1"])
    assert bad.exit_code == 2
    assert "--horizons : un horizon ne doit pas être répété" in bad.output.replace("\u00a0", " "), bad.output
    bands = runner.invoke(args=["survival", "--cohort-bands", "2000-2010,2005-2015"])
    assert bands.exit_code == 2 and "les tranches de cohortes ne doivent pas se chevaucher" in bands.output
    monkeypatch.setenv("TRACKER_LANG", "es")
    refresh()
    where = runner.invoke(args=["survival", "--where", "colour=red"])
    assert where.exit_code == 2
    assert "--where: campo desconocido «colour»" in where.output.replace("\u00a0", " "), where.output
    model = runner.invoke(args=["survival", "--competing", "--model", "cox", "--covariates", "transfer_type"])
    assert "los riesgos competitivos no admiten un modelo" in model.output, model.output


def test_cli_survival_errors_default_to_the_instance_language(runner, monkeypatch):
    monkeypatch.delenv("TRACKER_LANG", raising=False)
    refresh()
    bad = runner.invoke(args=["survival", "--rmst-tau", "-1"])
    assert bad.exit_code == 2
    assert "Error: --rmst-tau: must be a number of years greater than 0, not '-1'" in bad.output


def test_the_explorer_names_a_bad_parameter_in_the_readers_language(client, login, app):
    login(Role.RESEARCHER)
    page = client.get("/research/?lang=it&horizons=0").get_data(as_text=True)
    assert "gli orizzonti devono essere numeri interi di anni da 1 a" in page
    api = client.get("/api/v1/survival?horizons=0&lang=it", headers={"Accept-Language": "fr"})
    body = api.get_json()
    assert api.status_code == 400 and body["parameter"] == "horizons"
    assert body["error"].startswith("gli orizzonti devono essere numeri interi di anni"), "?lang= wins"
    assert api.headers["Content-Language"] == "it" and "Set-Cookie" not in api.headers


@pytest.mark.parametrize(("language", "shown"), [
    ("en", "1,234 cases to create"), ("fr", "1\u202f234 dossiers à créer"), ("it", "1.234 casi da creare"),
    ("es", "1.234 casos por crear"), ("en", "1 case to create"), ("fr", "0 dossier à créer")])
def test_a_count_in_a_page_sentence_is_written_in_the_languages_digits(app, language, shown):
    """A page's "N cases to create" wrote 148213 in every language; the count now has the locale's
    grouping, and still chooses the singular or plural (French: 0 and 1 take the singular)."""
    from flask import render_template_string

    count = int(shown.split(" ")[0].replace(",", "").replace(".", "").replace("\u202f", ""))
    template = ("{% trans count=n %}{{ count }} case to create{% pluralize %}{{ count }} cases to create"
                "{% endtrans %}")
    with app.test_request_context(f"/?lang={language}"):
        assert render_template_string(template, n=count) == shown
