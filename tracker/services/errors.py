"""The one family of errors a user can cause. Services raise them; views, the API and CLI commands
turn any of them into a message naming the input at fault (`field`), never a 500 or a traceback.

- `InvalidParameter`: a query parameter (API, explorer, CLI option) is wrong;
- `InvalidCase`: one or more field rules of a case failed (every field at once);
- `UnconfirmedDuplicates`: an `InvalidCase` whose possible duplicates were not confirmed as distinct;
- `InvalidReportRequest`: a report cannot be made for that year, date or format;
- `NotFound`, `PermissionDenied`, `DuplicateRef`, `EditConflict`: what their names say.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every rule violation a user can cause. `field` names the input at fault, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class DuplicateRef(DomainError):
    pass


class EditConflict(DomainError):
    """The case changed since the user loaded it (optimistic locking)."""


class InvalidCase(DomainError):
    """One or more field rules failed; `errors` maps field name to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first = next(iter(errors.items()))
        super().__init__(f"{first[0]}: {first[1][0]}", field=first[0])
        self.errors = errors


class UnconfirmedDuplicates(InvalidCase):
    """Possible duplicates the user can see were found and not confirmed as different enterprises
    (a case form, an import). `pairs` are those to confirm; `errors` may hold other fields' errors
    too, so a form shows every problem at once."""

    def __init__(self, pairs: list[Any], message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__({**(errors or {}), "confirm_distinct": [message]})
        self.message = message
        self.pairs = pairs


class InvalidParameter(DomainError):
    """A parameter a user gave (query string, CLI option) is wrong; `name` is the parameter."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message, field=name)
        self.name = name

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


class InvalidReportRequest(DomainError):
    """The year or reference date cannot give a report; `field` names the input at fault."""

    field: str

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field=field)
