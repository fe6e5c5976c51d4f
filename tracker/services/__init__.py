"""Use cases. Services validate rules, change models and flush; the caller (view, CLI) commits once."""

from importlib import import_module
from types import ModuleType

#: Old top-level names still imported by tools outside the repository (the shared oracle checker
#: does `from tracker.services import tokens, users`): resolved lazily to their sub-package.
_MOVED = {"tokens": "tracker.services.accounts.tokens", "users": "tracker.services.accounts.users"}


def __getattr__(name: str) -> ModuleType:
    if name in _MOVED:
        return import_module(_MOVED[name])
    raise AttributeError(f"module 'tracker.services' has no attribute {name!r}")
