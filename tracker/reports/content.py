"""The annual report as plain frozen data: sections made of paragraphs, key figures, tables and
figures. The assembler (`annual.py`) builds it; every renderer (HTML/PDF, XLSX, CSV) reads only
this, so the four formats always publish the same figures.

A table cell holds one of: an int or float, a str, None (not available: e.g. a horizon beyond
the longest follow-up), an `Estimate` (a proportion or ratio with its 95 % CI), or
`CONFIDENTIAL` (withheld: see `tracker.reports.build.confidentiality`). Proportions are
fractions (0.612), shown as percentages by the renderers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

ColumnKind = Literal["text", "url", "year", "count", "pct", "ratio", "years", "est_pct", "est_ratio"]


class _Confidential:
    """Marker of a suppressed cell (one instance, `CONFIDENTIAL`)."""

    _instance: _Confidential | None = None

    def __new__(cls) -> _Confidential:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "CONFIDENTIAL"

    def __reduce__(self) -> str:
        return "CONFIDENTIAL"


CONFIDENTIAL = _Confidential()
CONFIDENTIAL_MARK = "c"
NOT_AVAILABLE_MARK = ":"


@dataclass(frozen=True)
class Estimate:
    """A proportion (or ratio) and its 95 % confidence interval; bounds may be None (S = 0)."""

    value: float
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class Sum:
    """In a published table, the cell `total` is the sum of the cells `parts` ((row, column)
    indexes): what a reader can subtract, and what secondary suppression protects."""

    parts: tuple[tuple[int, int], ...]
    total: tuple[int, int]

    @property
    def cells(self) -> tuple[tuple[int, int], ...]:
        return (*self.parts, self.total)


@dataclass(frozen=True)
class Column:
    """`printed` false: the column is in the XLSX and CSV files only (e.g. long web addresses).
    `width`: relative width in print (default: by kind)."""

    key: str
    label: str
    kind: ColumnKind = "text"
    printed: bool = True
    width: float | None = None


@dataclass(frozen=True)
class Note:
    """The 'Reading / Scope / Source' note under every table and figure."""

    reading: str
    scope: str
    source: str


@dataclass(frozen=True)
class Table:
    """A published table. `number` is its place in the report ("3.2"); `slug` names its XLSX
    sheet and CSV file; the last `total_rows` rows are totals (shown in bold)."""

    number: str
    slug: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: Note
    total_rows: int = 0
    footnotes: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()  # one language-independent key per row (default: from the labels)
    sums: tuple[Sum, ...] = ()  # the sums the table publishes (row and column totals)
    short: str = ""  # a few words naming it (its XLSX sheet)

    @property
    def row_keys(self) -> tuple[str, ...]:
        """A key per row for comparing editions: `keys`, else the label (and a second text label,
        e.g. the outcome), repeated labels numbered."""
        if self.keys:
            return self.keys
        seen: dict[str, int] = {}
        out = []
        for row in self.rows:
            label = f"{row[0]}|{row[1]}" if len(row) > 1 and isinstance(row[1], str) else str(row[0])
            seen[label] = seen.get(label, 0) + 1
            out.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
        return tuple(out)

    @property
    def has_confidential(self) -> bool:
        return any(cell is CONFIDENTIAL for row in self.rows for cell in row)

    @property
    def has_not_available(self) -> bool:
        return any(cell is None for row in self.rows for cell in row)

    def column(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    def cell(self, row_label: str, key: str) -> Any:
        """The cell of column `key` in the row whose first cell is `row_label` (tests, diffs)."""
        index = self.column(key)
        return next(row[index] for row in self.rows if row[0] == row_label)


@dataclass(frozen=True)
class Figure:
    """A chart as inline SVG (vector), with its note; `alt` describes it in words."""

    number: str
    slug: str
    title: str
    svg: str
    alt: str
    note: Note
    series: tuple[str, ...] = ()  # the groups drawn (a group whose closures are withheld is never drawn)


@dataclass(frozen=True)
class KeyFigure:
    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class Paragraph:
    """Plain text (escaped by the renderer). `kind`: p, list (items), caveat, citations (items)."""

    text: str = ""
    kind: Literal["p", "list", "caveat", "citations", "definitions", "box"] = "p"
    items: tuple[str, ...] = ()
    title: str = ""


Block = Paragraph | Table | Figure | tuple[KeyFigure, ...]


@dataclass(frozen=True)
class Section:
    number: str
    slug: str
    title: str
    blocks: tuple[Block, ...]
    annex: bool = False


@dataclass(frozen=True)
class EditionInfo:
    """Where this edition stands: its number for (year, scope), the previous one, the changes."""

    number: int | None  # None: a draft
    generated_at: datetime
    generated_by: str
    official: bool = True
    previous_number: int | None = None
    previous_generated_at: datetime | None = None
    changes: tuple[Any, ...] = ()  # JSON items (tracker.reports.changes)

    @property
    def author(self) -> str:
        """Who generated it, for the reader: an email, or the command line in the report's language."""
        from flask_babel import gettext

        return gettext("command line") if self.generated_by == COMMAND_LINE else self.generated_by


#: `EditionInfo.generated_by` of an edition published at the command line (kept in English).
COMMAND_LINE = "command line"


@dataclass(frozen=True)
class AnnualReport:
    year: int
    as_of: date
    scope: str  # ALL or the federation code
    scope_label: str
    app_version: str
    fingerprint: str
    sections: tuple[Section, ...]
    inputs: dict[str, Any] = field(default_factory=dict)  # summary of the inputs, for diffs
    edition: EditionInfo | None = None
    headline: str = ""  # the finding, as the title of page 1
    lead: str = ""
    key_figures: tuple[KeyFigure, ...] = ()
    confidential_note: str = ""  # empty: nothing is withheld (a federation's own edition)

    @property
    def title(self) -> str:
        from flask_babel import gettext as _

        return _("Survival of enterprises transferred to their employees: annual report %(year)s", year=self.year)

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(b for s in self.sections for b in s.blocks if isinstance(b, Table))

    @property
    def figures(self) -> tuple[Figure, ...]:
        return tuple(b for s in self.sections for b in s.blocks if isinstance(b, Figure))

    def table(self, slug: str) -> Table:
        return next(t for t in self.tables if t.slug == slug)
