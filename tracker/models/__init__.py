"""Typed SQLAlchemy 2.0 models. Import models from here."""

from tracker.models.audit import AuditEntry
from tracker.models.base import Base
from tracker.models.baseline import Baseline, DataVersion
from tracker.models.case import Case, StatusCheck
from tracker.models.enums import CLOSURE_REASONS, OPERATING, ExitReason, Role, TransferType
from tracker.models.federation import Federation
from tracker.models.user import User

__all__ = [
    "AuditEntry", "Base", "Baseline", "Case", "CLOSURE_REASONS", "DataVersion", "ExitReason",
    "Federation", "OPERATING", "Role", "StatusCheck", "TransferType", "User",
]
