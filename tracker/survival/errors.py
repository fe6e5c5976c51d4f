"""Errors raised by the survival package."""


class InvalidSurvivalOptions(ValueError):
    """An analysis option (endpoint, horizons, as_of, bands, baseline input) is not acceptable.

    A ``ValueError`` subclass so that callers (CLI, API) can report the message to the user
    as a bad request rather than a crash.
    """
