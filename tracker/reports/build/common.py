"""Helpers shared by the section builders: labels (in the report's language, never codes), the
Reading / Scope / Source notes in full sentences, and count tables with their confidentiality."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from tracker import vocabulary
from tracker.reports.build import confidentiality as conf
from tracker.reports.build.inputs import ReportInputs
from tracker.reports.content import CONFIDENTIAL, Column, Note, Table
from tracker.reports.render.formatting import country_label, long_date, nace_label, thousands, transfer_type_label
from tracker.survival import EXCLUSION_REASONS

TYPE_ORDER = ("succession", "rescue", "conversion", "other", "unknown")
SIZE_ORDER = ("0-9", "10-49", "50-249", "250+", "unknown")
AGE_ORDER = ("<5", "5-19", "20+", "unknown")
BREAKDOWN_TITLES = {
    "transfer_type": _l("Survival at 1 to 5 years by transfer type"),
    "country": _l("Survival at 1 to 5 years by country"),
    "nace_section": _l("Survival at 1 to 5 years by sector of activity (NACE Rev. 2 section)"),
    "size_class": _l("Survival at 1 to 5 years by size at transfer"),
    "cohort": _l("Survival at 1 to 5 years by year of transfer (successive generations)"),
}
BREAKDOWN_HEADERS = {
    "transfer_type": _l("Transfer type"),
    "country": _l("Country"),
    "nace_section": _l("Sector of activity"),
    "size_class": _l("Employees at transfer"),
    "cohort": _l("Year of transfer"),
    "federation": _l("Federation"),
}
EXCLUSION_TEXT = {
    "no_transfer_date": _l("No transfer date"),
    "transfer_after_as_of": _l("Transferred after the reference date"),
    "no_verification": _l("Open and never verified as operating"),
    "unknown_exit_reason": _l("Exit without a recognised reason"),
    "no_follow_up": _l("Follow-up ends on or before the transfer date (e.g. last verified on the transfer day)"),
    "ended_before_entry": _l("Follow-up ended before the federation started following the case (registered "
                             "after the exit or the last verification)"),
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
        return vocabulary.label(vocabulary.SIZE_CLASSES, value)
    if field == "age_band":
        return vocabulary.label(vocabulary.AGE_BANDS, value)
    if field == "federation" and inputs is not None:
        return inputs.federations.get(value, value) if value != "unknown" else str(vocabulary.NOT_RECORDED)
    if value == "unknown":
        return str(vocabulary.NOT_RECORDED)
    return value


def group_order(field: str, names: Sequence[str], inputs: ReportInputs | None = None) -> list[str]:
    """Groups in reading order: the vocabularies in their own order, else by label, 'unknown'
    (not recorded) last."""
    if field == "transfer_type":
        return sorted(names, key=lambda n: TYPE_ORDER.index(n) if n in TYPE_ORDER else len(TYPE_ORDER))
    if field == "size_class":
        return sorted(names, key=lambda n: SIZE_ORDER.index(n) if n in SIZE_ORDER else len(SIZE_ORDER))
    if field == "age_band":
        return sorted(names, key=lambda n: AGE_ORDER.index(n) if n in AGE_ORDER else len(AGE_ORDER))
    if field == "cohort":
        return sorted(names, key=lambda n: (n == "unknown", n))
    return sorted(names, key=lambda n: (n == "unknown", group_label(field, n, inputs)))


def scope_words(inputs: ReportInputs) -> str:
    return _("the member federations") if inputs.scope == "ALL" else inputs.scope_label


def scope_note(inputs: ReportInputs, extra: str = "") -> str:
    """Scope of a survival figure, as a sentence."""
    n = inputs.overall.report.groups[0].n
    excluded = sum(inputs.overall.report.exclusions.values())
    text = ngettext("Enterprises transferred to their employees on or before %(date)s and followed by %(who)s: "
                    "%(count)s enterprise in the survival analysis.",
                    "Enterprises transferred to their employees on or before %(date)s and followed by %(who)s: "
                    "%(count)s enterprises in the survival analysis.", n,
                    date=long_date(inputs.as_of), who=scope_words(inputs), count=thousands(n))
    if excluded:
        text += " " + ngettext("%(count)s case is left out because its follow-up is unknown (table A.14).",
                               "%(count)s cases are left out because their follow-up is unknown (table A.14).",
                               excluded, count=thousands(excluded))
    return f"{text} {extra}".strip()


def counts_scope(inputs: ReportInputs, extra: str = "") -> str:
    text = _("Cases recorded by %(who)s (deleted cases excluded), transferred on or before %(date)s.",
             who=scope_words(inputs), date=long_date(inputs.as_of))
    return f"{text} {extra}".strip()


def source_note(inputs: ReportInputs, method: str = "", baselines: bool = False) -> str:
    """The source, as a sentence: the registers, the method, the baselines."""
    # The whole confederation has its own sentence: "de les", "di le" are not French or Italian.
    text = (_("Case registers of the member federations kept in Transfer Tracker, as of %(date)s.",
              date=long_date(inputs.as_of)) if inputs.scope == "ALL" else
            _("Case registers of %(who)s kept in Transfer Tracker, as of %(date)s.", who=scope_words(inputs),
              date=long_date(inputs.as_of)))
    if method:
        text += " " + method
    if baselines:
        text += " " + _("National baselines: the business demography statistics cited in annex A.16.")
    return text


def km_method() -> str:
    return _("Kaplan–Meier estimates with delayed entry; 95 % confidence intervals on the log(−log) scale.")


def note(reading: str, scope: str, source: str) -> Note:
    return Note(reading=reading, scope=scope[:1].upper() + scope[1:], source=source)


def count_words(value: int | Any) -> str:
    """A published count in words: the number, or 'fewer than N' where it is withheld."""
    return str(_("a confidential number of")) if value is CONFIDENTIAL else thousands(int(value))


def count_table(number: str, slug: str, title: str, columns: Sequence[Column], rows: list[list[Any]],
                reading: str, scope: str, source: str, *, rules: conf.Rules, sensitive: Sequence[str] = (),
                group_size: str | None = None, row_sum: tuple[Sequence[str], str] | None = None,
                column_totals: Sequence[str] = (), suppressible: Sequence[str] = (),
                derived: dict[str, str] | None = None, footnotes: Sequence[str] = (),
                keys: Sequence[str] = (), short: str = "") -> Table:
    """A table of counts whose last row is the total.

    `sensitive` columns hold counts of closures or exits (withheld below the rule's minimum, or
    for a group of fewer than that many enterprises, `group_size` naming the column of the
    group's size); `row_sum` = (parts, total): those columns of each row add up to the total
    column; `column_totals`: columns whose last row is the sum of the others. Secondary
    suppression may withhold cells of `sensitive` and `suppressible` columns (never counts of
    transfers, cases followed or at risk); a `derived` column (a share) is withheld with the
    count it is computed from."""
    index = {c.key: i for i, c in enumerate(columns)}
    for row in rows:
        size = row[index[group_size]] if group_size else None
        for key in sensitive:
            value = row[index[key]]
            if isinstance(value, int):
                row[index[key]] = rules.outcome_count(value, size if isinstance(size, int) else None)
    last = len(rows) - 1
    sums: list[conf.Sum] = []
    if row_sum is not None and rows:
        sums += conf.row_sums(rows, [index[k] for k in row_sum[0]], index[row_sum[1]])
    if column_totals and len(rows) > 1:
        sums += conf.column_sums(rows, [index[k] for k in column_totals], last)
    if rules.active and sums:
        allowed = {(r, index[k]) for r in range(len(rows)) for k in (*sensitive, *suppressible)}
        conf.protect(rows, sums, allowed)
    for key, source_key in (derived or {}).items():
        for row in rows:
            if row[index[source_key]] is CONFIDENTIAL:
                row[index[key]] = CONFIDENTIAL
    return Table(number=number, slug=slug, title=title, columns=tuple(columns), rows=tuple(tuple(r) for r in rows),
                 note=note(reading, scope, source), total_rows=1 if rows else 0, footnotes=tuple(footnotes),
                 keys=tuple(keys), sums=tuple(sums), short=short)


def first_published(rows: Sequence[Sequence[Any]], column: int,
                    key: Callable[[Sequence[Any]], Any] | None = None) -> Sequence[Any] | None:
    """The first row (in `key` order) whose cell is published (neither suppressed nor missing)."""
    ordered = sorted(rows, key=key) if key else list(rows)
    return next((r for r in ordered if r[column] is not None and r[column] is not CONFIDENTIAL), None)
