"""Helpers for the survival explorer's tests: the oracle registry, and reading the numbers a page
shows (each number cell carries its exact value in data-value)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from html.parser import HTMLParser
from typing import Any

from tests.conftest import ORACLE_DIR
from tracker.extensions import db
from tracker.services.analytics import queries as analytics
from tracker.services.analytics.baselines import import_baselines, shipped_baselines
from tracker.services.spreadsheets.imports import import_cases

ORACLE_FILES = sorted(p.name for p in ORACLE_DIR.glob("expected_*.json"))


def load_oracle(make_federation, baselines: bool = False, **federation):
    """The R reference registry in a new federation ORACLE (keyword arguments: its other fields),
    with the shipped national baselines when asked; caches cleared, committed."""
    analytics.clear_cache()
    federation = make_federation(code="ORACLE", **federation)
    result = import_cases(None, federation, (ORACLE_DIR / "cases.csv").read_bytes(), "cases.csv", dry_run=False)
    assert not result.problems
    if baselines:
        assert not import_baselines(None, shipped_baselines()).problems
    db.session.commit()
    return federation


def expected(name: str) -> dict[str, Any]:
    return json.loads((ORACLE_DIR / name).read_text())


def url_for_expected(exp: dict[str, Any], path: str = "/research/") -> str:
    """The explorer URL that asks what an oracle file holds."""
    parts = [f"as_of={exp['as_of']}", f"endpoint={exp['endpoint']}"]
    if exp["group_by"]:
        parts.append(f"group_by={exp['group_by']}")
    if not exp["delayed_entry"]:
        parts.append("delayed_entry=off")
    return f"{path}?{'&'.join(parts)}"


def query_for(exp: dict[str, Any], **extra: Any) -> analytics.SurvivalQuery:
    return analytics.SurvivalQuery(as_of=date.fromisoformat(exp["as_of"]), endpoint=exp["endpoint"],
                                   group_by=exp["group_by"], delayed_entry=exp["delayed_entry"], **extra)


def close(a: float | None, b: float | None, tol: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol * max(1.0, abs(b))


class _PageNumbers(HTMLParser):
    """Collects, per row of the survival table (one group), the group's counts and per horizon the
    cells' exact values (data-field, data-years, data-value)."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[str, dict[str, Any]] = {}
        self.group: str | None = None
        self.logrank: list[str] = []
        self.in_logrank = False
        self.in_table = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("id") == "survival-table":
            self.in_table = True
        if tag == "p" and a.get("id") == "logrank":
            self.in_logrank = True
        if self.in_logrank and tag == "span" and "data-value" in a:
            self.logrank.append(a["data-value"])
        if not self.in_table:
            return
        if tag == "tr" and "data-group" in a:
            self.group = a["data-group"]
            self.groups[self.group] = {"horizons": defaultdict(dict)}
        if self.group is not None and a.get("data-field") is not None:
            self._cell(a)

    def _cell(self, a: dict[str, str | None]) -> None:
        assert self.group is not None
        field = a["data-field"]
        if "data-years" not in a:
            self.groups[self.group][field] = a.get("data-value")
            return
        cell = self.groups[self.group]["horizons"][int(a["data-years"] or 0)]
        if field == "ci":
            cell["ci_lower"], cell["ci_upper"] = a.get("data-lower"), a.get("data-upper")
        else:
            cell[field] = a.get("data-value")
        if "data-expected" in a:
            cell["expected"] = a["data-expected"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.in_logrank = False
        if tag == "table":
            self.in_table = False
            self.group = None


def number(text: str | None) -> float | None:
    return None if text in (None, "None", "") else float(text)


def page_numbers(html: str) -> tuple[dict[str, dict[str, Any]], list[float]]:
    """{group: {n, events, median_years, horizons: {years: {survival, ci_lower, ...}}}} and the
    log-rank (statistic, df, p-value) as the page shows them."""
    parser = _PageNumbers()
    parser.feed(html)
    return parser.groups, [float(v) for v in parser.logrank]


def assert_page_matches(html: str, exp: dict[str, Any]) -> None:
    """Every count and estimate of an oracle file, as the page shows it."""
    groups, logrank = page_numbers(html)
    assert list(groups) == [g["group"] for g in exp["groups"]]
    for g in exp["groups"]:
        shown = groups[g["group"]]
        assert int(shown["n"]) == g["n"] and int(shown["events"]) == g["events"]
        assert close(number(shown["median_years"]), g["median_years"]), g["group"]
        for h in g["horizons"]:
            cell = shown["horizons"][h["years"]]
            assert int(cell["at_risk"]) == h["at_risk"], (g["group"], h["years"])
            for key in ("survival", "ci_lower", "ci_upper"):
                assert close(number(cell[key]), h[key]), (g["group"], h["years"], key)
    if exp["logrank"] is None:
        assert logrank == []
    else:
        statistic, df, p_value = logrank
        assert close(statistic, exp["logrank"]["statistic"]) and df == exp["logrank"]["df"]
        assert close(p_value, exp["logrank"]["p_value"])
