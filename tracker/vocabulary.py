"""Every label of a stored value, in one wording, used by forms, tables, figures, exports and the
report alike. Codes (`rescue`, `insee-sine`) are what the database, the import schema, the API and
the CLI speak; people read these labels, in their own language. A test checks that every enum value
has its label.

Keys are the stored strings; the StrEnum members of `tracker.models.enums` hash as their value, so
`TRANSFER_TYPES[TransferType.RESCUE]` works too.

Each vocabulary is a `Labels` mapping: reading a label (`[code]`, `.get`, `.items()`, `.values()`)
gives a plain `str` in the language of the moment (the request's, or the one forced for a report
with `flask_babel.force_locale`), so labels can go into JSON, spreadsheets and figures. Forms built
at import time take `.choices()`, whose labels stay lazy and are translated when rendered. Read
labels when writing, never at import time, and never cache them across languages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import date

from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l

from tracker.i18n import format_date


class Labels(Mapping[str, str]):
    """Codes → labels, translated when read."""

    def __init__(self, labels: Mapping[str, LazyString | str]) -> None:
        self._labels = dict(labels)
        self._by_name: dict[str, str | None] | None = None

    def __getitem__(self, code: str) -> str:
        return str(self._labels[code])

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def lazy(self, code: str) -> LazyString | str:
        """The label of `code` as a lazy string (translated when rendered)."""
        return self._labels[code]

    def choices(self) -> list[tuple[str, LazyString | str]]:
        """(code, lazy label) pairs for a form's choices, safe to build at import time."""
        return list(self._labels.items())

    def code_named(self, text: str) -> str | None:
        """The code whose label, in any language of the interface, is `text` — case, accents and
        the part in brackets aside: "transmission" → `succession`. People filling a spreadsheet
        write the words the pages show them; the import wants the code, and its message can say
        which. None when no label matches, or labels of two codes do. Needs an app context."""
        if self._by_name is None:
            from flask_babel import force_locale

            from tracker.i18n import LANGUAGES

            by_name: dict[str, str | None] = {}
            for language in LANGUAGES:
                with force_locale(language):
                    for code in self._labels:
                        label = self[code]
                        for name in {_plain(label), _plain(label.split(" (")[0])}:
                            by_name[name] = code if by_name.get(name, code) == code else None
            self._by_name = by_name
        return self._by_name.get(_plain(text))


def _plain(text: str) -> str:
    """Lower case, no accents, single spaces: how two spellings of one label compare."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


#: What a missing value reads as (cases without a size, sector, country...).
NOT_RECORDED = _l("Not recorded")

TRANSFER_TYPES: Labels = Labels({
    "succession": _l("Succession (no successor)"),
    "rescue": _l("Rescue (difficulty or insolvency)"),
    "conversion": _l("Conversion (of an association or other organisation)"),
    "other": _l("Other"),
})

EXIT_REASONS: Labels = Labels({
    "liquidation": _l("Liquidation"),
    "dissolution": _l("Dissolution"),
    "sold": _l("Sold to non-members"),
    "merged": _l("Merged"),
    "demutualised": _l("Demutualised (continues as a conventional company)"),
    "other": _l("Other closure"),
})

#: Outcomes of a follow-up (a status check): operating, one of the exits, or a withdrawn exit.
OUTCOMES: Labels = Labels({
    "operating": _l("Operating"),
    "exit_withdrawn": _l("Exit withdrawn (correction)"),
    **{code: _l("Exited: %(reason)s", reason=EXIT_REASONS.lazy(code)) for code in EXIT_REASONS},
})

ENDPOINTS: Labels = Labels({
    "enterprise": _l("Enterprise survival (closure is the event; a sale or merger ends follow-up)"),
    "cooperative": _l("Cooperative survival (every exit is the event)"),
})

#: Short names of the endpoints, for headings and figure titles.
ENDPOINTS_SHORT: Labels = Labels({
    "enterprise": _l("Enterprise survival"),
    "cooperative": _l("Survival of the cooperative form"),
})

GROUP_FIELDS: Labels = Labels({
    "transfer_type": _l("Transfer type"),
    "country": _l("Country"),
    "nace_section": _l("NACE section"),
    "cohort": _l("Cohort (transfer year)"),
    "federation": _l("Federation"),
    "size_class": _l("Size class"),
    "age_band": _l("Age at transfer"),
})

SIZE_CLASSES: Labels = Labels({
    "0-9": _l("0–9 employees"),
    "10-49": _l("10–49 employees"),
    "50-249": _l("50–249 employees"),
    "250+": _l("250 or more employees"),
    "unknown": NOT_RECORDED,
})

#: Age of the enterprise at its transfer (years since `founded_on`): `age_band` grouping.
AGE_BANDS: Labels = Labels({
    "<5": _l("Under 5 years old"),
    "5-19": _l("5 to 19 years old"),
    "20+": _l("20 years old or more"),
    "unknown": NOT_RECORDED,
})

#: Why a case is left out of an analysis (`tracker.survival.EXCLUSION_REASONS`).
EXCLUSION_REASONS: Labels = Labels({
    "no_transfer_date": _l("no transfer date"),
    "transfer_after_as_of": _l("transferred after the analysis date"),
    "no_verification": _l("open and never verified"),
    "unknown_exit_reason": _l("exit without a known reason"),
    "no_follow_up": _l("no follow-up after the transfer"),
    "ended_before_entry": _l("follow-up ended before registration (delayed entry)"),
})

ROLES: Labels = Labels({
    "admin": _l("Administrator (secretariat)"),
    "staff": _l("Federation staff"),
    "researcher": _l("Researcher"),
})

#: National and European baseline series (`baselines.series`), named as their publishers do.
BASELINE_SERIES: Labels = Labels({
    "insee-sine": _l("Insee, SINE survey (France)"),
    "eurostat-bd": _l("Eurostat, business demography"),
    "istat": _l("Istat (Italy)"),
    "statbel-vat": _l("Statbel, VAT-registered enterprises (Belgium)"),
    "ifm-bonn": _l("IfM Bonn (Germany)"),
    "ine": _l("INE (Spain)"),
    "ons": _l("ONS, business demography (United Kingdom)"),
})

#: Who a published cooperative survival figure is about (`published_comparisons.csv`, population).
PUBLISHED_POPULATIONS: Labels = Labels({
    "cooperatives": _l("Cooperatives"),
    "cooperatives_and_sociedades_laborales": _l("Cooperatives and sociedades laborales"),
    "employee_transfers": _l("Transfers to employees"),
    "industrial_cooperatives_mostly_wbo": _l("Industrial cooperatives, mostly workers buyouts"),
    "rescues_and_conversions": _l("Rescues and conversions"),
    "takeover_by_employee": _l("Takeovers by one employee"),
    "takeovers": _l("Takeovers (all)"),
})

#: The periods and comparators of the published figures, as the app words them in each language
#: (the publications' own titles are quoted as published). A wording not listed shows as shipped.
PUBLISHED_WORDING: Labels = Labels({
    "2002 cohort (Sine)": _l("2002 cohort (SINE survey)"),
    "2023": "2023",
    "CG Scop key figures 2012": _l("CG Scop key figures, 2012"),
    "CG Scop results 2013": _l("CG Scop results, 2013"),
    "CG Scop results 2014": _l("CG Scop results, 2014"),
    "CG Scop results 2017": _l("CG Scop results, 2017"),
    "Co-op Economy 2020": _l("Co-op Economy report, 2020"),
    "Co-operative Economy 2018": _l("Co-operative Economy report, 2018"),
    "births 2007-2013": _l("enterprises born 2007–2013"),
    "c. 2009": _l("around 2009"),
    "cohorts from 1994 to 2007": _l("cohorts from 1994 to 2007"),
    "ten years to c. 2007": _l("the ten years to around 2007"),
    "All French enterprises": _l("All French enterprises"),
    "All French enterprises (Insee)": _l("All French enterprises (Insee)"),
    "All Italian enterprises": _l("All Italian enterprises"),
    "All Scop / all French enterprises": _l("All Scop / all French enterprises"),
    "All new companies": _l("All new companies"),
    "Pure creations": _l("New enterprises created from scratch"),
})



#: The descriptions the app wrote of the sources it ships (what an extract of Eurostat's or
#: Istat's tables is, and where it was taken from); the publications' own titles are not listed
#: and are quoted as published.
PUBLISHED_SOURCES: Labels = Labels({
    "Eurostat business demography, table bd_9bd_sz_cl_r2 (V97043 3-year survival rate), by NACE Rev. 2 section, "
    "extract in the public repository RodionBohach/business-dynamics-bdi (file data/processed/Y_main_long.csv)":
        _l("Eurostat business demography, table bd_9bd_sz_cl_r2 (V97043 3-year survival rate), by NACE Rev. 2 "
           "section, extract in the public repository RodionBohach/business-dynamics-bdi (file "
           "data/processed/Y_main_long.csv)"),
    "Eurostat business demography, table bd_9bd_sz_cl_r2 (V97045 5-year / V97043 3-year survival rate), "
    "B-N excl. K64.2, extract in the public repository lorenzo-ruffino/data-viz":
        _l("Eurostat business demography, table bd_9bd_sz_cl_r2 (V97045 5-year / V97043 3-year survival rate), "
           "B-N excl. K64.2, extract in the public repository lorenzo-ruffino/data-viz"),
    "Eurostat business demography, table bd_9bd_sz_cl_r2 (V97045 5-year / V97043 3-year survival rate), "
    "B-N excl. K64.2, size class TOTAL, extract in the public repository quantumjazz/econ-foundations-of-business "
    "(fetched via the Eurostat dissemination API)":
        _l("Eurostat business demography, table bd_9bd_sz_cl_r2 (V97045 5-year / V97043 3-year survival rate), "
           "B-N excl. K64.2, size class TOTAL, extract in the public repository "
           "quantumjazz/econ-foundations-of-business (fetched via the Eurostat dissemination API)"),
    "Eurostat business demography, table bd_size (ENT_SRVLR_BRTH_PC, age Y3), B-S_X_O_S94, size class TOTAL, "
    "extract in the public repository quantumjazz/econ-foundations-of-business":
        _l("Eurostat business demography, table bd_size (ENT_SRVLR_BRTH_PC, age Y3), B-S_X_O_S94, size class "
           "TOTAL, extract in the public repository quantumjazz/econ-foundations-of-business"),
    "Eurostat business demography, table bd_size (ENT_SRVLR_BRTH_PC), B-S_X_O_S94, size class TOTAL, extract in "
    "the public repository lorenzo-ruffino/data-viz":
        _l("Eurostat business demography, table bd_size (ENT_SRVLR_BRTH_PC), B-S_X_O_S94, size class TOTAL, "
           "extract in the public repository lorenzo-ruffino/data-viz"),
    "Eurostat, Business demography statistics (Statistics Explained), reference year 2020, one-year survival "
    "rate (V97041)":
        _l("Eurostat, Business demography statistics (Statistics Explained), reference year 2020, one-year "
           "survival rate (V97041)"),
    "Demografia d'impresa, survival of the 2014 cohort (consolidated in the public repository "
    "lorenzo-ruffino/data-viz)":
        _l("Demografia d'impresa, survival of the 2014 cohort (consolidated in the public repository "
           "lorenzo-ruffino/data-viz)"),
    "Demografia d'impresa, 5-year survival by cohort (consolidated in the public repository "
    "lorenzo-ruffino/data-viz)":
        _l("Demografia d'impresa, 5-year survival by cohort (consolidated in the public repository "
           "lorenzo-ruffino/data-viz)"),
    "Les Scop Bourgogne-Franche-Comté (CG Scop network)": _l("Les Scop Bourgogne-Franche-Comté (CG Scop network)"),
    "cession-entreprise.com (CG Scop figures)": _l("cession-entreprise.com (CG Scop figures)"),
    "cession-affaire.com (CG Scop figures)": _l("cession-affaire.com (CG Scop figures)"),
    "Transméa (Scop/Scic network)": _l("Transméa (Scop/Scic network)"),
    "FEANSAL (Dirección General de la Economía Social data)":
        _l("FEANSAL (Dirección General de la Economía Social data)"),
    "Insee (reported by a regional blog)": _l("Insee (reported by a regional blog)"),
})
_REPORTED_BY = re.compile(r"^(?P<who>.+?) \((?:reported|quoted) by (?P<by>[^()]+)\)$")


def published_source(text: str) -> str:
    """A shipped source's title or publisher in the language of the moment: the app's own
    descriptions translated, "X (reported by Y)" in the language's words, a title as published."""
    if not text:
        return text
    own = PUBLISHED_SOURCES.get(text)
    if own:
        return own
    reported = _REPORTED_BY.match(text)
    if reported:
        return gettext("%(source)s (reported by %(medium)s)", source=published_source(reported["who"]),
                       medium=reported["by"])
    return PUBLISHED_WORDING.get(text) or text


def published_population(code: str) -> str:
    """The label of a published figure's population; an unlisted code in words."""
    return PUBLISHED_POPULATIONS.get(code) or code.replace("_", " ")


def published_wording(text: str) -> str:
    """A published figure's period or comparator in the language of the moment, or as shipped."""
    return PUBLISHED_WORDING.get(text) or text


#: The fields of a case, as forms and the change history name them.
CASE_FIELDS: Labels = Labels({
    "ref": _l("Ref"),
    "name": _l("Name"),
    "national_id": _l("National id"),
    "country": _l("Country"),
    "region": _l("Region"),
    "nace": _l("NACE Rev. 2 code"),
    "nace_section": _l("NACE section"),
    "employees": _l("Employees at transfer"),
    "transfer_date": _l("Transfer date"),
    "transfer_type": _l("Transfer type"),
    "legal_form": _l("Legal form"),
    "registered_on": _l("Registered on"),
    "last_verified_on": _l("Last verified on"),
    "exit_date": _l("Exit date"),
    "exit_reason": _l("Exit reason"),
    "founded_on": _l("Founded on"),
    "notes": _l("Notes"),
    "contact_name": _l("Contact name"),
    "contact_email": _l("Contact email"),
    "contact_phone": _l("Contact phone"),
    "deleted_at": _l("Deleted on"),
    "federation_id": _l("Federation"),
    "merged_case_id": _l("Case merged into this one"),
    "merged_into_id": _l("Merged into case"),
    "moved_follow_ups": _l("Follow-ups moved"),
})

#: What a change-history entry of a case did.
HISTORY_ACTIONS: Labels = Labels({
    "create": _l("Created"),
    "update": _l("Edited"),
    "follow_up": _l("Follow-up recorded"),
    "exit_withdrawn": _l("Exit withdrawn"),
    "delete": _l("Deleted"),
    "restore": _l("Restored"),
    "merge": _l("Another case merged into this one"),
    "merged_into": _l("Merged into another case"),
    "unmerge": _l("Merge undone"),
    "move": _l("Moved to another federation"),
})

#: Why two cases may be one enterprise (keys: tracker.services.casework.duplicates' REASON_*).
DUPLICATE_REASONS: Labels = Labels({
    "same national id": _l("same national id"),
    "very similar name, transfer in the same year": _l("very similar name, transfer in the same year"),
})

#: Texts the application itself writes into the timeline and the history (sources, notes, the
#: context of an audit entry), read in the user's language; `{file}` stands for a file's name,
#: `{date}` for a date (stored in ISO, shown written out as the reader's language writes it).
APP_TEXTS: Labels = Labels({
    "case edit": _l("case edit"),
    "exit cleared by editing the case": _l("exit cleared by editing the case"),
    "demo data": _l("demo data"),
    "import {file} (valid rows only)": _l("import %(file)s (valid rows only)"),
    "import {file}": _l("import %(file)s"),
    "baselines import {file}": _l("baselines import %(file)s"),
    "annual status check {file}": _l("annual status check %(file)s"),
    "census of {date} ({file})": _l("census of %(date)s (%(file)s)"),
    "census of {date}": _l("census of %(date)s"),
})
_APP_TEXT_PARTS = {"{file}": "(?P<file>.+)", "{date}": r"(?P<date>\d{4}-\d{2}-\d{2})"}


def _app_text_pattern(key: str) -> re.Pattern[str]:
    pattern = re.escape(key)
    for part, group in _APP_TEXT_PARTS.items():
        pattern = pattern.replace(re.escape(part), group)
    return re.compile(f"^{pattern}$")


_APP_TEXT_PATTERNS = [(_app_text_pattern(key), key) for key in APP_TEXTS]


def app_text(text: str | None) -> str | None:
    """`text` in the user's language when the application wrote it (see APP_TEXTS), else as recorded."""
    if not text:
        return text
    for pattern, key in _APP_TEXT_PATTERNS:
        match = pattern.match(text)
        if match:
            label = APP_TEXTS.lazy(key)
            parts = match.groupdict()
            if "date" in parts:
                try:
                    parts["date"] = format_date(date.fromisoformat(parts["date"]), "written")
                except ValueError:  # not a real day: the text was not written by the application
                    continue
            return str(label % parts) if parts else str(label)
    return text


def label(vocabulary: Mapping[str, str], code: str | None) -> str:
    """The label of `code`, "Not recorded" for a missing value, the code itself if unknown."""
    if code is None or code in ("", "unknown"):
        return str(vocabulary.get("unknown", NOT_RECORDED))
    return str(vocabulary.get(str(code), str(code)))
