"""Import of cases from a CSV or XLSX file (DESIGN.md "Import CSV schema"), shared by
`tracker cases import` and the web upload.

Rules, in the order they are applied:

- Size: a file over `max_bytes` (default 20 MB) is refused before it is parsed.
- Format: a zip (the signature of XLSX) is read as XLSX with openpyxl (first sheet, values of
  formulas as last computed); `.xls`/`.ods` files are refused with a hint; anything else is read
  as CSV, which must be UTF-8 (with or without BOM). The CSV delimiter is `;` when the header
  line has more `;` than `,`, else `,`.
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
- XLSX cells: real date cells are dates; whole numbers (12 or 12.0) are integers; a number in a
  text column is read as its digits (12345 → "12345").
- Refs: a ref seen twice in the file is a problem on its second row (naming the first). A ref of
  an existing case of the federation updates that case; a row identical to the case leaves it
  untouched ("unchanged"). A ref of a soft-deleted case is a problem: restore the case first.
  Refs are only ever looked up inside the given federation, so a row cannot touch another
  federation's case.
- All or nothing: the whole file is validated before anything is written. With any problem, or
  with `dry_run`, nothing is written. Otherwise new cases and their "create" audit entries are
  inserted in batches (Core executemany, one audit entry per case, context "import FILENAME");
  changed cases are updated through the ORM (version counter incremented, so an open web edit
  gets a conflict) with one "update" audit entry each. The service flushes; the caller commits.
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm.exc import StaleDataError

from tracker.extensions import db
from tracker.models import AuditEntry, Case, Federation, User
from tracker.models.base import utcnow
from tracker.services import audit, data_version, permissions
from tracker.services.cases import CASE_FIELDS, REQUIRED_FIELDS, clean_case_values
from tracker.services.errors import EditConflict, PermissionDenied

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 1_000_000
MAX_PROBLEMS = 10_000
# Uncompressed XLSX content allowed per byte of file: real workbooks compress 5-10x; a zip bomb far more.
MAX_XLSX_EXPANSION = 25
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
COMPARED_FIELDS: tuple[str, ...] = (*CASE_FIELDS, "nace_section")
WRITE_BATCH = 2000
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

    def __str__(self) -> str:
        if self.row == 0:
            return self.message
        if not self.column:
            return f"row {self.row}: {self.message}"
        return f"row {self.row}, column {self.column}: {self.message}"


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

    @property
    def ok(self) -> bool:
        return not self.problems


class _FileProblem(Exception):
    """The file cannot be read as a table at all."""

    def __init__(self, message: str, row: int = 0) -> None:
        super().__init__(message)
        self.problem = ImportProblem(row, "", message)


@dataclass
class _Table:
    header: list[Any]
    header_row: int
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cells); blank rows left out


@dataclass
class _Existing:
    id: int
    version: int
    values: dict[str, Any]  # typed values of COMPARED_FIELDS, as clean_case_values returns them


@dataclass
class _Plan:
    creates: list[dict[str, Any]] = field(default_factory=list)
    updates: list[tuple[_Existing, dict[str, Any], dict[str, list[Any]]]] = field(default_factory=list)
    unchanged: int = 0
    problems: list[ImportProblem] = field(default_factory=list)


# --- public API ----------------------------------------------------------------------------------

def import_cases(actor: User | None, federation: Federation, data: bytes, filename: str, dry_run: bool,
                 today: date | None = None, progress: Progress | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> ImportResult:
    """Validate `data` (CSV or XLSX bytes) and, when it is valid and not `dry_run`, create or
    update the cases of `federation`. Dates are checked against `today` (default: today).

    Returns an ImportResult; problems mean nothing was written. Raises PermissionDenied when
    `actor` may not import into `federation`, EditConflict when a case changed between
    validation and writing (the caller rolls back)."""
    if actor is not None and not permissions.can(actor, "case.import", federation):
        raise PermissionDenied(f"You may not import cases into federation {federation.code}.")
    try:
        table = read_table(data, filename, max_bytes)
    except _FileProblem as exc:
        return _rejected([exc.problem], rows=0, dry_run=dry_run)
    positions, problems = _map_header(table.header, table.header_row)
    if problems:
        return _rejected(problems, rows=len(table.rows), dry_run=dry_run)
    plan = _plan(federation, table, positions, today or date.today(), progress)
    if plan.problems:
        return _rejected(plan.problems, rows=len(table.rows), dry_run=dry_run)
    if not dry_run:
        context = f"import {PurePath(filename).name}"[:200]
        _write(actor, federation, plan, context, progress)
    return ImportResult(created=len(plan.creates), updated=len(plan.updates), unchanged=plan.unchanged,
                        problems=(), rows=len(table.rows), dry_run=dry_run)


def read_table(data: bytes, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> _Table:
    """Parse the file into a header and its non-blank rows. Raises _FileProblem."""
    if len(data) > max_bytes:
        raise _FileProblem(f"the file is {_megabytes(len(data))}, over the limit of {_megabytes(max_bytes)}; "
                           "split it into smaller files")
    if not data.strip():
        raise _FileProblem("the file is empty")
    name = filename.lower()
    if data.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise _FileProblem("old Excel files (.xls) are not supported; save the sheet as XLSX or as CSV UTF-8")
    if name.endswith(".ods"):
        raise _FileProblem("OpenDocument spreadsheets (.ods) are not supported; save the sheet as XLSX or CSV UTF-8")
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(data, max_bytes)
    elif name.endswith((".xlsx", ".xlsm")):
        raise _FileProblem("the file is named .xlsx but is not an Excel workbook")
    else:
        rows = _csv_rows(data)
    return _collect(rows)


# --- reading -------------------------------------------------------------------------------------

def _collect(rows: Iterator[tuple[int, list[Any]]]) -> _Table:
    header: list[Any] | None = None
    header_row = 0
    body: list[tuple[int, list[Any]]] = []
    for number, cells in rows:
        if all(_blank(cell) for cell in cells):
            continue
        if header is None:
            header, header_row = cells, number
            continue
        if len(body) >= MAX_ROWS:
            raise _FileProblem(f"the file has more than {MAX_ROWS:,} case rows; split it into smaller files")
        body.append((number, cells))
    if header is None:
        raise _FileProblem("the file is empty")
    if not body:
        raise _FileProblem("the file has a header row but no case rows")
    return _Table(header, header_row, body)


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _FileProblem(f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}) "
                           "nor an XLSX workbook; save it as CSV UTF-8 or as XLSX") from None
    first_line = text.lstrip("\r\n")[:65536].partition("\n")[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(reader, 1):
            yield number, cells
    except csv.Error as exc:
        raise _FileProblem(f"row {number + 1}: cannot be read as CSV ({exc})", row=number + 1) from None


def _xlsx_rows(data: bytes, max_bytes: int) -> Iterator[tuple[int, list[Any]]]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _FileProblem("the file looks like a zip archive but is not a readable XLSX workbook") from None
    if expanded > MAX_XLSX_EXPANSION * max_bytes:
        raise _FileProblem("the workbook expands to more data than the size limit allows; split it into smaller files")
    # openpyxl raises many exception types on malformed workbooks and warns about harmless things
    # (missing default style); both are turned into one clear message.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:
            raise _FileProblem("the file is not a readable XLSX workbook") from None
        try:
            if not workbook.worksheets:
                raise _FileProblem("the workbook has no sheet")
            sheet = workbook.worksheets[0]
            for number, cells in enumerate(sheet.iter_rows(values_only=True), 1):
                yield number, list(cells)
        except _FileProblem:
            raise
        except Exception:
            raise _FileProblem("the workbook's first sheet cannot be read") from None
        finally:
            workbook.close()


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


def _ref_of(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


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
            problems.append(ImportProblem(row, name[:40], f"appears twice in the header (columns "
                                          f"{_column_letter(seen[name])} and {_column_letter(index)})"))
            continue
        seen[name] = index
        if name in CASE_FIELDS:
            positions[name] = index
        else:
            unknown.append(name)
    if not positions:
        return positions, [ImportProblem(row, "", "no known column name in the header row; the first row must "
                                                  f"name the columns: {', '.join(CASE_FIELDS)}")]
    for name in unknown[:_MAX_UNKNOWN_COLUMNS]:
        problems.append(ImportProblem(row, name[:40], f"unknown column (the columns are: {', '.join(CASE_FIELDS)})"))
    if len(unknown) > _MAX_UNKNOWN_COLUMNS:
        problems.append(ImportProblem(row, "", f"... and {len(unknown) - _MAX_UNKNOWN_COLUMNS} more unknown columns"))
    for name in CASE_FIELDS:
        if name in REQUIRED_FIELDS and name not in positions:
            problems.append(ImportProblem(row, name, "required column is missing"))
    return positions, problems


# --- validation ----------------------------------------------------------------------------------

def _plan(federation: Federation, table: _Table, positions: dict[str, int], today: date,
          progress: Progress | None) -> _Plan:
    """Validate every row and sort the valid ones into creates, updates and unchanged."""
    ref_index = positions["ref"]
    refs = {ref for _, cells in table.rows if (ref := _ref_of(_cell(_at(cells, ref_index)))) is not None}
    existing, deleted = _load_existing(federation, refs)
    plan = _Plan()
    first_row: dict[str, int] = {}
    known = set(positions.values())
    total = len(table.rows)
    for done, (number, cells) in enumerate(table.rows, 1):
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
            progress("validating", done, total)
        if len(plan.problems) >= MAX_PROBLEMS:
            plan.problems.append(ImportProblem(0, "", f"validation stopped after {MAX_PROBLEMS:,} problems; "
                                                      "fix these and import again"))
            break
        raw = {name: _cell(_at(cells, index)) for name, index in positions.items()}
        _check_stray_cells(cells, known, number, plan.problems)
        ref = _ref_of(raw["ref"])
        current = existing.get(ref) if ref is not None else None
        values, errors = clean_case_values({**current.values, **raw} if current else raw, today)
        for column, messages in errors.items():
            plan.problems.extend(ImportProblem(number, column, message) for message in messages)
        if ref is not None and ref in first_row:
            plan.problems.append(ImportProblem(number, "ref", f"ref {ref} already appears in row {first_row[ref]}"))
            continue
        if ref is not None:
            first_row[ref] = number
        if ref in deleted:
            plan.problems.append(ImportProblem(number, "ref", f"case {ref} was deleted; restore it first"))
            continue
        if not errors:
            _classify(plan, values, current)
    return plan


def _at(cells: Sequence[Any], index: int) -> Any:
    return cells[index] if index < len(cells) else None


def _check_stray_cells(cells: list[Any], known: set[int], number: int, problems: list[ImportProblem]) -> None:
    """A value in a column without a header name would be silently lost: report it (once per row)."""
    for index, cell in enumerate(cells):
        if index not in known and not _blank(cell):
            problems.append(ImportProblem(number, f"column {_column_letter(index)}",
                                          "has a value but no column name in the header row"))
            return


def _classify(plan: _Plan, values: dict[str, Any], current: _Existing | None) -> None:
    if current is None:
        plan.creates.append(values)
        return
    # Typed comparison (dates, enums, ints); only changed fields are converted for the audit entry.
    before = current.values
    changes = {name: [audit.jsonable(before[name]), audit.jsonable(values[name])]
               for name in COMPARED_FIELDS if name in values and values[name] != before[name]}
    if changes:
        plan.updates.append((current, values, changes))
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


def _rejected(problems: list[ImportProblem], rows: int, dry_run: bool) -> ImportResult:
    return ImportResult(created=0, updated=0, unchanged=0, problems=tuple(problems), rows=rows, dry_run=dry_run)


# --- writing -------------------------------------------------------------------------------------

def _write(actor: User | None, federation: Federation, plan: _Plan, context: str, progress: Progress | None) -> None:
    total = len(plan.creates) + len(plan.updates)
    done = _insert_cases(actor, federation, plan.creates, context, progress, total)
    _update_cases(actor, plan.updates, context, progress, done, total)
    db.session.flush()


def _insert_cases(actor: User | None, federation: Federation, creates: list[dict[str, Any]], context: str,
                  progress: Progress | None, total: int) -> int:
    """Bulk INSERT (executemany) of the new cases and of one "create" audit entry each, as
    services.cases.create_case would write them, without a flush and a SELECT per row."""
    if not creates:
        return 0
    actor_id = actor.id if actor is not None else None
    now = utcnow()
    cases_table, audit_table = Case.__table__, AuditEntry.__table__
    # RETURNING (ref, id) rather than relying on row order: with sort_by_parameter_order SQLAlchemy
    # falls back to one INSERT per row on SQLite.
    statement = insert(cases_table).returning(cases_table.c.ref, cases_table.c.id)
    done = 0
    for start in range(0, len(creates), WRITE_BATCH):
        batch = creates[start:start + WRITE_BATCH]
        params = [{**values, "federation_id": federation.id, "created_by_id": actor_id, "updated_by_id": actor_id,
                   "created_at": now, "updated_at": now, "version": 1} for values in batch]
        ids = dict(db.session.execute(statement, params).all())
        # The entry create_case writes: {field: [None, value]} for every field that has a value.
        entries = [{"at": now, "user_id": actor_id, "table_name": "cases", "row_id": ids[values["ref"]],
                    "action": "create", "context": context,
                    "changes": {name: [None, audit.jsonable(value)] for name, value in values.items()
                                if value is not None}} for values in batch]
        db.session.execute(insert(audit_table), entries)
        done += len(batch)
        if progress is not None:
            progress("writing", done, total)
    data_version.bump_now()  # Core inserts are invisible to the ORM listener
    return done


def _update_cases(actor: User | None, updates: list[tuple[_Existing, dict[str, Any], dict[str, list[Any]]]],
                  context: str, progress: Progress | None, done: int, total: int) -> None:
    """Changed cases through the ORM, so the version counter and updated_at move as in update_case."""
    actor_id = actor.id if actor is not None else None
    for start in range(0, len(updates), WRITE_BATCH):
        batch = updates[start:start + WRITE_BATCH]
        loaded = {case.id: case for case in db.session.scalars(
            select(Case).where(Case.id.in_([current.id for current, _, _ in batch])))}
        for current, values, changes in batch:
            case = loaded.get(current.id)
            if case is None or case.version != current.version or case.deleted_at is not None:
                raise EditConflict(f"Case {values['ref']} was changed by someone else during the import; "
                                   "nothing was imported, import the file again.")
            for name in changes:
                setattr(case, name, values[name])
            case.updated_by_id = actor_id
        try:
            db.session.flush()
        except StaleDataError:
            raise EditConflict("A case was changed by someone else during the import; nothing was imported, "
                               "import the file again.") from None
        for current, _, changes in batch:
            audit.record(actor, loaded[current.id], "update", changes, context)
        done += len(batch)
        if progress is not None:
            progress("writing", done, total)
