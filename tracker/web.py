"""Small helpers every blueprint's views share: the acting user as an ORM object, and where a
`next` link may send the browser."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_login import current_user

from tracker.models import User


def current_actor() -> User:
    """The logged-in user as the ORM object (not the proxy): what services receive."""
    return current_user._get_current_object()


def safe_next(target: str | None, fallback: str) -> str:
    """`target` when it is a path on this site, else `fallback`: no scheme, no host, no
    protocol-relative `//`, no backslash (browsers read `/\\evil.example` as a host) and no
    control characters."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target
