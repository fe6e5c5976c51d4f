"""Set up the embedded default with demo data: baselines, demo federations, users and cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Federation, Role, User
from tracker.services.accounts import federations, users
from tracker.services.analytics import baselines
from tracker.services.casework.cases import create_case
from tracker.services.ops.demo import DEMO_FEDERATIONS, DEMO_PASSWORD, duplicate_variants, generate_cases


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    federation: str | None


def demo_logins() -> list[DemoLogin]:
    logins = [DemoLogin("admin@demo.coop", "admin", None), DemoLogin("researcher@demo.coop", "researcher", None)]
    logins += [DemoLogin(f"staff.{f.country.lower()}@demo.coop", "staff", f.code) for f in DEMO_FEDERATIONS]
    return logins


@dataclass(frozen=True)
class DemoLogins:
    password: str
    logins: list[DemoLogin]


def existing_demo_logins() -> DemoLogins | None:
    """The demo logins whose accounts exist and may log in (None when there are none), with
    the demo password: what a development login page may offer."""
    wanted = {login.email: login for login in demo_logins()}
    found = db.session.scalars(select(User).where(User.email.in_(wanted))).all()
    usable = {user.email for user in found if users.may_log_in(user)}
    logins = [login for email, login in wanted.items() if email in usable]
    return DemoLogins(DEMO_PASSWORD, logins) if logins else None


def seed_demo(cases_per_federation: int = 100, seed: int = 2026, today: date | None = None) -> bool:
    """Load the shipped baselines and a demo data set into an empty database. Returns False
    (and does nothing) when federations already exist, so quickstart can be run again safely."""
    if db.session.scalar(select(func.count()).select_from(Federation)):
        return False
    result = baselines.import_baselines(None, baselines.shipped_baselines(), source="shipped baselines.csv")
    if result.problems:
        raise RuntimeError(f"shipped baselines are invalid: {result.problems[:3]}")
    by_code = {}
    for demo in DEMO_FEDERATIONS:
        by_code[demo.code] = federations.create_federation(None, code=demo.code, name=demo.name,
                                                           country=demo.country)
    for login in demo_logins():
        users.create_user(None, login.email, DEMO_PASSWORD, Role(login.role),
                          by_code[login.federation] if login.federation else None)
    for demo in DEMO_FEDERATIONS:
        generated = list(generate_cases(cases_per_federation, demo, seed=seed, today=today))
        # Two possible duplicate pairs in the first federation, one in the second (demo.duplicate_variants).
        twins = duplicate_variants(generated, {0: 2, 1: 1}.get(DEMO_FEDERATIONS.index(demo), 0))
        for values in [*generated, *twins]:
            create_case(None, by_code[demo.code], values, today=today, context="demo data")
    return True
