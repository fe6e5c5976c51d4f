"""What the in-process benchmarks share: an app on the given database with a researcher logged in
through the test client, the baselines loaded, and a way to make one write."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

PASSWORD = "bench-password-123"


def logged_in_client(database_url: str | None) -> tuple[Any, Any, int]:
    """(app, client, number of visible cases) for `database_url`."""
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    from sqlalchemy import func, select

    from tracker import create_app
    from tracker.extensions import db
    from tracker.models import Case, Role
    from tracker.services.accounts import users
    from tracker.services.analytics import baselines

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False  # the bench logs in with a scripted form post
    with app.app_context():
        if users.find_by_email("bench@example.org") is None:
            users.create_user(None, "bench@example.org", PASSWORD, Role.RESEARCHER)
        if not baselines.list_baselines():
            baselines.import_baselines(None, baselines.shipped_baselines())
        db.session.commit()
        n = db.session.scalar(select(func.count()).select_from(Case).where(Case.deleted_at.is_(None)))
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
    return app, client, n


def write_once(app: Any) -> None:
    """Record one follow-up: a write that bumps the data version."""
    from sqlalchemy import select

    from tracker.extensions import db
    from tracker.models import Case
    from tracker.services.casework.cases import FollowUp, record_follow_up

    with app.app_context():
        case = db.session.scalars(select(Case).where(Case.exit_date.is_(None), Case.deleted_at.is_(None),
                                                     Case.last_verified_on.is_not(None)).limit(1)).one()
        record_follow_up(None, case, FollowUp(checked_on=max(case.last_verified_on, date(2025, 12, 31)),
                                              outcome="operating", source="bench"))
        db.session.commit()
