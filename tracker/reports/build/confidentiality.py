"""Statistical confidentiality of the published report (not of researchers' exports).

Primary suppression: a count of 1 to 4 enterprises, and any estimate resting on fewer than 5
enterprises (a survival or cumulative incidence with fewer than 5 at risk at that horizon, a
share of fewer than 5 cases, a group of fewer than 5 cases), is replaced by `CONFIDENTIAL`.
A zero is published: it reveals nothing about an enterprise.

Secondary suppression: where a table publishes totals, a single suppressed count in a row (or
column) could be recovered by subtraction, so the smallest other count of that row (or column)
is suppressed too, until no line has exactly one suppressed component.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracker.reports.content import CONFIDENTIAL, Estimate

THRESHOLD = 5
NOTE = (f"c: confidential. The figure rests on fewer than {THRESHOLD} enterprises (a count of 1 to "
        f"{THRESHOLD - 1}, or an estimate with fewer than {THRESHOLD} enterprises at risk) and is not published; "
        "where totals are shown, another figure of the same line may be withheld so that it cannot be "
        "recovered by subtraction.")


def count(value: int) -> int | Any:
    """A count of enterprises as published: 0 and counts of at least THRESHOLD as they are."""
    return value if value == 0 or value >= THRESHOLD else CONFIDENTIAL


def share(numerator: int, denominator: int) -> float | None | Any:
    """numerator / denominator as a fraction; None without a denominator; suppressed below THRESHOLD."""
    if denominator == 0:
        return None
    if denominator < THRESHOLD:
        return CONFIDENTIAL
    return numerator / denominator


def estimate(value: float | None, lower: float | None, upper: float | None, at_risk: int) -> Estimate | None | Any:
    """A survival-type estimate at a horizon: None beyond follow-up, suppressed below THRESHOLD at risk."""
    if value is None:
        return None
    if at_risk < THRESHOLD:
        return CONFIDENTIAL
    return Estimate(value, lower, upper)


def point(value: float | None, at_risk: int) -> float | None | Any:
    """A single value at a horizon (e.g. a cumulative incidence or an expected survival)."""
    if value is None:
        return None
    return CONFIDENTIAL if at_risk < THRESHOLD else value


def protect_totals(rows: list[list[Any]], columns: Sequence[int], total_column: int | None,
                   total_row: int | None) -> None:
    """Secondary suppression, in place, on the count `columns` of `rows`.

    `total_column` (index, or None) holds each row's total of `columns`; `total_row` (index, or
    None) holds each column's total over the other rows. Raw counts must still be ints where not
    suppressed (primary suppression already applied).
    """
    changed = True
    while changed:
        changed = False
        if total_column is not None:
            for r in range(len(rows)):
                if r != total_row and _protect_line([(r, c) for c in columns], rows):
                    changed = True
        if total_row is not None:
            cols = [*columns, total_column] if total_column is not None else list(columns)
            for c in cols:
                if _protect_line([(r, c) for r in range(len(rows)) if r != total_row], rows):
                    changed = True


def _protect_line(cells: list[tuple[int, int]], rows: list[list[Any]]) -> bool:
    hidden = [rc for rc in cells if rows[rc[0]][rc[1]] is CONFIDENTIAL]
    if len(hidden) != 1:
        return False
    visible = [rc for rc in cells if isinstance(rows[rc[0]][rc[1]], int) and rows[rc[0]][rc[1]] > 0]
    if not visible:
        return False  # the other components are zeros: nothing left to hide the value behind
    r, c = min(visible, key=lambda rc: (rows[rc[0]][rc[1]], rc))
    rows[r][c] = CONFIDENTIAL
    return True
