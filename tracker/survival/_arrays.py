"""Small array helpers shared by the estimators (internal)."""

from __future__ import annotations

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.25


def readonly(array: np.ndarray) -> np.ndarray:
    """Return ``array`` flagged read-only, so frozen result dataclasses are really frozen."""
    array.setflags(write=False)
    return array


def at_risk(sorted_entry: np.ndarray, sorted_stop: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Number of cases with ``entry < t <= stop`` for each ``t`` in ``times``.

    Both inputs must be sorted ascending. Every case has ``entry < stop``, so a case with
    ``stop < t`` also has ``entry < t`` and the difference of the two counts is the risk set.
    """
    entered = np.searchsorted(sorted_entry, times, side="left")
    ended = np.searchsorted(sorted_stop, times, side="left")
    return (entered - ended).astype(np.int64)


def at_risk_by_code(
    entry: np.ndarray, stop: np.ndarray, codes: np.ndarray, n_codes: int, times: np.ndarray
) -> np.ndarray:
    """Matrix (n_codes x len(times)) of risk-set sizes ``entry < t <= stop`` per code.

    ``times`` must be sorted ascending. One pass over the cases, no per-code sort: each
    case's entry and stop are binned to the first time strictly after them.
    """
    k = len(times)
    width = k + 1
    entered = np.bincount(
        codes * width + np.searchsorted(times, entry, side="right"), minlength=n_codes * width
    )
    ended = np.bincount(
        codes * width + np.searchsorted(times, stop, side="right"), minlength=n_codes * width
    )
    counts = np.cumsum(entered.reshape(n_codes, width) - ended.reshape(n_codes, width), axis=1)
    return counts[:, :k]


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
