"""The survival explorer page: its numbers against the R reference and the engine, the figure,
the form (bookmarkable GET), clear messages for empty or tiny selections, and 400 for bad input."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from support_research import (
    ORACLE_FILES,
    assert_page_matches,
    close,
    expected,
    load_oracle,
    number,
    page_numbers,
    query_for,
    url_for_expected,
)

from tracker.extensions import db
from tracker.models import Case, ExitReason, Role
from tracker.services.analytics import queries as analytics
from tracker.services.casework.cases import FollowUp, record_follow_up

SVG_NS = "{http://www.w3.org/2000/svg}"


def inline_svg(html: str) -> str | None:
    """The Kaplan-Meier figure of the page (the first figure), if any."""
    match = re.search(r"id=\"km-figure\">.*?(<svg class=\"figure-svg\".*?</svg>)", html, re.S)
    return match.group(1) if match else None


@pytest.fixture
def oracle(app, make_federation):
    return load_oracle(make_federation)


@pytest.fixture
def oracle_with_baselines(app, make_federation):
    return load_oracle(make_federation, baselines=True)


def test_anonymous_is_sent_to_login(client):
    for url in ("/research/", "/research/steps.csv", "/research/horizons.xlsx", "/research/figure/km.svg",
                "/research/cases"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_the_nav_links_to_the_explorer(client, login):
    login(Role.RESEARCHER)
    assert 'href="/research/"' in client.get("/cases/").get_data(as_text=True)


@pytest.mark.parametrize("name", ORACLE_FILES)
def test_page_numbers_equal_the_r_reference(client, login, oracle, name):
    login(Role.RESEARCHER)
    exp = expected(name)
    response = client.get(url_for_expected(exp))
    assert response.status_code == 200
    assert_page_matches(response.get_data(as_text=True), exp)


def test_expected_and_relative_survival_equal_the_engine(client, login, oracle_with_baselines):
    login(Role.ADMIN)
    exp = expected("expected_by_transfer_type.json")
    html = client.get(url_for_expected(exp)).get_data(as_text=True)
    engine = analytics.survival_json(None, query_for(exp))
    groups, _ = page_numbers(html)
    for g in engine["groups"]:
        for e, r in zip(g["baseline"]["expected"], g["baseline"]["relative"], strict=True):
            cell = groups[g["group"]]["horizons"][e["years"]]
            assert close(number(cell.get("expected")), e["survival"])
            assert close(number(cell.get("relative")), r["survival"])
    # the figure's legend names the baselines' sources, and the page lists them with their addresses
    svg = inline_svg(html)
    assert "expected survival" in svg and "Insee, SINE survey (France)" in svg
    for source in engine["baseline_sources"]:
        assert source["source_title"] in html.replace("&#39;", "'").replace("&amp;", "&")


def test_the_figure_is_inline_svg_with_curves_bands_censoring_and_at_risk(client, login, oracle_with_baselines):
    login(Role.RESEARCHER)
    html = client.get("/research/?as_of=2025-12-31&group_by=transfer_type").get_data(as_text=True)
    svg = inline_svg(html)
    root = ET.fromstring(svg)  # well-formed XML
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    for group in ("conversion", "rescue", "succession"):
        assert {f"km-{kind}-{group}" for kind in ("curve", "censored", "expected")} <= ids
        assert f"km-ci-{group}" not in ids  # three groups: no bands unless asked for
    banded = inline_svg(client.get("/research/?as_of=2025-12-31&group_by=transfer_type&bands=on")
                        .get_data(as_text=True))
    assert 'id="km-ci-rescue"' in banded
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]
    assert "Number at risk" in texts and "Years since transfer" in texts
    assert "Log-rank p < 0.001" in texts  # the text keeps its digits (coordinates are shortened)
    # the numbers at risk under the axis at the (yearly, for 22 years) ticks are R's at_risk
    exp = expected("expected_by_transfer_type.json")
    ticks = [t for t in texts if t.isdigit()]
    assert ticks[:4] == ["0", "1", "2", "3"]
    for g in exp["groups"]:
        assert {f"{g['horizons'][1]['at_risk']:,}", f"{g['horizons'][3]['at_risk']:,}"} <= set(texts)
    # fit for a strict CSP: no <style> element, no style attributes, no script
    assert "<style" not in svg and "style=" not in svg and not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_published_cooperative_figures_match_the_country_filter(client, login, oracle):
    login(Role.RESEARCHER)
    french = client.get("/research/?as_of=2025-12-31&country=FR").get_data(as_text=True)
    # in their own dot chart beside the table, not piled on the curve
    assert "CG Scop" in french and 'id="published-figure"' in french
    assert 'published-' not in inline_svg(french)
    dots = client.get("/research/figure/published.svg?as_of=2025-12-31&country=FR&bare=1")
    assert dots.status_code == 200 and 'id="published-published-1"' in dots.get_data(as_text=True)
    assert "les-scop-bfc.coop" in french  # with its source
    mixed = client.get("/research/?as_of=2025-12-31").get_data(as_text=True)
    assert 'id="published-figure"' not in mixed
    italian = client.get("/research/?as_of=2025-12-31&country=IT").get_data(as_text=True)
    assert "CICOPA" in italian and "CG Scop" not in italian


def test_the_form_round_trips_through_the_url(client, login, oracle):
    login(Role.RESEARCHER)
    url = ("/research/?country=FR&country=IT&transfer_type=rescue&cohort_from=2008&cohort_to=2014"
           "&endpoint=cooperative&as_of=2025-12-31&delayed_entry=off&group_by=country")
    html = client.get(url).get_data(as_text=True)
    # checkboxes, not a Ctrl-click list
    assert re.search(r'type="checkbox" name="country" value="FR"\s+id="[^"]+" checked>', html)
    assert re.search(r'type="checkbox" name="country" value="IT"\s+id="[^"]+" checked>', html)
    assert re.search(r'type="checkbox" name="transfer_type" value="rescue"\s+id="[^"]+" checked>', html)
    assert "<select multiple" not in html and "Ctrl" not in html
    assert 'value="2008"' in html and 'value="2025-12-31"' in html
    # the engine with the same filters gives the same groups and counts
    query = analytics.SurvivalQuery(as_of=date(2025, 12, 31), endpoint="cooperative", group_by="country",
                                    delayed_entry=False, where=(("cohort", ("2008-2014",)),
                                                                ("country", ("FR", "IT")),
                                                                ("transfer_type", ("rescue",))))
    engine = analytics.survival_json(None, query)
    groups, _ = page_numbers(html)
    assert {g: int(v["n"]) for g, v in groups.items()} == {g["group"]: g["n"] for g in engine["groups"]}
    # downloads and JSON carry the same selection
    assert "steps.csv?country=FR&amp;country=IT&amp;transfer_type=rescue" in html
    api = re.search(r'href="(/api/v1/survival\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert client.get(api).get_json()["groups"] == engine["groups"]


def test_empty_selection_says_so_without_a_figure(client, login, oracle):
    login(Role.RESEARCHER)
    response = client.get("/research/?as_of=2025-12-31&country=DE")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No case matches these filters" in html and inline_svg(html) is None
    before = client.get("/research/?as_of=1990-01-01").get_data(as_text=True)
    assert "can be analysed" in before and "transferred after the analysis date" in before
    assert client.get("/research/figure/km.svg?as_of=2025-12-31&country=DE").status_code == 404


def test_tiny_selection_gives_a_message_instead_of_a_figure(client, login, make_federation, make_case):
    analytics.clear_cache()
    federation = make_federation(code="TINY")
    for _ in range(3):
        make_case(federation)
    login(Role.RESEARCHER)
    html = client.get("/research/?as_of=2025-12-31").get_data(as_text=True)
    assert "Only 3 cases can be analysed: too few for a survival curve" in html
    assert inline_svg(html) is None
    groups, _ = page_numbers(html)
    assert int(groups["all"]["n"]) == 3  # the counts are still shown


def test_too_many_groups_for_one_figure_keeps_the_tables(client, login, oracle):
    login(Role.RESEARCHER)
    html = client.get("/research/?as_of=2025-12-31&group_by=cohort").get_data(as_text=True)
    assert "too many for one readable figure" in html and inline_svg(html) is None
    groups, _ = page_numbers(html)
    assert len(groups) > 8
    # one table, as a heat map, not a wall of tables
    assert html.count("<table") <= 4 and 'class="table table-sm align-middle survival-table heatmap"' in html
    banded = client.get("/research/?as_of=2025-12-31&group_by=cohort&cohort_bands=2000-2009,2010-2025")
    assert inline_svg(banded.get_data(as_text=True)) is not None


def test_a_write_is_never_hidden_by_the_cached_page(client, login, oracle):
    login(Role.RESEARCHER)
    url = "/research/?as_of=2025-12-31"
    before, _ = page_numbers(client.get(url).get_data(as_text=True))
    case = db.session.scalars(db.select(Case).where(Case.exit_date.is_(None), Case.last_verified_on.is_not(None),
                                                    Case.registered_on == Case.transfer_date).limit(1)).one()
    record_follow_up(None, case, FollowUp(checked_on=case.last_verified_on, outcome=ExitReason.LIQUIDATION.value))
    db.session.commit()
    after, _ = page_numbers(client.get(url).get_data(as_text=True))
    assert int(after["all"]["events"]) == int(before["all"]["events"]) + 1


@pytest.mark.parametrize("query, field", [
    ("as_of=yesterday", "as_of"),
    ("group_by=colour", "group_by"),
    ("horizons=0", "horizons"),
    ("horizons=1,x", "horizons"),
    ("endpoint=forever", "endpoint"),
    ("delayed_entry=maybe", "delayed_entry"),
    ("country=XX", "country"),
    ("nace_section=Z", "nace_section"),
    ("size_class=huge", "size_class"),
    ("transfer_type=gift", "transfer_type"),
    ("cohort_from=abc", "cohort_from"),
    ("cohort_from=2015&cohort_to=2010", "cohort_to"),
    ("cohort_from=1066", "cohort_from"),
    ("cohort_bands=2010-2000", "cohort_bands"),
    ("where=colour=red", "where"),
    ("where=country", "where"),
    ("federation=NOPE", "federation"),
])
def test_bad_parameters_give_400_naming_the_field(client, login, query, field):
    login(Role.RESEARCHER)
    response = client.get(f"/research/?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The analysis was not run" in html and (f"({field})" in html or f"{field}:" in html)
    for download in ("steps.csv", "horizons.xlsx", "figure/km.png", "cases"):
        refused = client.get(f"/research/{download}?{query}")
        assert refused.status_code == 400 and field in refused.get_data(as_text=True), download


def test_an_api_query_string_works_on_the_page(client, login, oracle):
    login(Role.RESEARCHER)
    query = ("as_of=2025-12-31&endpoint=cooperative&group_by=country&horizons=1,3,5&delayed_entry=false"
             "&where=transfer_type=rescue,succession")
    api = client.get(f"/api/v1/survival?{query}").get_json()
    groups, logrank = page_numbers(client.get(f"/research/?{query}").get_data(as_text=True))
    assert list(groups) == [g["group"] for g in api["groups"]]
    for g in api["groups"]:
        assert int(groups[g["group"]]["n"]) == g["n"]
        assert sorted(groups[g["group"]]["horizons"]) == [1, 3, 5]
        for h in g["horizons"]:
            assert close(number(groups[g["group"]]["horizons"][h["years"]]["survival"]), h["survival"])
    assert close(logrank[0], api["logrank"]["statistic"])


def test_the_cox_model_shows_its_hazard_ratios_and_forest_plot(client, login, oracle):
    login(Role.RESEARCHER)
    url = "/research/?as_of=2025-12-31&model=cox&covariates=transfer_type"
    html = client.get(url).get_data(as_text=True)
    query = analytics.SurvivalQuery(as_of=date(2025, 12, 31), model="cox", covariates=("transfer_type",))
    engine = analytics.survival_json(None, query)["cox"]
    shown = {(m.group(1), m.group(2)): float(m.group(3)) for m in re.finditer(
        r'data-covariate="([^"]+)" data-level="([^"]*)">.*?data-field="hazard_ratio" data-value="([^"]+)"', html, re.S)}
    assert shown and len(shown) == len(engine["terms"])
    for term in engine["terms"]:
        assert close(shown[(term["covariate"], term["level"] or "")], term["hazard_ratio"])
    assert 'id="forest-figure"' in html
    forest = client.get("/research/figure/forest.svg?as_of=2025-12-31&model=cox&covariates=transfer_type")
    assert forest.status_code == 200 and "forest-forest-0" in forest.get_data(as_text=True)


def test_the_cox_covariates_are_boxes_and_the_address_keeps_one_parameter(client, login, make_federation):
    load_oracle(make_federation)
    login(Role.RESEARCHER)
    joined = client.get("/research/?as_of=2025-12-31&model=cox&covariates=transfer_type,size_class&lang=en")
    html = joined.get_data(as_text=True)
    assert joined.status_code == 200
    boxes = dict(re.findall(r'<input class="form-check-input" type="checkbox" name="covariates" value="([^"]+)"\s*'
                            r'id="[^"]+"( checked)?>', html))
    assert set(boxes) == {"transfer_type", "country", "nace_section", "cohort", "federation", "size_class",
                          "age_band", "log_employees", "age_at_transfer"}
    assert {k for k, v in boxes.items() if v} == {"transfer_type", "size_class"}
    assert not re.search(r'<input[^>]*type="text"[^>]*name="covariates"|<input[^>]*name="covariates"[^>]*type="text"',
                         html), "no free-text field any more"
    assert "Employees (log)" in html and "Age at transfer (years)" in html
    # Without the script, the browser sends one parameter per box: the same model, links in the address's form.
    repeated = client.get("/research/?as_of=2025-12-31&group_by=country&model=cox&covariates=transfer_type"
                          "&covariates=size_class&lang=en").get_data(as_text=True)
    assert 'id="cox-table"' in repeated and "covariates=transfer_type%2Csize_class" in repeated
    for block in ('id="forest-caption"', 'id="hazard-caption"', 'id="cif-caption"', "/research/table/cox.csv?",
                  "/research/table/hazard.csv?", "/research/table/pairwise.csv?"):
        assert block in repeated, block


def test_a_cox_model_that_cannot_be_fitted_says_why_in_the_page_s_language(client, login, make_federation):
    load_oracle(make_federation)  # no founding dates: no case has an age at transfer
    login(Role.RESEARCHER)
    html = client.get("/research/?as_of=2025-12-31&model=cox&covariates=age_at_transfer&lang=it").get_data(as_text=True)
    assert "Non è stato possibile stimare il modello: nessun caso ha un valore per ogni covariata" in html
    assert "every covariate" not in html


def test_the_figures_text_counts_a_group_of_one_case_in_the_singular(client, login, make_federation, make_case):
    analytics.clear_cache()
    federation = make_federation(code="ONE")
    for i in range(12):
        make_case(federation, transfer_date=date(2012, 1 + i, 1))
    make_case(federation, transfer_date=date(2013, 3, 1), transfer_type="rescue")
    login(Role.RESEARCHER)
    for lang, one, many in (("en", ": 1 case,", ": 12 cases,"), ("fr", "\u00a0: 1 dossier,", "\u00a0: 12 dossiers,"),
                            ("es", ": 1 caso,", ": 12 casos,")):
        html = client.get(f"/research/?as_of=2025-12-31&group_by=transfer_type&lang={lang}").get_data(as_text=True)
        text = re.search(r'<p id="km-alt"[^>]*>(.*?)</p>', html, re.S).group(1)
        assert one in text and many in text, (lang, text)


@pytest.mark.parametrize(("lang", "small", "plain"), [("fr", "2,7&nbsp;×&nbsp;10<sup>−9</sup>", "0,0123"),
                                                      ("en", "2.7&nbsp;×&nbsp;10<sup>−9</sup>", "0.0123")])
def test_a_tiny_p_value_is_written_in_the_reader_s_decimals(app, lang, small, plain):
    from flask import render_template_string

    with app.test_request_context(f"/research/?lang={lang}"):
        shown = render_template_string("{% from 'research/_macros.html' import p_value %}"
                                       "{{ p_value(2.7e-9) }}|{{ p_value(0.0123) }}")
    assert shown == f"{small}|{plain}"  # not the program's 2.7e-09


def test_a_one_year_headline_is_written_in_the_singular(client, login, make_federation, make_case):
    analytics.clear_cache()
    federation = make_federation(code="YEAR")
    for i in range(12):
        make_case(federation, transfer_date=date(2012, 1 + i, 1))
    login(Role.RESEARCHER)
    for lang, words in (("en", "Surviving at 1 year<"), ("fr", "Pérennes à 1 an<"), ("it", "Sopravvissute a 1 anno<"),
                        ("es", "Supervivientes a 1 año<")):
        html = client.get(f"/research/?as_of=2025-12-31&horizons=1&lang={lang}").get_data(as_text=True)
        assert words in html, lang
