"""How national spreadsheets write a CSV file: its encoding, its delimiter and the order of its
dates. Each question has its own function, so the import (and any other reader) can say what it
found: "read as Windows-1252, `;`-delimited, dates day first (31/12/2023)".

- Encoding (`decode_text`): a UTF-8 or UTF-16 byte-order mark decides; else strict UTF-8; else
  Windows-1252 (what Excel writes on French, Italian, Spanish and Belgian Windows), or ISO-8859-1
  (Latin-1) when the file holds a byte Windows-1252 leaves undefined. Bytes that are neither UTF-8
  nor text (control bytes: an image, a PDF, an old .xls) are refused.
- Delimiter (`sniff_delimiter`): of `,`, `;` and TAB, the one the header line holds most of
  (`,` when none): French, Italian, Spanish Excel write `;`, because `,` is their decimal mark.
- Dates (`read_date`, `date_order_of`): ISO `2023-12-31` always; otherwise day, month and year
  separated by `/`, `.` or `-` with a four-digit year, read in one order for the whole file. A day
  above 12 in the first place (31/12/2023) shows the day comes first, in the second place
  (12/31/2023) that the month does; a file where no date tells (every day ≤ 12) is ambiguous and
  read in the national order of the federation's country (day first in FR, IT, ES, BE and most
  of Europe), and says so.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tracker.vocabulary import Labels

DAY_FIRST, MONTH_FIRST, YEAR_FIRST = "DMY", "MDY", "YMD"

#: Countries whose usual numeric date is not day first. Every other country reads day first.
NATIONAL_DATE_ORDER: dict[str, str] = {
    "US": MONTH_FIRST, "PH": MONTH_FIRST, "CA": YEAR_FIRST,
    "CN": YEAR_FIRST, "JP": YEAR_FIRST, "KR": YEAR_FIRST, "TW": YEAR_FIRST,
    "HU": YEAR_FIRST, "LT": YEAR_FIRST, "SE": YEAR_FIRST,
}

#: Bytes Windows-1252 leaves undefined: a file holding one is Latin-1 (or something else).
_UNDEFINED_IN_CP1252 = frozenset(b"\x81\x8d\x8f\x90\x9d")
_UNDEFINED_RE = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
#: Bytes no text file holds (C0 controls but TAB, LF, CR): their presence means a binary file.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BINARY_SIGNATURES = {b"%PDF-": _l("the file is a PDF document, not UTF-8, Windows-1252 or Latin-1 text nor an "
                                     "XLSX workbook"),
                      b"\x89PNG": _l("the file is a PNG image, not UTF-8, Windows-1252 or Latin-1 text nor an XLSX "
                                     "workbook"),
                      b"\xff\xd8\xff": _l("the file is a JPEG image, not UTF-8, Windows-1252 or Latin-1 text nor an "
                                         "XLSX workbook"),
                      b"GIF8": _l("the file is a GIF image, not UTF-8, Windows-1252 or Latin-1 text nor an XLSX "
                                  "workbook"),
                      b"{\\rtf": _l("the file is an RTF document, not UTF-8, Windows-1252 or Latin-1 text nor an "
                                    "XLSX workbook")}
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_NUMERIC = re.compile(r"(\d{1,4})([/.\-])(\d{1,2})\2(\d{1,4})")


class UnreadableText(ValueError):
    """The bytes are not text in any encoding the import reads."""


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str  # Python codec name: utf-8-sig, utf-8, utf-16, cp1252, latin-1

    @property
    def label(self) -> str:
        """The encoding as people know it ("UTF-8 with BOM", "Windows-1252")."""
        return ENCODING_LABELS[self.encoding]


ENCODING_LABELS = Labels({
    "utf-8-sig": _l("UTF-8 (with BOM)"),
    "utf-8": "UTF-8",
    "utf-16": _l("UTF-16 (with BOM)"),
    "cp1252": "Windows-1252",
    "latin-1": "ISO-8859-1 (Latin-1)",
})

DELIMITER_LABELS = Labels({",": _l("comma (,)"), ";": _l("semicolon (;)"), "\t": _l("tab")})


def decode_text(data: bytes) -> DecodedText:
    """The text of a CSV file and the encoding it was read in (module rules). Raises
    UnreadableText for bytes that are no text (NUL bytes outside UTF-16)."""
    if data.startswith(codecs.BOM_UTF8):
        return DecodedText(data.decode("utf-8-sig", errors="strict"), "utf-8-sig") if _is_utf8(data[3:]) \
            else _single_byte(data[3:])
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return DecodedText(data.decode("utf-16"), "utf-16")
        except UnicodeDecodeError as exc:
            raise UnreadableText(_("the file starts as UTF-16 text but byte %(position)s is not UTF-16",
                                   position=exc.start)) from None
    if _is_utf8(data):
        return DecodedText(data.decode("utf-8"), "utf-8")
    return _single_byte(data)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _single_byte(data: bytes) -> DecodedText:
    for signature, message in _BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise UnreadableText(str(message))
    control = _CONTROL.search(data)
    if control:
        position = control.start()
        byte = f"0x{data[position]:02x}"
        raise UnreadableText(_("the file is not UTF-8, Windows-1252 or Latin-1 text (byte %(byte)s at position "
                               "%(position)s) nor an XLSX workbook", byte=byte, position=position))
    if any(byte in _UNDEFINED_IN_CP1252 for byte in data):
        return DecodedText(data.decode("latin-1"), "latin-1")
    return DecodedText(data.decode("cp1252"), "cp1252")


def sniff_delimiter(header_line: str) -> str:
    """`,`, `;` or TAB: the one the header line holds most of; `,` on a tie or when none."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def national_date_order(country: str | None) -> str:
    """DAY_FIRST, MONTH_FIRST or YEAR_FIRST: how the country writes a numeric date."""
    return NATIONAL_DATE_ORDER.get((country or "").upper(), DAY_FIRST)


def read_date(text: str, order: str) -> date | None:
    """The date written in `text`: ISO (always), or three numbers in `order` with a four-digit
    year. None when `text` is not such a date (the validator then says what it expects)."""
    text = text.strip()
    if iso := _ISO.fullmatch(text):
        return _date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
    match = _NUMERIC.fullmatch(text)
    if not match:
        return None
    first, _sep, second, third = match.groups()
    year, month, day = _in_order(first, second, third, order)
    if len(year) != 4:
        return None  # a two-digit year leaves the century to guess
    return _date(int(year), int(month), int(day))


def _in_order(first: str, second: str, third: str, order: str) -> tuple[str, str, str]:
    """(year, month, day) of three numbers written in `order`."""
    if order == YEAR_FIRST:
        year, month, day = first, second, third
    elif order == MONTH_FIRST:
        month, day, year = first, second, third
    else:
        day, month, year = first, second, third
    return year, month, day


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class DateOrder:
    """How the dates of a file are read: `order` for its numeric dates, whether the file itself
    showed it or it is the national order applied to an ambiguous file, and a sample."""

    order: str  # DAY_FIRST, MONTH_FIRST, YEAR_FIRST; ISO dates are read as ISO in any order
    national: str
    evidence: str  # "iso" (only ISO dates), "file" (a date showed the order), "national" (ambiguous)
    sample: str | None = None  # a date as written in the file
    sample_read: date | None = None  # and as it was read

    @property
    def ambiguous(self) -> bool:
        return self.evidence == "national"


def date_order_of(values: Iterable[str], national: str) -> DateOrder:
    """The order to read the file's numeric dates in: what its dates show (a day above 12 in the
    first or second place, or a four-digit year first), else the `national` order (day first when
    the national order is year first: a year never hides). When both day-first and month-first
    dates occur, the order more dates show wins, and the dates that contradict it fail validation."""
    evidence = DateEvidence()
    for raw in values:
        evidence.add(raw)
    return evidence.order(national)


class DateEvidence:
    """What the dates of a file show about their order, counted one text at a time (a file of any
    size is read once): `add` each date text, then `order` (the rules of date_order_of). The sample
    shown with the order is a date of the file that reads in it — one that shows the order when
    there is one — never a text the validator will refuse (2024-13-01 read as nothing)."""

    def __init__(self) -> None:
        self.shown = {DAY_FIRST: 0, MONTH_FIRST: 0, YEAR_FIRST: 0}
        self.numeric = False  # any date written as three numbers other than ISO
        self.iso: str | None = None
        self.showing: dict[str, str] = {}  # by order: the first date that shows it and reads in it
        self.readable: dict[str, str] = {}  # by order: the first date that reads in it

    def add(self, raw: str) -> None:
        text = raw.strip()
        if _ISO.fullmatch(text):
            if self.iso is None and read_date(text, YEAR_FIRST) is not None:
                self.iso = text
            return
        match = _NUMERIC.fullmatch(text)
        if not match:
            return
        first, _sep, second, _third = match.groups()
        self.numeric = True
        kind = YEAR_FIRST if len(first) == 4 else DAY_FIRST if int(first) > 12 else \
            MONTH_FIRST if int(second) > 12 else None
        if kind:
            self.shown[kind] += 1
            if kind not in self.showing and read_date(text, kind) is not None:
                self.showing[kind] = text
        for order in (DAY_FIRST, MONTH_FIRST, YEAR_FIRST):
            if order not in self.readable and read_date(text, order) is not None:
                self.readable[order] = text

    def order(self, national: str) -> DateOrder:
        shown = self.shown
        if not self.numeric:
            iso = self.iso
            return DateOrder(national, national, "iso", iso, read_date(iso, national) if iso else None)
        if shown[DAY_FIRST] or shown[MONTH_FIRST]:
            order = DAY_FIRST if shown[DAY_FIRST] >= shown[MONTH_FIRST] else MONTH_FIRST
            evidence = "file"
        elif shown[YEAR_FIRST]:
            order, evidence = YEAR_FIRST, "file"
        else:
            order, evidence = (national if national != YEAR_FIRST else DAY_FIRST), "national"
        sample = self.showing.get(order) or self.readable.get(order)
        return DateOrder(order, national, evidence, sample, read_date(sample, order) if sample else None)


def detect_encoding(chunks: Iterable[bytes]) -> DecodedText:
    """`decode_text`'s choice for a file read in chunks, without holding it (the command line's bulk
    import reads files of any size): the encoding, with `text` left empty. Same rules and messages."""
    scan = _EncodingScan()
    for chunk in chunks:
        if scan.feed(chunk):
            break
    return DecodedText("", scan.encoding())


class _EncodingScan:
    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.utf8, self.offset, self.head, self.bom = True, 0, b"", ""
        self.utf16 = self.undefined = False
        self.control: tuple[int, int] | None = None  # (position, byte) of the first control byte

    def feed(self, chunk: bytes) -> bool:
        """Take the next chunk; True when the encoding is already known (a UTF-16 BOM)."""
        if self.offset == 0 and not self.head:
            if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                self.utf16 = True  # strictly decoded as it is read
                return True
            if chunk.startswith(codecs.BOM_UTF8):
                self.bom, chunk = "utf-8-sig", chunk[3:]
            self.head = chunk[:16] or b" "
        if self.utf8:
            try:
                self.decoder.decode(chunk)
            except UnicodeDecodeError:
                self.utf8 = False
        found = _CONTROL.search(chunk) if self.control is None else None
        if found:
            self.control = (self.offset + found.start(), chunk[found.start()])
        self.undefined = self.undefined or _UNDEFINED_RE.search(chunk) is not None
        self.offset += len(chunk)
        return False

    def encoding(self) -> str:
        if self.utf16:
            return "utf-16"
        if self.utf8:
            try:
                self.decoder.decode(b"", final=True)
                return self.bom or "utf-8"
            except UnicodeDecodeError:
                pass
        for signature, what in _BINARY_SIGNATURES.items():
            if self.head.startswith(signature):
                raise UnreadableText(f"the file is {what}, not UTF-8, Windows-1252 or Latin-1 text nor an XLSX "
                                     "workbook")
        if self.control is not None:
            position, byte = self.control
            raise UnreadableText(f"the file is not UTF-8, Windows-1252 or Latin-1 text (byte 0x{byte:02x} "
                                 f"at position {position}) nor an XLSX workbook")
        return "latin-1" if self.undefined else "cp1252"
