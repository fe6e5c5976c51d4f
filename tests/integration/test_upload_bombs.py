"""Small files that would be enormous to read (services.spreadsheets.readers): each is refused with a
clear message after reading a bounded number of rows and cells, whatever the file declares about
itself. The figures asserted are counts of what was read, not times (no timed assertions)."""

from __future__ import annotations

import tracemalloc

import pytest

from tests.integration.support_workbooks import header_and_case, text_row, workbook
from tests.integration.test_imports import case_row, csv_bytes, rejected, run
from tracker.services.casework.cases import CASE_FIELDS
from tracker.services.spreadsheets import imports, readers
from tracker.services.spreadsheets.readers import Limits, Tally, Unreadable


@pytest.fixture
def fed(make_federation):
    return make_federation(code="BOMB", country="FR")


@pytest.fixture(scope="module")
def column_xfd_bomb() -> bytes:
    """The attack as reported: ~5 MB, a million rows each holding one cell in column XFD; read
    padded to the sheet's width it is 16,384 cells a row."""
    data = workbook(b"".join(b'<row r="%d"><c r="XFD%d"><v>1</v></c></row>' % (i, i) for i in range(1, 1_000_001)))
    assert 4_000_000 < len(data) < 6_000_000
    return data


@pytest.fixture(scope="module")
def dimension_bomb() -> bytes:
    """The attack as reported: under 2 KB, declaring A1:XFD1048576 (a reader trusting the
    dimension pads a million rows of 16,384 cells)."""
    data = workbook(header_and_case(), before=b'<dimension ref="A1:XFD1048576"/>')
    assert len(data) < 2000
    return data


def read_all(data: bytes, limits: Limits | None = None) -> tuple[list[tuple[int, list]], Tally]:
    tally = Tally()
    return list(readers.xlsx_rows(data, limits or Limits(), tally)), tally


def test_a_sheet_with_a_value_in_column_xfd_is_refused_at_its_first_row(app, column_xfd_bomb):
    tally = Tally()
    with pytest.raises(Unreadable) as refused:
        list(readers.xlsx_rows(column_xfd_bomb, Limits(), tally))
    assert refused.value.row == 1
    assert "row 1 has a value in column XFD; the import reads only columns A to AF" in refused.value.message
    assert tally.cells == 1  # one cell read of the million


def test_the_column_xfd_bomb_gets_a_clear_message_from_the_import(fed, column_xfd_bomb):
    rejected(fed, column_xfd_bomb, {(1, "")}, "has a value in column XFD", filename="cases.xlsx")


def test_a_declared_dimension_is_not_read_as_rows(app, dimension_bomb):
    tracemalloc.start()
    try:
        rows, tally = read_all(dimension_bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    filled = [name for name, value in case_row().items() if value]
    assert [number for number, _ in rows] == [1, 2]
    # Each row as wide as its rightmost value: the case row ends with last_verified_on.
    assert [len(cells) for _, cells in rows] == [len(CASE_FIELDS), CASE_FIELDS.index("last_verified_on") + 1]
    assert (tally.rows, tally.cells) == (2, len(CASE_FIELDS) + len(filled))
    assert peak < 5 * 2**20


def test_the_dimension_bomb_imports_its_one_case(fed, dimension_bomb):
    result = run(fed, dimension_bomb, filename="cases.xlsx")
    assert result.ok and result.created == 1, result.problems


def test_empty_formatted_cells_right_of_the_table_are_skipped_but_counted(app):
    rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c><c r="XFD%d" s="1"/></row>'
                    % (i, i, i) for i in range(1, 4))
    read, tally = read_all(workbook(rows))
    assert [cells for _, cells in read] == [["x"]] * 3
    assert tally.cells == 6


def test_reading_stops_at_the_first_case_row_past_the_limit(app):
    data = workbook(b"".join(text_row(i, ["ref", "name"]) for i in range(1, 1001)))
    tally = Tally()
    with pytest.raises(Unreadable) as refused:
        list(readers.xlsx_rows(data, Limits(rows=10), tally))
    assert "more than 10 case rows" in refused.value.message and refused.value.row == 12
    assert tally.rows == 12


def test_blank_rows_are_counted_too(app):
    data = workbook(b"".join(b'<row r="%d"><c r="B%d" s="1"/></row>' % (i, i) for i in range(1, 10_001)))
    tally = Tally()
    with pytest.raises(Unreadable) as refused:
        list(readers.xlsx_rows(data, Limits(rows=100), tally))
    assert "more than 202 rows, blank ones included" in refused.value.message
    assert tally.rows == 203


def test_cells_are_counted_whatever_their_column(app):
    cells = "".join(f'<c r="{readers.column_letter(c)}1" s="1"/>' for c in range(40, 16384)).encode()
    tally = Tally()
    with pytest.raises(Unreadable) as refused:
        list(readers.xlsx_rows(workbook(b'<row r="1">' + cells + b"</row>"), Limits(rows=10), tally))
    assert "more than 352 cells" in refused.value.message
    assert tally.cells == 353


def test_reading_stops_when_time_is_up(app):
    """A zero time limit: the first look at the clock stops the reading (no timing is measured)."""
    data = workbook(b"".join(text_row(i, ["a", "b"]) for i in range(1, 5001)))
    with pytest.raises(Unreadable) as refused:
        read_all(data, Limits(seconds=0))
    assert "reading the file took more than 0 seconds (stopped at row 2048)" in refused.value.message


def test_the_expansion_limit_follows_the_files_own_size(app):
    padding = b"<row/>" * 2_000_000  # 12 MB that deflate squeezes to a few kilobytes
    data = workbook(header_and_case() + padding)
    with pytest.raises(Unreadable) as refused:
        read_all(data)
    assert "more than 30 times its own size" in refused.value.message
    assert Limits().expanded_bytes(len(data)) == readers.XLSX_MIN_EXPANDED  # a small file: the floor
    assert Limits().expanded_bytes(10 * 2**20) == 300 * 2**20  # a large one: 30 times its size


def test_a_broken_sheet_is_one_clear_problem(app):
    with pytest.raises(Unreadable) as refused:
        read_all(workbook(text_row(1, ["ref"]) + b'<row r="1"><c r="A1"><v>1</v></c></row>'))
    assert "first sheet cannot be read (stopped at row 2)" in refused.value.message


# --- CSV ------------------------------------------------------------------------------------------

def csv_read(text: str, limits: Limits | None = None) -> tuple[list[tuple[int, list]], Tally]:
    tally = Tally()
    return list(readers.csv_rows(readers.lines_of(text), ",", limits or Limits(), tally)), tally


def test_a_csv_line_longer_than_the_limit_is_refused_without_reading_it_whole(app):
    text = "ref,name\r\nA,B\r\n" + "x" * 5_000_000 + "\r\nC,D\r\n"
    with pytest.raises(Unreadable) as refused:
        csv_read(text)
    assert "line 3 is longer than 65,536 characters" in refused.value.message and refused.value.row == 3


def test_a_20_mb_line_without_a_newline_is_refused_by_the_import(fed):
    rejected(fed, b"ref," + b"a" * (20 * 2**20 - 10), {(1, "")}, "line 1 is longer than 65,536 characters")


def test_a_csv_value_right_of_the_columns_read_is_refused(app):
    with pytest.raises(Unreadable) as refused:
        csv_read("ref,name\r\n" + "A,B" + "," * 40 + "x\r\n")
    assert "row 2 has a value in column AP" in refused.value.message


def test_empty_csv_cells_right_of_the_columns_read_are_dropped(app):
    rows, tally = csv_read("ref,name" + "," * 100 + "\r\nA,B\r\n")
    assert [len(cells) for _, cells in rows] == [32, 2]
    assert tally.cells == 104


def test_csv_rows_past_the_limit_stop_the_reading(app):
    with pytest.raises(Unreadable) as refused:
        csv_read("ref,name\r\n" + "A,B\r\n" * 1000, Limits(rows=5))
    assert "more than 5 case rows" in refused.value.message and refused.value.row == 7


def test_the_bulk_limits_read_any_number_of_rows(app):
    rows, tally = csv_read("ref,name\r\n" + "A,B\r\n" * 3000, Limits(rows=5).with_rows(None))
    assert len(rows) == 3001 and tally.case_rows == 3000


def test_a_csv_file_over_the_row_limit_gets_a_clear_message(fed, monkeypatch):
    monkeypatch.setattr(imports, "UPLOAD_LIMITS", Limits(rows=3))
    data = csv_bytes([case_row(ref=f"R-{i}") for i in range(10)])
    rejected(fed, data, {(5, "")}, "more than 3 case rows")
