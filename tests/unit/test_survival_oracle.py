"""Golden values: tracker.survival reproduces the R `survival` reference in tests/data/oracle."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from tracker.survival import AnalysisOptions, CaseArrays, analyse, report_to_dict

ORACLE_DIR = Path(__file__).resolve().parents[1] / "data" / "oracle"  # tests/data/oracle/README.md
EXPECTED = sorted(ORACLE_DIR.glob("expected_*.json"))



def load_rows() -> list[dict[str, str]]:
    with (ORACLE_DIR / "cases.csv").open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def to_cases(rows: list[dict[str, str]]) -> CaseArrays:
    fields = ("transfer_date", "registered_on", "last_verified_on", "exit_date", "exit_reason")
    return CaseArrays(**{name: [row[name] or None for row in rows] for name in fields})


def assert_matches(expected: object, got: object, path: str = "$") -> None:
    """Floats to 1e-9 (relative above 1), everything else exactly; extra keys allowed."""
    if isinstance(expected, dict):
        assert isinstance(got, dict), path
        for key, value in expected.items():
            assert key in got, f"{path}.{key} missing"
            assert_matches(value, got[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list), path
        assert len(got) == len(expected), path
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            assert_matches(e, g, f"{path}[{i}]")
    elif isinstance(expected, float):
        assert isinstance(got, int | float), f"{path}: {got!r}"
        assert not isinstance(got, bool), f"{path}: {got!r}"
        assert abs(expected - got) <= 1e-9 * max(1.0, abs(expected)), f"{path}: {expected} != {got}"
    else:
        assert expected == got, f"{path}: {expected!r} != {got!r}"


@pytest.mark.parametrize("expected_file", EXPECTED, ids=lambda p: p.name)
def test_report_reproduces_r_reference(expected_file: Path) -> None:
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    rows = load_rows()
    group_by = expected["group_by"]
    groups = np.array([row[group_by] for row in rows], dtype=object) if group_by else None
    options = AnalysisOptions(
        as_of=date.fromisoformat(expected["as_of"]),
        endpoint=expected["endpoint"],
        delayed_entry=expected["delayed_entry"],
        group_by=group_by,
    )

    got = report_to_dict(analyse(to_cases(rows), groups, options))

    assert_matches(expected, json.loads(json.dumps(got)))


def test_all_four_reference_files_are_checked() -> None:
    assert len(EXPECTED) == 4, [p.name for p in EXPECTED]


def test_late_registrations_after_as_of_are_listed_as_excluded() -> None:
    report = analyse(to_cases(load_rows()), None, AnalysisOptions(as_of=date(2025, 12, 31)))

    assert report.exclusions == {"ended_before_entry": 3}
    assert report_to_dict(report)["groups"][0]["excluded"] == {"ended_before_entry": 3}
