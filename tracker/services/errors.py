"""Domain errors raised by services; views and CLI commands turn them into messages."""

from __future__ import annotations


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
