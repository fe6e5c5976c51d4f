"""Transfer Tracker: application factory. Wiring only; no migrations, no data loading here."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from flask import Flask, render_template
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter, Map

from config import Config, config_from_env, instance_secret_key

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ("auth", "cases", "research", "reports", "admin", "api")


def create_app(config: Config | type[Config] | None = None) -> Flask:
    """Build the app. `config` is a Config instance or class; default: TRACKER_CONFIG env (development)."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    if isinstance(config, type):
        config = config()
    app.config.from_object(config or config_from_env())
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'tracker.sqlite3'}"
    register_extensions(app)
    app.url_map.converters["int"] = DatabaseIntConverter  # before any route is added
    register_i18n(app)
    register_blueprints(app)
    register_cli(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_security_headers(app)
    register_input_guards(app)
    register_sqlite_reader(app)
    return app


CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    # matplotlib's inline SVG figures carry a <style> element; no script is ever inline.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))


def register_security_headers(app: Flask) -> None:
    from flask import Response, g

    hsts = app.config.get("HSTS_SECONDS") or 0

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        user = g.get("_login_user")  # set once Flask-Login looked at this request
        if (user is not None and user.is_authenticated) or "Content-Disposition" in headers:
            # A shared or back-button cache must not keep a page or file meant for one account.
            headers["Cache-Control"] = "no-store"
        if hsts:
            headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


def register_sqlite_reader(app: Flask) -> None:
    """On a SQLite file, start the analytics' reader process (services.analytics.sqlite_reader) at the first
    request of each app process, so the first survival figure does not wait for it; commands
    that serve nothing never start it."""
    if not app.config.get("SQLITE_READER_PREWARM", True):
        return
    from flask import request_started
    from sqlalchemy.engine import make_url

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return

    def start_reader(sender: Flask, **extra: object) -> None:
        from tracker.services.analytics import sqlite_reader

        request_started.disconnect(start_reader, sender)
        sqlite_reader.start()

    request_started.connect(start_reader, app, weak=False)


MAX_PAGE = 10_000_000
MAX_DATABASE_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL


class DatabaseIntConverter(IntegerConverter):
    """`<int:...>` in URLs: a number beyond what an id column holds matches no page (404) instead
    of reaching the database (PostgreSQL: "integer out of range"; SQLite's driver cannot even
    send a number beyond 64 bits): a 500 either way."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = MAX_DATABASE_ID, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_input_guards(app: Flask) -> None:
    """No URL parameter or form field may hold a NUL character: no text has a use for one, and
    PostgreSQL refuses it in text values (a query would fail with a 500). Refused here, before
    any view, with the name of the parameter or field."""
    from flask import abort, request
    from flask_babel import gettext as _
    from werkzeug.datastructures import MultiDict

    from tracker.services.errors import InvalidParameter

    @app.before_request
    def refuse_impossible_page_numbers() -> None:
        # A list page's offset (page x per page) must fit the database's 64-bit integers. The
        # pages read `page` with int(), which also takes signs, spaces, underscores and other
        # scripts' digits ("+1_000_000_000_000"): the guard reads it the same way.
        page = request.args.get("page", "")
        try:
            number = int(page) if len(page) <= 100 else None
        except ValueError:
            return
        if number is None or number > MAX_PAGE:
            shown = page.strip()[:20] + ("…" if len(page.strip()) > 20 else "")
            abort(404, description=_("There is no page %(page)s.", page=shown))

    @app.before_request
    def refuse_nul_characters() -> None:
        sources: list[tuple[str, MultiDict[str, str]]] = [("parameter", request.args)]
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            sources.append(("field", request.form))
            sources.append(("file name", MultiDict(
                [(name, upload.filename or "") for name, upload in request.files.items()])))
        for kind, values in sources:
            for name, value in values.items(multi=True):
                if "\x00" in value or "\x00" in name:
                    shown = name.replace("\x00", "\\x00")[:40]
                    if request.blueprint == "api":
                        raise InvalidParameter(shown, _("contains a NUL character (\\x00), which no text may hold"))
                    descriptions = {
                        "parameter": _("The parameter '%(name)s' contains a NUL character (\\x00), which no text "
                                       "may hold.", name=shown),
                        "field": _("The field '%(name)s' contains a NUL character (\\x00), which no text may hold.",
                                   name=shown),
                        "file name": _("The file name '%(name)s' contains a NUL character (\\x00), which no text "
                                       "may hold.", name=shown),
                    }
                    abort(400, description=descriptions[kind])


def register_i18n(app: Flask) -> None:
    from tracker.i18n import register_i18n as register

    register(app)


def register_extensions(app: Flask) -> None:
    from flask_babel import gettext

    from tracker.extensions import bootstrap, csrf, db, limiter, login_manager, migrate
    from tracker.i18n import N_

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "warning"
    # Flask-Login flashes this msgid through gettext, in the language of the request.
    login_manager.login_message = N_("Please log in to access this page.")
    login_manager.localize_callback = gettext
    login_manager.session_protection = "strong"

    from tracker.services.accounts import users
    from tracker.services.analytics import data_version
    from tracker.services.casework import audit

    login_manager.user_loader(users.load_user)
    app.before_request(_user_from_api_token)
    audit.install_guards()
    data_version.install_listener()


def _user_from_api_token() -> None:
    """`Authorization: Bearer <token>` authenticates the JSON API (and nothing else). The token
    decides, before Flask-Login looks at the session: a session cookie sent along (anonymous,
    stale, or another user's) neither hides a valid token nor rescues an invalid one."""
    from flask import request

    header = request.headers.get("Authorization", "")
    if not request.path.startswith("/api/") or not header.startswith("Bearer "):
        return
    from tracker.extensions import login_manager
    from tracker.services.accounts import tokens

    user = tokens.user_for_token(header.removeprefix("Bearer ").strip())
    login_manager._update_request_context_with_user(user)  # None: the anonymous user


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    """SQLite ignores foreign keys unless asked, per connection."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def register_blueprints(app: Flask) -> None:
    for name in BLUEPRINTS:
        import_module(f"tracker.{name}.routes")  # attaches the views to the package's `bp`
        package = import_module(f"tracker.{name}")
        app.register_blueprint(package.bp)


def register_cli(app: Flask) -> None:
    from tracker.cli import register_commands

    register_commands(app)


def register_error_handlers(app: Flask) -> None:
    from flask_babel import gettext as _
    from flask_wtf.csrf import CSRFError

    def render_error(error):  # noqa: ANN001, ANN202
        from flask import jsonify

        from tracker.i18n import is_machine_request

        code = getattr(error, "code", 500) or 500
        if is_machine_request():  # scripts read JSON, also for an address the API does not have
            return jsonify(error=_error_description(error, api=True)), code
        return render_template("errors.html", error=error, code=code), code

    for code in (400, 403, 404, 405, 409, 413, 429, 500):
        app.register_error_handler(code, render_error)

    def csrf_error(error: CSRFError):  # noqa: ANN202
        return render_template("errors.html", error=error, code=400,
                               message=_("The form expired or was not sent by this site "
                                         "(missing or invalid CSRF token). Reload the page and try again.")), 400

    app.register_error_handler(CSRFError, csrf_error)
    register_unavailable_handler(app)


def register_unavailable_handler(app: Flask) -> None:
    """The database down, read-only, full or locked: a 503 that says so (JSON under /api/), never
    a 500 or a traceback. Other database errors are bugs and stay 500s."""
    from flask import jsonify
    from flask_babel import gettext
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from tracker.extensions import db, login_manager
    from tracker.i18n import is_machine_request
    from tracker.services.ops import availability

    def unavailable(error: Exception):  # noqa: ANN202
        if availability.unavailable_reason(error) is None:
            raise error
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the session is discarded anyway
            db.session.remove()
        # The page is drawn for an anonymous visitor: loading the account needs the database. This
        # comes before any translation, since choosing the language reads the user's own setting
        # (when the account could not be loaded, that read would fail again inside this handler).
        login_manager._update_request_context_with_user(None)
        message = availability.describe(error, gettext)
        app.logger.error("database unavailable: %s (%s)", message, type(error.__cause__ or error).__name__)
        if is_machine_request():
            response = jsonify(error=gettext("service unavailable: %(reason)s", reason=message))
        else:
            response = app.make_response((render_template(
                "errors.html", error=error, code=503,
                message=gettext("%(reason)s Nothing was changed by this request. Please try again later; "
                                "if it lasts, tell the secretariat.", reason=message)), 503))
        response.status_code = 503
        response.headers["Retry-After"] = "60"
        return response

    app.register_error_handler(DBAPIError, unavailable)
    app.register_error_handler(PoolTimeout, unavailable)

    @app.teardown_appcontext
    def close_the_session(error: BaseException | None) -> None:
        """Closing the session rolls its transaction back. When the server ended the connection
        meanwhile (sessions terminated by an administrator, a restart), that rollback fails after
        the response was drawn, where no error handler applies: the page would become a 500. The
        lost connection is dropped instead (SQLAlchemy invalidates it) and the response goes out;
        any other error stays an error. Registered after Flask-SQLAlchemy's own teardown, which
        then finds no session, so it runs first."""
        try:
            db.session.remove()
        except DBAPIError as exc:
            if availability.unavailable_reason(exc) is None:
                raise
            db.session.registry.clear()
            app.logger.warning("connection lost as a request ended: %s", availability.describe(exc))


def _error_description(error: object, api: bool = False) -> str:
    """What an error page says: the app's own description (already in the user's language), or
    for Werkzeug's stock English descriptions, the same in the user's language (`api`: in the
    JSON API's words, which has addresses rather than pages)."""
    from flask import current_app
    from flask_babel import gettext as _

    description = getattr(error, "description", None)
    if description and description != getattr(type(error), "description", None):
        return str(description)
    code = getattr(error, "code", 500)
    if api and code in (404, 405):
        return {404: _("The API has no such address; see the API section of the documentation."),
                405: _("This address of the API only answers GET requests.")}[code]
    stock = {
        400: _("The browser sent a request that this server could not understand."),
        403: _("You do not have the permission to see this page."),
        404: _("The page was not found. If you typed the address, check it and try again."),
        405: _("This page does not accept that kind of request."),
        409: _("The request conflicts with the current state of the data."),
        413: _("The file is too large (at most %(size)s MB).",
               size=(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)),
        429: _("Too many attempts. Wait a few minutes and try again."),
    }
    return stock.get(code, _("The server could not complete the request."))


def register_template_helpers(app: Flask) -> None:
    from tracker import vocabulary
    from tracker.services.permissions import can
    from tracker.services.reference import country_name

    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["error_description"] = _error_description
    app.jinja_env.globals["role_label"] = lambda role: vocabulary.label(vocabulary.ROLES, role)
    app.jinja_env.filters["app_text"] = vocabulary.app_text
    app.jinja_env.filters["duplicate_reasons"] = (
        lambda reasons: "; ".join(vocabulary.label(vocabulary.DUPLICATE_REASONS, reason) for reason in reasons))
    app.jinja_env.globals["country_name"] = country_name  # a country code as its name in the page's language
    app.jinja_env.globals["app_version"] = _version()

    @app.context_processor
    def endpoints() -> dict[str, object]:
        return {"config_endpoints": app.view_functions}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("transfer-tracker")
    except PackageNotFoundError:
        return "0+unknown"
