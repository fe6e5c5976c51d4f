"""Helpers shared by the test_cases_* modules and other page tests (this module holds no tests)."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import AuditEntry, Case, StatusCheck, User

PASSWORD = "correct horse battery"


def valid_case_form(**overrides: Any) -> dict[str, Any]:
    """A create/edit form that passes every rule; override fields to break one."""
    data = {
        "ref": "NEW-1", "name": "Atelier Coopératif", "national_id": "552100554", "country": "FR",
        "region": "FRK", "nace": "25.62", "employees": "14", "transfer_date": "2016-05-02",
        "transfer_type": "succession", "legal_form": "SCOP SA", "registered_on": "",
        "last_verified_on": "2024-06-30", "exit_date": "", "exit_reason": "", "notes": "Bought out by 9 of 14.",
        "contact_name": "Jeanne Martin", "contact_email": "jeanne@example.org", "contact_phone": "+33 1 23 45 67 89",
    }
    data.update(overrides)
    return data


def edit_form_of(case: Case, **overrides: Any) -> dict[str, Any]:
    """The edit form as the browser would post it unchanged for `case`, with overrides."""

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return value.isoformat()
        return str(value.value if hasattr(value, "value") else value)

    fields = ("ref", "name", "national_id", "country", "region", "nace", "employees", "transfer_date",
              "transfer_type", "legal_form", "registered_on", "last_verified_on", "exit_date", "exit_reason",
              "notes", "contact_name", "contact_email", "contact_phone", "version")
    data = {name: text(getattr(case, name)) for name in fields}
    data.update(overrides)
    return data


def errors_next_to(html: str, control_id: str) -> list[str]:
    """The messages Bootstrap-Flask renders right after the control `control_id`, in its form group."""
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{re.escape(control_id)}"', html)
    assert match, f"no control with id {control_id!r} on the page"
    rest = html[match.end():]
    end = re.search(r"<label\b|</form>", rest)
    segment = rest[: end.start() if end else None]
    found = re.findall(r'<div class="invalid-feedback d-block"[^>]*>(.*?)</div>', segment, re.S)
    return [unescape(message).strip() for message in found]


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def snapshot_counts() -> tuple[int, int, int]:
    """Rows that a refused write must not have added."""
    return count(Case), count(StatusCheck), count(AuditEntry)


def audit_of(case_id: int) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.table_name == "cases",
                                                            AuditEntry.row_id == case_id).order_by(AuditEntry.id)))


def log_in(client: FlaskClient, user: User) -> None:
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def csrf_token_from(html: str, name: str = "csrf_token") -> str:
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]+)"', html) or re.search(
        rf'value="([^"]+)"[^>]*name="{re.escape(name)}"', html)
    assert match, f"no {name} on the page"
    return match.group(1)
