"""Errors raised by the survival package."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def N_(text: str) -> str:  # noqa: N802  (gettext's name for a marker)
    """Marks a message for the catalogues (the package imports no Flask, so it cannot translate)."""
    return text


class InvalidSurvivalOptions(ValueError):
    """An analysis option (endpoint, horizons, as_of, bands, baseline input) is not acceptable.

    A ``ValueError`` subclass so that callers (CLI, API) can report the message to the user
    as a bad request rather than a crash. ``str()`` is the English message; a message marked with
    ``N_`` is kept with its values (``template``, ``values``) so that a caller that translates
    writes it in the user's language: ``exc.translated(gettext)``.
    """

    def __init__(self, template: str, **values: Any) -> None:
        super().__init__(template % values if values else template)
        self.template = template
        self.values = values

    def translated(self, gettext: Callable[..., str]) -> str:
        """The message in the language of ``gettext`` (Flask-Babel's: ``gettext(text, **values)``)."""
        return gettext(self.template, **self.values)
