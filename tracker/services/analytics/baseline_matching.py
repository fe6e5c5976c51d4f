"""Match each case to the national baseline curve it is compared with (docs/design.md,
"Against national baselines").

A curve is every published horizon of one (series, country, region, sector, cohort). A case gets:
- the series configured for its country (`BASELINE_SERIES`; default insee-sine for FR, else
  eurostat-bd where it has the country, else the national series present);
- its region's curves where the series publishes regions, else the national ones;
- its NACE section's curves where the series publishes sectors (a section, or a range such as
  `B-E`), else TOTAL;
- the cohort nearest to its transfer year among the curves that reach five years (on a tie, the
  more recent cohort); only when no curve of that choice reaches five years, the nearest of all.
  A 3-year-only figure of a nearer cohort would otherwise leave the group without any expected
  five-year survival, since curves are never extrapolated.
Cases whose country has no series are unmatched: they are left out of the expected figure and
counted. Countries use ISO codes in cases; baselines use Eurostat's (EL for GR, UK for GB).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Baseline
from tracker.services.analytics.frame import Coded
from tracker.survival import BaselineCurve, BaselineInput

EUROSTAT_CODES = {"GR": "EL", "GB": "UK"}
PREFERRED_FALLBACK = "eurostat-bd"
FULL_HORIZON_YEARS = 5  # the headline horizon: prefer curves published that far


@dataclass(frozen=True)
class SeriesSource:
    series: str
    publisher: str
    source_title: str
    url: str | None


@dataclass(frozen=True)
class BaselineCatalogue:
    curves: tuple[BaselineCurve, ...]
    # (series, country) -> region -> sector -> [(cohort_year, curve index)]
    index: Mapping[tuple[str, str], Mapping[str, Mapping[str, list[tuple[int, int]]]]]
    sources: Mapping[str, tuple[SeriesSource, ...]]

    def series_for(self, country: str, settings: Mapping[str, str]) -> str | None:
        code = EUROSTAT_CODES.get(country, country)
        configured = settings.get(country) or settings.get(code)
        available = sorted(series for series, c in self.index if c == code)
        if configured in available:
            return configured
        if PREFERRED_FALLBACK in available:
            return PREFERRED_FALLBACK
        return available[0] if available else None


def load_catalogue() -> BaselineCatalogue:
    rows = db.session.execute(select(
        Baseline.series, Baseline.country, Baseline.region, Baseline.sector, Baseline.cohort_year,
        Baseline.horizon_years, Baseline.survival_pct, Baseline.publisher, Baseline.source_title, Baseline.url,
    ).order_by(Baseline.horizon_years)).all()
    points: dict[tuple[str, str, str, str, int], list[tuple[int, float]]] = defaultdict(list)
    sources: dict[str, dict[tuple, SeriesSource]] = defaultdict(dict)
    for r in rows:
        points[(r.series, r.country, r.region or "", r.sector, r.cohort_year)].append((r.horizon_years, r.survival_pct))
        key = (r.publisher, r.source_title, r.url)
        sources[r.series].setdefault(key, SeriesSource(r.series, r.publisher, r.source_title, r.url))
    curves: list[BaselineCurve] = []
    index: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for (series, country, region, sector, cohort), pts in sorted(points.items()):
        curves.append(BaselineCurve(series=series, country=country, sector=sector, cohort_year=cohort,
                                    horizons_years=tuple(float(h) for h, _ in pts),
                                    survival_pct=tuple(p for _, p in pts), region=region))
        index[(series, country)][region][sector].append((cohort, len(curves) - 1))
    return BaselineCatalogue(tuple(curves), index, {s: tuple(v.values()) for s, v in sources.items()})


def sector_covers(sector: str, section: str | None) -> bool:
    """Does a published sector ('C', 'B-E', 'TOTAL') contain the NACE section?"""
    if section is None or sector == "TOTAL":
        return False
    if "-" in sector:
        low, high = sector.split("-", 1)
        return low <= section <= high
    return sector == section


def _pick(catalogue: BaselineCatalogue, series: str, country: str, region: str | None,
          section: str | None, year: int) -> int:
    regions = catalogue.index[(series, EUROSTAT_CODES.get(country, country))]
    sectors = regions.get(region or "") if region in regions else regions.get("")
    if not sectors:
        return -1
    chosen = next((cohorts for sector, cohorts in sectors.items() if sector_covers(sector, section)), None)
    cohorts = chosen or sectors.get("TOTAL")
    if not cohorts:
        return -1
    reaching = [ci for ci in cohorts if catalogue.curves[ci[1]].horizons_years[-1] >= FULL_HORIZON_YEARS]
    return min(reaching or cohorts, key=lambda ci: (abs(ci[0] - year), -ci[0]))[1]


def match_cases(catalogue: BaselineCatalogue, country: np.ndarray, region: np.ndarray, section: np.ndarray,
                year: np.ndarray, settings: Mapping[str, str]) -> BaselineInput:
    """Per case, the index of its baseline curve in `catalogue.curves` (-1: none)."""

    def coded(values: np.ndarray) -> Coded:
        codes, uniques = pd.factorize(np.asarray(values, dtype=object))
        return Coded(codes.astype(np.int64), np.asarray(uniques, dtype=object))

    return match_coded(catalogue, coded(country), coded(region), coded(section), np.asarray(year), settings)


def match_coded(catalogue: BaselineCatalogue, country: Coded, region: Coded, section: Coded, year: np.ndarray,
                settings: Mapping[str, str]) -> BaselineInput:
    """`match_cases` on coded columns: each distinct (country, region, section, year) is matched
    once, so a million cases cost a few thousand look-ups."""
    if len(year) == 0:
        return BaselineInput(curves=catalogue.curves, curve_index=np.empty(0, dtype=np.int64))
    year_codes, years = pd.factorize(year)
    key = year_codes.astype(np.int64)
    for part in (country, region, section):
        key = key * (len(part.categories) + 1) + (part.codes + 1)
    codes, distinct = pd.factorize(key)  # hashing, not sorting: a million keys in milliseconds
    first = np.empty(len(distinct), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # first case with each key
    picks = np.empty(len(distinct), dtype=np.int64)
    for i, row in enumerate(first):
        c, r, s = (None if part.codes[row] < 0 else part.categories[part.codes[row]]
                   for part in (country, region, section))
        series = catalogue.series_for(c, settings) if c else None
        picks[i] = _pick(catalogue, series, c, r, s, int(years[year_codes[row]])) if series and c else -1
    return BaselineInput(curves=catalogue.curves, curve_index=picks[codes])
