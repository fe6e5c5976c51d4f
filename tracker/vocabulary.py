"""Every label of a stored value, in one wording, used by forms, tables, figures, exports and the
report alike. Codes (`rescue`, `insee-sine`) are what the database, the import schema, the API and
the CLI speak; people read these labels. A test checks that every enum value has its label.

Keys are the stored strings; the StrEnum members of `tracker.models.enums` hash as their value, so
`TRANSFER_TYPES[TransferType.RESCUE]` works too.
"""

from __future__ import annotations

from collections.abc import Mapping

#: What a missing value reads as (cases without a size, sector, country...).
NOT_RECORDED = "Not recorded"

TRANSFER_TYPES: Mapping[str, str] = {
    "succession": "Succession (no successor)",
    "rescue": "Rescue (difficulty or insolvency)",
    "conversion": "Conversion (of an association or other organisation)",
    "other": "Other",
}

EXIT_REASONS: Mapping[str, str] = {
    "liquidation": "Liquidation",
    "dissolution": "Dissolution",
    "sold": "Sold to non-members",
    "merged": "Merged",
    "demutualised": "Demutualised (continues as a conventional company)",
    "other": "Other closure",
}

#: Outcomes of a follow-up (a status check): operating, one of the exits, or a withdrawn exit.
OUTCOMES: Mapping[str, str] = {
    "operating": "Operating",
    "exit_withdrawn": "Exit withdrawn (correction)",
    **{code: f"Exited: {label}" for code, label in EXIT_REASONS.items()},
}

ENDPOINTS: Mapping[str, str] = {
    "enterprise": "Enterprise survival (closure is the event; a sale or merger ends follow-up)",
    "cooperative": "Cooperative survival (every exit is the event)",
}

#: Short names of the endpoints, for headings and figure titles.
ENDPOINTS_SHORT: Mapping[str, str] = {
    "enterprise": "Enterprise survival",
    "cooperative": "Survival of the cooperative form",
}

GROUP_FIELDS: Mapping[str, str] = {
    "transfer_type": "Transfer type",
    "country": "Country",
    "nace_section": "NACE section",
    "cohort": "Cohort (transfer year)",
    "federation": "Federation",
    "size_class": "Size class",
}

SIZE_CLASSES: Mapping[str, str] = {
    "0-9": "0–9 employees",
    "10-49": "10–49 employees",
    "50-249": "50–249 employees",
    "250+": "250 or more employees",
    "unknown": NOT_RECORDED,
}

#: Why a case is left out of an analysis (`tracker.survival.EXCLUSION_REASONS`).
EXCLUSION_REASONS: Mapping[str, str] = {
    "no_transfer_date": "no transfer date",
    "transfer_after_as_of": "transferred after the analysis date",
    "no_verification": "open and never verified",
    "unknown_exit_reason": "exit without a known reason",
    "no_follow_up": "no follow-up after the transfer",
    "ended_before_entry": "follow-up ended before registration (delayed entry)",
}

ROLES: Mapping[str, str] = {
    "admin": "Administrator (secretariat)",
    "staff": "Federation staff",
    "researcher": "Researcher",
}

#: National and European baseline series (`baselines.series`), named as their publishers do.
BASELINE_SERIES: Mapping[str, str] = {
    "insee-sine": "Insee, SINE survey (France)",
    "eurostat-bd": "Eurostat, business demography",
    "istat": "Istat (Italy)",
    "statbel-vat": "Statbel, VAT-registered enterprises (Belgium)",
    "ifm-bonn": "IfM Bonn (Germany)",
    "ine": "INE (Spain)",
    "ons": "ONS, business demography (United Kingdom)",
}


def label(vocabulary: Mapping[str, str], code: str | None) -> str:
    """The label of `code`, "Not recorded" for a missing value, the code itself if unknown."""
    if code is None or code in ("", "unknown"):
        return vocabulary.get("unknown", NOT_RECORDED)
    return vocabulary.get(str(code), str(code))
