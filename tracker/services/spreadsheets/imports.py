"""Import of cases from a CSV or XLSX file (docs/design.md, "Import and export schema"), shared by
`tracker cases import` and the web upload.

Rules, in the order they are applied:

- Size: a file over `max_bytes` (default 20 MB) is refused before it is parsed.
- Bounds: the file is read by `readers` within `UPLOAD_LIMITS`, counting what it reads, never
  trusting what the file declares: columns A..AF only (a value further right refuses the file),
  at most 1,000,000 case rows, bounded cells and reading time, an XLSX that inflates to at most
  30 times its own size.
- Format: a zip (the signature of XLSX) is read as XLSX (first sheet, openpyxl's cell decoding,
  one cell element at a time); `.xls`/`.ods` files are refused with a hint; anything else is read
  as CSV, in UTF-8 (with or without BOM), UTF-16 with a BOM, Windows-1252 or Latin-1, delimited by
  `,`, `;` or TAB (the one the header line holds most of): `csv_dialect`, whose findings the
  result reports (`source`).
- Dates in text cells: ISO, or day, month and year in one order for the whole file, the order its
  dates show, else the national order of the federation's country (`csv_dialect.date_order_of`,
  reported as `dates`); they reach the validator as dates.
- Header: the first non-blank row. Names are trimmed and case-insensitive, in any order. Every
  required column must be present; unknown or repeated names are errors; optional columns may be
  absent (re-importing without a column leaves that field of existing cases as it is).
- Rows are numbered as a spreadsheet shows them: the header is row 1 (when it is the first line),
  blank lines count. Fully blank rows are skipped. Each row goes through
  `cases.clean_case_values`, the validator of the web forms, and EVERY problem of every row is
  reported as (row, column, message); after `MAX_PROBLEMS` the report stops with a note.
- Formula guard: `exports` prefixes an apostrophe to a text cell starting with = + - @ TAB or CR
  (so a spreadsheet does not run it as a formula). The import removes exactly one leading
  apostrophe when it is followed by one of those characters, so export → edit → import
  round-trips; any other apostrophe is data and kept.
- Formulas are refused: the import stores values, and it cannot know a formula's value
  (openpyxl does not calculate; a cached result may be stale or missing). An XLSX formula cell,
  or a CSV cell starting with `=` (without the protecting apostrophe), is a problem at its row
  and column, with a hint (paste the values; or an apostrophe before a text that really starts
  with =). Text cells of an XLSX that start with = (Excel's quote prefix, as the export writes
  them) are text and accepted.
- XLSX cells: real date cells are dates; whole numbers (12 or 12.0) are integers; a number in a
  text column is read as its digits (12345 → "12345").
- Refs: a ref seen twice in the file is a problem on its second row (naming the first). A ref of
  an existing case of the federation updates that case; a row identical to the case leaves it
  untouched ("unchanged"). A ref of a soft-deleted case is a problem: restore the case first.
  Refs are only ever looked up inside the given federation, so a row cannot touch another
  federation's case.
- All or nothing: the whole file is validated before anything is written. With any problem, or
  with `dry_run`, nothing is written. Otherwise new cases are inserted and changed cases updated
  in batches (Core executemany), each with one audit entry ("create"/"update", context
  "import FILENAME"). An update increments the case's version (an open web edit of it then gets
  a conflict) and raises EditConflict if the case changed since it was validated; an exit
  recorded, changed or cleared by an update also enters the follow-up timeline (a StatusCheck,
  source "import FILENAME"), as with update_case. Creating a case adds no StatusCheck. The service
  writes in the caller's transaction; the caller commits, or rolls back on an exception.
- Possible duplicates (web upload, `check_duplicates`): the rows that create a case, or change
  the name, national id, country or transfer date of one, are checked by `services.casework.duplicates`
  against every live case of their countries (all federations) and each other; the result lists
  them. Writing then needs `confirm_distinct` when any pair is fully visible to the actor
  (else UnconfirmedDuplicates, nothing written); with it, those pairs are stored as confirmed
  distinct after the cases are written. A staff user's pairs with another federation's case
  are reported (without that case's data) but need no confirmation.
"""

from __future__ import annotations

import csv
import gc
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from enum import Enum
from pathlib import PurePath
from typing import Any

from flask_babel import gettext, ngettext
from openpyxl.utils import get_column_letter
from sqlalchemy import CursorResult, Table, bindparam, insert, select, update

from tracker.extensions import db
from tracker.i18n import format_number
from tracker.models import AuditEntry, Case, Federation, StatusCheck, User
from tracker.models.base import Base, utcnow
from tracker.services import permissions
from tracker.services.analytics import data_version
from tracker.services.casework import audit, duplicates
from tracker.services.casework.cases import CASE_FIELDS, REQUIRED_FIELDS, clean_case_values
from tracker.services.casework.duplicates import PossibleDuplicate
from tracker.services.errors import EditConflict, PermissionDenied, UnconfirmedDuplicates
from tracker.services.spreadsheets import csv_dialect, readers
from tracker.services.spreadsheets.csv_dialect import DateOrder
from tracker.services.spreadsheets.import_help import TEMPLATE_EXAMPLE
from tracker.services.spreadsheets.readers import Formula, Limits

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = readers.MAX_ROWS
#: What an upload may hold (rows, columns, reading time: services.spreadsheets.readers).
UPLOAD_LIMITS = Limits()
MAX_PROBLEMS = 10_000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
COMPARED_FIELDS: tuple[str, ...] = (*CASE_FIELDS, "nace_section")
DATE_FIELDS = ("transfer_date", "registered_on", "last_verified_on", "exit_date", "founded_on")
WRITE_BATCH = 2000
COPY_BATCH = 20_000
PROGRESS_EVERY = 1000
_MAX_UNKNOWN_COLUMNS = 10

# progress(stage, done, total): stage is "validating" or "writing"; counts are rows.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with the file. `row` is the spreadsheet row (header = row 1), 0 for the
    file as a whole; `column` is the column name, or "" when the problem is the whole row/file."""

    row: int
    column: str
    message: str
    ref: str = ""  # the row's ref and name as written, so people find the row without counting
    name: str = ""
    value: str = ""  # the cell at fault as written (shortened)

    def __str__(self) -> str:
        if self.row == 0:
            return self.message
        if not self.column:
            return f"row {self.row}: {self.message}"
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass(frozen=True)
class FileSource:
    """How a CSV file was read: its encoding and delimiter, as `csv_dialect` found them."""

    encoding: str  # a csv_dialect.ENCODING_LABELS key
    delimiter: str

    @property
    def encoding_label(self) -> str:
        return csv_dialect.ENCODING_LABELS[self.encoding]

    @property
    def delimiter_label(self) -> str:
        return csv_dialect.DELIMITER_LABELS[self.delimiter]


@dataclass(frozen=True)
class ImportResult:
    """What the import did (or, with dry_run, would do). With problems, nothing was written and
    the counts are 0. `rows` is the number of case rows read (blank rows not counted)."""

    created: int
    updated: int
    unchanged: int
    problems: tuple[ImportProblem, ...]
    rows: int
    dry_run: bool = False
    duplicates: tuple[PossibleDuplicate, ...] = ()  # with check_duplicates only
    source: FileSource | None = None  # how a CSV file was read (None for XLSX, or an unreadable file)
    dates: DateOrder | None = None  # how the dates written as text were read
    # What the import creates and how it changes existing cases (for a file with problems: what
    # its valid rows would do), in file order.
    creates: tuple[PreviewRow, ...] = ()
    updates: tuple[PreviewRow, ...] = ()
    importable: int = 0  # valid rows (creates, updates and unchanged ones)
    # With only_valid: the problems of the rows left out (nothing of those rows was written).
    skipped: tuple[ImportProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def partial_possible(self) -> bool:
        """Rows are wrong but every problem is about a row, all rows were checked, and some rows
        are valid: importing only the valid rows is possible."""
        return bool(self.problems) and self.importable > 0 and all(p.row > 0 for p in self.problems)

    @property
    def rejected_rows(self) -> tuple[int, ...]:
        return tuple(sorted({p.row for p in (self.problems or self.skipped) if p.row > 0}))


@dataclass(frozen=True)
class PreviewRow:
    """One row of the preview: a case to create, or an update with {field: [before, after]}."""

    row: int
    ref: str
    name: str
    changes: dict[str, list[Any]] = field(default_factory=dict)


def unconfirmed_import(pairs: list[PossibleDuplicate]) -> UnconfirmedDuplicates:
    """The error of a file with possible duplicates the user can see and did not confirm as distinct."""
    return UnconfirmedDuplicates(pairs, ngettext(
        "%(num)d possible duplicate: confirm that it is a different enterprise, or correct the file",
        "%(num)d possible duplicates: confirm that they are different enterprises, or correct the file",
        len(pairs)))


class _FileProblem(Exception):
    """The file cannot be read as a table at all."""

    def __init__(self, message: str, row: int = 0) -> None:
        super().__init__(message)
        self.problem = ImportProblem(row, "", message)


@dataclass
class _Table:
    header: list[Any]
    header_row: int
    rows: list[tuple[int, tuple[Any, ...]]]  # (spreadsheet row number, cells); blank rows left out
    source: FileSource | None = None


@dataclass
class _Existing:
    id: int
    version: int
    values: dict[str, Any]  # typed values of COMPARED_FIELDS, as clean_case_values returns them


@dataclass
class _Plan:
    creates: list[dict[str, Any]] = field(default_factory=list)
    create_rows: list[int] = field(default_factory=list)
    update_rows: list[int] = field(default_factory=list)
    stopped: bool = False  # validation gave up after MAX_PROBLEMS
    updates: list[tuple[_Existing, dict[str, Any], dict[str, list[Any]]]] = field(default_factory=list)
    unchanged: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    # (spreadsheet row, values, id of the updated case or None) of rows to check for duplicates
    identities: list[tuple[int, dict[str, Any], int | None]] = field(default_factory=list)


# --- public API ----------------------------------------------------------------------------------

def import_cases(actor: User | None, federation: Federation, data: bytes, filename: str, dry_run: bool,
                 today: date | None = None, progress: Progress | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, check_duplicates: bool = False,
                 confirm_distinct: bool = False, only_valid: bool = False) -> ImportResult:
    """Validate `data` (CSV or XLSX bytes) and, when it is valid and not `dry_run`, create or
    update the cases of `federation`. Dates are checked against `today` (default: today).

    Returns an ImportResult; problems mean nothing was written. Raises PermissionDenied when
    `actor` may not import into `federation`, EditConflict when a case changed between
    validation and writing, UnconfirmedDuplicates (see the module rules; nothing written) when
    `check_duplicates` finds pairs the actor must confirm and `confirm_distinct` is not set.
    With `only_valid`, a file whose problems are all about rows imports its valid rows (one
    transaction, audited as a partial import) and reports the others in `skipped`.
    The caller rolls back on any of these."""
    if actor is not None and not permissions.can(actor, "case.import", federation):
        raise PermissionDenied(gettext("You may not import cases into federation %(code)s.", code=federation.code))
    try:
        table = _read_table(data, filename, max_bytes)
    except _FileProblem as exc:
        return _rejected([exc.problem], rows=0, dry_run=dry_run)
    positions, problems = _map_header(table.header, table.header_row)
    if not problems and not table.rows:
        problems = [ImportProblem(0, "", gettext("the file has a header row but no case rows"))]
    if problems:
        return _rejected(problems, rows=len(table.rows), dry_run=dry_run, source=table.source)
    dates = date_order(table, positions, federation.country)
    with _gc_frozen():
        plan = _plan(federation, table, positions, today or date.today(), progress, dates.order)
        pairs = _possible_duplicates(federation, plan) if check_duplicates else []
        creates, updates = _preview(plan)
        importable = len(plan.creates) + len(plan.updates) + plan.unchanged
        skipped: tuple[ImportProblem, ...] = ()
        if plan.problems:
            rejected = ImportResult(0, 0, 0, tuple(plan.problems), len(table.rows), dry_run, tuple(pairs),
                                    table.source, dates, creates, updates,
                                    importable=0 if plan.stopped else importable)
            if not (only_valid and rejected.partial_possible):
                return rejected
            skipped = rejected.problems
        if not dry_run:
            _apply(actor, federation, plan, pairs, PurePath(filename).name, confirm_distinct, progress, skipped)
    return ImportResult(created=len(plan.creates), updated=len(plan.updates), unchanged=plan.unchanged,
                        problems=(), rows=len(table.rows), dry_run=dry_run, duplicates=tuple(pairs),
                        source=table.source, dates=dates, creates=creates, updates=updates,
                        importable=importable, skipped=skipped)


def _apply(actor: User | None, federation: Federation, plan: _Plan, pairs: list[PossibleDuplicate], name: str,
           confirm_distinct: bool, progress: Progress | None, skipped: tuple[ImportProblem, ...]) -> None:
    """Write a checked plan (see import_cases)."""
    to_confirm = duplicates.needs_confirmation(actor, pairs)
    if to_confirm and not confirm_distinct:
        raise unconfirmed_import(to_confirm)
    gc.freeze()  # the plan too: it lives until the end
    context = (f"import {name}" if not skipped else f"import {name} (valid rows only)")[:200]
    ids = _write(actor, federation, plan, context, progress)
    if to_confirm:
        duplicates.confirm_distinct(actor, _pair_ids(to_confirm, ids), context)
    if skipped:
        _audit_partial(actor, federation, context, len(plan.creates) + len(plan.updates) + plan.unchanged, skipped)


def _preview(plan: _Plan) -> tuple[tuple[PreviewRow, ...], tuple[PreviewRow, ...]]:
    creates = tuple(PreviewRow(row, str(values["ref"]), str(values["name"]))
                    for row, values in zip(plan.create_rows, plan.creates, strict=True))
    updates = tuple(PreviewRow(row, str(values["ref"]), str(values["name"]), changes)
                    for row, (_current, values, changes) in zip(plan.update_rows, plan.updates, strict=True))
    return creates, updates


def _audit_partial(actor: User | None, federation: Federation, context: str, imported: int,
                   skipped: tuple[ImportProblem, ...]) -> None:
    """One entry for the import as a whole, on the federation: how many rows were imported and
    which were left out (each imported case has its own entry, as in any import)."""
    rows = sorted({p.row for p in skipped})
    db.session.add(AuditEntry(user_id=actor.id if actor is not None else None, table_name="federations",
                              row_id=federation.id, action="import_valid_rows",
                              changes={"imported_rows": [None, imported], "rejected_rows": [None, rows[:1000]]},
                              context=context))
    db.session.flush()


def read_rows(data: bytes, filename: str, max_bytes: int = DEFAULT_MAX_BYTES
              ) -> tuple[list[Any], int, list[tuple[int, tuple[Any, ...]]]] | ImportProblem:
    """The header, its row number and the non-blank rows of a CSV or XLSX file, read by this
    module's rules (size, format, encoding, delimiter, blank rows), or the problem that makes
    the file unreadable. Cells are raw: pass them through `cell`. For other imports of the same
    kind of file (the annual status check)."""
    try:
        table = _read_table(data, filename, max_bytes)
    except _FileProblem as exc:
        return exc.problem
    return table.header, table.header_row, table.rows


REJECTED_COLUMN = "problems"


def rejected_rows_file(data: bytes, filename: str, problems: Sequence[ImportProblem],
                       max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | None:
    """The rows of the file that have problems, as a CSV to fix and upload again: the file's own
    header and cells (values as written) with a last column saying what is wrong. None when no
    problem is about a row, or the file cannot be read."""
    by_row: dict[int, list[str]] = {}
    for problem in problems:
        if problem.row > 0:
            by_row.setdefault(problem.row, []).append(
                f"{problem.column}: {problem.message}" if problem.column else problem.message)
    if not by_row:
        return None
    try:
        table = _read_table(data, filename, max_bytes)
    except _FileProblem:
        return None
    width = max([len(table.header), *(len(cells) for number, cells in table.rows if number in by_row)])
    header = [*(str(h) if h is not None else "" for h in table.header), *[""] * (width - len(table.header))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*header, REJECTED_COLUMN])
    for number, cells in table.rows:
        if number in by_row:
            row = [_written(cell) for cell in cells]
            writer.writerow([*row, *[""] * (width - len(row)), "; ".join(by_row[number])])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # with a BOM, so Excel reads it as UTF-8


def _written(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == time(0) else cell.isoformat(sep=" ")
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def date_order(table: _Table, positions: dict[str, int], country: str | None) -> DateOrder:
    """The order in which the file's dates written as text are read (csv_dialect.date_order_of)."""
    columns = [positions[name] for name in DATE_FIELDS if name in positions]
    texts = (cell for _, cells in table.rows for index in columns
             if isinstance(cell := _at(cells, index), str) and cell)
    return csv_dialect.date_order_of(texts, csv_dialect.national_date_order(country))


def read_dates(raw: dict[str, Any], order: str, names: Sequence[str] = DATE_FIELDS) -> None:
    """Turn the dates written as text in `raw` into dates, in `order` (ISO whatever the order);
    a text that is no such date is left for the validator to report."""
    for name in names:
        value = raw.get(name)
        if isinstance(value, str) and value and type(value) is not Formula:
            parsed = csv_dialect.read_date(value, order)
            if parsed is not None:
                raw[name] = parsed


def _possible_duplicates(federation: Federation, plan: _Plan) -> list[PossibleDuplicate]:
    candidates = [duplicates.identity_of(values, federation.id, case_id, row)
                  for row, values, case_id in plan.identities]
    if not candidates:
        return []
    pool = duplicates.load_cases({c.country for c in candidates})
    return duplicates.find_duplicates(candidates, pool)


def _pair_ids(pairs: list[PossibleDuplicate], created: dict[str, int]) -> list[tuple[int, int]]:
    """Case ids of the pairs, now that the file's new cases exist (ids by ref)."""
    return [(p.case.id or created[p.case.ref], p.other.id or created[p.other.ref]) for p in pairs]


def _read_table(data: bytes, filename: str, max_bytes: int = DEFAULT_MAX_BYTES, limits: Limits | None = None
                ) -> _Table:
    """Parse the file into a header and its non-blank rows. Raises _FileProblem."""
    if len(data) > max_bytes:
        raise _FileProblem(gettext("the file is %(size)s, over the limit of %(limit)s; split it into smaller files",
                                   size=_megabytes(len(data)), limit=_megabytes(max_bytes)))
    if not data.strip():
        raise _FileProblem(gettext("the file is empty"))
    name = filename.lower()
    if data.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise _FileProblem(gettext("old Excel files (.xls) are not supported; save the sheet as XLSX or as CSV UTF-8"))
    if name.endswith(".ods"):
        raise _FileProblem(gettext("OpenDocument spreadsheets (.ods) are not supported; save the sheet as XLSX or "
                                   "CSV UTF-8"))
    limits = limits or UPLOAD_LIMITS
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(data, limits)
    elif name.endswith((".xlsx", ".xlsm")):
        raise _FileProblem(gettext("the file is named .xlsx but is not an Excel workbook"))
    else:
        try:
            decoded = csv_dialect.decode_text(data)
        except csv_dialect.UnreadableText as exc:
            raise _FileProblem(gettext("%(problem)s; save it as CSV UTF-8 or as XLSX", problem=exc)) from None
        first_line = decoded.text.lstrip("\ufeff\r\n")[:65536].partition("\n")[0]
        delimiter = csv_dialect.sniff_delimiter(first_line)
        table = _collect(_csv_rows(decoded.text, delimiter, limits))
        table.source = FileSource(decoded.encoding, delimiter)
        return table
    return _collect(rows)


@contextmanager
def _gc_frozen() -> Iterator[None]:
    """Keep the objects that exist now (the app, the parsed file, then the plan) out of the cyclic
    garbage collector's full passes while rows are validated and written. Each full pass walks
    every live object; with 100,000 rows in memory they took half of the import's time.
    Reference counting still frees everything as usual; unfreeze puts the objects back."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# --- reading -------------------------------------------------------------------------------------

def _collect(rows: Iterator[tuple[int, list[Any]]]) -> _Table:
    header: list[Any] | None = None
    header_row = 0
    body: list[tuple[int, tuple[Any, ...]]] = []
    for number, cells in rows:
        if all(_blank(cell) for cell in cells):
            continue
        if header is None:
            header, header_row = cells, number
            continue
        body.append((number, tuple(cells)))  # tuples of strings leave the garbage collector's view
    if header is None:
        raise _FileProblem(gettext("the file is empty"))
    return _Table(header, header_row, body)


def _csv_rows(text: str, delimiter: str, limits: readers.Limits) -> Iterator[tuple[int, list[Any]]]:
    try:
        yield from readers.csv_rows(readers.lines_of(text), delimiter, limits)
    except readers.Unreadable as exc:
        raise _FileProblem(exc.message, exc.row) from None


def _xlsx_rows(data: bytes, limits: readers.Limits) -> Iterator[tuple[int, list[Any]]]:
    try:
        yield from readers.xlsx_rows(data, limits)
    except readers.Unreadable as exc:
        raise _FileProblem(exc.message, exc.row) from None


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _cell(value: Any) -> Any:
    """A cell as clean_case_values takes it (see the module rules: apostrophe, dates, numbers)."""
    if isinstance(value, str):
        if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_PREFIXES:
            return value[1:]
        return value
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, datetime):
        return value.date() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


cell = _cell  # for other importers of spreadsheets (services.spreadsheets.status_import)


def _ref_of(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def _table(model: type[Base]) -> Table:
    """The model's table, for the Core statements of the bulk writes (typed as a Table, which it is)."""
    return model.metadata.tables[model.__tablename__]


def _megabytes(size: int) -> str:
    return gettext("%(size)s MB", size=format_number(size / (1024 * 1024), digits=1))


def _column_letter(index: int) -> str:
    """The spreadsheet name of the 0-based column `index` (0 → A)."""
    return get_column_letter(index + 1)


# --- header --------------------------------------------------------------------------------------

def _map_header(header: list[Any], row: int) -> tuple[dict[str, int], list[ImportProblem]]:
    """Column name → index. Blank header cells are ignored (a value under one is a row problem)."""
    positions: dict[str, int] = {}
    seen: dict[str, int] = {}
    problems: list[ImportProblem] = []
    unknown: list[str] = []
    for index, cell in enumerate(header):
        name = "" if cell is None else str(cell).strip().lower()
        if not name:
            continue
        if name in seen:
            problems.append(ImportProblem(row, name[:40], gettext(
                "appears twice in the header (columns %(first)s and %(second)s)",
                first=_column_letter(seen[name]), second=_column_letter(index))))
            continue
        seen[name] = index
        if name in CASE_FIELDS:
            positions[name] = index
        else:
            unknown.append(name)
    if not positions:
        return positions, [ImportProblem(row, "", gettext(
            "no known column name in the header row; the first row must name the columns: %(columns)s",
            columns=", ".join(CASE_FIELDS)))]
    for name in unknown[:_MAX_UNKNOWN_COLUMNS]:
        problems.append(ImportProblem(row, name[:40], gettext("unknown column (the columns are: %(columns)s)",
                                                              columns=", ".join(CASE_FIELDS))))
    if len(unknown) > _MAX_UNKNOWN_COLUMNS:
        problems.append(ImportProblem(row, "", ngettext("... and %(num)s more unknown column",
                                                        "... and %(num)s more unknown columns",
                                                        len(unknown) - _MAX_UNKNOWN_COLUMNS)))
    for name in CASE_FIELDS:
        if name in REQUIRED_FIELDS and name not in positions:
            problems.append(ImportProblem(row, name, gettext("required column is missing")))
    return positions, problems


# --- validation ----------------------------------------------------------------------------------

def _plan(federation: Federation, table: _Table, positions: dict[str, int], today: date,
          progress: Progress | None, date_order: str = csv_dialect.DAY_FIRST) -> _Plan:
    """Validate every row and sort the valid ones into creates, updates and unchanged."""
    ref_index = positions["ref"]
    refs = {ref for _, cells in table.rows if (ref := _ref_of(_cell(_at(cells, ref_index)))) is not None}
    existing, deleted = _load_existing(federation, refs)
    plan = _Plan()
    rows = _Rows(existing, deleted, set(positions.values()), today, date_order)
    total = len(table.rows)
    for done, (number, cells) in enumerate(table.rows, 1):
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
            progress("validating", done, total)
        if len(plan.problems) >= MAX_PROBLEMS:
            plan.problems.append(ImportProblem(0, "", gettext(
                "validation stopped after %(count)s problems; fix these and import again",
                count=format_number(MAX_PROBLEMS))))
            plan.stopped = True
            break
        raw = {name: _cell(_at(cells, index)) for name, index in positions.items()}
        first_problem = len(plan.problems)
        written = dict(raw)  # as in the file: the checks below read dates and blank formulas in `raw`
        rows.check(plan, raw, cells, number)
        if len(plan.problems) > first_problem:
            _describe_problems(plan.problems, first_problem, written)
    return plan


@dataclass
class _Rows:
    """What checking a row needs besides the row: the federation's cases of the file's refs, and
    the row where each ref was first seen."""

    existing: dict[str, _Existing]
    deleted: set[str]
    known: set[int]  # the positions of the named columns
    today: date
    date_order: str
    first_row: dict[str, int] = field(default_factory=dict)

    def check(self, plan: _Plan, raw: dict[str, Any], cells: Sequence[Any], number: int) -> None:
        """One row: a valid one goes into the plan, each problem into plan.problems."""
        if _is_template_example(raw):
            plan.problems.append(ImportProblem(number, "ref", gettext(
                "this is the example row of the blank template: delete it and enter your own cases")))
            return
        problems_before = len(plan.problems)
        _check_stray_cells(cells, self.known, number, plan.problems)
        formulas = _refuse_formulas(raw, number, plan.problems)
        read_dates(raw, self.date_order)
        ref = _ref_of(raw["ref"])
        current = self.existing.get(ref) if ref is not None else None
        values, errors = clean_case_values({**current.values, **raw} if current else raw, self.today)
        for column in formulas:
            errors.pop(column, None)
        for column, messages in errors.items():
            plan.problems.extend(ImportProblem(number, column, message) for message in messages)
        if ref is not None and ref in self.first_row:
            plan.problems.append(ImportProblem(number, "ref", gettext(
                "ref %(ref)s already appears in row %(row)s", ref=ref, row=self.first_row[ref])))
            return
        if ref is not None:
            self.first_row[ref] = number
        if ref in self.deleted:
            plan.problems.append(ImportProblem(number, "ref", gettext("case %(ref)s was deleted; restore it first",
                                                                      ref=ref)))
            return
        if len(plan.problems) == problems_before:  # a stray cell or a formula rejects the row too
            _classify(plan, values, current, number)


def _describe_problems(problems: list[ImportProblem], start: int, raw: dict[str, Any]) -> None:
    """Give the row's problems its ref, name and the value at fault, as written."""
    for index in range(start, len(problems)):
        problems[index] = described(problems[index], raw)


def described(problem: ImportProblem, raw: dict[str, Any]) -> ImportProblem:
    """`problem` with the ref, name and value at fault of its row `raw` (the cells as written), as
    every review page lists them (also services.spreadsheets.status_import)."""
    return replace(problem, ref=_shown(raw.get("ref")), name=_shown(raw.get("name")),
                   value=_shown(raw.get(problem.column)))


def _shown(value: Any) -> str:
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, date) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_template_example(raw: dict[str, Any]) -> bool:
    return (_ref_of(raw.get("ref")) == TEMPLATE_EXAMPLE["ref"]
            and str(raw.get("name") or "").strip() == TEMPLATE_EXAMPLE["name"])


def _refuse_formulas(raw: dict[str, Any], number: int, problems: list[ImportProblem]) -> list[str]:
    """Report each formula cell and blank it in `raw` (so it adds no second message); returns their columns."""
    columns = [name for name, value in raw.items() if type(value) is Formula]
    for name in columns:
        text = str(raw[name])
        shown = text if len(text) <= 40 else text[:37] + "..."
        problems.append(ImportProblem(number, name, gettext(
            "is a formula (%(formula)s); the import reads values only: paste the values instead (Paste special → "
            "Values), or put an apostrophe before a text that really starts with =", formula=shown)))
        raw[name] = None
    return columns


def _at(cells: Sequence[Any], index: int) -> Any:
    return cells[index] if index < len(cells) else None


def _check_stray_cells(cells: Sequence[Any], known: set[int], number: int, problems: list[ImportProblem]) -> None:
    """A value in a column without a header name would be silently lost: report it (once per row)."""
    for index, cell in enumerate(cells):
        if index not in known and not _blank(cell):
            problems.append(ImportProblem(number, gettext("column %(letter)s", letter=_column_letter(index)),
                                          gettext("has a value but no column name in the header row")))
            return


IDENTITY_FIELDS = frozenset({"name", "national_id", "country", "transfer_date"})


def _classify(plan: _Plan, values: dict[str, Any], current: _Existing | None, row: int) -> None:
    if current is None:
        plan.creates.append(values)
        plan.create_rows.append(row)
        plan.identities.append((row, values, None))
        return
    # Typed comparison (dates, enums, ints); only changed fields are converted for the audit entry.
    before = current.values
    changes = {name: [audit.jsonable(before[name]), audit.jsonable(values[name])]
               for name in COMPARED_FIELDS if name in values and values[name] != before[name]}
    if changes:
        plan.updates.append((current, values, changes))
        plan.update_rows.append(row)
        if not IDENTITY_FIELDS.isdisjoint(changes):
            plan.identities.append((row, values, current.id))
    else:
        plan.unchanged += 1


def _load_existing(federation: Federation, refs: set[str]) -> tuple[dict[str, _Existing], set[str]]:
    """The federation's cases whose ref is in the file: one query for the federation's refs, then
    the field values of the matching live cases in chunks of ids."""
    rows = db.session.execute(select(Case.ref, Case.id, Case.deleted_at).where(Case.federation_id == federation.id))
    live: list[int] = []
    deleted: set[str] = set()
    for ref, case_id, deleted_at in rows:
        if ref in refs:
            if deleted_at is None:
                live.append(case_id)
            else:
                deleted.add(ref)
    columns = [Case.id, Case.version, *(getattr(Case, name) for name in COMPARED_FIELDS)]
    existing: dict[str, _Existing] = {}
    for start in range(0, len(live), 900):
        chunk = live[start:start + 900]
        for case_id, version, *values in db.session.execute(select(*columns).where(Case.id.in_(chunk))):
            fields = dict(zip(COMPARED_FIELDS, values, strict=True))
            existing[fields["ref"]] = _Existing(case_id, version, fields)
    return existing, deleted


def _rejected(problems: list[ImportProblem], rows: int, dry_run: bool, source: FileSource | None = None,
              dates: DateOrder | None = None) -> ImportResult:
    return ImportResult(created=0, updated=0, unchanged=0, problems=tuple(problems), rows=rows, dry_run=dry_run,
                        source=source, dates=dates)


# --- writing -------------------------------------------------------------------------------------
#
# Core executemany statements, not one ORM flush per case: 100,000 rows must import in seconds.
# They write what services.casework.cases.create_case / update_case write: the same columns, the version
# counter (1, then +1 per change, checked against the version read during validation), updated_at
# and _by, and one audit entry per case with the same {field: [before, after]} changes. On
# PostgreSQL new cases and audit entries go in by COPY instead (see _copy_target).

def _write(actor: User | None, federation: Federation, plan: _Plan, context: str,
           progress: Progress | None) -> dict[str, int]:
    """Write the plan; returns the ids of the created cases by ref."""
    if not (plan.creates or plan.updates):
        return {}
    writer = _Writer(actor, federation, context, progress, total=len(plan.creates) + len(plan.updates),
                     changed_in=data_version.transaction_version(), copy_into=_copy_target())
    if writer.copy_into is not None:
        writer.insert_by_copy(plan.creates)
    else:
        for start in range(0, len(plan.creates), WRITE_BATCH):
            writer.insert(plan.creates[start:start + WRITE_BATCH])
    for start in range(0, len(plan.updates), WRITE_BATCH):
        writer.update(plan.updates[start:start + WRITE_BATCH])
    _expire_loaded_cases()
    return writer.created


@dataclass
class _Writer:
    actor: User | None
    federation: Federation
    context: str
    progress: Progress | None
    total: int
    changed_in: int  # this transaction's data version, stamped on every row written (Core bypasses the listener)
    done: int = 0
    now: datetime = field(default_factory=utcnow)
    created: dict[str, int] = field(default_factory=dict)  # ref -> id
    copy_into: Any = None  # the psycopg connection on PostgreSQL (see _copy_target)

    @property
    def actor_id(self) -> int | None:
        return self.actor.id if self.actor is not None else None

    def _new_case(self, values: dict[str, Any]) -> dict[str, Any]:
        return {**values, "federation_id": self.federation.id, "created_by_id": self.actor_id,
                "updated_by_id": self.actor_id, "created_at": self.now, "updated_at": self.now, "version": 1,
                "changed_in": self.changed_in}

    def insert(self, batch: list[dict[str, Any]]) -> None:
        table = _table(Case)
        # RETURNING (ref, id) rather than relying on row order: with sort_by_parameter_order
        # SQLAlchemy falls back to one INSERT per row on SQLite.
        statement = insert(table).returning(table.c.ref, table.c.id)
        ids: dict[str, int] = dict(db.session.execute(statement, [self._new_case(values) for values in batch]).all())
        self.created.update(ids)
        self._audit_creates(batch, ids)

    def insert_by_copy(self, creates: list[dict[str, Any]]) -> None:
        """PostgreSQL: COPY the new cases, read their ids back (one query), COPY the audit entries."""
        if not creates:
            return
        for start in range(0, len(creates), COPY_BATCH):
            _copy(self.copy_into, Case.__tablename__, [self._new_case(v) for v in creates[start:start + COPY_BATCH]])
        refs = {values["ref"] for values in creates}
        rows = db.session.execute(select(Case.ref, Case.id).where(Case.federation_id == self.federation.id))
        ids = {ref: case_id for ref, case_id in rows if ref in refs}
        self.created.update(ids)
        for start in range(0, len(creates), WRITE_BATCH):
            self._audit_creates(creates[start:start + WRITE_BATCH], ids)

    def _audit_creates(self, batch: list[dict[str, Any]], ids: dict[str, int]) -> None:
        # create_case's entry: {field: [None, value]} for every field that has a value.
        self._audit("create", [(ids[values["ref"]], {name: [None, _jsonable(value)] for name, value in values.items()
                                                     if value is not None}) for values in batch])

    def update(self, batch: list[tuple[_Existing, dict[str, Any], dict[str, list[Any]]]]) -> None:
        # One executemany per set of changed columns (a mass re-import usually changes the same
        # ones): SET only what changed, so unchanged indexed columns cost nothing.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for current, values, changes in batch:
            names = tuple(changes)
            groups.setdefault(names, []).append(
                {"b_id": current.id, "b_version": current.version, **{f"b_{name}": values[name] for name in names}})
        table = _table(Case)
        check_rowcount = db.session.get_bind().dialect.supports_sane_multi_rowcount
        for names, params in groups.items():
            statement = (update(table)
                         .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"),
                                table.c.federation_id == self.federation.id, table.c.deleted_at.is_(None))
                         .values({**{name: bindparam(f"b_{name}") for name in names},
                                  "version": table.c.version + 1, "changed_in": self.changed_in,
                                  "updated_at": self.now,
                                  "updated_by_id": self.actor_id}))
            result = db.session.execute(statement, params)
            assert isinstance(result, CursorResult)  # a Core UPDATE's result, which counts rows
            if check_rowcount and result.rowcount != len(params):
                raise EditConflict("Cases were changed by someone else during the import; nothing was imported, "
                                   "import the file again.")
        self._timeline_exits(batch)
        self._audit("update", [(current.id, changes) for current, _, changes in batch])

    def _timeline_exits(self, batch: list[tuple[_Existing, dict[str, Any], dict[str, list[Any]]]]) -> None:
        """As update_case: an exit recorded, changed or cleared by the import enters the case's
        follow-up timeline, so the timeline always explains the case's current status."""
        checks = []
        for current, values, changes in batch:
            if "exit_date" not in changes and "exit_reason" not in changes:
                continue
            cleared = values["exit_date"] is None
            checks.append({
                "case_id": current.id, "recorded_by_id": self.actor_id, "recorded_at": self.now,
                "source": self.context,
                "checked_on": current.values["exit_date"] if cleared else values["exit_date"],
                "outcome": "exit_withdrawn" if cleared else values["exit_reason"].value,
                "note": "exit cleared by an import" if cleared else None})
        if checks:
            db.session.execute(insert(_table(StatusCheck)), checks)

    def _audit(self, action: str, entries: list[tuple[int, dict[str, list[Any]]]]) -> None:
        rows = [{"at": self.now, "user_id": self.actor_id, "table_name": "cases", "row_id": row_id, "action": action,
                 "changes": changes, "context": self.context} for row_id, changes in entries]
        if self.copy_into is not None:
            _copy(self.copy_into, AuditEntry.__tablename__, rows)
        else:
            db.session.execute(insert(_table(AuditEntry)), rows)
        self.done += len(entries)
        if self.progress is not None:
            self.progress("writing", self.done, self.total)


def _copy_target() -> Any | None:
    """The psycopg 3 connection of the session's transaction on PostgreSQL, else None.

    There a multi-row INSERT of 100,000 cases and their audit entries takes half a minute (psycopg
    parses each long statement); COPY of the same rows takes seconds. COPY runs in the same
    transaction, so the caller's commit or rollback covers it as for any other statement."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql" or connection.dialect.driver != "psycopg":
        return None
    return connection.connection.driver_connection


def _copy(target: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """COPY rows (dicts with the same keys: column names of the model) into `table`. A ref that
    another import created meanwhile violates the unique (federation, ref): EditConflict."""
    if not rows:
        return
    columns = list(rows[0])
    copy_rows(target, table, columns, ([_copy_value(row[name]) for name in columns] for row in rows))


def copy_rows(target: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows (sequences of values psycopg writes as they are: text, numbers, dates, None, JSON
    as its text) into these columns of `table`. A ref that another import created meanwhile
    violates the unique (federation, ref): EditConflict."""
    import psycopg
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(name) for name in columns))
    try:
        with target.cursor() as cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
    except psycopg.errors.UniqueViolation:
        raise EditConflict("Cases with these refs were created by someone else during the import; nothing was "
                           "imported, import the file again.") from None


def _copy_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _jsonable(value: Any) -> Any:
    """audit.jsonable, with a shortcut for the plain types that make up most cells (hot path)."""
    kind = type(value)
    if kind is str or kind is int:
        return value
    if kind is date:
        return value.isoformat()
    return audit.jsonable(value)


def _expire_loaded_cases() -> None:
    """Cases already loaded in the session were changed behind the ORM's back: reload on next access."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Case):
            db.session.expire(obj)
