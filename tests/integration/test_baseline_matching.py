"""Each case is compared with the right published curve: series, region, sector, nearest cohort."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.extensions import db
from tracker.services.analytics.baseline_matching import load_catalogue, match_cases, sector_covers
from tracker.services.analytics.baselines import import_baselines, list_baselines, shipped_baselines


@pytest.fixture
def catalogue(app):
    result = import_baselines(None, shipped_baselines())
    assert not result.problems and result.created == 155
    db.session.commit()
    return load_catalogue()


def match(catalogue, country, region=None, section=None, year=2012, settings=None):
    picked = match_cases(catalogue, np.array([country], dtype=object), np.array([region], dtype=object),
                         np.array([section], dtype=object), np.array([year]),
                         settings if settings is not None else {"FR": "insee-sine"})
    index = int(picked.curve_index[0])
    return None if index < 0 else catalogue.curves[index]


def test_french_manufacturing_uses_insee_industry_nearest_cohort(catalogue):
    curve = match(catalogue, "FR", section="C", year=2012)
    assert (curve.series, curve.sector) == ("insee-sine", "B-E")
    assert curve.cohort_year in (2010, 2014)
    assert match(catalogue, "FR", section="C", year=2017).cohort_year == 2018


def test_a_section_the_series_does_not_publish_falls_back_to_total(catalogue):
    assert match(catalogue, "FR", section="A", year=2012).sector == "TOTAL"
    assert match(catalogue, "FR", section=None, year=2012).sector == "TOTAL"


def test_equal_distance_prefers_the_more_recent_cohort(catalogue):
    assert match(catalogue, "FR", section="C", year=2012).cohort_year == 2014


def test_regions_are_used_where_the_series_has_them(catalogue):
    assert match(catalogue, "BE", region="BE-BRU", year=2016).region == "BE-BRU"
    national = match(catalogue, "BE", region=None, year=2016)
    assert (national.series, national.region) == ("statbel-vat", "")


def test_series_default_and_setting(catalogue):
    assert match(catalogue, "IT", year=2012).series == "eurostat-bd"
    assert match(catalogue, "IT", year=2012, settings={"IT": "istat"}).series == "istat"
    assert match(catalogue, "GB", year=2010).series == "ons"  # ISO GB is Eurostat's UK


def test_a_country_without_baseline_is_unmatched(catalogue):
    assert match(catalogue, "PT") is None


def test_sector_ranges():
    assert sector_covers("B-E", "C") and sector_covers("H-S", "M") and not sector_covers("P-Q", "R")
    assert not sector_covers("TOTAL", "C") and sector_covers("F", "F") and not sector_covers("F", None)


def test_baseline_import_is_an_upsert_and_keeps_sources(catalogue):
    again = import_baselines(None, shipped_baselines())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 155)
    insee = list_baselines(series="insee-sine")
    assert insee and all(b.publisher and b.source_title for b in insee)


@pytest.mark.parametrize("text, fragment", [
    (b"series,country\nx,FR\n", "missing columns"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_bad_baseline_files_are_refused(app, text, fragment):
    result = import_baselines(None, text)
    assert result.problems and fragment in result.problems[0]


def test_bad_baseline_rows_are_reported_and_nothing_is_written(app):
    header = shipped_baselines().splitlines()[0]
    rows = header + b"\ninsee-sine,FR,,TOTAL,x,2018,5,140,Insee,T,,u,\ninsee-sine,FR,,TOTAL,x,20x8,5,50,Insee,T,,u,\n"
    result = import_baselines(None, rows)
    assert len(result.problems) == 2
    assert list_baselines() == []


def test_curves_reaching_five_years_are_preferred(catalogue):
    # eurostat-bd publishes only a 3-year figure for the 2017 cohort in France and Italy
    curve = match(catalogue, "IT", year=2017)
    assert curve.series == "eurostat-bd" and curve.horizons_years[-1] >= 5
    assert curve.cohort_year != 2017
