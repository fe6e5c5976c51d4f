"""Bulk import of a whole registry from one file, for administrators on the server (`tracker cases
import`): files of any size, streamed, in one all-or-nothing transaction.

The web upload (`imports.import_cases`) holds the file and its plan in memory, which bounds it to
its upload limit. Here the file is read twice from disk and nothing proportional to a row's
content is kept:

1. Reading pass: the header, and the dates written as text, whose order (`csv_dialect`) holds for
   the whole file; the number of case rows (for the progress bar).
2. Import pass, in batches of `BATCH` rows: each row is checked by the rules of `imports` (the
   same validator, formula, apostrophe, date and ref rules, and messages); the batch's refs are
   looked up in the federation (one indexed query per batch, never the federation's whole list);
   valid batches are written in the caller's transaction, as `imports`' writer writes them: on
   SQLite at once, on PostgreSQL by COPY one batch behind, while the next batch is checked
   (`_Writes`). After the first problem nothing more is written but every row is still checked,
   up to `imports.MAX_PROBLEMS`; the caller then rolls back, so nothing of the file remains.
3. Possible duplicates: only the identities of the file are looked up in the registry, by
   indexed queries: cases of the same country whose national id is written as in the file (as
   typed, normalised, or with the country code), or whose name is the same up to case
   (`lower(name)`, indexed). The file's rows and these cases are then paired by the rule of
   `casework.duplicates` restricted to equal keys: the same normalised national id, or the same
   normalised name (accents, case, word order and legal forms ignored) with a transfer in the
   same year. Names that differ by a typo are not compared here (that needs every name of the
   country and year, which does not scale with the file): the duplicates report
   (`/cases/duplicates`) applies the full similarity rule to the whole registry.
   As on the web, pairs stop the import unless confirmed distinct (`confirm_distinct`), and are
   then stored as such.

Memory holds the current batch, the refs seen (to report a ref repeated in the file; freed before
the duplicate check) and one packed identity per row for the duplicate check (`_Identities`: one
string and three numbers, ~110 bytes a row where a row object with its own strings took ~400).
Objects that outlive a batch are frozen out of the cyclic garbage collector's passes (`gc.freeze`,
as `imports` does), which otherwise walk every identity kept so far, again and again.
"""

from __future__ import annotations

import gc
import json
from array import array
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from json.encoder import encode_basestring_ascii as _quote
from pathlib import Path, PurePath
from typing import IO, Any

from flask_babel import gettext
from sqlalchemy import Date, DateTime, String, any_, func, literal, select, text
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from tracker.extensions import db
from tracker.i18n import format_number
from tracker.models import AuditEntry, Case, Federation, User
from tracker.services import permissions
from tracker.services.analytics import data_version
from tracker.services.casework import duplicates
from tracker.services.casework.cases import clean_case_values
from tracker.services.casework.duplicates import CaseIdentity, PossibleDuplicate
from tracker.services.errors import PermissionDenied
from tracker.services.spreadsheets import csv_dialect, imports, readers
from tracker.services.spreadsheets.csv_dialect import DateOrder
from tracker.services.spreadsheets.imports import (
    DATE_FIELDS,
    MAX_PROBLEMS,
    FileSource,
    ImportProblem,
    ImportResult,
)
from tracker.services.spreadsheets.readers import Limits

BATCH = 5000
SQLITE_CACHE_KIB = 128 * 1024
_CHUNK = 500  # values per IN (...) of the duplicate lookups
_READ_CHUNK = 1 << 20

Progress = Callable[[str, int, int], None]


@dataclass
class _Source:
    """How to read the file's rows again and again: CSV from disk in its encoding, or XLSX."""

    path: Path
    xlsx: bytes | None = None
    encoding: str = "utf-8"
    delimiter: str = ","

    def rows(self, stack: ExitStack) -> Iterator[tuple[int, list[Any]]]:
        if self.xlsx is not None:
            return readers.xlsx_rows(self.xlsx, Limits.bulk())
        text: IO[str] = stack.enter_context(self.path.open(encoding=self.encoding, errors="strict", newline=""))
        return readers.csv_rows(text, self.delimiter, Limits.bulk())

    @property
    def described(self) -> FileSource | None:
        return None if self.xlsx is not None else FileSource(self.encoding, self.delimiter)


@dataclass(slots=True)
class _Row:
    """What the duplicate check keeps of a valid row that creates a case or changes one's identity."""

    row: int
    ref: str
    name: str
    national_id: str | None
    country: str
    year: int
    case_id: int | None


class _Identities:
    """The `_Row`s of a file, packed: ref, name, national id and country in one string (joined by
    the unit separator, a control character the validator refuses in every text), the spreadsheet
    row, transfer year and case id (0: not written yet) in arrays. Indexing gives a `_Row`."""

    _SEP = "\x1f"

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._rows = array("q")
        self._years = array("l")
        self._ids = array("q")

    def append(self, r: _Row) -> None:
        parts = (r.ref, r.name, r.national_id or "", r.country)
        if any(self._SEP in part for part in parts):
            raise ValueError("an identity holds a control character")  # refused by the validator before
        self._texts.append(self._SEP.join(parts))
        self._rows.append(r.row)
        self._years.append(r.year)
        self._ids.append(r.case_id or 0)

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, index: int) -> _Row:
        ref, name, national_id, country = self._texts[index].split(self._SEP)
        return _Row(self._rows[index], ref, name, national_id or None, country, self._years[index],
                    self._ids[index] or None)

    def slice(self, start: int, stop: int) -> list[_Row]:
        return [self[i] for i in range(start, min(stop, len(self)))]

    def case_ids(self) -> set[int]:
        return {i for i in self._ids if i}


@dataclass
class _Run:
    actor: User | None
    federation: Federation
    today: date
    order: str
    positions: dict[str, int]
    writer: Any  # imports._Writer, None on a dry run
    total: int
    progress: Progress | None
    problems: list[ImportProblem] = field(default_factory=list)
    first_row: dict[str, int] = field(default_factory=dict)
    identities: _Identities = field(default_factory=_Identities)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0


def import_file(actor: User | None, federation: Federation, path: Path, dry_run: bool,
                today: date | None = None, progress: Progress | None = None,
                confirm_distinct: bool = False) -> ImportResult:
    """Validate the CSV or XLSX file at `path` and, when it is valid and not `dry_run`, create or
    update the cases of `federation`, in the caller's transaction (module rules). Returns an
    ImportResult; with problems (or on a dry run) the caller must roll back: rows may have been
    written before the first problem was met. Raises as `imports.import_cases` does
    (PermissionDenied, EditConflict, UnconfirmedDuplicates)."""
    if actor is not None and not permissions.can(actor, "case.import", federation):
        raise PermissionDenied(gettext("You may not import cases into federation %(code)s.", code=federation.code))
    try:
        source = _open(path)
        header, header_row, total, dates = _first_pass(source, federation)
    except readers.Unreadable as exc:
        return _rejected([ImportProblem(exc.row, "", exc.message)], rows=0, dry_run=dry_run)
    except _Rejected as exc:
        return _rejected(exc.problems, rows=exc.rows, dry_run=dry_run, source=source.described)
    positions, problems = imports._map_header(header, header_row)
    if not problems and not total:
        problems = [ImportProblem(0, "", gettext("the file has a header row but no case rows"))]
    if problems:
        return _rejected(problems, rows=total, dry_run=dry_run, source=source.described)
    writer = None
    if not dry_run:
        writer = imports._Writer(actor, federation, f"import {PurePath(path.name).name}"[:200], None,
                                 total=total, changed_in=data_version.transaction_version(),
                                 copy_into=imports._copy_target())
    run = _Run(actor, federation, today or date.today(), dates.order, positions, writer, total, progress)
    with _index_cache(), imports._gc_frozen():
        try:
            _import_pass(run, source, header_row)
        except readers.Unreadable as exc:
            run.problems.append(ImportProblem(exc.row, "", exc.message))
        if not run.problems:
            run.first_row.clear()  # refs seen: no longer needed, and a million of them weigh ~100 MB
            return _finish(run, dry_run, confirm_distinct, source.described, dates)
    return _rejected(run.problems, rows=run.rows, dry_run=dry_run, source=source.described, dates=dates)


def _finish(run: _Run, dry_run: bool, confirm_distinct: bool, source: FileSource | None,
            dates: DateOrder) -> ImportResult:
    """After a valid file: its possible duplicates, confirmed or refused (module rules)."""
    pairs = _possible_duplicates(run)
    writer = run.writer
    if pairs and writer is not None:
        if not confirm_distinct:
            raise imports.unconfirmed_import(pairs)
        duplicates.confirm_distinct(run.actor, [(p.case.id, p.other.id) for p in pairs
                                                if p.case.id and p.other.id], writer.context)
    if writer is not None:
        imports._expire_loaded_cases()
    return ImportResult(created=run.created, updated=run.updated, unchanged=run.unchanged, problems=(),
                        rows=run.rows, dry_run=dry_run, duplicates=tuple(pairs), source=source, dates=dates)


@contextmanager
def _index_cache() -> Iterator[None]:
    """While the rows go in, what the database needs to keep using its indexes on a table that
    grows under it, then the connection's own settings again.

    SQLite: a page cache of SQLITE_CACHE_KIB (a million rows update nine indexes in random order;
    with the default 2 MB cache each insert reads its index pages back from the file).
    PostgreSQL: index scans for this transaction's lookups (`SET LOCAL enable_seqscan = off`, which
    ends with it) and no prepared statements. The planner's statistics are those of the table
    before the import (empty, on a first load), so it would scan the whole growing table for each
    batch's refs; every lookup here has its index. psycopg would also keep a generic plan made
    while the table was small."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection
        threshold = driver.prepare_threshold
        driver.prepare_threshold = None
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        try:
            yield
        finally:
            driver.prepare_threshold = threshold
        return
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


class _Rejected(Exception):
    def __init__(self, problems: list[ImportProblem], rows: int) -> None:
        self.problems, self.rows = problems, rows


def _rejected(problems: list[ImportProblem], rows: int, dry_run: bool, source: FileSource | None = None,
              dates: DateOrder | None = None) -> ImportResult:
    return ImportResult(created=0, updated=0, unchanged=0, problems=tuple(problems), rows=rows, dry_run=dry_run,
                        source=source, dates=dates)


# --- reading -------------------------------------------------------------------------------------

def _open(path: Path) -> _Source:
    """The file's format, and for a CSV its encoding and delimiter (csv_dialect's rules, streamed)."""
    with path.open("rb") as fh:
        start = fh.read(8)
    name = path.name.lower()
    if not start.strip() and path.stat().st_size < 8:
        raise readers.Unreadable("the file is empty")
    if start.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise readers.Unreadable("old Excel files (.xls) are not supported; save the sheet as XLSX or as CSV UTF-8")
    if name.endswith(".ods"):
        raise readers.Unreadable("OpenDocument spreadsheets (.ods) are not supported; save the sheet as XLSX or "
                                 "CSV UTF-8")
    if start.startswith(b"PK\x03\x04"):
        return _Source(path, xlsx=path.read_bytes())
    if name.endswith((".xlsx", ".xlsm")):
        raise readers.Unreadable("the file is named .xlsx but is not an Excel workbook")
    with path.open("rb") as fh:
        try:
            encoding = csv_dialect.detect_encoding(iter(lambda: fh.read(_READ_CHUNK), b"")).encoding
        except csv_dialect.UnreadableText as exc:
            raise readers.Unreadable(f"{exc}; save it as CSV UTF-8 or as XLSX") from None
    with path.open(encoding=encoding, newline="") as text:
        first_line = _first_line(text)
    return _Source(path, encoding=encoding, delimiter=csv_dialect.sniff_delimiter(first_line))


def _first_line(text: IO[str]) -> str:
    """The first non-blank line (at most 64 KB of it), BOM left out: where the delimiter is sniffed."""
    while True:
        line = text.readline(65536)
        if not line:
            return ""
        line = line.lstrip("\ufeff")
        if line.strip("\r\n"):
            return line


def _first_pass(source: _Source, federation: Federation) -> tuple[list[Any], int, int, DateOrder]:
    """The header, its row, the number of case rows, and the order of the file's dates."""
    header: list[Any] | None = None
    header_row = total = 0
    columns: list[int] = []
    evidence = csv_dialect.DateEvidence()
    with ExitStack() as stack:
        for number, cells in source.rows(stack):
            if all(readers.blank(cell) for cell in cells):
                continue
            if header is None:
                header, header_row = cells, number
                names = {("" if c is None else str(c)).strip().lower(): i for i, c in enumerate(cells)}
                columns = [names[name] for name in DATE_FIELDS if name in names]
                continue
            total += 1
            for index in columns:
                cell = cells[index] if index < len(cells) else None
                if isinstance(cell, str) and cell:
                    evidence.add(cell)
    if header is None:
        raise _Rejected([ImportProblem(0, "", gettext("the file is empty"))], 0)
    return header, header_row, total, evidence.order(csv_dialect.national_date_order(federation.country))


# --- import pass ---------------------------------------------------------------------------------

def _import_pass(run: _Run, source: _Source, header_row: int) -> None:
    batch: list[tuple[int, list[Any]]] = []
    with ExitStack() as stack, _Writes(run) as writes:
        for number, cells in source.rows(stack):
            if number <= header_row or all(readers.blank(cell) for cell in cells):
                continue
            batch.append((number, cells))
            if len(batch) == BATCH:
                _batch(run, batch, writes)
                batch = []
                if len(run.problems) >= MAX_PROBLEMS:
                    run.problems.append(ImportProblem(0, "", gettext(
                        "validation stopped after %(count)s problems; fix these and import again",
                        count=format_number(MAX_PROBLEMS))))
                    return
        if batch:
            _batch(run, batch, writes)
        writes.finish()


def _batch(run: _Run, batch: list[tuple[int, list[Any]]], writes: _Writes) -> None:
    """Check one batch of rows; write it when the file has had no problem so far (on PostgreSQL
    while the next batch is checked: `_Writes`)."""
    ref_index = run.positions["ref"]
    refs = {ref for _, cells in batch
            if (ref := imports._ref_of(imports._cell(imports._at(cells, ref_index)))) is not None}
    writes.wait()
    existing, deleted = _existing(run.federation, refs)
    writes.start()
    plan = imports._Plan()
    known = set(run.positions.values())
    for number, cells in batch:
        run.rows += 1
        _check_row(run, plan, number, cells, known, existing, deleted)
    run.problems.extend(plan.problems)
    run.created += len(plan.creates)
    run.updated += len(plan.updates)
    run.unchanged += plan.unchanged
    rows = [_Row(row, v["ref"], v["name"], v.get("national_id"), v["country"], v["transfer_date"].year, case_id)
            for row, v, case_id in plan.identities]
    if run.writer is not None and not run.problems:
        writes.add(plan, rows)
    else:
        for r in rows:
            run.identities.append(r)
    del rows, plan
    gc.freeze()  # what outlives the batch (identities, refs seen) is out of the collector's passes
    if run.progress is not None:
        run.progress("importing", run.rows, run.total)


class _Writes:
    """The checked batches' writes, in the file's order.

    On SQLite each batch is written as soon as it is checked. On PostgreSQL the writes run one
    batch behind: while the main thread reads and checks batch N+1, a thread COPYs batch N's cases
    and audit entries on the session's own connection, so that the server stores and indexes one
    batch while Python checks the next (psycopg lets go of the GIL while it waits on the server;
    serially, the two took turns and the import waited on the server about half its time). The
    connection is never used by both threads: the main thread's statements (the next batch's refs,
    the new ids, the updates) run between `wait`, which ends the COPY in flight and raises its
    error, and `start`, which begins the next. New cases take their ids from the table's own
    sequence first (what its default would give them), so the audit entries need not read them
    back. Leaving the block, even on an error, waits for the COPY in flight: the caller's rollback
    then has the connection to itself."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.threaded = run.writer is not None and run.writer.copy_into is not None
        self._pending: tuple[Any, list[_Row]] | None = None
        self._future: Future[None] | None = None
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> _Writes:
        if self.threaded:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="bulk-copy")
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        future, self._future, self._pending = self._future, None, None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if future is not None and kind is None:
            future.result()  # no statement waited for it: its error is the import's

    def add(self, plan: Any, rows: list[_Row]) -> None:
        """A checked batch without problems, to write."""
        if not self.threaded:
            self._identify(rows, _write(self.run, plan))
            return
        self._pending = (plan, rows)

    def wait(self) -> None:
        """Until the batch in flight is written; its error is raised here."""
        if self._future is not None:
            future, self._future = self._future, None
            future.result()

    def start(self) -> None:
        """Write the pending batch: its ids and updates now, its cases and their audit entries by
        COPY in the thread. Nothing, once a problem was found (the caller rolls back)."""
        pending, self._pending = self._pending, None
        if pending is None or self.run.problems:
            return
        plan, rows = pending
        writer, creates = self.run.writer, plan.creates
        ids = dict(zip((values["ref"] for values in creates), _new_ids(len(creates)), strict=True))
        if plan.updates:
            writer.update(plan.updates)
        self._identify(rows, ids)
        if creates and self._pool is not None:
            self._future = self._pool.submit(_copy_creates, writer, creates, ids)

    def finish(self) -> None:
        """After the last batch: write the pending one and wait for it."""
        self.wait()
        self.start()
        self.wait()

    def _identify(self, rows: list[_Row], ids: dict[str, int]) -> None:
        for r in rows:
            if r.case_id is None:
                r.case_id = ids[r.ref]
            self.run.identities.append(r)


def _check_row(run: _Run, plan: Any, number: int, cells: list[Any], known: set[int], existing: dict[str, Any],
               deleted: set[str]) -> None:
    """One row by imports' rules (as imports._plan checks it): problems, or its place in the plan."""
    size, cell = len(cells), imports._cell
    raw = {name: cell(cells[index]) if index < size else None for name, index in run.positions.items()}
    imports._check_stray_cells(cells, known, number, plan.problems)
    formulas = imports._refuse_formulas(raw, number, plan.problems)
    imports.read_dates(raw, run.order)
    ref = imports._ref_of(raw["ref"])
    current = existing.get(ref) if ref is not None else None
    values, errors = clean_case_values({**current.values, **raw} if current else raw, run.today)
    for column in formulas:
        errors.pop(column, None)
    for column, messages in errors.items():
        plan.problems.extend(ImportProblem(number, column, message) for message in messages)
    if ref is not None and ref in run.first_row:
        plan.problems.append(ImportProblem(number, "ref", gettext("ref %(ref)s already appears in row %(row)s",
                                                                  ref=ref, row=run.first_row[ref])))
        return
    if ref is not None:
        run.first_row[ref] = number
    if ref in deleted:
        plan.problems.append(ImportProblem(number, "ref",
                                           gettext("case %(ref)s was deleted; restore it first", ref=ref)))
        return
    if not errors:
        imports._classify(plan, values, current, number)


def _write(run: _Run, plan: Any) -> dict[str, int]:
    """Write the batch's plan at once (SQLite); the ids of the new cases by ref."""
    ids = _insert(run, plan.creates) if plan.creates else {}
    if plan.updates:
        run.writer.update(plan.updates)
    return ids


def _insert(run: _Run, creates: list[dict[str, Any]]) -> dict[str, int]:
    """New cases and their "create" audit entries, as imports' writer writes them (the same columns
    and changes), by the driver's executemany with values converted as the columns' own types
    convert them (dates, enums; the constant columns once). The new ids are then read back for
    the batch's refs."""
    writer = run.writer
    _insert_sqlite(writer, creates)
    ids = _ids_of(run.federation, [values["ref"] for values in creates])
    _audit_sqlite(writer, creates, ids)
    return ids


def _new_ids(count: int) -> list[int]:
    """`count` ids for new cases from the table's own sequence (PostgreSQL), as its default takes them."""
    if not count:
        return []
    return list(db.session.execute(
        text("SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, :count)"),
        {"count": count}).scalars())


def _copy_creates(writer: Any, creates: list[dict[str, Any]], ids: dict[str, int]) -> None:
    """A batch's new cases and their audit entries by COPY (run by `_Writes`' thread: it touches
    the psycopg connection only, not the session)."""
    _insert_postgres(writer, creates, ids)
    _audit_postgres(writer, creates, ids)


def _insert_postgres(writer: Any, creates: list[dict[str, Any]], ids: dict[str, int]) -> None:
    """COPY the new cases with their ids: rows built as tuples once, enums as their values, the
    constant columns (federation, who, when, version) once; psycopg writes dates and text as they are."""
    table = imports._table(Case)
    fixed = writer._new_case({})
    names = [name for name in creates[0] if name not in fixed]
    enums = [i for i, name in enumerate(names) if isinstance(table.c[name].type, SqlEnum)]
    constants = [imports._copy_value(value) for value in fixed.values()]
    rows = []
    for values in creates:
        get = values.get
        row = [get(name) for name in names]
        for i in enums:
            if (v := row[i]) is not None:
                row[i] = v.value
        row += constants
        row.append(ids[values["ref"]])
        rows.append(row)
    imports.copy_rows(writer.copy_into, Case.__tablename__, [*names, *fixed, "id"], rows)


def _audit_postgres(writer: Any, creates: list[dict[str, Any]], ids: dict[str, int]) -> None:
    """create_case's entries by COPY, their changes as the JSON text _created_json writes."""
    actor_id, context, at = writer.actor_id, writer.context, writer.now
    imports.copy_rows(writer.copy_into, AuditEntry.__tablename__, _AUDIT_COLUMNS,
                      ((at, actor_id, "cases", ids[values["ref"]], "create", _created_json(values), context)
                       for values in creates))
    writer.done += len(creates)


def _insert_sqlite(writer: Any, creates: list[dict[str, Any]]) -> None:
    connection = db.session.connection()
    dialect = connection.dialect
    table = imports._table(Case)
    fixed = {name: _bound(table.c[name].type, dialect, value) for name, value in writer._new_case({}).items()}
    names = [name for name in creates[0] if name not in fixed]
    convert = [_converter(table.c[name].type, dialect) for name in names]
    constants = list(fixed.values())
    converted = [(i, c) for i, c in enumerate(convert) if c is not None]
    rows = []
    for values in creates:
        get = values.get
        row = [get(name) for name in names]
        for i, c in converted:
            if (v := row[i]) is not None:
                row[i] = c(v)
        row += constants
        rows.append(tuple(row))
    columns = [*names, *fixed]
    connection.exec_driver_sql(f"INSERT INTO cases ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                               rows)


def _audit_sqlite(writer: Any, creates: list[dict[str, Any]], ids: dict[str, int]) -> None:
    """create_case's entry, {field: [None, value]} for every field with a value, as JSON text."""
    connection = db.session.connection()
    table = imports._table(AuditEntry)
    at = _bound(table.c.at.type, connection.dialect, writer.now)
    actor_id, context = writer.actor_id, writer.context
    rows = [(at, actor_id, "cases", ids[values["ref"]], "create", _created_json(values), context)
            for values in creates]
    connection.exec_driver_sql(f"INSERT INTO audit_entries ({', '.join(_AUDIT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               rows)
    writer.done += len(rows)


_AUDIT_COLUMNS = ("at", "user_id", "table_name", "row_id", "action", "changes", "context")


_JSON_KEYS: dict[str, str] = {}


def _created_json(values: dict[str, Any]) -> str:
    """`json.dumps({field: [None, imports._jsonable(value)] for each field with a value})`, the
    same text, written directly: strings by the json module's own C quoting, ints and dates
    as themselves, anything else through json.dumps."""
    parts = []
    for name, value in values.items():
        if value is None:
            continue
        key = _JSON_KEYS.get(name)
        if key is None:
            key = _JSON_KEYS[name] = f"{_quote(name)}: [null, "
        kind = type(value)
        if kind is str:
            text = _quote(value)
        elif kind is int:
            text = int.__repr__(value)
        elif kind is date:
            text = f'"{value.isoformat()}"'
        else:
            text = json.dumps(imports._jsonable(value))
        parts.append(f"{key}{text}]")
    return "{" + ", ".join(parts) + "}"


def _bound(kind: Any, dialect: Any, value: Any) -> Any:
    process = kind._cached_bind_processor(dialect)
    return value if process is None or value is None else process(value)


def _converter(kind: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """How a column's value is sent: a date as ISO text (SQLite's Date storage), else the type's
    own bind processor (enums), else as it is."""
    if isinstance(kind, Date) and not isinstance(kind, DateTime):
        return date.isoformat
    return kind._cached_bind_processor(dialect)


def _ids_of(federation: Federation, refs: list[str]) -> dict[str, int]:
    """Ids of the federation's cases with these refs (the unique (federation, ref) index)."""
    ids: dict[str, int] = {}
    for chunk in _ref_chunks(refs):
        ids.update(db.session.execute(select(Case.ref, Case.id).where(Case.federation_id == federation.id,
                                                                      chunk)).all())
    return ids


def _ref_chunks(refs: list[str]) -> Iterator[ColumnElement[bool]]:
    """`Case.ref` among these refs, as few conditions as the database takes: on PostgreSQL one,
    the refs as one array parameter (`ref = ANY(%s)`: psycopg need not parse a statement of
    thousands of parameters); elsewhere IN lists of _CHUNK (SQLite's parameter limit)."""
    if db.session.get_bind().dialect.name == "postgresql":
        yield Case.ref == any_(literal(refs, ARRAY(String)))
        return
    for start in range(0, len(refs), _CHUNK):
        yield Case.ref.in_(refs[start:start + _CHUNK])


def _existing(federation: Federation, refs: set[str]) -> tuple[dict[str, Any], set[str]]:
    """The federation's cases with these refs (the unique (federation, ref) index): live ones with
    their values, and the refs of deleted ones."""
    if not refs:
        return {}, set()
    columns = [Case.id, Case.version, Case.deleted_at, *(getattr(Case, name) for name in imports.COMPARED_FIELDS)]
    existing: dict[str, Any] = {}
    deleted: set[str] = set()
    ordered = sorted(refs)
    for chunk in _ref_chunks(ordered):
        rows = db.session.execute(select(*columns).where(Case.federation_id == federation.id, chunk))
        for case_id, version, deleted_at, *values in rows:
            fields = dict(zip(imports.COMPARED_FIELDS, values, strict=True))
            if deleted_at is not None:
                deleted.add(fields["ref"])
            else:
                existing[fields["ref"]] = imports._Existing(case_id, version, fields)
    return existing, deleted


# --- possible duplicates -------------------------------------------------------------------------

def _possible_duplicates(run: _Run) -> list[PossibleDuplicate]:
    """The file's rows paired with each other and with the registry's cases that the file's
    identities find (module rules). The cases this import wrote are left out of the registry
    side: their file rows stand for them."""
    rows = run.identities
    if not rows:
        return []
    written = run.writer.changed_in if run.writer is not None else None
    pool = _registry_matches(rows, written, rows.case_ids())
    return _pairs(run.federation.id, rows, pool)


def _registry_matches(rows: _Identities, written: int | None, updated: set[int]) -> list[CaseIdentity]:
    """The live cases (not written by this import, nor updated by it) whose national id is written
    as one of the file's, or whose name is one of the file's up to case, in the same country. Only
    the name and national id indexes are used: the country is checked here, so a planner without
    statistics cannot prefer the country index and scan a whole country per query. The rows are
    looked up `_CHUNK` at a time, so memory holds one chunk's keys."""
    base = select(*duplicates._IDENTITY_COLUMNS).where(Case.deleted_at.is_(None))
    if written is not None:
        base = base.where(Case.changed_in != written)
    if db.session.execute(base.limit(1)).first() is None:
        return []  # nothing else registered: a first load
    found: dict[int, CaseIdentity] = {}
    for start in range(0, len(rows), _CHUNK):
        wanted: set[tuple[str, str]] = set()  # (country, lower-case name) and (country, national id as written)
        for r in rows.slice(start, start + _CHUNK):
            wanted.add((r.country, "n:" + r.name.lower()))
            if r.national_id:
                key = duplicates.national_id_key(r.national_id, r.country)
                wanted.update((r.country, "i:" + form) for form in (r.national_id.strip(), key, r.country + (key or ""))
                              if form and form != r.country)
        names = sorted({text[2:] for _, text in wanted if text[0] == "n"})
        ids = sorted({text[2:] for _, text in wanted if text[0] == "i"})
        for values, column, prefix in ((names, func.lower(Case.name), "n:"), (ids, Case.national_id, "i:")):
            if not values:
                continue
            for row in db.session.execute(base.where(column.in_(values))):
                identity = duplicates._identity(row)
                typed = identity.name.lower() if prefix == "n:" else (identity.national_id or "").strip()
                if row.id not in updated and (identity.country, prefix + typed) in wanted:
                    found[row.id] = identity
    return list(found.values())


def _pairs(federation_id: int, rows: _Identities, pool: list[CaseIdentity]) -> list[PossibleDuplicate]:
    """Pairs with equal keys (same national id key; same normalised name and transfer year),
    each involving at least one row of the file; confirmed-distinct pairs left out. Entries are
    numbered rows first, then the pool; only the members of pairs become CaseIdentity."""
    count = len(rows)

    def entry(index: int) -> _Entry:
        if index < count:
            r = rows[index]
            return r.national_id, r.country, r.name, r.year
        c = pool[index - count]
        return c.national_id, c.country, c.name, c.transfer_year

    found: dict[tuple[int, int], set[str]] = {}
    for key_of, reason in ((_id_key, duplicates.REASON_NATIONAL_ID), (_name_key, duplicates.REASON_NAME)):
        for members in _groups(count + len(pool), entry, key_of):
            for a, i in enumerate(members):
                if i >= count:
                    break  # members are in index order: the rest are registry cases
                for j in members[a + 1:]:
                    found.setdefault((i, j), set()).add(reason)

    def identity(index: int) -> CaseIdentity:
        if index >= count:
            return pool[index - count]
        r = rows[index]
        return CaseIdentity(r.case_id, federation_id, r.ref, r.name, r.national_id, r.country, r.year, r.row)

    pairs = [PossibleDuplicate(identity(i), identity(j), tuple(sorted(reasons)),
                               round(duplicates.name_similarity(entry(i)[2], entry(j)[2]), 3))
             for (i, j), reasons in found.items()]
    confirmed = duplicates.confirmed_pairs({i for p in pairs for i in (p.case.id, p.other.id) if i is not None})
    return sorted((p for p in pairs if duplicates._pair_key(p) not in confirmed), key=duplicates._sort_key)


_Entry = tuple[str | None, str, str, int | None]  # national id, country, name, transfer year


def _groups(size: int, entry: Callable[[int], _Entry], key_of: Callable[[_Entry], str | None]
            ) -> Iterator[list[int]]:
    """Indexes (0..size) of the entries sharing a key, for the keys shared at all. Keys are kept
    by their hash (an int per entry, not a string); members of a shared hash are then grouped by
    the key itself, so a collision cannot pair two different keys."""
    first: dict[int, int] = {}
    shared: dict[int, list[int]] = {}
    for index in range(size):
        key = key_of(entry(index))
        if key is None:
            continue
        digest = hash(key)
        seen = first.setdefault(digest, index)
        if seen != index:
            shared.setdefault(digest, [seen]).append(index)
    del first
    for members in shared.values():
        by_key: dict[str | None, list[int]] = {}
        for index in members:
            by_key.setdefault(key_of(entry(index)), []).append(index)
        yield from (group for group in by_key.values() if len(group) > 1)


def _id_key(entry: _Entry) -> str | None:
    national_id, country = entry[0], entry[1]
    key = duplicates.national_id_key(national_id, country)
    return None if key is None else f"{country}|{key}"


def _name_key(entry: _Entry) -> str | None:
    _national_id, country, name, year = entry
    if year is None:
        return None
    return f"{country}|{year}|{' '.join(duplicates.name_words(name))}"


__all__ = ["BATCH", "import_file"]
