"""Confidentiality that protects without blanking, tried as an attacker would: a registry with
many small cells, then every subtraction a reader can do on every table of the public report
(row and column totals, chained), and the curves of groups whose closures are withheld."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from tracker.extensions import db
from tracker.models import Role
from tracker.reports.build.annual import build_annual
from tracker.reports.content import CONFIDENTIAL, AnnualReport, Estimate, Table
from tracker.services.analytics import queries as analytics
from tracker.services.analytics.baselines import import_baselines, shipped_baselines

TODAY = date(2026, 6, 30)
COUNTRIES = ("FR", "IT", "ES", "BE", "PL", "PT")
SECTIONS = (("C", "25.62"), ("F", "41.20"), ("G", "47.11"), ("I", "56.10"), ("J", "62.01"), ("M", "71.12"),
            ("Q", "86.90"), ("B", "08.11"))
TYPES = ("succession", "rescue", "conversion", "other")
EXITS = ("liquidation", "dissolution", "other", "sold", "merged", "demutualised")


@pytest.fixture
def small_cells(app, make_federation, make_case):
    """About 260 cases over 3 federations, 6 countries, 8 sectors, 4 types and 20 years, with
    many groups of 1 to 4 enterprises and a few exits of each kind."""
    analytics.clear_cache()
    assert not import_baselines(None, shipped_baselines()).problems
    rng = random.Random(20251231)
    feds = [make_federation(code=f"F{i}", name=f"Federation {i}", country=COUNTRIES[i]) for i in range(3)]
    for i in range(260):
        fed = feds[0] if i < 200 else feds[1 + i % 2]
        country = COUNTRIES[0] if i < 150 else rng.choice(COUNTRIES)
        section, nace = SECTIONS[0] if i < 120 else rng.choice(SECTIONS)
        transfer = date(2005 + rng.randrange(20), 1 + rng.randrange(12), 1 + rng.randrange(28))
        registered = transfer + timedelta(days=rng.choice((0, 0, 0, 400, 1500)))
        exit_date = exit_reason = None
        last = min(date(2025, 11, 30), transfer + timedelta(days=rng.randrange(200, 7000)))
        if rng.random() < 0.35:
            exit_date = min(date(2025, 11, 30), transfer + timedelta(days=rng.randrange(100, 4000)))
            exit_reason = "liquidation" if rng.random() < 0.7 else rng.choice(EXITS)
            last = None
        if registered > (exit_date or last):
            registered = transfer
        make_case(fed, country=country, nace=nace, nace_section=section, transfer_type=rng.choice(TYPES[:3])
                  if i < 240 else TYPES[3], transfer_date=transfer, registered_on=registered,
                  last_verified_on=last, exit_date=exit_date, exit_reason=exit_reason,
                  employees=rng.choice((2, 8, 15, 30, 60, 300)))
    db.session.commit()
    return feds


def hidden(value: Any) -> bool:
    return value is CONFIDENTIAL


def count_columns(table: Table) -> list[int]:
    return [i for i, c in enumerate(table.columns) if c.kind == "count"]


def test_no_withheld_figure_can_be_recovered_by_subtraction(app, small_cells):
    public = build_annual(None, 2025, today=TODAY)
    app.config["REPORT_MIN_CELL"] = 0  # the same report with nothing withheld: which sums really hold
    plain = build_annual(None, 2025, today=TODAY)
    withheld = sum(1 for t in public.tables for r in t.rows for v in r if hidden(v))
    assert withheld >= 10, "the registry must have small cells to protect"
    for table in public.tables:
        truth = plain.table(table.slug)
        sums = [list(s.cells) for s in table.sums]
        for s in table.sums:  # the declared sums hold on the figures before suppression
            values = [truth.rows[r][c] for r, c in s.parts]
            assert sum(values) == truth.rows[s.total[0]][s.total[1]], (table.number, s)
        # every additive count column with a total row, found from the figures themselves
        if table.total_rows == 1 and len(table.rows) > 2:
            last = len(table.rows) - 1
            for c in count_columns(table):
                column = [truth.rows[r][c] for r in range(last)]
                if all(isinstance(v, int) for v in column) and sum(column) == truth.rows[last][c]:
                    sums.append([(r, c) for r in range(len(table.rows))])
        known = {(r, c) for r, row in enumerate(table.rows) for c, v in enumerate(row) if not hidden(v)}
        recovered = True
        while recovered:
            recovered = False
            for cells in sums:
                unknown = [cell for cell in cells if cell not in known]
                if len(unknown) == 1:
                    r, c = unknown[0]
                    assert not hidden(table.rows[r][c]), (
                        f"table {table.number}: {table.rows[r][0]} / {table.columns[c].label} is withheld but "
                        f"equals a published total less published figures")
                    known.add(unknown[0])
                    recovered = True


def test_curves_never_show_a_group_whose_closures_are_withheld(app, small_cells):
    report = build_annual(None, 2025, today=TODAY)
    by_type = report.table("survival_by_transfer_type")
    events = by_type.column("events")
    drawn = set(report.figures[2].series)
    for row in by_type.rows[:-1]:
        if hidden(row[events]):
            assert row[0] not in drawn
            assert all(hidden(v) or v is None or (isinstance(v, Estimate) and v.value == 1.0) for v in row[3:])


def _cells(report: AnnualReport, slug: str, key: str) -> list[Any]:
    table = report.table(slug)
    return [row[table.column(key)] for row in table.rows]


def test_transfers_cases_followed_at_risk_and_data_quality_are_never_withheld(app, small_cells):
    report = build_annual(None, 2025, today=TODAY)
    for table in ("transfers_per_year", "verification", "cases_left_out", "baselines_matched", "survival_by_year"):
        assert not report.table(table).has_confidential, table
    for slug, key in (("transfers_by_country", "transfers"), ("transfers_by_country", "in_year"),
                      ("survival_by_nace_section", "n"), ("survival_by_cohort", "n"), ("activity_in_year", "opened"),
                      ("survival_by_year", "at_risk")):
        assert not any(hidden(v) for v in _cells(report, slug, key)), (slug, key)
    assert not any(v == "c" for row in report.figures[1].svg.split("Number at risk")[1:2] for v in row.split())


def test_a_federations_own_edition_withholds_none_of_its_figures(app, small_cells, make_user):
    staff = make_user(Role.STAFF, federation=small_cells[1])
    report = build_annual(staff, 2025, today=TODAY)
    assert report.scope == "F1"
    assert not [t.number for t in report.tables if t.has_confidential]
    assert report.confidential_note == ""


def test_suppression_follows_the_minimum_cell(app, small_cells):
    report = build_annual(None, 2025, today=TODAY)
    reasons = report.table("exit_reasons")
    exits = reasons.column("exits")
    plain_counts = []
    app.config["REPORT_MIN_CELL"] = 0
    for row in build_annual(None, 2025, today=TODAY).table("exit_reasons").rows:
        plain_counts.append(row[exits])
    for row, count in zip(reasons.rows, plain_counts, strict=True):
        if 0 < count < 3:
            assert hidden(row[exits])
