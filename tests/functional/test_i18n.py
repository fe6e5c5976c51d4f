"""The interface speaks the user's language: their own setting, else the browser's, else the
instance default; a switch on every page; numbers and dates written the way the language does."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale

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
    assert '<html lang="es">' in page and "Tu configuración" in page


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
