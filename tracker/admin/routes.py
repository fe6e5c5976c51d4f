"""Views of the admin blueprint."""

from tracker.admin import bp  # noqa: F401
