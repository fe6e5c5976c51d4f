"""Views of the research blueprint."""

from tracker.research import bp  # noqa: F401
