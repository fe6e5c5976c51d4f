"""On a SQLite file, readers and writers share one lock: a reader holding it while it works keeps
every writer from committing, and a writer waiting to commit keeps every new reader out (the load
test with writes saw the survival API answer "the database is busy" that way). The survival API
must wait for a writer and succeed; the duplicate index must not hold the read lock while it
works on the rows; warming it must never wait for a build."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

import pytest
from flask_migrate import upgrade

from config import TestingConfig
from tracker import create_app
from tracker.extensions import db
from tracker.models import Role
from tracker.services.accounts import federations, users
from tracker.services.analytics import queries as analytics
from tracker.services.casework import duplicate_index
from tracker.services.casework.cases import create_case

CASES = [{"ref": f"L-{i}", "name": f"Scierie numéro {i}", "country": "FR", "transfer_date": "2016-05-01",
          "transfer_type": "rescue", "last_verified_on": "2025-06-30", "nace": "62.01"} for i in range(6)]


@pytest.fixture
def file_app(tmp_path, monkeypatch):
    """An app on a SQLite file with a few cases, and the file's path."""
    path = tmp_path / "locks.sqlite3"
    monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{path}")
    app = create_app(TestingConfig)
    with app.app_context():
        upgrade()
        fed = federations.create_federation(None, code="LOCK", name="Lock", country="FR")
        for values in CASES:
            create_case(None, fed, values)
        users.create_user(None, "researcher@example.org", "a-long-password-1", Role.RESEARCHER, None)
        db.session.commit()
        analytics.clear_cache()
        duplicate_index.forget()
        yield app, path
        analytics.clear_cache()
        duplicate_index.forget()
        db.session.remove()
        db.engine.dispose()


def test_the_survival_api_waits_for_a_writer_instead_of_failing(file_app):
    """Another process holds the write lock while the API runs: every read of the request (the
    data version, the counts, the fast reader) waits for it and the answer is the figures."""
    app, path = file_app
    client = app.test_client()
    client.post("/login", data={"email": "researcher@example.org", "password": "a-long-password-1"})
    holder = ("import sqlite3, time\n"
              f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
              "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(0.6); c.execute('COMMIT')\n")
    with subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True) as writer:
        assert writer.stdout.readline().strip() == "locked"
        response = client.get("/api/v1/survival?group_by=transfer_type")
    assert writer.returncode == 0
    assert response.status_code == 200, response.get_data(as_text=True)
    assert sum(group["n"] for group in response.get_json()["groups"]) == len(CASES)


def test_a_write_commits_while_the_duplicate_index_is_being_built(file_app, monkeypatch):
    """The build works on the rows for seconds (tens under load): a follow-up recorded meanwhile
    must commit, and not wait for the build (then fail with "database is locked")."""
    _app, path = file_app
    monkeypatch.setattr(duplicate_index, "_CHUNK", 2)  # several chunks from six cases
    outcomes: list[str] = []
    real_add = duplicate_index._Index.add

    def add_and_write(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if not outcomes:  # the build is under way: another connection records a write
            writer = sqlite3.connect(str(path), timeout=0, isolation_level=None)
            try:
                writer.execute("BEGIN IMMEDIATE")
                writer.execute("UPDATE cases SET employees = 12 WHERE ref = 'L-5'")
                writer.execute("COMMIT")
                outcomes.append("committed")
            except sqlite3.OperationalError as exc:
                outcomes.append(str(exc))
                writer.execute("ROLLBACK")
            finally:
                writer.close()
        return real_add(self, *args, **kwargs)

    monkeypatch.setattr(duplicate_index._Index, "add", add_and_write)
    duplicate_index.current_pairs()
    assert outcomes == ["committed"]
    assert len(duplicate_index._indexes[duplicate_index._database_key()].entries) == len(CASES)


def test_warming_does_not_wait_for_a_build_under_way(file_app, monkeypatch):
    """A build holds the index's lock for seconds; the request that warms the index (every
    request of an admin or staff user) goes on at once, and starts no second build."""
    app, _path = file_app
    monkeypatch.setitem(app.config, "TESTING", False)  # warm() does nothing in tests otherwise
    request_thread = threading.current_thread()
    builds: list[str] = []
    real_build = duplicate_index._build

    class BuildLock:
        """The index's lock, held by a build under way until `done` is set."""

        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.done = threading.Event()

        def __enter__(self) -> None:
            if threading.current_thread() is request_thread:
                raise AssertionError("the request waited for the index's lock")
            self.done.wait()
            self.lock.acquire()

        def __exit__(self, *exc: object) -> None:
            self.lock.release()

    lock = BuildLock()
    with monkeypatch.context() as patched:  # undone before the fixture's teardown takes the lock
        patched.setattr(duplicate_index, "_lock", lock)
        patched.setattr(duplicate_index, "_warming", set())
        patched.setattr(duplicate_index, "_build", lambda identity: builds.append("build") or real_build(identity))
        duplicate_index.warm(app)
        duplicate_index.warm(app)  # a second request while the first build is under way
        assert not duplicate_index.ready()
        lock.done.set()
        for thread in [t for t in threading.enumerate() if t.name == "duplicate-index"]:
            thread.join()
    assert builds == ["build"]
    assert duplicate_index.ready()


# --- the other readers of many rows (decision 75): each query read to its end before Python works ---

MANY = 6000  # more rows than one fetch of a streamed query (5,000, 2,000): a streamed read stays open


def _write_from_another_connection(path) -> str:  # noqa: ANN001
    """What a writer on its own connection gets without waiting: "committed", or SQLite's error."""
    writer = sqlite3.connect(str(path), timeout=0, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE federations SET name = name")
        writer.execute("COMMIT")
        return "committed"
    except sqlite3.OperationalError as exc:
        if writer.in_transaction:
            writer.execute("ROLLBACK")
        return str(exc)
    finally:
        writer.close()


@pytest.fixture
def many_cases(file_app):
    """The file app with MANY more cases of its federation (copies of L-0, refs M-1…)."""
    app, path = file_app
    with sqlite3.connect(str(path)) as connection:
        columns = ("federation_id, country, transfer_date, transfer_type, registered_on, last_verified_on, nace, "
                   "nace_section, created_at, updated_at, version, changed_in")
        connection.execute(
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {MANY}) "
            f"INSERT INTO cases (ref, name, {columns}) SELECT 'M-' || i, 'Atelier ' || i, {columns} "
            "FROM n, cases WHERE cases.ref = 'L-0'")
    return app, path


def _probing(outcomes: list[str], path, work):  # noqa: ANN001, ANN202
    """`work` wrapped: at its first call (Python working on the first row read), a write is tried."""
    def probe(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if not outcomes:
            outcomes.append(_write_from_another_connection(path))
        return work(*args, **kwargs)
    return probe


def test_a_write_commits_while_the_identities_of_the_registry_are_loaded(many_cases, monkeypatch):
    """`duplicates.load_cases` (the web import's duplicate check) makes an identity of every case."""
    from tracker.services.casework import duplicates

    _app, path = many_cases
    outcomes: list[str] = []
    monkeypatch.setattr(duplicates, "_identity", _probing(outcomes, path, duplicates._identity))
    loaded = duplicates.load_cases({"FR"})
    assert outcomes == ["committed"]
    assert len(loaded) == len(CASES) + MANY
    assert len({identity.id for identity in loaded}) == len(loaded)


def _rows_probed(monkeypatch, path) -> list[str]:  # noqa: ANN001
    """Probe the export's rows: a write is tried once the first row is in Python's hands."""
    from tracker.services.spreadsheets import exports

    outcomes: list[str] = []
    real_rows = exports._rows

    def rows(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        for row in real_rows(*args, **kwargs):
            if not outcomes:
                outcomes.append(_write_from_another_connection(path))
            yield row

    monkeypatch.setattr(exports, "_rows", rows)
    return outcomes


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_write_commits_while_the_export_is_written(many_cases, monkeypatch, fmt):
    """The CSV and XLSX exports (the command line, the list's XLSX download) write row after row."""
    import io

    from openpyxl import load_workbook

    from tracker.services.spreadsheets import exports

    _app, path = many_cases
    outcomes = _rows_probed(monkeypatch, path)
    buffer = io.BytesIO()
    count = exports.write_export(buffer, None, fmt=fmt)
    assert outcomes == ["committed"]
    assert count == len(CASES) + MANY
    if fmt == "xlsx":
        refs = [row[0] for row in load_workbook(buffer, read_only=True).worksheets[0].iter_rows(min_row=2,
                                                                                                 values_only=True)]
    else:
        lines = buffer.getvalue().decode("utf-8-sig").splitlines()[1:]
        refs = [line.split(",")[0] for line in lines]
    assert refs == sorted(refs)  # federation, then ref: the order of one query
    assert len(refs) == len(CASES) + MANY


def test_a_write_commits_while_the_csv_download_streams(many_cases, monkeypatch):
    """The list's CSV download is read after the view returned, through a connection of its own,
    while the response is sent (as slowly as the client reads it)."""
    from tracker.extensions import db
    from tracker.services.spreadsheets import exports

    _app, path = many_cases
    outcomes = _rows_probed(monkeypatch, path)
    with db.engine.connect() as connection:
        body = b"".join(exports.iter_csv_query(exports.export_statement(None), connection))
    assert outcomes == ["committed"]
    assert len(body.decode("utf-8-sig").splitlines()) == 1 + len(CASES) + MANY


def test_a_write_commits_while_a_status_sheet_is_checked(many_cases, monkeypatch):
    """The status import reads the cases its sheet names (ORM objects) before checking its rows."""
    from sqlalchemy import event

    from tracker.models import Case
    from tracker.services.spreadsheets import status_import

    _app, path = many_cases
    refs = [f"M-{i}" for i in range(1, MANY + 1)]
    sheet = "federation,ref,operating_on,exit_date,exit_reason\r\n" + "".join(
        f"LOCK,{ref},2025-12-31,,\r\n" for ref in refs)
    outcomes: list[str] = []

    def loaded(target, context) -> None:  # noqa: ANN001
        if not outcomes:
            outcomes.append(_write_from_another_connection(path))

    event.listen(Case, "load", loaded)
    try:
        result = status_import.import_status_checks(None, sheet.encode(), "status.csv", dry_run=True)
    finally:
        event.remove(Case, "load", loaded)
    assert outcomes == ["committed"]
    assert result.ok, result.problems
    assert result.operating == MANY
