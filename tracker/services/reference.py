"""Reference vocabularies shipped with the app: ISO 3166-1 countries (pycountry) and the NACE
Rev. 2 classification (tracker/data/nace_rev2.csv, Regulation (EC) No 1893/2006, Eurostat)."""

from __future__ import annotations

import csv
import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pycountry
from babel import Locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tracker.i18n import current_language

#: The classification's citation, in the language of the moment (a lazy string).
NACE_SOURCE = _l("NACE Rev. 2, Regulation (EC) No 1893/2006 (Eurostat RAMON export), shipped as "
                 "tracker/data/nace_rev2.csv")
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
        raise UnknownNace(_("'%(code)s' is not a NACE Rev. 2 code (expected e.g. C, 25, 25.6, 25.62 or C25.6)",
                            code=raw))
    section, code = match.group("section"), match.group("code")
    entry = nace_codes().get(code or section)
    if entry is None:
        raise UnknownNace(_("'%(code)s' is not in the NACE Rev. 2 classification", code=raw))
    if section and code and entry.section != section:
        raise UnknownNace(_("'%(code)s': %(division)s belongs to section %(section)s, not %(given)s", code=raw,
                            division=code, section=entry.section, given=section))
    return entry


#: The 21 section titles, in the wording of the classification's national versions once translated
#: (NAF rév. 2, ATECO 2007, CNAE-2009); divisions, groups and classes keep Eurostat's English titles.
NACE_SECTION_TITLES = {
    "A": _l("Agriculture, forestry and fishing"),
    "B": _l("Mining and quarrying"),
    "C": _l("Manufacturing"),
    "D": _l("Electricity, gas, steam and air conditioning supply"),
    "E": _l("Water supply; sewerage, waste management and remediation activities"),
    "F": _l("Construction"),
    "G": _l("Wholesale and retail trade; repair of motor vehicles and motorcycles"),
    "H": _l("Transportation and storage"),
    "I": _l("Accommodation and food service activities"),
    "J": _l("Information and communication"),
    "K": _l("Financial and insurance activities"),
    "L": _l("Real estate activities"),
    "M": _l("Professional, scientific and technical activities"),
    "N": _l("Administrative and support service activities"),
    "O": _l("Public administration and defence; compulsory social security"),
    "P": _l("Education"),
    "Q": _l("Human health and social work activities"),
    "R": _l("Arts, entertainment and recreation"),
    "S": _l("Other service activities"),
    "T": _l("Activities of households as employers; undifferentiated goods- and services-producing "
            "activities of households for own use"),
    "U": _l("Activities of extraterritorial organisations and bodies"),
}


def nace_label(entry: NaceCode) -> str:
    """The title of a NACE entry: a section's in the current language, the others in English."""
    if entry.level == "section" and entry.code in NACE_SECTION_TITLES:
        return str(NACE_SECTION_TITLES[entry.code])
    return entry.label


def nace_sections() -> list[NaceCode]:
    """The 21 sections, their titles in the current language."""
    return [dataclasses.replace(c, label=nace_label(c)) for c in nace_codes().values() if c.level == "section"]


def nace_choices() -> list[tuple[str, str]]:
    """(code, 'code · label') for every section, division, group and class, in classification order."""
    return [(c.code, f"{c.code} · {nace_label(c)}") for c in nace_codes().values()]


def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 → the country's name in the current language (CLDR's, through Babel;
    pycountry's ISO names in English), ordered by that name as a reader of the language expects."""
    return _countries(current_language())


def _sort_key(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


@cache
def _countries(language: str) -> dict[str, str]:
    local = Locale.parse(language).territories if language != "en" else {}
    names = {c.alpha_2: local.get(c.alpha_2, c.name) for c in pycountry.countries}
    return dict(sorted(names.items(), key=lambda item: _sort_key(item[1])))


def country_name(code: str | None) -> str:
    """A country's name in the current language; an unknown code as it is, none as "—"."""
    return countries().get(code, code) if code else "—"


def is_country(code: str | None) -> bool:
    return bool(code) and code in _countries("en")


def country_choices() -> list[tuple[str, str]]:
    return [(code, f"{name} ({code})") for code, name in countries().items()]


@cache
def published_comparisons() -> tuple[dict[str, str], ...]:
    """Survival figures published for cooperatives and employee transfers, each with its source
    (tracker/data/published_comparisons.csv): context for pages and reports, not a baseline."""
    with resources.files("tracker.data").joinpath("published_comparisons.csv").open(encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))
