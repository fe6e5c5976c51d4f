"""Small array helpers shared by the estimators (internal)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.25


def readonly(array: np.ndarray) -> np.ndarray:
    """Return ``array`` flagged read-only, so frozen result dataclasses are really frozen."""
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class SortedCases:
    """One group's follow-up sorted once: ``entry`` ascending, ``stop`` ascending with ``event``
    in the same order. Sorting dominates the cost on large groups, so estimators share it."""

    entry: np.ndarray
    stop: np.ndarray
    event: np.ndarray

    @classmethod
    def of(cls, entry: np.ndarray, stop: np.ndarray, event: np.ndarray) -> SortedCases:
        stop = np.asarray(stop, dtype=float)
        order = np.argsort(stop)  # ties: order within a time does not matter
        return cls(
            entry=np.sort(np.asarray(entry, dtype=float)),
            stop=stop[order],
            event=np.asarray(event, dtype=bool)[order],
        )


def split_by_code(codes: np.ndarray, n_codes: int) -> list[np.ndarray]:
    """Indices of the cases of each code 0..n_codes-1 (one stable sort, not a mask per code)."""
    small = codes.astype(np.int16 if n_codes < 2**15 else np.int64)  # int16: radix sort
    order = np.argsort(small, kind="stable")
    bounds = np.searchsorted(small[order], np.arange(n_codes + 1))
    return [order[bounds[g] : bounds[g + 1]] for g in range(n_codes)]


def at_risk(sorted_entry: np.ndarray, sorted_stop: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Number of cases with ``entry < t <= stop`` for each ``t`` in ``times``.

    Both inputs must be sorted ascending. Every case has ``entry < stop``, so a case with
    ``stop < t`` also has ``entry < t`` and the difference of the two counts is the risk set.
    """
    entered = np.searchsorted(sorted_entry, times, side="left")
    ended = np.searchsorted(sorted_stop, times, side="left")
    return (entered - ended).astype(np.int64)


def factorize_labels(labels: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes and the sorted distinct names of a label array.

    Missing labels (None, NaN) become the group ``"unknown"``. Codes follow the sorted order
    of the names, so code 0 is the first group by name. Hash-based (pandas) because sorting
    a million Python strings is slow.
    """
    codes, uniques = pd.factorize(np.asarray(labels, dtype=object), use_na_sentinel=True)
    names = [str(u) for u in uniques]
    if (codes < 0).any():
        if "unknown" in names:
            codes = np.where(codes < 0, names.index("unknown"), codes)
        else:
            names.append("unknown")
            codes = np.where(codes < 0, len(names) - 1, codes)
    order = sorted(range(len(names)), key=names.__getitem__)
    remap = np.empty(len(names), dtype=np.int64)
    remap[order] = np.arange(len(names))
    return remap[codes], tuple(names[i] for i in order)
