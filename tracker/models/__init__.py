"""Typed SQLAlchemy 2.0 models. Import models from here."""

from tracker.models.audit import AuditEntry
from tracker.models.base import Base
from tracker.models.baseline import Baseline, DataVersion
from tracker.models.case import Case, StatusCheck
from tracker.models.duplicate import DistinctCasePair, DuplicateHintAllowance
from tracker.models.enums import CLOSURE_REASONS, OPERATING, ExitReason, Role, TransferType
from tracker.models.federation import Federation
from tracker.models.report import SCOPE_ALL, ReportEdition, ReportFile, ReportJob
from tracker.models.saved_view import SavedView
from tracker.models.token import ApiToken
from tracker.models.user import User

__all__ = [
    "ApiToken", "AuditEntry", "Base", "Baseline", "Case", "CLOSURE_REASONS", "DataVersion", "DistinctCasePair",
    "DuplicateHintAllowance",
    "ExitReason", "Federation", "OPERATING", "ReportEdition", "ReportFile", "ReportJob", "Role", "SavedView",
    "SCOPE_ALL",
    "StatusCheck", "TransferType", "User",
]
