"""What each column of the import schema accepts (the help page and the blank template), taken
from the validator itself so the help cannot drift from the rules:

- the columns, their order and which are required: `cases.CASE_FIELDS`, `cases.REQUIRED_FIELDS`;
- the kind of each column: the validator's own parser table (`cases._PARSERS`: dates, whole
  numbers, closed lists), maximum lengths from `cases.MAX_LENGTHS`;
- allowed values: the `TransferType` and `ExitReason` enums, the ISO 3166-1 country list and the
  NACE Rev. 2 classification shipped in tracker/data (services.reference).

Only the one-line descriptions are prose; tests check that every column has one and that the
listed values are exactly those the validator accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tracker.models import ExitReason, TransferType
from tracker.services.casework.cases import _PARSERS, CASE_FIELDS, MAX_LENGTHS, REQUIRED_FIELDS, parse_date, parse_int
from tracker.services.spreadsheets.exports import CellRule

ENUM_COLUMNS: dict[str, type[StrEnum]] = {"transfer_type": TransferType, "exit_reason": ExitReason}
CONDITIONALLY_REQUIRED = {"last_verified_on": _l("for open cases"), "exit_reason": _l("with exit_date")}

DESCRIPTIONS: dict[str, LazyString] = {
    "ref": _l("The federation's own reference of the case, unique within the federation. Importing a ref that "
              "already exists updates that case."),
    "name": _l("Name of the enterprise."),
    "national_id": _l("Business-register number (e.g. SIREN). Used to spot duplicates."),
    "country": _l("Country of the enterprise: ISO 3166-1 alpha-2 code (FR, IT, ES, ...)."),
    "region": _l("NUTS code (e.g. FRK, ITC4) or ISO 3166-2 code (e.g. FR-ARA), of the case's country."),
    "nace": _l("Activity: NACE Rev. 2 section letter (C), division (25), group (25.6) or class (25.62), "
               "optionally prefixed by its section (C25.6). The section is derived."),
    "employees": _l("Number of employees at the transfer."),
    "transfer_date": _l("Date of the transfer to the employees. Not in the future."),
    "transfer_type": _l("How the enterprise came to its employees."),
    "legal_form": _l("Legal form after the transfer (free text, e.g. SCOP SA)."),
    "registered_on": _l("Date the federation started following the case; empty means the transfer date. May be "
                        "before the transfer (supported project) or long after it (back-filled history)."),
    "last_verified_on": _l("Latest date the enterprise was confirmed operating: on or after the transfer, not in the "
                           "future, not after the exit. Required while the case is open."),
    "exit_date": _l("Date the cooperative ended (liquidation, sale, ...): on or after the transfer, not in the future. "
                    "Empty while the case is open."),
    "exit_reason": _l("Why the case ended; required with exit_date, empty without it."),
    "founded_on": _l("Date the enterprise was created (optional): on or before the transfer, not in the future. "
                     "Gives its age at the transfer (the age_band grouping and the age_at_transfer covariate)."),
}

# The example row of the blank template: a case that passes every rule.
TEMPLATE_EXAMPLE: dict[str, Any] = {
    "ref": "EXAMPLE-1", "name": "Atelier Coopératif du Nord", "national_id": "552100554", "country": "FR",
    "region": "FR-HDF", "nace": "25.62", "employees": 14, "transfer_date": date(2016, 5, 2),
    "transfer_type": TransferType.SUCCESSION.value, "legal_form": "SCOP SA", "registered_on": date(2016, 5, 2),
    "last_verified_on": date(2024, 6, 30), "exit_date": None, "exit_reason": None,
    "founded_on": date(1987, 3, 1),
}


@dataclass(frozen=True)
class ColumnHelp:
    name: str
    required: str  # "yes", "no", or when it is required
    kind: str  # what a cell must look like
    description: str
    values: tuple[tuple[str, str], ...] = ()  # a closed list: (value, meaning)
    max_length: int | None = None


def column_help(labels: Mapping[str, Mapping[Any, str]] | None = None) -> list[ColumnHelp]:
    """One entry per import column, in file order. `labels` gives the meaning shown next to each
    value of a closed list, by column (e.g. the forms' transfer type labels)."""
    labels = labels or {}
    out = []
    for name in CASE_FIELDS:
        parser = _PARSERS.get(name)
        values: tuple[tuple[str, str], ...] = ()
        if name in ENUM_COLUMNS:
            meanings = labels.get(name, {})
            values = tuple((m.value, meanings.get(m, "")) for m in ENUM_COLUMNS[name])
            kind = _("one of the values listed (lower or upper case)")
        elif parser is parse_date:
            kind = _("date YYYY-MM-DD (or a date cell in XLSX)")
        elif parser is parse_int:
            kind = _("whole number, 0 or more")
        elif name == "country":
            kind = _("2-letter country code")
        elif name == "nace":
            kind = _("NACE Rev. 2 code")
        else:
            kind = _("text")
        required = _("yes") if name in REQUIRED_FIELDS else str(CONDITIONALLY_REQUIRED.get(name, _("no")))
        out.append(ColumnHelp(name, required, kind, str(DESCRIPTIONS[name]), values, MAX_LENGTHS.get(name)))
    return out


def help_rows(labels: Mapping[str, Mapping[Any, str]] | None = None) -> list[tuple[str, str, str]]:
    """The help as (column, required, rule) lines, for the template's "notes" sheet."""
    rows = [(_("column"), _("required"), _("what it holds"))]
    for column in column_help(labels):
        rule = _("%(description)s Format: %(kind)s.", description=column.description, kind=column.kind)
        if column.values:
            rule += " " + _("Values: %(values)s.", values="; ".join(f"{v} ({m})" if m else v for v, m in column.values))
        if column.max_length:
            rule += " " + _("At most %(count)s characters.", count=column.max_length)
        rows.append((column.name, column.required, rule))
    rows.append(("", "", _("Delete the example row before importing. Dates must not be in the future.")))
    return rows


def cell_rules() -> dict[str, CellRule]:
    """Excel data validation for the template: drop-downs of the codes of the closed lists, date
    checks on the dates, each with the column's help as its input message."""
    rules: dict[str, CellRule] = {}
    for column in column_help():
        if column.values:
            rules[column.name] = CellRule("list", tuple(v for v, _m in column.values), column.description)
        elif _PARSERS.get(column.name) is parse_date:
            rules[column.name] = CellRule("date", help=column.description)
    return rules


def template_row() -> tuple[Any, ...]:
    return tuple(TEMPLATE_EXAMPLE[name] for name in CASE_FIELDS)
