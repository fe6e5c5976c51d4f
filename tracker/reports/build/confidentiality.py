"""Statistical confidentiality of the published report (not of researchers' exports).

It protects what identifies one enterprise's outcome, and nothing else:

- Primary suppression, in the public all-federation edition only (`Rules.active`): a count of
  closures or exits of 1 to REPORT_MIN_CELL − 1 (default 3, as Insee's rule), or any count of
  closures or exits in a group of fewer than REPORT_MIN_CELL enterprises; a survival or
  cumulative-incidence estimate resting on fewer than REPORT_MIN_CELL enterprises at risk at
  that horizon. Counts of transfers, of cases followed, of enterprises at risk and the data
  quality figures are not secret: they are always published. A federation's own edition (its
  own figures only) is never suppressed.
- Where a group's closure count is suppressed, its survival estimates after its first closure
  are suppressed too (with the number of enterprises, S(t) would give the count back), and no
  curve of that group is drawn.
- Secondary suppression (`protect`): where a table publishes totals, a suppressed value could be
  recovered by subtraction. Each table declares its sums (a row's components and total, a
  column and its total row); a cell is recoverable when some sum has it as its only unknown,
  counting cells recovered from other sums as known, and while one is, the smallest other
  suppressible cell of that sum is withheld too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from tracker.reports.content import CONFIDENTIAL, Estimate, Sum

DEFAULT_MIN_CELL = 3

Cell = tuple[int, int]  # (row index, column index)
__all__ = ["Rules", "Sum", "column_sums", "protect", "recoverable", "row_sums"]


@dataclass(frozen=True)
class Rules:
    """The confidentiality rules of one report: `active` in the public all-federation edition."""

    min_cell: int = DEFAULT_MIN_CELL
    active: bool = True

    def outcome_count(self, value: int, group_n: int | None = None) -> int | Any:
        """A count of closures or exits (of a group of `group_n` enterprises, if known)."""
        if not self.active:
            return value
        if 0 < value < self.min_cell or (group_n is not None and 0 < group_n < self.min_cell):
            return CONFIDENTIAL
        return value

    def estimate(self, value: float | None, lower: float | None, upper: float | None, at_risk: int,
                 reveals_hidden_count: bool = False) -> Estimate | None | Any:
        """A survival-type estimate at a horizon: None beyond follow-up; suppressed when fewer
        than min_cell enterprises are at risk, or when it would give back a suppressed count."""
        if value is None:
            return None
        if self.active and (at_risk < self.min_cell or reveals_hidden_count):
            return CONFIDENTIAL
        return Estimate(value, lower, upper)

    def point(self, value: float | None, at_risk: int, reveals_hidden_count: bool = False) -> float | None | Any:
        """A single value at a horizon (e.g. a cumulative incidence)."""
        if value is None:
            return None
        if self.active and (at_risk < self.min_cell or reveals_hidden_count):
            return CONFIDENTIAL
        return value

    def curve_allowed(self, at_risk: int) -> bool:
        return not self.active or at_risk >= self.min_cell

    def note(self) -> str:
        return _("c: confidential. In the public edition, a count of closures or exits of fewer than %(n)s "
                 "enterprises, or a survival estimate resting on fewer than %(n)s enterprises at risk, is not "
                 "published; where totals are shown, another figure of the same line may be withheld so that it "
                 "cannot be recovered by subtraction. Numbers of transfers, of enterprises followed or at risk, and "
                 "the data quality figures are always published.", n=self.min_cell)


def hidden(value: Any) -> bool:
    return value is CONFIDENTIAL


def row_sums(rows: Sequence[Sequence[Any]], parts: Sequence[int], total: int, skip: Iterable[int] = ()) -> list[Sum]:
    """One sum per row: the `parts` columns add up to the `total` column."""
    skipped = set(skip)
    return [Sum(tuple((r, c) for c in parts), (r, total)) for r in range(len(rows)) if r not in skipped]


def column_sums(rows: Sequence[Sequence[Any]], columns: Sequence[int], total_row: int,
                skip: Iterable[int] = ()) -> list[Sum]:
    """One sum per column: the other rows (less `skip`) add up to the `total_row`."""
    skipped = set(skip) | {total_row}
    body = [r for r in range(len(rows)) if r not in skipped]
    return [Sum(tuple((r, c) for r in body), (total_row, c)) for c in columns]


def recoverable(rows: Sequence[Sequence[Any]], sums: Sequence[Sum]) -> set[Cell]:
    """The suppressed cells a reader can compute from the published ones with these sums."""
    known = {cell for s in sums for cell in s.cells if not hidden(rows[cell[0]][cell[1]])}
    found: set[Cell] = set()
    changed = True
    while changed:
        changed = False
        for s in sums:
            unknown = [cell for cell in s.cells if cell not in known]
            if len(unknown) == 1:
                known.add(unknown[0])
                found.add(unknown[0])
                changed = True
    return {cell for cell in found if hidden(rows[cell[0]][cell[1]])}


def protect(rows: list[list[Any]], sums: Sequence[Sum], suppressible: set[Cell]) -> None:
    """Secondary suppression, in place: withhold the smallest suppressible published cell of a sum
    that would give a suppressed cell back, until none does."""
    while True:
        leaks = recoverable(rows, sums)
        if not leaks:
            return
        for s in sums:
            if not any(cell in leaks for cell in s.cells):
                continue
            candidates = [cell for cell in s.cells if cell in suppressible and not hidden(rows[cell[0]][cell[1]])]
            if candidates:
                cell = min(candidates, key=lambda rc: (rows[rc[0]][rc[1]] == 0, rows[rc[0]][rc[1]], rc))
                rows[cell[0]][cell[1]] = CONFIDENTIAL
                break
        else:
            raise AssertionError("a suppressed figure could not be protected")  # a table declared without candidates
