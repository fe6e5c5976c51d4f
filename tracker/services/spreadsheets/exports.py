"""Export of cases in the import schema (docs/design.md, "Import and export schema"), so that export → edit →
re-import changes nothing.

Rules:

- Columns: exactly `cases.CASE_FIELDS`, in that order; never notes or the contact (personal)
  fields. Soft-deleted cases are never exported. With a user, `permissions.scope_cases` limits
  the rows to what that user may see (a staff user: their own federation); without a user (the
  CLI, run by an operator) every federation, or the one given.
- Order: federation, then ref; or the order of `stmt` when a query is given (its WHERE clauses
  narrow the export, its columns are replaced by the schema's).
- CSV: UTF-8 with a BOM (Excel then reads accents correctly; the import accepts it), `,`, CRLF,
  dates ISO (YYYY-MM-DD), integers as digits, empty cell for a missing value.
- XLSX: one sheet "cases", bold frozen header row, real date cells (format yyyy-mm-dd), integers
  as numbers, every other value a text cell.
- Formula guard: a text value starting with = + - @ TAB or CR would be run as a formula by a
  spreadsheet. In CSV it is written with one leading apostrophe; in XLSX it is a text cell with
  Excel's "quote prefix" (the same thing, without a visible apostrophe). `imports` removes one
  apostrophe before those characters, so the value round-trips unchanged.
- Rows are read with Core (only the schema's columns) in batches of ids, each query to its end,
  and written as they come: a million cases stream in bounded memory (CSV via `iter_csv` or
  `write_export`), and no query stays open while the file is written (decision 75).
- `write_table` writes any other table (the blank import template, the annual status check,
  a list of import problems) by the same CSV/XLSX rules, formula guard included.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy import Connection, Select, func, select

from tracker.extensions import db
from tracker.i18n import format_number
from tracker.models import Case, Federation, User
from tracker.services.casework.cases import CASE_FIELDS
from tracker.services.errors import DomainError, PermissionDenied
from tracker.services.permissions import Scope, scope_cases

FORMATS = ("csv", "xlsx")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Rows read by one query of an export (a bound parameter each: within SQLite's 32,766 and PostgreSQL's 65,535).
BATCH = 5000
CSV_CHUNK_ROWS = 1000
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
_COLUMN_WIDTHS = {"name": 32, "legal_form": 20, "transfer_type": 12, "exit_reason": 12}

# progress(done, total) in cases.
ExportProgress = Callable[[int, int], None]


def neutralise(text: str) -> str:
    """The CSV cell for a text value: an apostrophe before a value a spreadsheet would run as a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def export_statement(user: User | None, federation: Federation | None = None, stmt: Select | None = None) -> Select:
    """The Core SELECT of the exported columns and rows (see the module rules)."""
    columns = [getattr(Case, name) for name in CASE_FIELDS]
    query = select(*columns) if stmt is None else stmt.with_only_columns(*columns)
    query = query.where(Case.deleted_at.is_(None))
    if federation is not None:
        if not Scope.of(user).may_see(federation.id):
            raise PermissionDenied(_("You may not export the cases of federation %(code)s.", code=federation.code))
        query = query.where(Case.federation_id == federation.id)
    if user is not None:
        query = scope_cases(query, user)
    if stmt is None:
        query = query.order_by(Case.federation_id, Case.ref)
    return query


def export_cases(user: User | None, federation: Federation | None = None, fmt: str = "csv",
                 stmt: Select | None = None) -> bytes:
    """The export as bytes (CSV or XLSX). For large exports prefer `write_export` or `iter_csv`."""
    buffer = io.BytesIO()
    write_export(buffer, user, federation, fmt, stmt)
    return buffer.getvalue()


def write_export(fh: IO[bytes], user: User | None, federation: Federation | None = None, fmt: str = "csv",
                 stmt: Select | None = None, progress: ExportProgress | None = None) -> int:
    """Write the export to a binary file object; returns the number of cases written.
    Raises DomainError for an unknown format or more cases than an XLSX sheet holds."""
    if fmt not in FORMATS:
        raise DomainError(_("unknown export format '%(format)s'; use csv or xlsx", format=fmt))
    query = export_statement(user, federation, stmt)
    total = _count(query) if progress is not None else 0
    rows = _rows(query, progress, total)
    if fmt == "xlsx":
        return _write_xlsx(fh, rows)
    count = 0
    for chunk, written in _csv_chunks(rows):
        fh.write(chunk)
        count = written
    return count


@dataclass(frozen=True)
class CellRule:
    """An Excel data-validation rule of a column (XLSX only): a list of allowed codes, or a date;
    `help` is shown as the cell's input message."""

    kind: str  # "list" or "date"
    values: tuple[str, ...] = ()
    help: str = ""


#: Rows of a sheet the rules cover beyond the rows written, for the rows people add.
VALIDATED_ROWS = 2000


def write_table(fh: IO[bytes], fmt: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                sheet: str = "cases", notes: Sequence[Sequence[Any]] | None = None,
                widths: dict[str, int] | None = None, rules: dict[str, CellRule] | None = None) -> int:
    """Write `rows` under the header `columns` as CSV or XLSX (sheet `sheet`; `notes`, when
    given, go to a second sheet "notes", which the imports never read; `rules`, data-validation
    lists and date checks by column, XLSX only). Returns the row count."""
    if fmt not in FORMATS:
        raise DomainError(_("unknown export format '%(format)s'; use csv or xlsx", format=fmt))
    if fmt == "xlsx":
        return _write_xlsx(fh, iter(rows), columns, sheet, notes, widths, rules)
    count = 0
    for chunk, written in _csv_chunks(iter(rows), columns):
        fh.write(chunk)
        count = written
    return count


def table_bytes(fmt: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], **options: Any) -> bytes:
    """`write_table` into bytes (small tables)."""
    buffer = io.BytesIO()
    write_table(buffer, fmt, columns, rows, **options)
    return buffer.getvalue()


def iter_csv(user: User | None, federation: Federation | None = None, stmt: Select | None = None) -> Iterator[bytes]:
    """The CSV export as a stream of byte chunks (for a streamed HTTP download)."""
    return iter_csv_query(export_statement(user, federation, stmt))


def iter_csv_query(query: Select, connection: Connection | None = None) -> Iterator[bytes]:
    """The CSV chunks of a query made by `export_statement`, read through `connection` when given
    (a streamed download reads after the view returned, outside the request's session)."""
    for chunk, _count in _csv_chunks(_rows(query, None, 0, connection)):
        yield chunk


# --- internals -----------------------------------------------------------------------------------

def _count(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def _rows(query: Select, progress: ExportProgress | None, total: int,
          connection: Connection | None = None) -> Iterator[tuple[Any, ...]]:
    """The rows of `query`, in its order, read `BATCH` at a time, each query to its end before its
    rows are written (decision 75: on SQLite an unfinished query holds the read lock while Python
    writes the file or sends the download, and every writer waits behind it). The ids come
    first, in order, from one short query; each batch is a contiguous slice of them read again
    under the same conditions and order, so a case changed meanwhile is written as it is then,
    or left out when it no longer qualifies (deleted)."""
    executor = connection if connection is not None else db.session
    ids = executor.execute(query.with_only_columns(Case.id)).scalars().all()
    done = 0
    for start in range(0, len(ids), BATCH):
        for row in executor.execute(query.where(Case.id.in_(ids[start:start + BATCH]))).all():
            yield tuple(row)
            done += 1
        if progress is not None:
            progress(done, total)
    if progress is not None and not ids:
        progress(done, total)


def _add_rules(sheet: Any, columns: Sequence[str], rules: dict[str, CellRule], last_row: int) -> None:
    """Excel data validation: a drop-down of the allowed codes, or a date check, per column."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    for index, name in enumerate(columns, 1):
        rule = rules.get(name)
        if rule is None:
            continue
        if rule.kind == "list":
            validation = DataValidation(type="list", formula1='"' + ",".join(rule.values) + '"', allow_blank=True)
        else:
            validation = DataValidation(type="date", operator="between", formula1="DATE(1900,1,1)",
                                        formula2="DATE(2100,12,31)", allow_blank=True)
        validation.error = _("Not an allowed value for %(column)s.", column=name)[:225]
        validation.errorTitle = name[:32]
        validation.showErrorMessage = True
        if rule.help:
            validation.prompt, validation.promptTitle = rule.help[:255], name[:32]
            validation.showInputMessage = True
        letter = get_column_letter(index)
        validation.add(f"{letter}2:{letter}{last_row}")
        sheet.data_validations.append(validation)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):  # before str: the vocabularies are StrEnums
        return str(value.value)
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _csv_chunks(rows: Iterator[Sequence[Any]], columns: Sequence[str] = CASE_FIELDS) -> Iterator[tuple[bytes, int]]:
    """(encoded chunk, rows written so far); the first chunk is the BOM and the header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
        count += 1
        if count % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8"), count
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8"), count


def _write_xlsx(fh: IO[bytes], rows: Iterator[Sequence[Any]], columns: Sequence[str] = CASE_FIELDS,
                title: str = "cases", notes: Sequence[Sequence[Any]] | None = None,
                widths: dict[str, int] | None = None, rules: dict[str, CellRule] | None = None) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    widths = {**_COLUMN_WIDTHS, **(widths or {})}
    for index, name in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(name, 14)
    bold = Font(bold=True)
    header = []
    for name in columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)

    def text_cell(text: str) -> Any:
        if not text.startswith(FORMULA_PREFIXES):
            return text
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
        cell.quotePrefix = True
        return cell

    count = 0
    for row in rows:
        count += 1
        if count > XLSX_MAX_ROWS:
            raise DomainError(_("more than %(count)s cases do not fit in an XLSX sheet; export as CSV",
                                  count=format_number(XLSX_MAX_ROWS)))
        # openpyxl writes date values as date cells with the yyyy-mm-dd format.
        sheet.append([
            value.value if isinstance(value, Enum)
            else text_cell(value) if isinstance(value, str)
            else value
            for value in row
        ])
    _add_rules(sheet, columns, rules or {}, count + 1 + VALIDATED_ROWS)
    if notes is not None:
        notes_sheet = workbook.create_sheet("notes")
        notes_sheet.column_dimensions["A"].width = 18
        notes_sheet.column_dimensions["B"].width = 16
        notes_sheet.column_dimensions["C"].width = 100
        for line in notes:
            notes_sheet.append([text_cell(v) if isinstance(v, str) else v for v in line])
    workbook.save(fh)
    return count
