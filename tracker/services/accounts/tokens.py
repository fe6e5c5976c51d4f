"""Personal API tokens: created and revoked by their owner, stored hashed, used as
`Authorization: Bearer <token>` on the read-only JSON API only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from tracker.extensions import db
from tracker.i18n import format_date
from tracker.models import ApiToken, User
from tracker.models.base import utcnow
from tracker.services.casework import audit
from tracker.services.errors import DomainError, NotFound

PREFIX = "tt_"
MAX_ACTIVE_TOKENS = 10
DEFAULT_LIFETIME = timedelta(days=365)
MAX_LIFETIME = timedelta(days=5 * 366)


def today_utc() -> date:
    return datetime.now(UTC).date()


def default_expiry(today: date | None = None) -> date:
    return (today or today_utc()) + DEFAULT_LIFETIME


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, name: str, expires_on: date | None = None,
                 today: date | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`, working until the day before `expires_on` (UTC; None: no expiry);
    returns the row and the token text (shown once, never stored)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError(_("Give the token a name (at most 100 characters), e.g. the script that uses it."),
                          field="name")
    today = today or today_utc()
    if expires_on is not None and not today < expires_on <= today + MAX_LIFETIME:
        raise DomainError(_("The expiry date must be after today and at most five years ahead (%(last)s); leave it "
                            "empty for a token that never expires.", last=format_date(today + MAX_LIFETIME)),
                          field="expires_on")
    if len(list_tokens(user, active_only=True)) >= MAX_ACTIVE_TOKENS:
        raise DomainError(_("You already have %(count)s active tokens; revoke one first.", count=MAX_ACTIVE_TOKENS),
                          field="name")
    text = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(text), prefix=text[:10], expires_on=expires_on)
    db.session.add(token)
    db.session.flush()
    audit.record(user, token, "create", {"name": [None, name], "prefix": [None, token.prefix],
                                         "expires_on": [None, audit.jsonable(expires_on)]})
    return token, text


def list_tokens(user: User, active_only: bool = False) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    if active_only:
        stmt = stmt.where(ApiToken.revoked_at.is_(None),
                          ApiToken.expires_on.is_(None) | (ApiToken.expires_on > today_utc()))
    return list(db.session.scalars(stmt))


def revoke_token(user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        audit.record(user, token, "revoke", {"revoked_at": [None, audit.jsonable(token.revoked_at)]})
    return token


def user_for_token(text: str) -> User | None:
    """The active owner of an active token, or None. Records when the token was last used."""
    if not text.startswith(PREFIX) or len(text) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(text)))
    if token is None or token.revoked_at is not None or token.expired(today_utc()):
        return None
    from tracker.services.accounts.users import may_log_in

    user = token.user
    if not may_log_in(user):
        return None
    now = utcnow()
    last = token.last_used_at
    if last is None or (now - (last if last.tzinfo else last.replace(tzinfo=now.tzinfo))).total_seconds() > 60:
        token.last_used_at = now  # at most one write a minute per token, not one per request
        db.session.commit()
    return user
