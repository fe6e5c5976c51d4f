"""A database that is gone, read-only or full: the web answers a 503 page that says so, the CLI one
line and exit 1 — never a 500 or a traceback. Tried with real failing databases, not mocks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event, text

from config import TestingConfig
from tracker import create_app
from tracker.cli import main
from tracker.extensions import db
from tracker.models import Role, User

PASSWORD = "correct horse battery"
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2"


def config_for(url: str) -> type[TestingConfig]:
    class Config(TestingConfig):
        def __init__(self) -> None:
            super().__init__()
            self.SQLALCHEMY_DATABASE_URI = url

    return Config


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    """A SQLite database with the schema and one admin."""
    path = tmp_path / "tracker.sqlite3"
    app = create_app(config_for(f"sqlite:///{path}"))
    with app.app_context():
        db.create_all()
        user = User(email="admin@example.org", role=Role.ADMIN, active=True)
        user.set_password(PASSWORD, TestingConfig.PASSWORD_HASH_METHOD)
        db.session.add(user)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return path


def login(app, email="admin@example.org"):
    return app.test_client().post("/login", data={"email": email, "password": PASSWORD})


def assert_friendly_503(response, reason: str) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:500]
    assert "The service is unavailable" in body and reason in body
    assert "Traceback" not in body and "sqlite3." not in body and "SELECT" not in body
    assert response.headers["Retry-After"]


def test_a_read_only_database_gets_a_503_page_on_write(sqlite_file):
    app = create_app(config_for(f"sqlite:///file:{sqlite_file}?mode=ro&uri=true"))
    assert_friendly_503(login(app), "read-only")  # logging in records last_login_at


def test_a_full_database_gets_a_503_page(sqlite_file):
    from tracker.models import Federation

    app = create_app(config_for(f"sqlite:///{sqlite_file}"))
    with app.app_context():
        federation = Federation(code="FR-F", name="Full", country="FR")
        db.session.add(federation)
        db.session.commit()
        federation_id = federation.id
        pages = db.session.execute(db.text("PRAGMA page_count")).scalar()

        @event.listens_for(db.engine, "connect")
        def no_more_pages(dbapi_connection, record):  # as a disk with no space left
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

        db.session.remove()
        db.engine.dispose()
    client = app.test_client()
    assert client.post("/login", data={"email": "admin@example.org", "password": PASSWORD}).status_code == 302
    for n in range(30):  # cases with long notes, until no page is left
        response = client.post("/cases/new", data={
            "federation": federation_id, "ref": f"F-{n}", "name": f"Full {n}", "country": "FR",
            "transfer_date": "2015-03-01", "transfer_type": "rescue", "last_verified_on": "2024-12-31",
            "notes": "n" * 9000})
        if response.status_code != 302:
            break
    assert_friendly_503(response, "full")


def test_a_database_file_that_went_away_gets_a_503_page(sqlite_file):
    app = create_app(config_for(f"sqlite:///{sqlite_file}"))
    sqlite_file.unlink()  # SQLite opens a new, empty file in its place
    assert_friendly_503(login(app), "no schema")


def test_a_logged_in_user_whose_account_cannot_be_read_gets_the_503_page(sqlite_file):
    """The account is read at the start of the request: when that read fails, the 503 page is drawn
    for an anonymous visitor (choosing its language would read the account again, and fail)."""
    app = create_app(config_for(f"sqlite:///{sqlite_file}"))
    client = app.test_client()
    assert client.post("/login", data={"email": "admin@example.org", "password": PASSWORD}).status_code == 302
    assert client.get("/cases/").status_code == 200
    sqlite_file.unlink()
    with app.app_context():
        db.engine.dispose()  # the next connection opens the empty file that replaces it
    assert_friendly_503(client.get("/cases/"), "no schema")
    french = client.get("/cases/", headers={"Accept-Language": "fr"})
    assert french.status_code == 503 and "Le service est indisponible" in french.get_data(as_text=True)
    api = client.get("/api/v1/survival")
    assert api.status_code == 503 and "no schema" in api.get_json()["error"]


@pytest.mark.postgres
def test_a_connection_the_server_ends_as_a_page_is_sent_does_not_make_it_a_500(app, client, login):
    """Found by the fault bench: PostgreSQL terminated the sessions after a case page was drawn
    and before the request's transaction was closed; the rollback at the end of the request failed
    where no error handler applies, and the page became a 500. The page goes out, and the next
    request gets a new connection."""
    ending = []

    @app.after_request
    def the_server_ends_the_session(response):  # noqa: ANN001, ANN202
        if ending:
            pid = db.session.connection().connection.driver_connection.info.backend_pid
            with db.engine.connect() as other:  # as `pg_terminate_backend` from psql; waits until it has ended
                assert other.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()
        return response

    login(Role.ADMIN)
    ending.append(True)
    response = client.get("/cases/")
    assert response.status_code == 200 and "Cases" in response.get_data(as_text=True)
    ending.clear()
    assert client.get("/cases/").status_code == 200


def test_an_unreachable_database_server_gets_a_503_page_and_json_on_the_api():
    app = create_app(config_for(UNREACHABLE))
    assert_friendly_503(login(app), "cannot be reached")
    api = app.test_client().get("/api/v1/survival", headers={"Authorization": "Bearer tt_" + "x" * 40})
    assert api.status_code == 503 and "cannot be reached" in api.get_json()["error"]
    french = app.test_client().get("/api/v1/survival", headers={"Authorization": "Bearer tt_" + "x" * 40,
                                                                 "Accept-Language": "fr"})
    assert french.status_code == 503 and french.headers["Content-Language"] == "fr"
    assert french.get_json()["error"] == "service indisponible\u00a0: Le serveur de base de données est injoignable."


def test_the_analyses_reader_losing_the_server_is_the_database_unavailable_too():
    """The survival figures read PostgreSQL through ADBC, outside the session: its failure to
    connect is an outage as the session's is (a 503 page), not a bug."""
    from sqlalchemy.exc import DBAPIError

    from tracker.services.analytics import frame
    from tracker.services.ops.availability import unavailable_reason

    app = create_app(config_for(UNREACHABLE))
    with app.app_context(), pytest.raises(DBAPIError) as caught:
        frame._load(frame.case_columns_query(), parallel=False)
    assert unavailable_reason(caught.value) == "the database server cannot be reached"


def test_other_database_errors_stay_errors(sqlite_file):
    """A bug (here: bad SQL) is not disguised as an outage."""
    from sqlalchemy.exc import OperationalError

    from tracker.services.ops.availability import unavailable_reason

    connection = sqlite3.connect(sqlite_file)
    try:
        connection.execute("SELEC 1")
    except sqlite3.OperationalError as exc:
        assert unavailable_reason(OperationalError("SELEC 1", {}, exc)) is None
    finally:
        connection.close()


def run_cli(url: str, *args: str):
    result = CliRunner().invoke(main, list(args), env={"TRACKER_CONFIG": "testing", "TEST_DATABASE_URL": url})
    return result.exit_code, result.output.strip()


@pytest.mark.parametrize("args", [
    ("federations", "add", "FR-X", "Federation X", "--country", "FR"),
    ("users", "list"),
    ("survival", "--format", "json"),
    ("db", "upgrade"),
])
def test_cli_with_an_unreachable_database_prints_one_line(args):
    code, output = run_cli(UNREACHABLE, *args)
    assert code == 1
    assert output == "Error: The database server cannot be reached.", output


def test_cli_writing_to_a_read_only_database_prints_one_line(sqlite_file):
    url = f"sqlite:///file:{sqlite_file}?mode=ro&uri=true"
    assert run_cli(url, "users", "list")[0] == 0  # reading works
    code, output = run_cli(url, "federations", "add", "FR-X", "Federation X", "--country", "FR")
    assert (code, output) == (1, "Error: The database is read-only.")


def test_the_duplicate_index_is_built_again_after_the_database_came_back(sqlite_file):
    """The background build of the duplicates index failing because the database is away is not
    the end of it: the next request of an admin or staff user starts it again."""
    import threading

    from tracker.services.casework import duplicate_index

    app = create_app(config_for(f"sqlite:///{sqlite_file.parent / 'missing' / 'gone.sqlite3'}"))
    app.testing = False  # warm() builds only outside tests
    with app.app_context():
        duplicate_index.warm(app)
        for thread in threading.enumerate():
            if thread.name == "duplicate-index":
                thread.join(30)
        assert duplicate_index._database_key() not in duplicate_index._warming  # may be started again
        assert not duplicate_index.ready()
