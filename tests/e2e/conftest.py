"""Browser tests: the app served by a real HTTP server in a thread (on a temporary SQLite file),
driven by Playwright through the system Chromium (`apt-get install chromium`).

Without a browser these tests are skipped locally and FAIL in CI (CI=true), where `.ci/run`
installs Chromium.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from config import TestingConfig
from tracker import create_app
from tracker.extensions import db

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
PASSWORD = "e2e password 2026"


def chromium_path() -> str | None:
    configured = os.environ.get("TRACKER_CHROMIUM")
    for candidate in (configured, *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class LiveServer:
    app: Flask
    url: str


class E2EConfig(TestingConfig):
    WTF_CSRF_ENABLED = True  # the browser submits real forms, tokens included
    REPORT_JOBS_INLINE = False  # reports in a background thread, the job page refreshing itself, as in production


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from flask_migrate import upgrade

    path = tmp_path_factory.mktemp("e2e") / "e2e.sqlite3"
    previous = os.environ.get("TEST_DATABASE_URL")
    os.environ["TEST_DATABASE_URL"] = f"sqlite:///{path}"
    try:
        app = create_app(E2EConfig)
    finally:
        if previous is None:
            os.environ.pop("TEST_DATABASE_URL", None)
        else:
            os.environ["TEST_DATABASE_URL"] = previous
    app.config["INSTANCE_UPLOADS"] = str(path.parent / "uploads")
    with app.app_context():
        upgrade()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        message = "no Chromium: apt-get install -y chromium (or set TRACKER_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server: LiveServer, tmp_path: Path) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def demo_user(live_server: LiveServer, email: str, role: object, cases_per_federation: int = 60) -> str:
    """The quickstart's demo registry (as of 31 Dec 2025) and one user of `role`, made once per server."""
    from datetime import date

    from tracker.services.accounts import users
    from tracker.services.ops.quickstart import seed_demo

    with live_server.app.app_context():
        if users.find_by_email(email) is None:
            seed_demo(cases_per_federation=cases_per_federation, today=date(2025, 12, 31))
            users.create_user(None, email, PASSWORD, role)
            db.session.commit()
    return email


def federation_with_staff(live_server: LiveServer, code: str, name: str, email: str,
                          cases: Iterable[tuple[str, str, date, date]]) -> str:
    """A French federation, its staff user `email` and its open succession cases
    (ref, name, transfer date, last verified on), made once per server."""
    from sqlalchemy import select

    from tracker.models import Federation, Role
    from tracker.services.accounts import users
    from tracker.services.casework.cases import create_case

    with live_server.app.app_context():
        if db.session.scalar(select(Federation).where(Federation.code == code)) is None:
            fed = Federation(code=code, name=name, country="FR")
            db.session.add(fed)
            db.session.flush()
            users.create_user(None, email, PASSWORD, Role.STAFF, fed)
            for ref, case_name, transfer, verified in cases:
                create_case(None, fed, {"ref": ref, "name": case_name, "country": "FR", "transfer_date": transfer,
                                        "transfer_type": "succession", "last_verified_on": verified})
            db.session.commit()
    return email


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
