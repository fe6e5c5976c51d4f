"""Helpers shared by the section builders: notes, group ordering and labels, table assembly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tracker import vocabulary
from tracker.reports.build import confidentiality as conf
from tracker.reports.build.inputs import ReportInputs
from tracker.reports.content import CONFIDENTIAL, Column, Note, Table
from tracker.reports.render.formatting import (
    country_label,
    long_date,
    nace_label,
    plural,
    transfer_type_label,
)
from tracker.survival import EXCLUSION_REASONS

TYPE_ORDER = ("succession", "rescue", "conversion", "other", "unknown")
SIZE_ORDER = ("0-9", "10-49", "50-249", "250+", "unknown")
BREAKDOWN_TITLES = {
    "transfer_type": "transfer type",
    "country": "country",
    "nace_section": "sector of activity (NACE Rev. 2 section)",
    "size_class": "size at transfer",
    "cohort": "year of transfer",
}
BREAKDOWN_HEADERS = {
    "transfer_type": "Transfer type",
    "country": "Country",
    "nace_section": "NACE section",
    "size_class": "Employees at transfer",
    "cohort": "Year of transfer",
    "federation": "Federation",
}
EXCLUSION_TEXT = {
    "no_transfer_date": "No transfer date",
    "transfer_after_as_of": "Transferred after the reference date",
    "no_verification": "Open and never verified as operating",
    "unknown_exit_reason": "Exit without a recognised reason",
    "no_follow_up": "Follow-up ends on or before the transfer date (e.g. last verified on the transfer day)",
    "ended_before_entry": "Follow-up ended before the federation started following the case "
                          "(registered after the exit or the last verification)",
}
assert set(EXCLUSION_TEXT) == set(EXCLUSION_REASONS)


def group_label(field: str, value: str, inputs: ReportInputs | None = None) -> str:
    if field == "transfer_type":
        return transfer_type_label(value)
    if field == "country":
        return country_label(value)
    if field == "nace_section":
        return nace_label(value)
    if field == "size_class":
        return vocabulary.SIZE_CLASSES.get(value, value)
    if field == "federation" and inputs is not None:
        return f"{inputs.federations.get(value, value)} ({value})" if value != "unknown" else "Not recorded"
    return value


def group_order(field: str, names: Sequence[str], inputs: ReportInputs | None = None) -> list[str]:
    """Groups in reading order: the vocabularies in their own (docs/design.md) order, else by label,
    'unknown' (not recorded) last."""
    if field == "transfer_type":
        return sorted(names, key=lambda n: TYPE_ORDER.index(n) if n in TYPE_ORDER else len(TYPE_ORDER))
    if field == "size_class":
        return sorted(names, key=lambda n: SIZE_ORDER.index(n) if n in SIZE_ORDER else len(SIZE_ORDER))
    return sorted(names, key=lambda n: (n == "unknown", group_label(field, n, inputs)))


def scope_note(inputs: ReportInputs, extra: str = "") -> str:
    n = inputs.overall.report.groups[0].n
    excluded = sum(inputs.overall.report.exclusions.values())
    left_out = ""
    if excluded:  # a count of 1 to 4 is not published (confidentiality), here as in table 5.2
        left_out = f", {plural(excluded, 'case') if excluded >= conf.THRESHOLD else 'fewer than 5 cases'} left out " \
                   "(table 5.2)"
    text = (f"enterprises transferred to their employees on or before {long_date(inputs.as_of)}, followed by "
            f"{_scope_words(inputs)}; {plural(n, 'enterprise')} in the survival analysis{left_out}.")
    return f"{text} {extra}".strip()


def counts_scope(inputs: ReportInputs, extra: str = "") -> str:
    text = (f"cases recorded by {_scope_words(inputs)} (deleted cases excluded), transferred on or before "
            f"{long_date(inputs.as_of)}.")
    return f"{text} {extra}".strip()


def _scope_words(inputs: ReportInputs) -> str:
    return "the member federations" if inputs.scope == "ALL" else f"the federation {inputs.scope_label}"


def source_note(inputs: ReportInputs, method: str = "", baselines: bool = False) -> str:
    text = (f"Transfer Tracker, case registers of the member federations as of {long_date(inputs.as_of)} "
            f"(data fingerprint {inputs.fingerprint[:12]})")
    if method:
        text += f"; {method}"
    if baselines:
        text += "; national baselines as cited in section 6.3"
    return text + "."


def note(reading: str, scope: str, source: str) -> Note:
    return Note(reading=reading, scope=scope[:1].upper() + scope[1:], source=source)


def count_table(number: str, slug: str, title: str, columns: Sequence[Column], rows: list[list[Any]],
                reading: str, scope: str, source: str, *, components: Sequence[str] = (),
                total_column: str | None = None, column_totals: Sequence[str] = (),
                derived: dict[str, str] | None = None, footnotes: Sequence[str] = ()) -> Table:
    """A table of counts with a total row (last): primary suppression of every count column,
    then secondary suppression along `components` (+ `total_column`) and down `column_totals`;
    a `derived` column (e.g. a share) is suppressed wherever the count it reveals is."""
    index = {c.key: i for i, c in enumerate(columns)}
    for row in rows:
        for i, column in enumerate(columns):
            if column.kind == "count" and isinstance(row[i], int):
                row[i] = conf.count(row[i])
    last = len(rows) - 1 if rows else None
    if components:
        conf.protect_totals(rows, [index[k] for k in components],
                            index[total_column] if total_column else None, last)
    for key in column_totals:
        conf.protect_totals(rows, [index[key]], None, last)
    for key, source in (derived or {}).items():
        for row in rows:
            if row[index[source]] is CONFIDENTIAL:
                row[index[key]] = CONFIDENTIAL
    return Table(number=number, slug=slug, title=title, columns=tuple(columns), rows=tuple(tuple(r) for r in rows),
                 note=note(reading, scope, source), total_rows=1, footnotes=tuple(footnotes))


def first_published(rows: Sequence[Sequence[Any]], column: int,
                    key: Callable[[Sequence[Any]], Any] | None = None) -> Sequence[Any] | None:
    """The first row (in `key` order) whose cell is published (neither suppressed nor missing)."""
    ordered = sorted(rows, key=key) if key else list(rows)
    return next((r for r in ordered if r[column] is not None and r[column] is not CONFIDENTIAL), None)
