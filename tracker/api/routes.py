"""Views of the api blueprint."""

from tracker.api import bp  # noqa: F401
