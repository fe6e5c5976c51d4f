"""Views of the reports blueprint."""

from tracker.reports import bp  # noqa: F401
