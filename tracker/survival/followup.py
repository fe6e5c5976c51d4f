"""From case dates to follow-up intervals (entry, stop, event) in years since transfer.

The definitions are those of docs/design.md, "Survival definitions":

- time origin is the transfer date; 1 year = 365.25 days;
- transfers after ``as_of`` are left out; an exit after ``as_of`` is ignored and the case is
  followed until ``as_of`` (it was operating then); verification dates after ``as_of`` count
  as ``as_of``;
- an exit on or before ``as_of`` ends follow-up at the exit date. Endpoint ``enterprise``: the
  exit is an event for liquidation, dissolution and other, and censors the case (the firm lives
  on) for sold, merged and demutualised. Endpoint ``cooperative``: every exit is an event;
- a case still open at ``as_of`` is censored at its last verification (never at ``as_of`` by
  default: an unverified case is not known to be alive); without one it is left out;
- delayed entry: the case enters the risk set at ``max(0, registered_on - transfer_date)``
  (a missing ``registered_on`` means the transfer date); without delayed entry every case
  enters at 0. A case whose follow-up ends at or before its entry is left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ._arrays import DAYS_PER_YEAR, readonly
from .errors import InvalidSurvivalOptions

ENDPOINTS = ("enterprise", "cooperative")
CLOSURE_REASONS = ("liquidation", "dissolution", "other")
LOSS_REASONS = ("sold", "merged", "demutualised")

#: ``FollowUp.cause`` values.
CENSORED, CLOSURE, LOSS = 0, 1, 2

#: Exclusion reason codes, in the order they are tested (a case gets the first that applies).
EXCLUSION_REASONS = (
    "no_transfer_date",  # transfer_date missing
    "transfer_after_as_of",  # transferred after the analysis date
    "no_verification",  # open at as_of and never verified
    "unknown_exit_reason",  # exit on or before as_of without a recognised reason
    "no_follow_up",  # follow-up ends on or before the transfer date
    "ended_before_entry",  # follow-up ends on or before registered_on (delayed entry)
)

_DATE_FIELDS = ("transfer_date", "registered_on", "last_verified_on", "exit_date")


def _as_dates(values: Any) -> np.ndarray:
    return np.asarray(values, dtype="datetime64[D]")


@dataclass(frozen=True, eq=False)
class CaseArrays:
    """One row per case, as equal-length arrays.

    Dates are ``datetime64[D]`` with NaT for missing (sequences of ``datetime.date`` / ISO
    strings / None are converted); ``exit_reason`` is an object array of str or None.
    """

    transfer_date: np.ndarray
    registered_on: np.ndarray
    last_verified_on: np.ndarray
    exit_date: np.ndarray
    exit_reason: np.ndarray

    def __post_init__(self) -> None:
        for name in _DATE_FIELDS:
            object.__setattr__(self, name, _as_dates(getattr(self, name)))
        object.__setattr__(self, "exit_reason", np.asarray(self.exit_reason, dtype=object))
        lengths = {len(getattr(self, name)) for name in (*_DATE_FIELDS, "exit_reason")}
        if len(lengths) != 1:
            raise InvalidSurvivalOptions("CaseArrays fields must all have the same length")

    def __len__(self) -> int:
        return len(self.transfer_date)

    def subset(self, mask: np.ndarray) -> CaseArrays:
        """The cases where ``mask`` is true (or at the given indices)."""
        return CaseArrays(**{name: getattr(self, name)[mask] for name in (*_DATE_FIELDS, "exit_reason")})

    @classmethod
    def from_rows(cls, rows: Iterable[Any]) -> CaseArrays:
        """Build from objects or mappings with the five attributes/keys (e.g. database rows)."""
        rows = list(rows)
        names = (*_DATE_FIELDS, "exit_reason")

        def get(row: Any, name: str) -> Any:
            return row[name] if isinstance(row, dict) else getattr(row, name)

        columns: dict[str, Any] = {name: [get(row, name) for row in rows] for name in names}  # converted on init
        return cls(**columns)


@dataclass(frozen=True, eq=False)
class FollowUp:
    """Follow-up interval of every case, aligned with the input ``CaseArrays``.

    ``entry`` and ``stop`` are in years since transfer (NaN for excluded cases); the case is at
    risk on ``entry < t <= stop``. ``event`` is true when follow-up ends with the endpoint's
    event, false when it is censored at ``stop``. ``cause`` is the kind of exit at ``stop``
    whatever the endpoint (0 censored, 1 closure, 2 loss of the cooperative form), for the
    competing-outcomes analysis. ``reason_code`` is 0 for included cases, else 1 + the index in
    ``EXCLUSION_REASONS``.
    """

    entry: np.ndarray
    stop: np.ndarray
    event: np.ndarray
    cause: np.ndarray
    included: np.ndarray
    reason_code: np.ndarray
    as_of: date
    endpoint: str
    delayed_entry: bool

    @property
    def reasons(self) -> np.ndarray:
        """Object array: the exclusion reason of each case, None for included cases."""
        labels = np.array((None, *EXCLUSION_REASONS), dtype=object)
        return labels[self.reason_code]

    def exclusions(self, mask: np.ndarray | None = None) -> dict[str, int]:
        """Counts of excluded cases by reason (only reasons that occur), optionally in ``mask``."""
        codes = self.reason_code if mask is None else self.reason_code[mask]
        counts = np.bincount(codes, minlength=len(EXCLUSION_REASONS) + 1)[1:]
        return {r: int(c) for r, c in zip(EXCLUSION_REASONS, counts, strict=True) if c}


def _exit_causes(reasons: np.ndarray) -> np.ndarray:
    """Cause code per exit reason: 1 closure, 2 loss, -1 missing or unrecognised."""
    codes, uniques = pd.factorize(reasons, use_na_sentinel=True)
    names = [str(u).strip().lower() for u in uniques]
    lookup = np.array(
        [CLOSURE if u in CLOSURE_REASONS else LOSS if u in LOSS_REASONS else -1 for u in names] + [-1],
        dtype=np.int8,
    )
    return lookup[codes]  # code -1 (missing) picks the trailing -1


def _days(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Whole days from ``earlier`` to ``later``; 0 where either is NaT (callers exclude those)."""
    missing = np.isnat(later) | np.isnat(earlier)
    return np.where(missing, 0, (later - earlier).astype(np.int64))


def prepare_followup(
    cases: CaseArrays, as_of: date, endpoint: str = "enterprise", delayed_entry: bool = True
) -> FollowUp:
    """Entry, stop (years since transfer) and event of each case; see the module docstring.

    Excluded cases keep their place in the arrays with ``included`` false, NaN times and a
    reason code, so that reports can list what was left out and why.
    """
    if endpoint not in ENDPOINTS:
        raise InvalidSurvivalOptions(f"endpoint must be one of {', '.join(ENDPOINTS)}, not {endpoint!r}")
    cut = np.datetime64(as_of, "D")
    transfer = cases.transfer_date
    has_exit = ~np.isnat(cases.exit_date)
    exited = has_exit & (cases.exit_date <= cut)
    # An exit after as_of proves the case was operating at as_of: follow it until then.
    verified = np.where(has_exit, cut, np.minimum(cases.last_verified_on, cut))
    end = np.where(exited, cases.exit_date, verified)

    cause = np.zeros(len(cases), dtype=np.int8)
    cause[exited] = _exit_causes(cases.exit_reason[exited])
    stop_days = _days(end, transfer)
    registered = np.where(np.isnat(cases.registered_on), transfer, cases.registered_on)
    entry_days = np.maximum(_days(registered, transfer), 0) * int(delayed_entry)

    reason = _reason_codes(
        [
            ("no_transfer_date", np.isnat(transfer)),
            ("transfer_after_as_of", transfer > cut),
            ("no_verification", np.isnat(end)),
            ("unknown_exit_reason", cause < 0),
            ("no_follow_up", stop_days <= 0),
            ("ended_before_entry", stop_days <= entry_days),
        ]
    )
    included = reason == 0
    event = included & ((cause == CLOSURE) if endpoint == "enterprise" else (cause > 0))
    return FollowUp(
        entry=readonly(np.where(included, entry_days / DAYS_PER_YEAR, np.nan)),
        stop=readonly(np.where(included, stop_days / DAYS_PER_YEAR, np.nan)),
        event=readonly(event),
        cause=readonly(np.where(included, cause, 0).astype(np.int8)),
        included=readonly(included),
        reason_code=readonly(reason),
        as_of=as_of,
        endpoint=endpoint,
        delayed_entry=delayed_entry,
    )


def _reason_codes(conditions: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """First applicable exclusion (1-based index into ``EXCLUSION_REASONS``), 0 when none."""
    reason = np.zeros(len(conditions[0][1]), dtype=np.int8)
    for name, condition in reversed(conditions):
        reason[condition] = EXCLUSION_REASONS.index(name) + 1
    return reason
