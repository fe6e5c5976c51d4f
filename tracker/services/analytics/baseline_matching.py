"""Match each case to the national baseline curve it is compared with (docs/design.md,
"Against national baselines").

A curve is every published horizon of one (series, country, region, sector, cohort). Countries
are ISO codes on cases and baselines alike (GB, GR; `EU27` is the European Union). A case is matched
with the first of these series that has a curve for it (its sector or TOTAL), and its match says
which rule chose it (`basis`):

1. `configured`: the series set for its country (`BASELINE_SERIES`; FR: insee-sine);
2. the first series of its country that publishes five-year figures (the headline horizon):
   Eurostat's (`eurostat`, harmonised across countries) before a national one (`national`; among
   several, the one reaching furthest, then with the most figures);
3. its country's Eurostat series of any length (`eurostat`), then its national ones (`national`);
4. `eu27`: Eurostat's figures for the European Union as a whole, for a case of a country with no
   series of its own (or whose series has neither its sector nor a TOTAL curve).

So a country with no national series is compared with its Eurostat series (its NACE section
where published), else with EU27; Belgium's and Austria's national series, published to five
years by region, come before Eurostat's three-year figures of those countries.

Within the series: its region's curves where the series publishes regions, else the national
ones; its NACE section's curves (a section, or a range such as `B-E`) where published, else TOTAL;
the cohort nearest to its transfer year. Curves reaching five years (the headline horizon) are
preferred: the section's, then TOTAL's, and only when neither reaches five years the section's,
then TOTAL's, of any length (on a cohort tie, the more recent). A curve is never extrapolated: a
group whose curves stop at three years has no expected survival after three years, and the
survival JSON says why.
Cases whose country has no series and no EU27 figure are unmatched: they are left out of the
expected figure and counted.
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

#: Eurostat's codes of two countries whose ISO codes differ (files from Eurostat use them).
EUROSTAT_CODES = {"EL": "GR", "UK": "GB"}
EUROSTAT_SERIES = "eurostat-bd"
EUROPE = "EU27"
FULL_HORIZON_YEARS = 5  # the headline horizon: prefer curves published that far
#: Why a case was matched to its series (`matches[].basis`).
BASES = ("configured", "eurostat", "national", "eu27")


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
    curve_sources: tuple[SeriesSource, ...] = ()  # the source of each curve (its first figure's)

    def candidates(self, country: str, settings: Mapping[str, str]) -> list[tuple[str, str, str]]:
        """The (series, country of its figures, basis) to try for a case of `country`, in order
        (see the module docstring); a case takes the first that has a curve for it."""
        country = EUROSTAT_CODES.get(country, country)
        available = {series for series, c in self.index if c == country}
        national = sorted(available - {EUROSTAT_SERIES}, key=lambda series: (-self._reach(series, country)[0],
                                                                              -self._reach(series, country)[1], series))
        full = [series for series in (EUROSTAT_SERIES, *national) if series in available
                and self._reach(series, country)[0] >= FULL_HORIZON_YEARS]
        order: list[str] = []
        configured = settings.get(country)
        for series in ((configured,) if configured in available else ()) + (*full, EUROSTAT_SERIES, *national):
            if series in available and series not in order:
                order.append(series)
        out = [(series, country, "configured" if series == configured else
                "eurostat" if series == EUROSTAT_SERIES else "national") for series in order]
        if (EUROSTAT_SERIES, EUROPE) in self.index and country != EUROPE:
            out.append((EUROSTAT_SERIES, EUROPE, "eu27"))
        return out

    def _reach(self, series: str, country: str) -> tuple[float, int]:
        """How far a series goes for a country: its longest horizon, then its number of curves."""
        indices = [i for sectors in self.index[(series, country)].values() for cohorts in sectors.values()
                   for _cohort, i in cohorts]
        return max(self.curves[i].horizons_years[-1] for i in indices), len(indices)


def load_catalogue() -> BaselineCatalogue:
    rows = db.session.execute(select(
        Baseline.series, Baseline.country, Baseline.region, Baseline.sector, Baseline.cohort_year,
        Baseline.horizon_years, Baseline.survival_pct, Baseline.publisher, Baseline.source_title, Baseline.url,
    ).order_by(Baseline.horizon_years, Baseline.id)).all()
    points: dict[tuple[str, str, str, str, int], list[tuple[int, float]]] = defaultdict(list)
    first_source: dict[tuple[str, str, str, str, int], SeriesSource] = {}
    sources: dict[str, dict[tuple, SeriesSource]] = defaultdict(dict)
    for r in rows:
        # Rows imported before the files used ISO codes say EL and UK.
        key = (r.series, EUROSTAT_CODES.get(r.country, r.country), r.region or "", r.sector, r.cohort_year)
        points[key].append((r.horizon_years, r.survival_pct))
        source = sources[r.series].setdefault((r.publisher, r.source_title, r.url),
                                              SeriesSource(r.series, r.publisher, r.source_title, r.url))
        first_source.setdefault(key, source)
    curves: list[BaselineCurve] = []
    curve_sources: list[SeriesSource] = []
    index: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for key, pts in sorted(points.items()):
        series, country, region, sector, cohort = key
        curves.append(BaselineCurve(series=series, country=country, sector=sector, cohort_year=cohort,
                                    horizons_years=tuple(float(h) for h, _ in pts),
                                    survival_pct=tuple(p for _, p in pts), region=region))
        curve_sources.append(first_source[key])
        index[(series, country)][region][sector].append((cohort, len(curves) - 1))
    return BaselineCatalogue(tuple(curves), index, {s: tuple(v.values()) for s, v in sources.items()},
                             tuple(curve_sources))


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
    regions = catalogue.index[(series, country)]
    sectors = regions.get(region or "") if region in regions else regions.get("")
    if not sectors:
        return -1
    own = next((cohorts for sector, cohorts in sectors.items() if sector_covers(sector, section)), [])
    total = sectors.get("TOTAL", [])

    def reaching(cohorts: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return [ci for ci in cohorts if catalogue.curves[ci[1]].horizons_years[-1] >= FULL_HORIZON_YEARS]

    candidates = next((c for c in (reaching(own), reaching(total), own, total) if c), None)
    if not candidates:
        return -1
    return min(candidates, key=lambda ci: (abs(ci[0] - year), -ci[0]))[1]


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
        picks[i] = -1
        for series, place, _basis in catalogue.candidates(c, settings) if c else ():
            # EU27 figures have no region; a region of the case's country means nothing there.
            picks[i] = _pick(catalogue, series, place, r if place == c else None, s, int(years[year_codes[row]]))
            if picks[i] >= 0:
                break
    return BaselineInput(curves=catalogue.curves, curve_index=picks[codes])


def basis_of(catalogue: BaselineCatalogue, curve: BaselineCurve, settings: Mapping[str, str]) -> str:
    """Which rule matched cases to `curve` (one of BASES; see the module docstring)."""
    if curve.country == EUROPE:
        return "eu27"
    if settings.get(curve.country) == curve.series:
        return "configured"
    return "eurostat" if curve.series == EUROSTAT_SERIES else "national"
