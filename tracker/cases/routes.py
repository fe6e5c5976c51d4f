"""Views of the cases blueprint."""

from tracker.cases import bp  # noqa: F401
