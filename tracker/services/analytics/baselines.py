"""National business-survival baselines (published figures with their sources).

The shipped file tracker/data/baselines.csv holds the published figures with their sources
(tracker/data/README.md); admins can import more (same columns). Importing is an upsert on
(series, country, region, sector, cohort_year, horizon_years) and is all-or-nothing. Countries
are stored as ISO codes: Eurostat's EL and UK are read as GR and GB.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Baseline, User
from tracker.services.analytics.baseline_matching import EUROSTAT_CODES
from tracker.services.casework import audit

COLUMNS = ("series", "country", "region", "sector", "sector_label", "cohort_year", "horizon_years",
           "survival_pct", "publisher", "source_title", "published", "url", "notes")
REQUIRED = ("series", "country", "sector", "cohort_year", "horizon_years", "survival_pct", "publisher",
            "source_title")
KEY = ("series", "country", "region", "sector", "cohort_year", "horizon_years")


@dataclass(frozen=True)
class BaselineImport:
    created: int
    updated: int
    unchanged: int
    problems: tuple[str, ...]


def shipped_baselines() -> bytes:
    return resources.files("tracker.data").joinpath("baselines.csv").read_bytes()


def _parse_row(row: dict[str, str], line: int, problems: list[str]) -> dict[str, object] | None:
    values: dict[str, object] = {c: (row.get(c) or "").strip() for c in COLUMNS}
    for column in REQUIRED:
        if not values[column]:
            problems.append(f"row {line}, column {column}: is required")
    try:
        cohort_year = int(str(values["cohort_year"]))
        horizon_years = int(str(values["horizon_years"]))
        survival_pct = float(str(values["survival_pct"]))
    except ValueError:
        problems.append(f"row {line}: cohort_year and horizon_years must be whole numbers, survival_pct a number")
        return None
    values.update(cohort_year=cohort_year, horizon_years=horizon_years, survival_pct=survival_pct)
    if not 1800 <= cohort_year <= 2100 or not 1 <= horizon_years <= 50:
        problems.append(f"row {line}: cohort_year or horizon_years out of range")
    if not 0 < survival_pct <= 100:
        problems.append(f"row {line}, column survival_pct: must be in (0, 100]")
    country = str(values["country"]).upper()
    values["country"] = EUROSTAT_CODES.get(country, country)  # ISO codes, as on cases (GB, GR)
    values["region"] = str(values["region"]).upper()
    values["sector"] = str(values["sector"]).upper()
    for column in ("sector_label", "published", "url", "notes"):
        values[column] = values[column] or None
    return values


def import_baselines(actor: User | None, data: bytes, source: str = "file") -> BaselineImport:
    """Upsert baseline figures from CSV bytes (UTF-8, header row with COLUMNS). Flushes only
    when the whole file is valid."""
    rows, problems = _read_baselines(data)
    if problems:
        return BaselineImport(0, 0, 0, tuple(problems))
    return _upsert_baselines(actor, rows, source)


def _read_baselines(data: bytes) -> tuple[list[dict[str, object]], list[str]]:
    """The file's rows, parsed; or the problems that stop the import (then nothing is written)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ["the file is not UTF-8"]
    if "\x00" in text:
        return [], ["the file holds NUL characters: it is not a text CSV file"]
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = sorted(set(header) - set(COLUMNS))
    missing = sorted(set(REQUIRED) - set(header))
    if unknown or missing:
        return [], [f"header: unknown columns {unknown}, missing columns {missing}"]
    problems: list[str] = []
    parsed = [(_parse_row(row, i, problems), i) for i, row in enumerate(reader, start=2)]
    seen: dict[tuple, int] = {}
    for values, line in parsed:
        if values is None:
            continue
        key = tuple(values[k] for k in KEY)
        if key in seen:
            problems.append(f"row {line}: same series/country/region/sector/cohort/horizon as row {seen[key]}")
        seen[key] = line
    return [values for values, _line in parsed if values is not None], problems


def _upsert_baselines(actor: User | None, rows: list[dict[str, object]], source: str) -> BaselineImport:
    existing = {tuple(getattr(b, k) for k in KEY): b for b in db.session.scalars(select(Baseline))}
    created = updated = unchanged = 0
    for values in rows:
        current = existing.get(tuple(values[k] for k in KEY))
        if current is None:
            db.session.add(Baseline(**values))
            created += 1
            continue
        before = audit.snapshot(current, COLUMNS)
        for column, value in values.items():
            setattr(current, column, value)
        changes = audit.diff(before, audit.snapshot(current, COLUMNS))
        if changes:
            updated += 1
            db.session.flush()
            audit.record(actor, current, "update", changes, context=f"baselines import {source}")
        else:
            unchanged += 1
    db.session.flush()
    return BaselineImport(created, updated, unchanged, ())


def list_baselines(series: str | None = None, country: str | None = None) -> list[Baseline]:
    stmt = select(Baseline).order_by(Baseline.series, Baseline.country, Baseline.region, Baseline.sector,
                                     Baseline.cohort_year, Baseline.horizon_years)
    if series:
        stmt = stmt.where(Baseline.series == series)
    if country:
        stmt = stmt.where(Baseline.country == country.upper())
    return list(db.session.scalars(stmt))
