"""Accounts: creation, role changes, activation, login lookup."""

from __future__ import annotations

from functools import cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.extensions import db
from tracker.models import Federation, Role, User
from tracker.services.casework import audit
from tracker.services.errors import DomainError

MIN_PASSWORD_LENGTH = 10
USER_FIELDS = ("email", "role", "federation_id", "active", "language")


def _hash_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


def load_user(user_id: str) -> User | None:
    """Flask-Login loader. The id carries the session nonce, so a password change logs out everywhere."""
    try:
        pk, nonce = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, pk)
    if user is None or user.session_nonce != nonce or not may_log_in(user):
        return None
    return user


def may_log_in(user: User) -> bool:
    """Active account; a deactivated federation's staff lose access with it."""
    return user.active and (user.federation is None or user.federation.active)


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == User.normalise_email(email)))


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("no account has this password", method=method)


def authenticate(email: str, password: str) -> User | None:
    """The user who may log in with this e-mail and password, or None. A password hash is checked
    whether or not the account exists or may log in, so the answer takes as long either way (the
    time would otherwise tell which e-mails have an account)."""
    user = find_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(_hash_method()), password)
        return None
    password_ok = user.check_password(password)
    return user if password_ok and may_log_in(user) else None


def end_sessions(user: User) -> None:
    """Log the user out everywhere: every login cookie issued so far carries the old nonce."""
    user.session_nonce += 1
    db.session.flush()


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(_("Password must be at least %(count)s characters long.", count=MIN_PASSWORD_LENGTH),
                          field="password")
    if password.strip() != password or password.isdigit() or len(set(password)) < 4:
        raise DomainError(_("Password is too simple (no leading/trailing spaces, not only digits, "
                            "at least 4 different characters)."), field="password")


def _check_role_federation(role: Role, federation: Federation | None) -> None:
    if role == Role.STAFF and federation is None:
        raise DomainError(_("A staff account must belong to a federation."), field="federation")
    if role != Role.STAFF and federation is not None:
        raise DomainError(_("Only staff accounts belong to a federation."), field="federation")


def check_language(language: str | None) -> str | None:
    """A language of the interface (tracker.i18n.LANGUAGES), or None (follow the browser)."""
    from tracker.i18n import LANGUAGES

    if not language:
        return None
    if language not in LANGUAGES:
        raise DomainError(_("'%(language)s' is not a language of the interface (one of %(languages)s).",
                            language=language, languages=", ".join(LANGUAGES)), field="language")
    return language


def set_language(actor: User, user: User, language: str | None) -> None:
    """The user's own interface language; None follows the browser's."""
    before = audit.snapshot(user, USER_FIELDS)
    user.language = check_language(language)
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(user, USER_FIELDS))
    if changes:
        audit.record(actor, user, "update", changes)


def create_user(actor: User | None, email: str, password: str, role: Role | str = Role.STAFF,
                federation: Federation | None = None, language: str | None = None,
                must_change_password: bool = False) -> User:
    """A new account (staff unless another role is given). With `must_change_password` (an admin
    gave an initial password on the web), the user sets their own at first login."""
    role = Role(role)
    email = User.normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise DomainError(_("'%(email)s' is not a valid email address.", email=email), field="email")
    if find_by_email(email) is not None:
        raise DomainError(_("A user with email %(email)s already exists.", email=email), field="email")
    _check_role_federation(role, federation)
    check_password_policy(password)
    user = User(email=email, role=role, federation=federation, active=True, language=check_language(language),
                must_change_password=must_change_password)
    user.set_password(password, _hash_method())
    db.session.add(user)
    db.session.flush()
    audit.record(actor, user, "create", audit.diff({}, audit.snapshot(user, USER_FIELDS)))
    return user


def update_user(actor: User, user: User, *, role: Role | str | None = None,
                federation: Federation | None = None, active: bool | None = None,
                language: str | None | object = ...) -> User:
    """Change role, federation, activation and (when given; None = the browser's) language."""
    before = audit.snapshot(user, USER_FIELDS)
    new_role = Role(role) if role is not None else user.role
    new_fed = federation if role is not None else user.federation
    _check_role_federation(new_role, new_fed)
    if user.id == actor.id and (new_role != Role.ADMIN or active is False):
        raise DomainError(_("You cannot remove your own admin rights or deactivate yourself."),
                          field="role")
    user.role, user.federation = new_role, new_fed
    if active is not None:
        user.active = active
    if language is not ...:
        user.language = check_language(language)  # type: ignore[arg-type]
    if not user.active or new_role != before["role"]:
        user.session_nonce += 1  # a demoted or deactivated user loses open sessions at once
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(user, USER_FIELDS))
    if changes:
        audit.record(actor, user, "update", changes)
    return user


def change_password(actor: User, user: User, password: str) -> None:
    """A new password; the user's own change also ends the first-login obligation. An admin's
    reset leaves it as it was."""
    check_password_policy(password)
    if actor.id == user.id and user.must_change_password and user.check_password(password):
        raise DomainError(_("Choose a password different from the initial one."), field="password")
    user.set_password(password, _hash_method())
    if actor.id == user.id:
        user.must_change_password = False
    user.session_nonce += 1
    db.session.flush()
    audit.record(actor, user, "password_change", {"password": ["***", "***"]})


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.email)))


def count_users() -> dict[str, int]:
    """{'total': every account, 'active': accounts that may log in}."""
    total, active = db.session.execute(
        select(func.count(), func.count().filter(User.active.is_(True))).select_from(User)).one()
    return {"total": total, "active": active or 0}
