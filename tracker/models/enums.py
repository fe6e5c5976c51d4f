"""Vocabularies of docs/design.md, stored as strings (native_enum=False)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    RESEARCHER = "researcher"


class TransferType(StrEnum):
    SUCCESSION = "succession"
    RESCUE = "rescue"
    CONVERSION = "conversion"
    OTHER = "other"


class ExitReason(StrEnum):
    LIQUIDATION = "liquidation"
    DISSOLUTION = "dissolution"
    SOLD = "sold"
    MERGED = "merged"
    DEMUTUALISED = "demutualised"
    OTHER = "other"


# Exits that end the enterprise (an event for the `enterprise` endpoint); the others end only the
# cooperative form: the firm lives on.
CLOSURE_REASONS = frozenset({ExitReason.LIQUIDATION, ExitReason.DISSOLUTION, ExitReason.OTHER})

OPERATING = "operating"


def str_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """A portable string column restricted to the enum's values (CHECK constraint named `name`)."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        name=name,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )
