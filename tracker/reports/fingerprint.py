"""A SHA-256 fingerprint of everything a report's figures depend on.

The case columns the analysis reads (as the sorted list of one 64-bit hash per case, so that row
order and the way they were read do not matter), the national baselines and the baseline
settings, the published comparisons shipped with the app, and the report's parameters. Two
editions with the same fingerprint and the same application version publish the same figures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from tracker.services.analytics.baseline_matching import BaselineCatalogue
from tracker.services.analytics.frame import CaseFrame

TEXT_FIELDS = ("transfer_type", "country", "region", "nace_section", "federation")


def fingerprint(frame: CaseFrame, catalogue: BaselineCatalogue, settings: Mapping[str, str],
                parameters: Mapping[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(_json({"parameters": parameters}))
    _hash_cases(digest, frame)
    digest.update(baselines_fingerprint(catalogue, settings).encode())
    digest.update(resources.files("tracker.data").joinpath("published_comparisons.csv").read_bytes())
    return digest.hexdigest()


def baselines_fingerprint(catalogue: BaselineCatalogue, settings: Mapping[str, str]) -> str:
    """SHA-256 of the national baselines (figures and sources) and of the series chosen per country."""
    digest = hashlib.sha256(_json({"baseline_settings": dict(settings)}))
    digest.update(_json([[c.series, c.country, c.region, c.sector, c.cohort_year, list(c.horizons_years),
                          list(c.survival_pct)] for c in catalogue.curves]))
    digest.update(_json({series: [[s.publisher, s.source_title, s.url] for s in sources]
                         for series, sources in sorted(catalogue.sources.items())}))
    return digest.hexdigest()


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode()


def _hash_cases(digest: Any, frame: CaseFrame) -> None:
    cases = frame.cases
    columns: list[np.ndarray] = [
        _days(cases.transfer_date), _days(cases.registered_on), _days(cases.last_verified_on), _days(cases.exit_date),
    ]
    labels = {}
    for name, values in (("exit_reason", cases.exit_reason),
                         *((name, getattr(frame, name)) for name in TEXT_FIELDS)):
        codes, uniques = pd.factorize(np.asarray(values, dtype=object), sort=True)
        columns.append(codes.astype(np.int64))
        labels[name] = [str(u) for u in uniques]
    employees = np.asarray(frame.employees, dtype=float)
    columns.append(np.where(np.isnan(employees), -1, employees).astype(np.int64))
    digest.update(_json({"rows": len(frame), "labels": labels}))
    if not len(frame):
        return
    # Order does not matter: each row becomes one 64-bit hash of its values, and the sorted row
    # hashes are digested (one sort of a million integers, not a lexicographic sort of every column).
    digest.update(np.sort(_row_hashes(columns)).tobytes())


def _row_hashes(columns: list[np.ndarray]) -> np.ndarray:
    """A 64-bit hash per row (splitmix64's finaliser over the columns in turn, each salted by its
    position), computed column by column in numpy."""
    hashes = np.full(len(columns[0]), 0x9E3779B97F4A7C15, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for position, column in enumerate(columns):
            z = hashes ^ (np.ascontiguousarray(column, dtype=np.int64).view(np.uint64) + np.uint64(position + 1))
            z *= np.uint64(0xBF58476D1CE4E5B9)
            z ^= z >> np.uint64(31)
            z *= np.uint64(0x94D049BB133111EB)
            z ^= z >> np.uint64(29)
            hashes = z
    return hashes


def _days(dates: np.ndarray) -> np.ndarray:
    """datetime64[D] → int64 days since 1970 (NaT becomes the smallest int64)."""
    return np.asarray(dates, dtype="datetime64[D]").astype(np.int64)
