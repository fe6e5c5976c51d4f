"""How the report writes numbers and names (English, official-statistics style)."""

from __future__ import annotations

from datetime import date
from typing import Any

from tracker.reports.content import CONFIDENTIAL, CONFIDENTIAL_MARK, NOT_AVAILABLE_MARK, Estimate
from tracker.services.reference import countries, nace_sections

TRANSFER_TYPE_LABELS = {
    "succession": "Succession (no successor)",
    "rescue": "Rescue (difficulty or insolvency)",
    "conversion": "Conversion (of an existing organisation)",
    "other": "Other",
}
EXIT_REASON_LABELS = {
    "liquidation": "Liquidation",
    "dissolution": "Dissolution",
    "other": "Other closure",
    "sold": "Sold to non-members",
    "merged": "Merged",
    "demutualised": "Demutualised (continues as a conventional company)",
}
SIZE_CLASS_LABELS = {
    "0-9": "0–9 employees",
    "10-49": "10–49 employees",
    "50-249": "50–249 employees",
    "250+": "250 or more employees",
    "unknown": "Not recorded",
}
SERIES_LABELS = {
    "insee-sine": "Insee, SINE survey (France)",
    "eurostat-bd": "Eurostat, business demography",
    "istat": "Istat (Italy)",
    "statbel-vat": "Statbel, VAT-registered enterprises (Belgium)",
    "ifm-bonn": "IfM Bonn (Germany)",
    "ine": "INE (Spain)",
    "ons": "ONS, business demography (United Kingdom)",
}


def country_label(code: str | None) -> str:
    if not code or code == "unknown":
        return "Not recorded"
    name = countries().get(code)
    return f"{name} ({code})" if name else code


def nace_label(section: str | None) -> str:
    if not section or section == "unknown":
        return "Not recorded"
    labels = {s.code: s.label for s in nace_sections()}
    return f"{section} – {labels[section]}" if section in labels else section


def transfer_type_label(value: str) -> str:
    return TRANSFER_TYPE_LABELS.get(value, "Not recorded" if value == "unknown" else value)


def pct(value: float | None, digits: int = 1) -> str:
    """0.6123 → '61.2'; None → ':'."""
    return NOT_AVAILABLE_MARK if value is None else f"{100 * value:.{digits}f}"


def pct_ci(estimate: Estimate | None | Any) -> str:
    """'61.2 % (95 % CI 57.9–64.3 %)' for prose; the confidentiality mark when suppressed."""
    if estimate is CONFIDENTIAL:
        return CONFIDENTIAL_MARK
    if estimate is None:
        return "not available"
    return f"{pct(estimate.value)} % (95 % CI {pct(estimate.lower)}–{pct(estimate.upper)} %)"


def ratio(value: float | None) -> str:
    return NOT_AVAILABLE_MARK if value is None else f"{value:.2f}"


def thousands(value: int) -> str:
    return f"{value:,}"


def long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (words or word + 's')}"
