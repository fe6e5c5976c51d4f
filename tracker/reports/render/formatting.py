"""How the report writes numbers and names (English, official-statistics style)."""

from __future__ import annotations

from datetime import date
from typing import Any

from tracker import vocabulary
from tracker.reports.content import CONFIDENTIAL, CONFIDENTIAL_MARK, NOT_AVAILABLE_MARK, Estimate
from tracker.services.reference import countries, nace_sections


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
    return vocabulary.label(vocabulary.TRANSFER_TYPES, value)


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
