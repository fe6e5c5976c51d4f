"""The annual status check: export the open cases whose last verification is older than
12 months (services.casework.completeness), let staff fill in each case's status in a spreadsheet, and
import it back, recording one follow-up (`cases.record_follow_up`, a StatusCheck) per filled row.

The sheet (CSV or XLSX, the rules of services.spreadsheets.exports: BOM, formula guard, real date cells):

    federation, ref, name, national_id, country, transfer_date, last_verified_on,  (what the case is)
    operating_on, exit_date, exit_reason, source, note                             (filled in by staff)

The census sheet is the same sheet for a census date D (`census_date` given): every case open
on D (completeness.census_cases_query), with a `census_date` column after `last_verified_on`, and
the exit of a case that exited after D already filled in (uploaded back as it is, it is
"unchanged"). It goes back through the same upload; there its `census_date` column says which
census the sheet settles (see "Census sheets" below).

Import rules (the file is read by `imports.read_rows`: CSV UTF-8 with `,` or `;`, or XLSX):

- Header: `federation`, `ref`, `operating_on`, `exit_date` and `exit_reason` are required;
  `source` and `note` optional; the descriptive columns may be kept or deleted and are not read
  (the case is identified by federation and ref only; `ref` and `name` label the problems).
  Unknown or repeated columns are errors.
- Each row names a federation by code and a case by ref. The federation must be one the user
  may record follow-ups for (a staff user: their own; any other code is a problem on that row);
  the ref must be a live case of that federation. A (federation, ref) seen twice is a problem.
- Per row, either `operating_on` (the date the enterprise was confirmed operating) or
  `exit_date` and `exit_reason` (an ExitReason value); not both. A row with none of the three
  is left as it is (counted as "blank"), so a sheet may be returned partly filled.
- Dates: not in the future, not before the transfer. An operating date after the case's
  recorded exit is a problem (withdraw the exit first); an exit for a case that already exited
  is a problem unless it is the same exit (then "unchanged", nothing recorded); an exit before
  the case's last verification is a problem.
- `source` (at most 200 characters; default "annual status check FILE") and `note` go into the
  StatusCheck.
- Census sheets: a file with a `census_date` column is a census upload. Every row, filled or
  blank, must give the census date (ISO, or the national order the import reads dates in), not in
  the future and not before 1900 (completeness.check_census_date), and the same date as the other
  rows: the date most rows give is the sheet's census date D, any other is a problem on its row.
  The follow-ups are dated as filled in (operating_on, exit_date: "the status on D, or the latest
  you know"), never moved to D; D names the census in the default source ("census of D (FILE)",
  stored in English with D in ISO and shown in the reader's language, vocabulary.APP_TEXTS) and
  in each follow-up's audit entry. A case is *settled* for D by the upload when it was open on D
  and unsettled (no exit, not confirmed operating on or after D) and its follow-up is dated on
  or after D (completeness' census rules).
- All or nothing: every row is validated first and every problem reported as (row, column,
  message); with any problem, or with dry_run, nothing is recorded. Unless `only_valid`: when
  every problem is about a row and some valid row records a follow-up, the valid rows are
  recorded (one transaction) and the others left out, the upload audited as such on each
  federation concerned; the caller gives the rows left out back as a file to fix
  (imports.rejected_rows_file). Writing goes through
  record_follow_up (audited, versioned); if it still refuses a row (a concurrent change), that
  row is reported and the caller must roll back, as for any problem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePath
from typing import IO, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from tracker.extensions import db
from tracker.i18n import format_date, format_number
from tracker.models import OPERATING, AuditEntry, Case, ExitReason, Federation, User
from tracker.services.casework.cases import FollowUp, parse_date, parse_exit_reason, record_follow_up
from tracker.services.casework.completeness import (
    InvalidCensusDate,
    census_cases_query,
    check_census_date,
    stale_cases_query,
)
from tracker.services.errors import DomainError
from tracker.services.permissions import can
from tracker.services.spreadsheets import csv_dialect, exports, imports
from tracker.services.spreadsheets.imports import DEFAULT_MAX_BYTES, ImportProblem

CASE_COLUMNS = ("federation", "ref", "name", "national_id", "country", "transfer_date", "last_verified_on")
FILL_COLUMNS = ("operating_on", "exit_date", "exit_reason", "source", "note")
STATUS_COLUMNS = (*CASE_COLUMNS, *FILL_COLUMNS)
CENSUS_COLUMNS = (*CASE_COLUMNS, "census_date", *FILL_COLUMNS)
KNOWN_COLUMNS = CENSUS_COLUMNS  # what an upload may hold: either sheet
REQUIRED_COLUMNS = ("federation", "ref", "operating_on", "exit_date", "exit_reason")
SOURCE_MAX = 200
NOTE_MAX = 10_000
_CHUNK = 900

# The instructions sheet of the XLSX, in the language of the download (column names stay as they are).
INSTRUCTIONS = (
    (_l("column"), _l("fill in?"), _l("what it holds")),
    ("federation, ref", _l("keep"), _l("Which case the row is about. Do not change them.")),
    ("name ... last_verified_on", _l("no"), _l("What the case is, for reference; not read back.")),
    ("operating_on", _l("either"), _l("Date on which the enterprise was confirmed operating (YYYY-MM-DD).")),
    ("exit_date, exit_reason", _l("or"), _l("Date and reason the cooperative ended. Reasons: %(reasons)s.",
                                            reasons=", ".join(r.value for r in ExitReason))),
    ("source", _l("optional"), _l("How it was checked (business register, phone call...).")),
    ("note", _l("optional"), _l("Anything worth keeping with the follow-up.")),
    ("", "", _l("Rows left empty are skipped. Upload the file back on the follow-up page.")),
)
CENSUS_INSTRUCTION = ("census_date", _l("no"), _l("The census date: fill in each case's status on that date, "
                                                  "or the latest you know. An exit already recorded is shown; "
                                                  "leave it as it is."))


# --- export --------------------------------------------------------------------------------------

def status_check_rows(user: User | None, federation_id: int | None = None,
                      today: date | None = None) -> Iterator[tuple[Any, ...]]:
    """The sheet's rows: the stale open cases the user may see, fill-in columns empty."""
    empty = (None,) * len(FILL_COLUMNS)
    for row in _in_batches(stale_cases_query(user, federation_id, today), _described()):
        yield (*row, *empty)


def census_rows(user: User | None, census_date: date, federation_id: int | None = None) -> Iterator[tuple[Any, ...]]:
    """The census sheet's rows: every case open on `census_date` the user may see; a case that
    exited after it has its exit filled in, the other fill-in columns are empty."""
    rows = _in_batches(census_cases_query(user, census_date, federation_id),
                       (*_described(), Case.exit_date, Case.exit_reason))
    for *described, exit_date, exit_reason in rows:
        yield (*described, census_date, None, exit_date, exit_reason.value if exit_reason else None, None, None)


#: Rows read by one query of a sheet (a bound parameter each: within SQLite's 32,766 and PostgreSQL's 65,535).
SHEET_BATCH = 5000


def _in_batches(cases: Select, columns: tuple[Any, ...]) -> Iterator[Any]:
    """The sheet's `columns` of the cases selected by `cases` (an ordered `select(Case)`), in its
    order, read `SHEET_BATCH` rows at a time, each query to its end (decision 75: on SQLite an
    unfinished query holds the read lock while Python writes the sheet, and writers queue behind
    it). The ids come first, in order, from one short query; each batch is a contiguous slice of
    them, read again under the same conditions and order, so a case changed meanwhile is written
    as it is then, or left out when it no longer qualifies."""
    ids = db.session.scalars(cases.with_only_columns(Case.id)).all()
    stmt = cases.with_only_columns(*columns).join(Federation, Federation.id == Case.federation_id)
    for start in range(0, len(ids), SHEET_BATCH):
        yield from db.session.execute(stmt.where(Case.id.in_(ids[start:start + SHEET_BATCH]))).all()


def _described() -> tuple[Any, ...]:
    return (Federation.code, Case.ref, Case.name, Case.national_id, Case.country, Case.transfer_date,
            Case.last_verified_on)


def write_status_check(fh: IO[bytes], user: User | None, fmt: str, federation_id: int | None = None,
                       today: date | None = None, census_date: date | None = None) -> int:
    """Write the annual status check sheet (CSV or XLSX, with an instructions sheet in XLSX); with
    `census_date`, the census sheet of that date (see the module docstring). `user` None is an
    operator (the command line): every federation, or `federation_id`."""
    columns: tuple[str, ...]
    if census_date is None:
        columns, rows, sheet = STATUS_COLUMNS, status_check_rows(user, federation_id, today), "status check"
        instructions: tuple[tuple[Any, ...], ...] = INSTRUCTIONS
    else:
        columns, rows, sheet = CENSUS_COLUMNS, census_rows(user, census_date, federation_id), "census"
        instructions = (*INSTRUCTIONS[:3], CENSUS_INSTRUCTION, *INSTRUCTIONS[3:])
    return exports.write_table(fh, fmt, columns, rows,
                               sheet=sheet, notes=[tuple(str(cell) for cell in row) for row in instructions],
                               widths={"federation": 14, "ref": 16, "note": 30, "source": 20, "census_date": 12},
                               rules={"operating_on": exports.CellRule("date", help=_status_help("operating_on")),
                                      "exit_date": exports.CellRule("date", help=_status_help("exit_date")),
                                      "exit_reason": exports.CellRule("list", tuple(r.value for r in ExitReason),
                                                                      _status_help("exit_reason"))})


def _status_help(column: str) -> str:
    """The instruction of a fill-in column, as the cell's input message."""
    return next((str(help_text) for name, _required, help_text in INSTRUCTIONS if name == column), "")


# --- import --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatusImportResult:
    """What the upload recorded (or would, with dry_run). With problems nothing is recorded and
    the counts are 0. `rows` counts the non-blank rows of the file."""

    operating: int
    exits: int
    unchanged: int
    blank: int
    problems: tuple[ImportProblem, ...]
    rows: int
    dry_run: bool = False
    census_date: date | None = None  # the census the sheet is for (a census sheet), even with problems
    settled: int = 0  # cases the upload settles for that census
    recordable: int = 0  # with problems: the valid rows that would record a follow-up
    skipped: tuple[ImportProblem, ...] = ()  # with only_valid: the problems of the rows left out

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def partial_possible(self) -> bool:
        """Rows are wrong, every problem is about a row, and some valid row records a follow-up:
        recording only the valid rows is possible."""
        return bool(self.problems) and self.recordable > 0 and all(p.row > 0 for p in self.problems)

    @property
    def rejected_rows(self) -> tuple[int, ...]:
        return tuple(sorted({p.row for p in (self.problems or self.skipped) if p.row > 0}))

    @property
    def recorded(self) -> int:
        return self.operating + self.exits


@dataclass
class _Planned:
    row: int
    case: Case
    follow_up: FollowUp
    settles: bool = False  # for the sheet's census (see _settles)


@dataclass
class _Plan:
    checks: list[_Planned] = field(default_factory=list)
    unchanged: int = 0
    blank: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    census_date: date | None = None


def import_status_checks(actor: User | None, data: bytes, filename: str, dry_run: bool,
                         today: date | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                         only_valid: bool = False) -> StatusImportResult:
    """Validate the filled-in status check sheet and, when valid and not dry_run, record one
    follow-up per filled row (see the module rules; with `only_valid`, those of the valid rows
    when the others may be left out). `actor` None is an operator (any federation). The caller
    commits when the result is ok and not a dry run, else rolls back."""
    today = today or date.today()
    table = imports.read_rows(data, filename, max_bytes)
    if isinstance(table, ImportProblem):
        return _rejected([table], 0, dry_run)
    header, header_row, rows = table
    positions, problems = _map_header(header, header_row)
    if not problems and not rows:
        problems = [ImportProblem(0, "", _("the file has a header row but no case rows"))]
    if problems:
        return _rejected(problems, len(rows), dry_run)
    plan = _plan(actor, rows, positions, today, PurePath(filename).name)
    census = plan.census_date
    wrong = {p.row for p in plan.problems}
    checks = [planned for planned in plan.checks if planned.row not in wrong]
    skipped: tuple[ImportProblem, ...] = ()
    if plan.problems:
        rejected = _rejected(plan.problems, len(rows), dry_run, census, recordable=len(checks))
        if not (only_valid and rejected.partial_possible):
            return rejected
        skipped = rejected.problems
    if not dry_run:
        about = census_text(census) if census is not None else None
        for planned in checks:
            try:
                record_follow_up(actor, planned.case, planned.follow_up, today=today, about=about)
            except DomainError as exc:
                column = "operating_on" if planned.follow_up.outcome == OPERATING else "exit_date"
                return _rejected([ImportProblem(planned.row, column, exc.message)], len(rows), dry_run, census)
        if skipped:
            _audit_partial(actor, PurePath(filename).name, census, checks, skipped)
    operating = sum(1 for p in checks if p.follow_up.outcome == OPERATING)
    return StatusImportResult(operating=operating, exits=len(checks) - operating, unchanged=plan.unchanged,
                              blank=plan.blank, problems=(), rows=len(rows), dry_run=dry_run,
                              census_date=census, settled=sum(p.settles for p in checks), skipped=skipped)


def _rejected(problems: list[ImportProblem], rows: int, dry_run: bool,
              census_date: date | None = None, recordable: int = 0) -> StatusImportResult:
    return StatusImportResult(0, 0, 0, 0, tuple(problems), rows, dry_run, census_date, recordable=recordable)


def _audit_partial(actor: User | None, filename: str, census_date: date | None, checks: list[_Planned],
                   skipped: tuple[ImportProblem, ...]) -> None:
    """One entry on each federation whose follow-ups were recorded: how many, and which rows of
    the sheet were left out (each follow-up has its own entry on its case, as in any upload)."""
    what = census_text(census_date) if census_date is not None else "status check"
    context = f"{what} {filename} (valid rows only)"[:200]
    rows = sorted({p.row for p in skipped})[:1000]
    recorded = Counter(planned.case.federation_id for planned in checks)
    for federation_id, count in sorted(recorded.items()):
        db.session.add(AuditEntry(user_id=actor.id if actor is not None else None, table_name="federations",
                                  row_id=federation_id, action="status_valid_rows",
                                  changes={"recorded_rows": [None, count], "rejected_rows": [None, rows]},
                                  context=context))
    db.session.flush()


def census_text(census_date: date) -> str:
    """How the follow-ups and audit entries of a census upload name it: English, the date in ISO
    (vocabulary.APP_TEXTS shows it in the reader's language)."""
    return f"census of {census_date.isoformat()}"


def _default_source(filename: str, census_date: date | None) -> str:
    """The source of a row that gives none: the census and the file (stored in English, read
    through vocabulary.app_text), or the annual status check and the file."""
    if census_date is None:
        return _("annual status check %(file)s", file=filename)[:SOURCE_MAX]
    prefix = f"{census_text(census_date)} ("
    return f"{prefix}{filename[:SOURCE_MAX - len(prefix) - 1]})"


def _map_header(header: list[Any], row: int) -> tuple[dict[str, int], list[ImportProblem]]:
    positions: dict[str, int] = {}
    problems: list[ImportProblem] = []
    for index, cell in enumerate(header):
        name = "" if cell is None else str(cell).strip().lower()
        if not name:
            continue
        if name in positions:
            problems.append(ImportProblem(row, name[:40], _("appears twice in the header")))
        elif name not in KNOWN_COLUMNS:
            problems.append(ImportProblem(row, name[:40], _("unknown column (the columns are: %(columns)s)",
                                                            columns=", ".join(KNOWN_COLUMNS))))
        else:
            positions[name] = index
    problems += [ImportProblem(row, name, _("required column is missing"))
                 for name in REQUIRED_COLUMNS if name not in positions]
    return positions, problems


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _read_dates(actor: User | None, read: list[tuple[int, dict[str, Any]]]) -> None:
    """Dates written as text (31/12/2025 from a French spreadsheet) become dates, in the order the
    file shows, else the national order of the actor's federation (csv_dialect)."""
    names = ("operating_on", "exit_date", "census_date")
    country = actor.federation.country if actor is not None and actor.federation is not None else None
    texts = (value for _row, raw in read for name in names if isinstance(value := raw.get(name), str) and value)
    order = csv_dialect.date_order_of(texts, csv_dialect.national_date_order(country)).order
    for _row, raw in read:
        imports.read_dates(raw, order, names)


def _plan(actor: User | None, rows: list[tuple[int, tuple[Any, ...]]], positions: dict[str, int], today: date,
          filename: str) -> _Plan:
    plan = _Plan()
    read = [(number, {name: imports.cell(cells[index]) if index < len(cells) else None
                      for name, index in positions.items()}) for number, cells in rows]
    written = {number: dict(raw) for number, raw in read}  # as in the file, to describe the problems
    _read_dates(actor, read)
    if "census_date" in positions:
        plan.census_date = _census_date(read, today, plan.problems)
    _plan_rows(actor, read, today, _default_source(filename, plan.census_date), plan)
    plan.problems = sorted((imports.described(p, written[p.row]) if p.row in written else p for p in plan.problems),
                           key=lambda p: p.row)
    return plan


def _census_date(read: list[tuple[int, dict[str, Any]]], today: date, problems: list[ImportProblem]) -> date | None:
    """The sheet's census date: the one most rows give (the first of them on a tie); each row
    without a valid one, or with another, is a problem."""
    given: dict[int, date] = {}
    for number, raw in read:
        try:
            day = parse_date(raw.get("census_date"))
            if day is None:
                problems.append(ImportProblem(number, "census_date", _("is required")))
                continue
            given[number] = check_census_date(day, today)
        except ValueError as exc:
            problems.append(ImportProblem(number, "census_date", str(exc)))
        except InvalidCensusDate as exc:
            problems.append(ImportProblem(number, "census_date", exc.message))
    if not given:
        return None
    census = Counter(given.values()).most_common(1)[0][0]
    problems += [ImportProblem(number, "census_date", _("differs from the other rows' census date (%(date)s)",
                                                        date=format_date(census)))
                 for number, day in given.items() if day != census]
    return census


def _settles(case: Case, when: date, census_date: date | None) -> bool:
    """The follow-up settles the case for the census: open and unsettled on it, dated on or after it."""
    if census_date is None or case.transfer_date > census_date or case.exit_date is not None:
        return False
    unsettled = case.last_verified_on is None or case.last_verified_on < census_date
    return unsettled and when >= census_date


def _plan_rows(actor: User | None, read: list[tuple[int, dict[str, Any]]], today: date, default_source: str,
               plan: _Plan) -> None:
    federations = {fed.code.upper(): fed for fed in db.session.scalars(select(Federation))}
    cases = _load_cases(read, federations)
    first_row: dict[tuple[int, str], int] = {}
    for number, raw in read:
        outcome = _outcome(number, raw, today, plan.problems)
        source, note = _text(raw.get("source")), _text(raw.get("note"))
        if outcome == "blank":  # nothing to record: the row is not looked at further
            if source or note:
                plan.problems.append(ImportProblem(number, "operating_on", _(
                    "fill operating_on, or exit_date and exit_reason: a source or note alone records nothing")))
            else:
                plan.blank += 1
            continue
        case = _case_of(actor, number, raw, federations, cases, first_row, plan.problems)
        if case is None or not isinstance(outcome, tuple):
            continue
        checked_on, result = outcome
        for name, value in (("source", source), ("note", note)):
            if value is not None and "\x00" in value:  # PostgreSQL cannot store it
                plan.problems.append(ImportProblem(number, name, _("contains a NUL character")))
        if source is not None and len(source) > SOURCE_MAX:
            plan.problems.append(ImportProblem(number, "source", _("is longer than %(count)s characters",
                                                                   count=SOURCE_MAX)))
        if note is not None and len(note) > NOTE_MAX:
            plan.problems.append(ImportProblem(number, "note", _("is longer than %(count)s characters",
                                                                 count=format_number(NOTE_MAX))))
        if _check_against_case(number, case, checked_on, result, plan):
            plan.checks.append(_Planned(number, case, FollowUp(checked_on, result, source or default_source, note),
                                        _settles(case, checked_on, plan.census_date)))


def _load_cases(read: list[tuple[int, dict[str, Any]]], federations: dict[str, Federation]
                ) -> dict[tuple[int, str], Case]:
    wanted: dict[int, set[str]] = {}
    for _row, raw in read:
        fed, ref = federations.get((_text(raw.get("federation")) or "").upper()), _text(raw.get("ref"))
        if fed is not None and ref is not None:
            wanted.setdefault(fed.id, set()).add(ref)
    found: dict[tuple[int, str], Case] = {}
    for fed_id, refs in wanted.items():
        ordered = sorted(refs)
        for start in range(0, len(ordered), _CHUNK):
            for case in db.session.scalars(select(Case).where(
                    Case.federation_id == fed_id, Case.ref.in_(ordered[start:start + _CHUNK]),
                    Case.deleted_at.is_(None))):
                found[(fed_id, case.ref)] = case
    return found


def _case_of(actor: User | None, number: int, raw: dict[str, Any], federations: dict[str, Federation],
             cases: dict[tuple[int, str], Case], first_row: dict[tuple[int, str], int],
             problems: list[ImportProblem]) -> Case | None:
    code, ref = _text(raw.get("federation")), _text(raw.get("ref"))
    if code is None:
        problems.append(ImportProblem(number, "federation", _("is required")))
    if ref is None:
        problems.append(ImportProblem(number, "ref", _("is required")))
    if code is None or ref is None:
        return None
    fed = federations.get(code.upper())
    if fed is None:
        problems.append(ImportProblem(number, "federation", _("'%(code)s' is not a federation code",
                                                                 code=code[:40])))
        return None
    if actor is not None and not can(actor, "case.follow_up", fed):
        problems.append(ImportProblem(number, "federation", _(
            "%(code)s is not your federation: you may only record follow-ups for your federation's cases",
            code=fed.code)))
        return None
    key = (fed.id, ref)
    if key in first_row:
        problems.append(ImportProblem(number, "ref", _("ref %(ref)s already appears in row %(row)s", ref=ref,
                                                          row=first_row[key])))
        return None
    first_row[key] = number
    case = cases.get(key)
    if case is None:
        problems.append(ImportProblem(number, "ref", _("no case with ref %(ref)s in federation %(code)s",
                                                          ref=ref[:64], code=fed.code)))
    return case


def _outcome(number: int, raw: dict[str, Any], today: date,
             problems: list[ImportProblem]) -> tuple[date, str] | str | None:
    """(date, "operating" or an exit reason), "blank" for an unfilled row, None after a problem."""
    before = len(problems)
    operating_on = _date(number, raw, "operating_on", today, problems)
    exit_date = _date(number, raw, "exit_date", today, problems)
    reason_text = _text(raw.get("exit_reason"))
    reason = None
    if reason_text is not None:
        try:
            reason = parse_exit_reason(reason_text)  # the case import's rule and words
        except ValueError as exc:
            problems.append(ImportProblem(number, "exit_reason", str(exc)))
    has_operating = _text(raw.get("operating_on")) is not None
    has_exit = _text(raw.get("exit_date")) is not None or reason_text is not None
    if has_operating and has_exit:
        problems.append(ImportProblem(number, "operating_on", _(
            "fill either operating_on, or exit_date and exit_reason, not both")))
    if len(problems) > before:
        return None
    if not has_operating and not has_exit:
        return "blank"
    if operating_on is not None:
        return operating_on, OPERATING
    if exit_date is None:
        problems.append(ImportProblem(number, "exit_date", _("is required with exit_reason")))
        return None
    if reason is None:
        problems.append(ImportProblem(number, "exit_reason", _("is required with exit_date")))
        return None
    return exit_date, reason.value


def _date(number: int, raw: dict[str, Any], name: str, today: date, problems: list[ImportProblem]) -> date | None:
    try:
        value = parse_date(raw.get(name))
    except ValueError as exc:
        problems.append(ImportProblem(number, name, str(exc)))
        return None
    if value is not None and value > today:
        problems.append(ImportProblem(number, name, _("%(date)s is in the future", date=format_date(value))))
        return None
    return value


def _check_against_case(number: int, case: Case, when: date, outcome: str, plan: _Plan) -> bool:
    """The rules of record_follow_up, checked before anything is written."""
    column = "operating_on" if outcome == OPERATING else "exit_date"
    problems = plan.problems
    if when < case.transfer_date:
        problems.append(ImportProblem(number, column, _("%(date)s is before the transfer (%(transfer)s)",
                                                        date=format_date(when),
                                                        transfer=format_date(case.transfer_date))))
        return False
    if outcome == OPERATING:
        if case.exit_date is not None and when > case.exit_date:
            problems.append(ImportProblem(number, column, _(
                "the case exited on %(date)s; withdraw that exit on the case page first",
                date=format_date(case.exit_date))))
            return False
        return True
    if case.exit_date is not None:
        if case.exit_date == when and case.exit_reason == ExitReason(outcome):
            plan.unchanged += 1
            return False
        problems.append(ImportProblem(number, column, _(
            "the case already exited on %(date)s (%(reason)s); withdraw that exit on the case page first",
            date=format_date(case.exit_date), reason=case.exit_reason.value if case.exit_reason else "?")))
        return False
    if case.last_verified_on is not None and when < case.last_verified_on:
        problems.append(ImportProblem(number, column, _(
            "the case was confirmed operating on %(date)s, after this exit",
            date=format_date(case.last_verified_on))))
        return False
    return True
