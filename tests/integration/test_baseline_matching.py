"""Each case is compared with the right published curve: series, region, sector, nearest cohort."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.extensions import db
from tracker.services.analytics.baseline_matching import basis_of, load_catalogue, match_cases, sector_covers
from tracker.services.analytics.baselines import import_baselines, list_baselines, shipped_baselines

SHIPPED = 2159  # the figures of tracker/data/baselines.csv


@pytest.fixture
def catalogue(app):
    result = import_baselines(None, shipped_baselines())
    assert not result.problems and result.created == SHIPPED
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


def test_a_country_without_a_series_of_its_own_uses_the_eu27_figures(catalogue):
    for country in ("MT", "LU", "CY"):
        curve = match(catalogue, country, section="C", region=f"{country}0", year=2015)
        assert (curve.series, curve.country, curve.sector, curve.region) == ("eurostat-bd", "EU27", "TOTAL", "")
        assert basis_of(catalogue, curve, {}) == "eu27"


def test_a_case_without_a_country_is_unmatched(catalogue):
    assert match(catalogue, None) is None


def test_every_country_of_the_members_has_a_curve(catalogue):
    members = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR",
               "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK")
    assert all(match(catalogue, country) is not None for country in members)


def test_a_country_without_national_series_uses_its_eurostat_sector_curve(catalogue):
    # Czech Republic: no national series; Eurostat publishes 3-year survival by NACE section only.
    curve = match(catalogue, "CZ", section="C", year=2015)
    assert (curve.series, curve.country, curve.sector, curve.cohort_year) == ("eurostat-bd", "CZ", "C", 2015)
    assert curve.horizons_years == (3.0,) and basis_of(catalogue, curve, {}) == "eurostat"
    assert match(catalogue, "CZ", section="A", year=2015).sector == "TOTAL"  # A is not published


def test_a_five_year_total_is_preferred_to_a_three_year_sector_curve(catalogue):
    # Germany: TOTAL reaches 5 years, the manufacturing curve stops at 3.
    curve = match(catalogue, "DE", section="C", year=2012)
    assert (curve.series, curve.sector) == ("eurostat-bd", "TOTAL") and curve.horizons_years[-1] >= 5


def test_a_country_eurostat_does_not_cover_uses_its_national_series(catalogue):
    assert match(catalogue, "GB", year=2010).series == "ons"
    denmark = match(catalogue, "DK", year=2013)
    assert denmark.series == "erst-dk" and basis_of(catalogue, denmark, {}) == "national"  # reaches 5 years
    assert match(catalogue, "IE", year=2012).series == "cso"
    assert match(catalogue, "HR", year=2016).series == "dzs"
    assert match(catalogue, "AT", year=2012, settings={"AT": "statistik-austria"}).series == "statistik-austria"


def test_eurostat_country_codes_are_read_as_iso(app):
    header = shipped_baselines().splitlines()[0]
    rows = header + (b"\neurostat-bd,UK,,TOTAL,x,2015,3,55,Eurostat,T,,u,"
                     b"\neurostat-bd,EL,,TOTAL,x,2015,3,60,Eurostat,T,,u,\n")
    assert not import_baselines(None, rows).problems
    assert {b.country for b in list_baselines()} == {"GB", "GR"}
    assert list_baselines(country="GB")[0].survival_pct == 55


def test_sector_ranges():
    assert sector_covers("B-E", "C") and sector_covers("H-S", "M") and not sector_covers("P-Q", "R")
    assert not sector_covers("TOTAL", "C") and sector_covers("F", "F") and not sector_covers("F", None)


def test_baseline_import_is_an_upsert_and_keeps_sources(catalogue):
    again = import_baselines(None, shipped_baselines())
    assert (again.created, again.updated, again.unchanged) == (0, 0, SHIPPED)
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


def test_national_series_published_to_five_years_come_before_shorter_eurostat_figures(catalogue):
    austria = match(catalogue, "AT", section="C", year=2013)
    assert austria.series == "statistik-austria" and basis_of(catalogue, austria, {}) == "national"
    assert match(catalogue, "SE", section="C", year=2015).series == "eurostat-bd"  # national: 3 years too


def test_the_survival_json_says_which_rule_chose_a_curve_its_source_and_where_curves_stop(
        catalogue, make_federation, make_case):
    from datetime import date

    from tracker.models import ExitReason
    from tracker.services.analytics import queries as analytics

    analytics.clear_cache()
    czech, maltese = make_federation(code="CZ-COOP", country="CZ"), make_federation(code="MT-COOP", country="MT")
    for i in range(30):
        closed = i % 3 == 0
        for fed in (czech, maltese):
            make_case(fed, nace="C", nace_section="C", transfer_date=date(2014, 1 + i % 12, 1),
                      registered_on=date(2014, 1 + i % 12, 1), exit_date=date(2019, 6, 1) if closed else None,
                      exit_reason=ExitReason.LIQUIDATION if closed else None,
                      last_verified_on=None if closed else date(2024, 12, 31))
    query = analytics.SurvivalQuery.from_params({"as_of": "2025-12-31", "group_by": "country"})
    out = analytics.survival_json(None, query)
    cz, mt = (next(g for g in out["groups"] if g["group"] == c) for c in ("CZ", "MT"))
    (m,) = cz["baseline"]["matches"]
    assert (m["series"], m["country"], m["sector"], m["basis"]) == ("eurostat-bd", "CZ", "C", "eurostat")
    assert m["horizons_years"] == [3.0] and m["source"]["publisher"].startswith("Eurostat")
    assert cz["baseline"]["reach_years"] == 3.0
    expected = {e["years"]: e for e in cz["baseline"]["expected"]}
    assert expected[3]["survival"] is not None and "reason" not in expected[3]
    assert expected[5]["survival"] is None and "stop at 3 years" in expected[5]["reason"]
    assert cz["baseline"]["relative"][4]["survival"] is None and cz["baseline"]["relative"][4]["reason"]
    (m,) = mt["baseline"]["matches"]
    assert (m["country"], m["sector"], m["basis"]) == ("EU27", "TOTAL", "eu27") and "EU27" in m["basis_note"]
    assert mt["baseline"]["expected"][4]["survival"] is not None  # EU27 is published to five years
    assert {s["series"] for s in out["baseline_sources"]} == {"eurostat-bd"}
