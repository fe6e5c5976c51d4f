"""Reference vocabularies shipped with the app: ISO 3166-1 countries (pycountry) and the NACE
Rev. 2 classification (tracker/data/nace_rev2.csv, Regulation (EC) No 1893/2006, Eurostat)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pycountry

NACE_SOURCE = ("NACE Rev. 2, Regulation (EC) No 1893/2006 (Eurostat RAMON export), "
               "shipped as tracker/data/nace_rev2.csv")
_NACE_RE = re.compile(r"^(?P<section>[A-U])?(?P<code>\d{2}(?:\.\d{1,2})?)?$")


@dataclass(frozen=True)
class NaceCode:
    level: str  # section, division, group, class
    code: str
    section: str
    parent: str
    label: str


class UnknownNace(ValueError):
    pass


@cache
def nace_codes() -> dict[str, NaceCode]:
    with resources.files("tracker.data").joinpath("nace_rev2.csv").open(encoding="utf-8") as fh:
        return {row["code"]: NaceCode(**row) for row in csv.DictReader(fh)}


def normalise_nace(raw: str) -> NaceCode:
    """Parse a NACE Rev. 2 code as the import schema accepts it: `C`, `25`, `25.6`, `25.62`, or a code
    prefixed by its section (`C25`, `C28.1`). Returns the canonical entry; raises UnknownNace."""
    text = raw.strip().upper().replace(" ", "")
    match = _NACE_RE.match(text)
    if not text or not match:
        raise UnknownNace(f"'{raw}' is not a NACE Rev. 2 code (expected e.g. C, 25, 25.6, 25.62 or C25.6)")
    section, code = match.group("section"), match.group("code")
    entry = nace_codes().get(code or section)
    if entry is None:
        raise UnknownNace(f"'{raw}' is not in the NACE Rev. 2 classification")
    if section and code and entry.section != section:
        raise UnknownNace(f"'{raw}': {code} belongs to section {entry.section}, not {section}")
    return entry


def nace_sections() -> list[NaceCode]:
    return [c for c in nace_codes().values() if c.level == "section"]


def nace_choices() -> list[tuple[str, str]]:
    """(code, 'code · label') for every section, division, group and class, in classification order."""
    return [(c.code, f"{c.code} · {c.label}") for c in nace_codes().values()]


@cache
def countries() -> dict[str, str]:
    return {c.alpha_2: c.name for c in sorted(pycountry.countries, key=lambda c: c.name)}


def is_country(code: str | None) -> bool:
    return bool(code) and code in countries()


def country_choices() -> list[tuple[str, str]]:
    return [(code, f"{name} ({code})") for code, name in countries().items()]


@cache
def published_comparisons() -> tuple[dict[str, str], ...]:
    """Survival figures published for cooperatives and employee transfers, each with its source
    (tracker/data/published_comparisons.csv): context for pages and reports, not a baseline."""
    with resources.files("tracker.data").joinpath("published_comparisons.csv").open(encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))
