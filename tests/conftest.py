"""Shared fixtures: a fresh app and database per test (SQLite in memory by default, or the
database named by TEST_DATABASE_URL, e.g. PostgreSQL in CI), a client, a CLI runner, factories
and `login(role)`."""

from __future__ import annotations

import contextvars
import itertools
import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient, FlaskCliRunner

from config import TestingConfig
from tracker import create_app
from tracker.extensions import db
from tracker.models import Case, Federation, Role, TransferType, User

PASSWORD = "correct horse battery"
DATA_DIR = Path(__file__).resolve().parent / "data"
ORACLE_DIR = DATA_DIR / "oracle"  # the R reference figures (tests/data/oracle/README.md)


def using_postgres() -> bool:
    return os.environ.get("TEST_DATABASE_URL", "").startswith(("postgres", "postgresql"))


@pytest.hookimpl(tryfirst=True)  # before `-m` selection, so `-m "not e2e"` sees the marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/e2e/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
    if using_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL=postgresql://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


class IsolatedClient(FlaskClient):
    """Runs each request in an empty contextvars context, so it gets its own app context, `g`
    and database session, as in production, instead of sharing the test's. Afterwards the
    test's session is expired, so the test reads what the request committed."""

    def open(self, *args: Any, **kwargs: Any):  # noqa: ANN201
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():  # redirects followed by werkzeug run inside the isolated context
            db.session.expire_all()
        return response


@pytest.fixture
def app_config() -> type[TestingConfig]:
    """The configuration class of the `app` fixture; a test module may override this fixture."""
    return TestingConfig


@pytest.fixture
def app(app_config: type[TestingConfig]) -> Iterator[Flask]:
    app = create_app(app_config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


_seq = itertools.count(1)


@pytest.fixture
def make_federation(app: Flask) -> Callable[..., Federation]:
    def make(code: str | None = None, country: str = "FR", name: str | None = None) -> Federation:
        n = next(_seq)
        fed = Federation(code=code or f"FED-{n}", name=name or f"Federation {n}", country=country)
        db.session.add(fed)
        db.session.commit()
        return fed

    return make


@pytest.fixture
def make_user(app: Flask, make_federation: Callable[..., Federation]) -> Callable[..., User]:
    def make(role: Role | str = Role.ADMIN, federation: Federation | None = None,
             email: str | None = None, password: str = PASSWORD) -> User:
        role = Role(role)
        if role == Role.STAFF and federation is None:
            federation = make_federation()
        user = User(email=email or f"{role.value}{next(_seq)}@example.org", role=role,
                    federation=federation if role == Role.STAFF else None, active=True)
        user.set_password(password, TestingConfig.PASSWORD_HASH_METHOD)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_case(app: Flask, make_federation: Callable[..., Federation]) -> Callable[..., Case]:
    def make(federation: Federation | None = None, **fields: Any) -> Case:
        federation = federation or make_federation()
        n = next(_seq)
        values: dict[str, Any] = {
            "ref": f"REF-{n}", "name": f"Cooperative {n}", "country": federation.country,
            "nace": "25.62", "nace_section": "C", "employees": 12,
            "transfer_date": date(2015, 3, 1), "transfer_type": TransferType.SUCCESSION,
            "registered_on": date(2015, 3, 1), "last_verified_on": date(2024, 12, 31),
        }
        values.update(fields)
        case = Case(federation=federation, **values)
        db.session.add(case)
        db.session.commit()
        return case

    return make


@pytest.fixture
def login(client: FlaskClient, make_user: Callable[..., User]) -> Callable[..., User]:
    """login(role, federation=None) creates a user of that role and logs the client in as it."""

    def do_login(role: Role | str = Role.ADMIN, federation: Federation | None = None,
                 user: User | None = None) -> User:
        user = user or make_user(role, federation=federation)
        client.post("/logout")
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return do_login
