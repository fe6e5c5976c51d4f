"""How the report writes numbers, dates and names, in the language being written (the one forced
with `flask_babel.force_locale` for the report): 61.2 in English, 61,2 in French; 31 December
2025, 31 décembre 2025, 31 dicembre 2025, 31 de diciembre de 2025."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date as babel_format_date
from flask_babel import gettext as _

from tracker import vocabulary
from tracker.i18n import current_language, format_number
from tracker.reports.content import CONFIDENTIAL, CONFIDENTIAL_MARK, NOT_AVAILABLE_MARK, Estimate
from tracker.services.reference import countries, nace_sections

NO_CI = "—"  # an interval R gives as NA (S = 1 so far, or S = 0): never "100.0–100.0"


def country_label(code: str | None) -> str:
    if not code or code == "unknown":
        return str(vocabulary.NOT_RECORDED)
    return countries().get(code, code)


def nace_label(section: str | None) -> str:
    if not section or section == "unknown":
        return str(vocabulary.NOT_RECORDED)
    labels = {s.code: s.label for s in nace_sections()}
    return f"{section} – {labels[section]}" if section in labels else section


def transfer_type_label(value: str) -> str:
    return vocabulary.label(vocabulary.TRANSFER_TYPES, value)


def number(value: float, digits: int) -> str:
    return format_number(value, digits)


def pct(value: float | None, digits: int = 1) -> str:
    """0.6123 → '61.2' (61,2 in French); None → ':'."""
    return NOT_AVAILABLE_MARK if value is None else format_number(100 * value, digits)


def pct_sign(value: float | None, digits: int = 1) -> str:
    """0.6123 → '61.2 %' (with a no-break space, as statistical offices write it)."""
    return NOT_AVAILABLE_MARK if value is None else f"{pct(value, digits)}\u00a0%"


def has_interval(estimate: Estimate) -> bool:
    """False where the interval is undefined (R: NA) or degenerate (S = 1 so far: 100–100)."""
    return estimate.lower is not None and estimate.upper is not None and estimate.lower < estimate.upper


def interval(estimate: Estimate, percent: bool = True) -> str:
    """'57.9–64.3' (percent points or ratio), or '—' where R gives no interval."""
    if not has_interval(estimate):
        return NO_CI
    show = pct if percent else ratio
    return f"{show(estimate.lower)}–{show(estimate.upper)}"


def pct_ci(estimate: Estimate | None | Any) -> str:
    """'61.2 % (95 % CI 57.9–64.3 %)' for prose; the confidentiality mark when suppressed."""
    if estimate is CONFIDENTIAL:
        return CONFIDENTIAL_MARK
    if estimate is None:
        return _("not available")
    if not has_interval(estimate):
        return pct_sign(estimate.value)
    return _("%(value)s (95 %% CI %(lower)s–%(upper)s %%)", value=pct_sign(estimate.value),
             lower=pct(estimate.lower), upper=pct(estimate.upper))


def ratio(value: float | None) -> str:
    return NOT_AVAILABLE_MARK if value is None else format_number(value, 2)


def thousands(value: int) -> str:
    return format_number(int(value), 0)


def long_date(value: date) -> str:
    language = current_language()
    return babel_format_date(value, format="d MMMM y" if language == "en" else "long", locale=language)


def plural(n: int, word: str, words: str | None = None) -> str:
    """English only (the command line's summaries): prefer ngettext in the report."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"
