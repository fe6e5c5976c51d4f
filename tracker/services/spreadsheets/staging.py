"""Uploaded spreadsheets kept between the validation step and the user's confirmation.

An upload is validated, then kept on the server until the user confirms it (or it expires), so
the confirmation imports exactly the file that was checked, and never a path or file sent by the
browser a second time:

- Each upload gets a random token (`secrets.token_urlsafe`, 192 bits). The browser only ever
  sends the token back; a token that is not of that exact shape is refused before any file is
  touched, so it cannot name a path.
- Two files per token in the staging folder (by default `<instance>/imports`): `TOKEN.data` (the
  bytes, absent when the file was rejected: it can never be imported) and `TOKEN.json` (kind,
  user, federation, file name for display, size, SHA-256, time, and the review shown to the
  user). Both are created with mode 0600, written to a temporary name and renamed.
- A staged upload belongs to the user who uploaded it and to one kind of import ("cases" or
  "status"): anyone else, or the other kind, gets NotFound, as for a token that does not exist.
  The caller re-checks the user's permission on the federation when it imports.
- The SHA-256 is checked when the data is read back: a changed file is refused.
- Expiry: `ttl` seconds after the upload (default 2 hours). Expired uploads are refused and
  deleted by `purge_expired`, which the upload views call on every new upload.

No database: staged uploads are transient and never part of the case history.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from tracker.services.errors import NotFound

DEFAULT_TTL_SECONDS = 2 * 3600
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
KINDS = frozenset({"cases", "status"})
ATTACHMENTS = frozenset({"rejected"})


@dataclass(frozen=True)
class StagedUpload:
    token: str
    kind: str
    user_id: int
    federation_id: int | None
    filename: str
    size: int
    sha256: str
    created_at: float  # Unix time
    has_data: bool
    review: dict[str, Any] = field(default_factory=dict)

    def expires_at(self, ttl: int) -> float:
        return self.created_at + ttl


def stage(folder: Path, kind: str, user_id: int, federation_id: int | None, filename: str, data: bytes | None,
          review: dict[str, Any]) -> StagedUpload:
    """Keep `data` (None: nothing importable, only the review) under a new token."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(24)
    staged = StagedUpload(token=token, kind=kind, user_id=user_id, federation_id=federation_id,
                          filename=Path(filename or "upload").name[:200], size=len(data or b""),
                          sha256=hashlib.sha256(data or b"").hexdigest(), created_at=time.time(),
                          has_data=data is not None, review=review)
    if data is not None:
        _write(folder / f"{token}.data", data)
    _write(folder / f"{token}.json", json.dumps(_as_json(staged)).encode())
    return staged


def load(folder: Path, token: str, kind: str, user_id: int, ttl: int = DEFAULT_TTL_SECONDS,
         now: float | None = None) -> StagedUpload:
    """The staged upload `token` of this user and kind; NotFound otherwise (also when expired)."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise NotFound(_("No such upload."))
    try:
        meta = json.loads((folder / f"{token}.json").read_bytes())
    except (OSError, ValueError):
        raise NotFound(_("No such upload; it may have expired. Upload the file again.")) from None
    staged = StagedUpload(**meta)
    if staged.token != token or staged.kind != kind or staged.user_id != user_id:
        raise NotFound(_("No such upload."))
    if (now or time.time()) > staged.expires_at(ttl):
        discard(folder, token)
        raise NotFound(_("This upload has expired. Upload the file again."))
    return staged


def read_data(folder: Path, staged: StagedUpload) -> bytes:
    """The staged bytes, checked against the SHA-256 taken at upload. NotFound when gone or changed."""
    if not staged.has_data:
        raise NotFound(_("This upload cannot be imported; upload a corrected file."))
    try:
        data = (folder / f"{staged.token}.data").read_bytes()
    except OSError:
        raise NotFound(_("The uploaded file is no longer available. Upload it again.")) from None
    if hashlib.sha256(data).hexdigest() != staged.sha256:
        raise NotFound(_("The uploaded file changed on the server. Upload it again."))
    return data


def update_review(folder: Path, staged: StagedUpload, review: dict[str, Any], keep_data: bool = True) -> StagedUpload:
    """Replace the review (e.g. after the import: what was done); without `keep_data` the file
    itself is deleted, so it can never be imported twice."""
    if not keep_data:
        with contextlib.suppress(FileNotFoundError):
            (folder / f"{staged.token}.data").unlink()
    updated = replace(staged, review=review, has_data=staged.has_data and keep_data)
    _write(folder / f"{staged.token}.json", json.dumps(_as_json(updated)).encode())
    return updated


def attach(folder: Path, staged: StagedUpload, name: str, content: bytes) -> None:
    """Keep a file made from the upload (e.g. its rejected rows) beside it, until it expires."""
    if name not in ATTACHMENTS:
        raise ValueError(f"unknown attachment {name!r}")
    _write(folder / f"{staged.token}.{name}", content)


def read_attachment(folder: Path, staged: StagedUpload, name: str) -> bytes:
    """An attached file; NotFound when there is none (or it expired)."""
    if name not in ATTACHMENTS:
        raise NotFound("No such file.")
    try:
        return (folder / f"{staged.token}.{name}").read_bytes()
    except OSError:
        raise NotFound("No such file; it may have expired.") from None


def pending(folder: Path, user_id: int, ttl: int = DEFAULT_TTL_SECONDS, now: float | None = None
            ) -> list[StagedUpload]:
    """This user's checked uploads still waiting for their confirmation, newest first."""
    if not folder.is_dir():
        return []
    limit = (now or time.time()) - ttl
    found = []
    for path in folder.glob("*.json"):
        if not TOKEN_RE.match(path.stem):
            continue
        try:
            staged = StagedUpload(**json.loads(path.read_bytes()))
        except (OSError, ValueError, TypeError):
            continue
        if (staged.user_id == user_id and staged.has_data and staged.created_at >= limit
                and staged.review.get("status") in ("checked", "partial")):
            found.append(staged)
    return sorted(found, key=lambda s: s.created_at, reverse=True)


def discard(folder: Path, token: str) -> None:
    if not TOKEN_RE.match(token):
        return
    for suffix in (".data", ".json", *(f".{name}" for name in ATTACHMENTS)):
        with contextlib.suppress(FileNotFoundError):
            (folder / f"{token}{suffix}").unlink()


def purge_expired(folder: Path, ttl: int = DEFAULT_TTL_SECONDS, now: float | None = None) -> int:
    """Delete the staged uploads older than `ttl` (by file time: no JSON is parsed). Returns how many."""
    if not folder.is_dir():
        return 0
    limit = (now or time.time()) - ttl
    removed = 0
    for path in folder.iterdir():
        token, _, suffix = path.name.partition(".")
        if suffix not in ("data", "json", "tmp", *ATTACHMENTS) or not TOKEN_RE.match(token):
            continue  # not ours: leave it alone
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += suffix == "json"
        except FileNotFoundError:
            continue
    return removed


def _as_json(staged: StagedUpload) -> dict[str, Any]:
    return {name: getattr(staged, name) for name in staged.__dataclass_fields__}


def _write(path: Path, content: bytes) -> None:
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.replace(temporary, path)
