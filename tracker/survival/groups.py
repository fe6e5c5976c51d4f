"""Group labels for ``--group-by`` and masks for ``--where``.

Every function returns an object array of str, one label per case, with ``"unknown"`` where
the field is missing, so that no case silently disappears from a grouped analysis. Filtering is
done by the caller with boolean masks (``CaseArrays.subset``); ``label_mask`` builds one.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

from .errors import N_, InvalidSurvivalOptions

UNKNOWN = "unknown"
#: Fields accepted by ``tracker survival --group-by``.
GROUP_FIELDS = ("transfer_type", "country", "nace_section", "cohort", "federation", "size_class", "age_band")
SIZE_CLASSES = ((0, 9, "0-9"), (10, 49, "10-49"), (50, 249, "50-249"), (250, None, "250+"))
#: Age of the enterprise at its transfer (years since it was founded): [low, high) bands.
AGE_BANDS = ((0.0, 5.0, "<5"), (5.0, 20.0, "5-19"), (20.0, None, "20+"))
AGE_BAND_VALUES = ("<5", "5-19", "20+", UNKNOWN)

# NACE Rev. 2 sections by first and last division (Regulation (EC) No 1893/2006, Annex I).
_NACE_DIVISIONS = (
    ("A", 1, 3), ("B", 5, 9), ("C", 10, 33), ("D", 35, 35), ("E", 36, 39), ("F", 41, 43),
    ("G", 45, 47), ("H", 49, 53), ("I", 55, 56), ("J", 58, 63), ("K", 64, 66), ("L", 68, 68),
    ("M", 69, 75), ("N", 77, 82), ("O", 84, 84), ("P", 85, 85), ("Q", 86, 88), ("R", 90, 93),
    ("S", 94, 96), ("T", 97, 98), ("U", 99, 99),
)  # fmt: skip
_SECTION_OF_DIVISION = {d: s for s, lo, hi in _NACE_DIVISIONS for d in range(lo, hi + 1)}


def _strings(values: Sequence[object] | np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=object), dtype=object)


def category_labels(values: Sequence[object] | np.ndarray) -> np.ndarray:
    """Labels from a categorical field (transfer_type, country, federation code, section).

    Missing values and empty strings become ``"unknown"``.
    """
    labels = _strings(values)
    missing = labels.isna() | (labels.astype(str).str.strip() == "")
    return labels.astype(str).where(~missing, UNKNOWN).to_numpy(dtype=object)


def nace_section(code: str | None) -> str | None:
    """Section letter of a NACE Rev. 2 code: ``C``, ``25``, ``25.62``, ``C25``, ``C28.1``."""
    if code is None:
        return None
    code = str(code).strip().upper()
    if code[:1].isalpha():
        return code[0] if code[0] in {s for s, _, _ in _NACE_DIVISIONS} else None
    digits = code[:2]
    return _SECTION_OF_DIVISION.get(int(digits)) if digits.isdigit() else None


def nace_section_labels(codes: Sequence[object] | np.ndarray) -> np.ndarray:
    """Section letters of NACE codes (see ``nace_section``); ``"unknown"`` if missing/invalid."""
    series = _strings(codes)
    distinct = {c: nace_section(c) for c in series.dropna().unique()}
    return category_labels(series.map(distinct).to_numpy(dtype=object))


def cohort_labels(transfer_date: np.ndarray, bands: Sequence[tuple[int, int]] | None = None) -> np.ndarray:
    """Transfer year as a label (``"2012"``), or the band it falls in (``"2008-2014"``).

    ``bands`` are inclusive (start_year, end_year) pairs that must not overlap; a year outside
    every band is labelled ``"other"``; a missing date ``"unknown"``.
    """
    dates = np.asarray(transfer_date, dtype="datetime64[D]")
    missing = np.isnat(dates)
    years = np.where(missing, 0, dates.astype("datetime64[Y]").astype(np.int64) + 1970)
    if bands is None:
        labels = years.astype(str).astype(object)
    else:
        labels = np.full(len(dates), "other", dtype=object)
        for start, end in _checked_bands(bands):
            labels[(years >= start) & (years <= end)] = f"{start}-{end}"
    labels[missing] = UNKNOWN
    return labels


def _checked_bands(bands: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    ordered = sorted((int(start), int(end)) for start, end in bands)
    for start, end in ordered:
        if start > end:
            raise InvalidSurvivalOptions(N_("cohort band %(start)d-%(end)d ends before it starts"),
                                         start=start, end=end)
    for (_, end), (start, _) in pairwise(ordered):
        if start <= end:
            raise InvalidSurvivalOptions(N_("cohort bands must not overlap"))
    return ordered


def size_class_labels(employees: Sequence[object] | np.ndarray) -> np.ndarray:
    """Employees at transfer in classes 0-9, 10-49, 50-249, 250+; missing → ``"unknown"``."""
    counts = pd.to_numeric(_strings(employees), errors="coerce").to_numpy(dtype=float)
    labels = np.full(len(counts), UNKNOWN, dtype=object)
    for low, high, name in SIZE_CLASSES:
        labels[(counts >= low) & ((counts <= high) if high is not None else True)] = name
    return labels


def label_mask(labels: np.ndarray, value: str) -> np.ndarray:
    """Boolean mask of the cases whose label equals ``value`` (for ``--where FIELD=VALUE``)."""
    return np.asarray(labels, dtype=object) == value


def age_at_transfer(founded_on: np.ndarray, transfer_date: np.ndarray) -> np.ndarray:
    """Years (days / 365.25) from the founding to the transfer; NaN where either date is missing."""
    founded = np.asarray(founded_on, dtype="datetime64[D]")
    transfer = np.asarray(transfer_date, dtype="datetime64[D]")
    missing = np.isnat(founded) | np.isnat(transfer)
    days = np.where(missing, 0, (transfer - founded).astype(np.int64))
    return np.where(missing, np.nan, days / 365.25)


def age_band_labels(age_years: np.ndarray) -> np.ndarray:
    """Age at transfer in bands ``<5``, ``5-19``, ``20+`` (whole years at the transfer: 5-19 is
    5 to under 20); missing → ``"unknown"``."""
    age = np.asarray(age_years, dtype=float)
    labels = np.full(len(age), UNKNOWN, dtype=object)
    for low, high, name in AGE_BANDS:
        labels[(age >= low) & ((age < high) if high is not None else True)] = name
    return labels
