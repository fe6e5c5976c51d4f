"""The rows of an uploaded CSV or XLSX file, read within bounds that hold whatever the file claims.

A spreadsheet can be small on disk and enormous when read: a 5 MB workbook whose rows each hold
one cell in column XFD (the last of 16,384) becomes gigabytes once every row is padded to that
width, and a 2 KB one that only *declares* `<dimension ref="A1:XFD1048576"/>` keeps a reader that
trusts it padding a million rows for minutes. So the readers here trust nothing the file says
about itself and count what they actually read (`Tally`), against `Limits`:

- Columns: only the first `columns` columns (A..AF) are read; each row is as wide as its
  rightmost value within them, never as the sheet's declared dimension. A value further right is
  a problem at its row, and reading stops there: the file is not a table of the import's columns.
  Empty (formatted) cells further right are skipped.
- Rows: reading stops at the first case row past `rows` (the header and blank rows do not count
  as case rows); the row elements read, blank ones included, are bounded too (`2 × rows`).
- Cells: every cell read counts, those skipped included, up to `(rows + 1) × columns`.
- Time: reading stops after `seconds`.
- XLSX: the uncompressed size of the archive's members may be at most `expansion` times the
  file's own size (with a floor for the fixed parts of a tiny workbook); zipfile never
  decompresses past a member's declared size, so that sum bounds what is inflated. The sheet is
  read with openpyxl's low-level worksheet parser (its cell decoding: shared strings, dates,
  booleans, formulas) one cell element at a time, each dropped once read, so no row or sheet is
  ever held as an XML tree.
- CSV: a physical line may be at most `line_chars` characters (a quoted cell spanning lines
  counts per line); a NUL character refuses the file.

`Limits.bulk()` lifts the row, cell and time bounds for the administrators' command line, which
streams files of any size; the column and line bounds always hold, so memory stays bounded per row.
"""

from __future__ import annotations

import csv
import io
import itertools
import time
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import IO, Any

from flask_babel import gettext as _
from openpyxl.utils import get_column_letter

from tracker.i18n import format_number

MAX_ROWS = 1_000_000
MAX_COLUMNS = 32
READ_SECONDS = 60.0
MAX_LINE_CHARS = 65_536
#: Uncompressed bytes allowed per byte of XLSX file: worksheets compress about 8-12 times (a
#: 100,000-case export: 10x); a zip bomb thousands of times.
XLSX_EXPANSION = 30
#: A tiny workbook's styles, theme and relationships compress far better than its data.
XLSX_MIN_EXPANDED = 4 * 1024 * 1024
_CHECK_EVERY = 4096  # rows or cells between two looks at the clock


@dataclass(frozen=True)
class Limits:
    rows: int | None = MAX_ROWS  # case rows; None: unbounded (the bulk command line)
    columns: int = MAX_COLUMNS
    seconds: float | None = READ_SECONDS
    line_chars: int = MAX_LINE_CHARS
    expansion: int = XLSX_EXPANSION

    @classmethod
    def bulk(cls) -> Limits:
        """The command line's: any number of rows, no time limit; columns and lines still bounded."""
        return cls(rows=None, seconds=None)

    def with_rows(self, rows: int | None) -> Limits:
        return replace(self, rows=rows)

    def expanded_bytes(self, size: int) -> int:
        """The uncompressed size allowed for an XLSX file of `size` bytes."""
        return max(XLSX_MIN_EXPANDED, self.expansion * size)

    @property
    def cells(self) -> int | None:
        return None if self.rows is None else (self.rows + 1) * self.columns

    @property
    def row_elements(self) -> int | None:
        return None if self.rows is None else 2 * (self.rows + 1)


@dataclass
class Tally:
    """What a reader has read so far: rows (CSV records, XLSX row elements, blank ones included),
    cells (every CSV field and XLSX cell element, skipped ones included), case rows (non-blank,
    after the header)."""

    rows: int = 0
    cells: int = 0
    case_rows: int = 0


class Unreadable(Exception):
    """The file cannot be read as a table within the limits. `row` is the spreadsheet row, 0 for
    the file as a whole."""

    def __init__(self, message: str, row: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


class Formula(str):
    """A cell holding a formula (an XLSX formula cell, or CSV text starting with =): refused."""

    __slots__ = ()


def blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def column_letter(index: int) -> str:
    """The spreadsheet name of the 0-based column `index` (0 → A, 31 → AF)."""
    return get_column_letter(index + 1)


class _Bounds:
    """Counts what a reader reads against its limits; raises Unreadable when one is passed."""

    def __init__(self, limits: Limits, tally: Tally) -> None:
        self.limits = limits
        self.tally = tally
        self.deadline = None if limits.seconds is None else time.monotonic() + limits.seconds
        self.header_seen = False

    def row(self, number: int, cells: list[Any]) -> None:
        """Count one row (its cells already counted); blank rows count only as rows."""
        tally, limits = self.tally, self.limits
        tally.rows += 1
        if limits.row_elements is not None and tally.rows > limits.row_elements:
            raise Unreadable(_("the file has more than %(count)s rows, blank ones included; split it into smaller "
                               "files", count=format_number(limits.row_elements)), number)
        if tally.rows % _CHECK_EVERY == 0:
            self.clock(number)
        if all(blank(cell) for cell in cells):
            return
        if not self.header_seen:
            self.header_seen = True
            return
        tally.case_rows += 1
        if limits.rows is not None and tally.case_rows > limits.rows:
            raise Unreadable(_("the file has more than %(count)s case rows; split it into smaller files",
                               count=format_number(limits.rows)), number)

    def cells(self, count: int, number: int) -> None:
        tally = self.tally
        before = tally.cells
        tally.cells += count
        if self.limits.cells is not None and tally.cells > self.limits.cells:
            raise Unreadable(_("the file holds more than %(count)s cells; split it into smaller files",
                               count=format_number(self.limits.cells)), number)
        if before // _CHECK_EVERY != tally.cells // _CHECK_EVERY:
            self.clock(number)

    def clock(self, number: int) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise Unreadable(_("reading the file took more than %(seconds)s seconds (stopped at row %(row)s); "
                               "split it into smaller files", seconds=format_number(self.limits.seconds),
                               row=number), number)

    def too_wide(self, number: int, column: int) -> Unreadable:
        """The problem of a value in the 1-based `column`, right of the columns read."""
        return Unreadable(_("row %(row)s has a value in column %(column)s; the import reads only columns A to "
                            "%(last)s: the sheet must hold nothing but the table of cases, delete what is right "
                            "of it", row=number, column=column_letter(column - 1),
                            last=column_letter(self.limits.columns - 1)), number)


# --- CSV -----------------------------------------------------------------------------------------

def csv_rows(text: IO[str], delimiter: str, limits: Limits, tally: Tally | None = None
             ) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cells) of the CSV `text` (a text stream opened with newline=""), counted
    against `limits`. Cells starting with `=` are Formula. Raises Unreadable."""
    bounds = _Bounds(limits, tally or Tally())
    reader = csv.reader(_bounded_lines(text, limits.line_chars), delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(reader, 1):
            bounds.cells(len(cells), number)
            if len(cells) > limits.columns:
                cells = _cut(cells, limits.columns, number, bounds)
            if any(map(str.startswith, cells, _EQUALS)):  # cell[:1] == "=", without a Python call per cell
                cells = [Formula(cell) if cell[:1] == "=" and len(cell) > 1 else cell for cell in cells]
            bounds.row(number, cells)
            yield number, cells
    except csv.Error as exc:
        raise Unreadable(_("cannot be read as CSV (%(error)s); nothing after this row was read", error=str(exc)),
                         row=number + 1) from None
    except _LongLine as exc:
        raise Unreadable(_("line %(line)s is longer than %(count)s characters: this is not a table of cases; "
                           "nothing after it was read", line=exc.line, count=format_number(limits.line_chars)),
                         row=number + 1) from None
    except _NulCharacter as exc:
        raise Unreadable(_("the file holds NUL characters (first on line %(line)s): it is not a text CSV file; save "
                           "it as CSV UTF-8 or as XLSX", line=exc.line)) from None


_EQUALS = itertools.repeat("=")


def _cut(cells: list[str], columns: int, number: int, bounds: _Bounds) -> list[str]:
    for index in range(columns, len(cells)):
        if not blank(cells[index]):
            raise bounds.too_wide(number, index + 1)
    return cells[:columns]


class _LongLine(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


class _NulCharacter(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _bounded_lines(text: IO[str], limit: int) -> Iterator[str]:
    """The physical lines of `text`, none longer than `limit` characters (_LongLine), none holding NUL."""
    number = 0
    while True:
        line = text.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(("\n", "\r")):
            raise _LongLine(number)
        if "\x00" in line:
            raise _NulCharacter(number)
        yield line


# --- XLSX ----------------------------------------------------------------------------------------

def xlsx_rows(data: bytes, limits: Limits, tally: Tally | None = None) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cells) of the first sheet of the XLSX `data`, counted against `limits`.
    Formula cells are Formula. Raises Unreadable."""
    _check_expansion(data, limits)
    book = _open_workbook(data)
    bounds = _Bounds(limits, tally or Tally())
    number = 0
    try:
        with warnings.catch_warnings(), book.archive.open(book.sheet_path) as source:
            warnings.simplefilter("ignore")  # e.g. a date cell out of range: read as an error value
            for number, cells in _elements(source, book.parser, bounds):
                yield number, cells
    except Unreadable:
        raise
    except Exception:
        raise Unreadable(_("the workbook's first sheet cannot be read (stopped at row %(row)s)", row=number + 1),
                         number + 1) from None
    finally:
        book.archive.close()


def _check_expansion(data: bytes, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise Unreadable(_("the file looks like a zip archive but is not a readable XLSX workbook")) from None
    if expanded > limits.expanded_bytes(len(data)):
        raise Unreadable(_("the workbook expands to %(expanded)s, more than %(ratio)s times its own size: it is not "
                           "an ordinary spreadsheet; save it again from your spreadsheet program, or split it",
                           expanded=_megabytes(expanded), ratio=limits.expansion))


@dataclass
class _Book:
    archive: zipfile.ZipFile
    sheet_path: str
    parser: Any  # openpyxl's WorkSheetParser, for its cell decoding


def _open_workbook(data: bytes) -> _Book:
    """The parts of the workbook a sheet's cells need (shared strings, date styles, epoch) and the
    path of its first worksheet, read with openpyxl's reader step by step: its load_workbook would
    also measure every sheet up front, parsing a sheet whole when it declares no dimension."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.worksheet._reader import WorkSheetParser

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # about formatting the import ignores ("no default style")
            reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=False)
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
            paths = [rel.target for _sheet, rel in reader.parser.find_sheets()
                     if "chartsheet" not in rel.Type and rel.target in reader.valid_files]
    except Exception:
        # openpyxl raises many exception types on malformed workbooks: each is this one message.
        raise Unreadable(_("the file is not a readable XLSX workbook")) from None
    if not paths:
        reader.archive.close()
        raise Unreadable(_("the workbook has no sheet"))
    workbook: Any = reader.wb  # its date styles are set by apply_stylesheet, outside the stubs
    parser = WorkSheetParser(io.BytesIO(), reader.shared_strings, data_only=False, epoch=workbook.epoch,
                             date_formats=workbook._date_formats, timedelta_formats=workbook._timedelta_formats)
    return _Book(reader.archive, paths[0], parser)


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _DATA = f"{_NS}row", f"{_NS}c", f"{_NS}sheetData"


def _elements(source: IO[bytes], parser: Any, bounds: _Bounds) -> Iterator[tuple[int, list[Any]]]:
    """Walk the sheet XML; elements are removed from the tree once read (cells from their row, rows
    from sheetData, the sheet's other parts from the root), so memory holds one cell of one row."""
    from openpyxl.xml.functions import iterparse

    stack: list[Any] = []
    number = 0
    values: list[Any] = []
    for event, element in iterparse(source, events=("start", "end")):
        if event == "start":
            stack.append(element)
            if element.tag == _ROW:
                number = _row_number(element, number)
                parser.row_counter, parser.col_counter, values = number, 0, []
            continue
        stack.pop()
        parent = stack[-1] if stack else None
        if element.tag == _CELL:
            bounds.cells(1, number)
            _read_cell(parser.parse_cell(element), values, number, bounds)
        elif element.tag == _ROW:
            bounds.row(number, values)
            yield number, values
        elif element.tag == _DATA:
            return  # what follows the cells (merged ranges, formatting, ...) says nothing the import reads
        if parent is not None and (element.tag in (_ROW, _CELL) or len(stack) == 1):
            parent.remove(element)  # a cell's own children stay until the cell is read


def _row_number(element: Any, previous: int) -> int:
    text = element.get("r")
    if text is None:
        return previous + 1
    number = int(text)
    if number <= previous:
        raise ValueError("rows out of order")
    return number


def _read_cell(cell: dict[str, Any], values: list[Any], number: int, bounds: _Bounds) -> None:
    value, column = cell["value"], cell["column"]
    if column > bounds.limits.columns:
        if not blank(value):
            raise bounds.too_wide(number, column)
        return
    if cell["data_type"] == "f":
        value = Formula(value if isinstance(value, str) else "=...")
    if value is None:
        return
    if len(values) < column:
        values.extend([None] * (column - len(values)))
    values[column - 1] = value


def _megabytes(size: int) -> str:
    return _("%(size)s MB", size=format_number(size / (1024 * 1024), digits=1))


def lines_of(text: str) -> IO[str]:
    """A text stream over `text` as csv_rows reads it (newlines kept as they are)."""
    return io.StringIO(text, newline="")


__all__ = ["Formula", "Limits", "Tally", "Unreadable", "blank", "column_letter", "csv_rows", "lines_of",
           "xlsx_rows", "MAX_COLUMNS", "MAX_ROWS"]
