"""Languages of the interface (English, French, Italian, Spanish) and writing numbers, percentages
and dates the way each of them does.

Which language a request is shown in, first that applies:

1. `?lang=xx` in the URL (that request, and remembered in a cookie);
2. the logged-in user's own setting (`users.language`, changed on the profile page or by an admin);
3. the `lang` cookie (set by the language switch of every page, also for anonymous visitors);
4. the browser's `Accept-Language`;
5. `BABEL_DEFAULT_LOCALE` (English unless configured).

Machine-readable outputs (the JSON API, CSV downloads, the import/export schema) never go through
these helpers: they stay ISO dates and `.` decimals whatever the language. A request to the JSON API
(`/api/...`) is in the language it asks for itself — `?lang=xx`, else an `Accept-Language` naming
one of the four — and in English when it asks for none, whatever the user's setting, the cookie or
the instance default: a script's messages do not change with who owns its token. Its response says
which (`Content-Language`, and `Vary: Accept-Language` for caches); its figures are the same in
every language.

Outside a request (CLI commands, background jobs), messages are in `TRACKER_LANG` when it names a
language of the interface, else in `BABEL_DEFAULT_LOCALE`; the report's language is chosen apart.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Any

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_decimal as babel_format_decimal
from babel.numbers import format_percent as babel_format_percent
from flask import Flask, Response, current_app, has_request_context, request
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l
from jinja2 import pass_context
from werkzeug.wrappers import Response as BaseResponse
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; not in types-WTForms 3.2

#: Languages of the interface, in the order the switch shows them.
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français", "it": "Italiano", "es": "Español"}
DEFAULT_LANGUAGE = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
#: Blueprints whose responses are machine-readable: English unless the request itself asks.
MACHINE_BLUEPRINTS = frozenset({"api"})
#: URL prefix of the machine-readable responses (also for addresses no view of the API matches).
MACHINE_PREFIX = "/api/"
#: Environment variable choosing the language of the CLI's messages.
CLI_LANGUAGE_VARIABLE = "TRACKER_LANG"

#: Settings for the user's own language; "" follows the browser.
LANGUAGE_CHOICES = [SelectChoice("", _l("The browser's language")),
                    *(SelectChoice(code, name) for code, name in LANGUAGES.items())]

#: Dates written as digits: ISO in English (what the app always showed), day first elsewhere.
_NUMERIC_DATE = {"en": "yyyy-MM-dd", "fr": "dd/MM/yyyy", "it": "dd/MM/yyyy", "es": "dd/MM/yyyy"}
#: Dates written out with the day first (CLDR's long form is "December 31, 2025" in English).
_WRITTEN_DATE = {"en": "d MMMM y"}

babel = Babel()


def N_(text: str) -> str:  # noqa: N802  (gettext's name for a marker)
    """Marks a message for the catalogues where it must stay a plain str until shown, translated
    there with `gettext` (the CLI's help texts: `tracker.cli.translate_help`; Flask-Login's notice)."""
    return text


def is_language(code: str | None) -> bool:
    return bool(code) and code in LANGUAGES


def is_machine_request() -> bool:
    """The request is to the JSON API (a view of its blueprint, or any address under /api/)."""
    return request.blueprint in MACHINE_BLUEPRINTS or request.path.startswith(MACHINE_PREFIX)


def asked_language() -> str | None:
    """The language the request itself asks for: `?lang=xx`, else the best of `Accept-Language`
    among the four (None when it names none of them, or is absent)."""
    asked = request.args.get(COOKIE)
    if is_language(asked):
        return asked
    return browser_language()


def browser_language() -> str | None:
    """The first language of `Accept-Language` (by preference) that is one of the four, read by
    its primary tag: `fr-CH, en;q=0.1` is French (Werkzeug's best match would take the exact
    `en`). None when the header is absent or names none of them (`*` included)."""
    for value, _quality in request.accept_languages:  # sorted by preference
        primary = value.split("-")[0].split("_")[0].lower()
        if is_language(primary):
            return primary
    return None


def select_locale() -> str | None:
    """Flask-Babel's locale selector: the order of the module docstring."""
    if not has_request_context():
        return cli_language()
    if is_machine_request():
        return asked_language() or DEFAULT_LANGUAGE
    asked = request.args.get(COOKIE)
    if is_language(asked):
        return asked
    from flask_login import current_user

    own = getattr(current_user, "language", None) if current_user.is_authenticated else None
    if is_language(own):
        return own
    remembered = request.cookies.get(COOKIE)
    if is_language(remembered):
        return remembered
    return browser_language()


def cli_language() -> str | None:
    """The language `TRACKER_LANG` asks for, if it is one of the interface (else None: the default)."""
    asked = (os.environ.get(CLI_LANGUAGE_VARIABLE) or "").strip().lower()[:2]
    return asked if is_language(asked) else None


def language_name(code: str) -> str:
    """A language's name as the current language writes it in a sentence (CLDR): "italien" in
    French, "Italian" in English; `LANGUAGES` holds each language's own name, for the choosers."""
    return _locale().languages.get(code, code)


def current_language() -> str:
    """The two-letter code of the language being written (the default outside a request)."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def writes_day_first(language: str | None = None) -> bool:
    """Whether the language (default: the current one) writes numeric dates day first (31/12/2025)."""
    return _NUMERIC_DATE.get(language or current_language(), "").startswith("dd")


def _locale() -> Locale:
    return get_locale() or Locale.parse(DEFAULT_LANGUAGE)


# -- numbers, percentages, dates -----------------------------------------------------------------

def format_number(value: float | int | None, digits: int | None = None, missing: str = "—") -> str:
    """`value` with the locale's grouping and decimal mark: 1 234,5 in French, 1,234.5 in English.
    `digits` fixes the number of decimals; without it an integer is written whole and a decimal
    with up to 3 places."""
    if value is None:
        return missing
    if digits is None:
        return babel_format_decimal(value, locale=_locale())
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return babel_format_decimal(value, format=pattern, locale=_locale())


@cache
def _percent_pattern(locale: Locale, digits: int) -> str:
    pattern = locale.percent_formats[None].pattern.split(";")[0]
    if digits:
        pattern = re.sub(r"0(?=[^0#,.]*$)", "0." + "0" * digits, pattern, count=1)
    return pattern


def format_percent(fraction: float | None, digits: int = 1, missing: str = "—") -> str:
    """A fraction (0..1) as a percentage in the locale's way: 0.761 → "76,1 %" in French (with a
    narrow no-break space), "76.1%" in English."""
    if fraction is None:
        return missing
    locale = _locale()
    return babel_format_percent(fraction, format=_percent_pattern(locale, digits), locale=locale)


def format_date(value: date | datetime | str | None, style: str = "numeric", missing: str = "—") -> str:
    """A date as the locale writes it: `numeric` 31/12/2025 (ISO 2025-12-31 in English), `long`
    31 décembre 2025, `written` the long form with the day first in English too (31 December 2025,
    as the annual report writes dates; a census is named so), or `medium`/`short`/`full` (CLDR).
    An ISO string is read as its date."""
    if value is None or value == "":
        return missing
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    locale = _locale()
    if style == "numeric":
        pattern = _NUMERIC_DATE.get(locale.language, "yyyy-MM-dd")
    elif style == "written":
        pattern = _WRITTEN_DATE.get(locale.language, "long")
    else:
        pattern = style
    return babel_format_date(value, format=pattern, locale=locale)


def format_datetime(value: datetime | str | None, missing: str = "—") -> str:
    """A timestamp (UTC) as the numeric date and the hour: 31/12/2025 14:05 UTC. A string is read
    as ISO up to the minute ("2025-12-31 14:05 UTC", as an upload's review keeps its times)."""
    if value is None or value == "":
        return missing
    if isinstance(value, str):
        value = datetime.fromisoformat(value[:16])
    locale = _locale()
    pattern = _NUMERIC_DATE.get(locale.language, "yyyy-MM-dd") + " HH:mm"
    return babel_format_datetime(value, format=pattern, tzinfo=None, locale=locale) + " UTC"


# -- wiring --------------------------------------------------------------------------------------

def _counts_in_digits(ngettext: Callable[..., str]) -> Callable[..., str]:
    """The templates' plural lookup, writing the count of a `{% trans count=n %}` block as the
    locale writes numbers (1 234 dossiers, 1,234 cases), as `|number` does elsewhere; the plural
    form is still chosen on the number itself."""

    @pass_context
    def counted(context: Any, singular: str, plural: str, number: int, /, **variables: Any) -> str:
        count = variables.get("count")
        if type(count) is int:
            variables["count"] = format_number(count)
        return ngettext(context, singular, plural, number, **variables)

    return counted


def register_i18n(app: Flask) -> None:
    """Flask-Babel with the catalogues of tracker/translations, the locale selector, the template
    filters (`number`, `percent`, `date`, `datetime`) and the `lang` cookie."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    if not is_language(app.config["BABEL_DEFAULT_LOCALE"]):
        from config import ConfigError

        raise ConfigError(f"BABEL_DEFAULT_LOCALE must be one of {', '.join(LANGUAGES)}, "
                          f"not {app.config['BABEL_DEFAULT_LOCALE']!r}")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    babel.init_app(app, locale_selector=select_locale)
    # {% trans %} blocks are extracted trimmed (pyproject.toml); render them trimmed too, or they miss.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.globals["ngettext"] = _counts_in_digits(app.jinja_env.globals["ngettext"])  # type: ignore[arg-type]
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["percent"] = format_percent
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language

    @app.after_request
    def remember_language(response: Response) -> Response:
        if is_machine_request():
            # The API's answer depends on the request alone, and never sets the pages' cookie.
            response.headers["Content-Language"] = current_language()
            response.vary.add("Accept-Language")
            return response
        asked = request.args.get(COOKIE)
        if asked is not None and is_language(asked) and request.cookies.get(COOKIE) != asked:
            remember(response, asked)
        return response


def remember(response: BaseResponse, language: str) -> None:
    """Keep `language` in the cookie the locale selector reads (anonymous visitors, and users
    who have no setting of their own)."""
    response.set_cookie(COOKIE, language, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
