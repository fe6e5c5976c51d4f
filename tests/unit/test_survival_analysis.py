"""The orchestrator: options, report and its JSON shape."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from tracker.survival import (
    AnalysisOptions,
    BaselineCurve,
    BaselineInput,
    CaseArrays,
    InvalidSurvivalOptions,
    analyse,
    analyse_competing,
    competing_to_dict,
    parse_horizons,
    report_to_dict,
)

AS_OF = date(2025, 12, 31)


def make_cases(n: int = 60, seed: int = 1) -> tuple[CaseArrays, np.ndarray]:
    rng = np.random.default_rng(seed)
    transfer = np.datetime64("2015-01-01") + rng.integers(0, 3000, n).astype("timedelta64[D]")
    life = rng.integers(30, 4000, n).astype("timedelta64[D]")
    exits = transfer + life
    exited = exits <= np.datetime64("2024-06-30")
    reasons = rng.choice(np.array(["liquidation", "sold"], dtype=object), n)
    cases = CaseArrays(
        transfer_date=transfer,
        registered_on=np.full(n, np.datetime64("NaT"), "datetime64[D]"),
        last_verified_on=np.where(exited, np.datetime64("NaT"), np.datetime64("2024-06-30")),
        exit_date=np.where(exited, exits, np.datetime64("NaT")),
        exit_reason=np.where(exited, reasons, None),
    )
    groups = rng.choice(np.array(["rescue", "succession", "conversion"], dtype=object), n)
    return cases, groups


def test_report_dict_has_the_design_shape_without_steps() -> None:
    cases, groups = make_cases()
    options = AnalysisOptions(as_of=AS_OF, group_by="transfer_type", horizons=(1, 3))

    out = report_to_dict(analyse(cases, groups, options))

    assert json.loads(json.dumps(out)) == out  # plain JSON types only
    assert set(out) >= {"as_of", "endpoint", "delayed_entry", "group_by", "groups", "logrank"}
    assert out["as_of"] == "2025-12-31"
    assert out["group_by"] == "transfer_type"
    assert [g["group"] for g in out["groups"]] == ["conversion", "rescue", "succession"]
    group = out["groups"][0]
    assert "steps" not in group
    assert set(group["horizons"][0]) == {
        "years", "survival", "ci_lower", "ci_upper", "at_risk", "unstable",
    }  # fmt: skip
    assert [h["years"] for h in group["horizons"]] == [1, 3]
    assert set(out["logrank"]) == {"statistic", "df", "p_value", "pairwise"}
    assert [(p["a"], p["b"]) for p in out["logrank"]["pairwise"]] == [
        ("conversion", "rescue"), ("conversion", "succession"), ("rescue", "succession")]
    assert out["logrank"]["df"] == 2


def test_steps_only_on_request() -> None:
    cases, _ = make_cases()
    report = analyse(cases, None, AnalysisOptions(as_of=AS_OF))

    steps = report_to_dict(report, include_steps=True)["groups"][0]["steps"]

    assert len(steps["time"]) == len(report.groups[0].steps.time) > 0
    assert steps["survival"][0] <= 1.0


def test_without_grouping_one_group_all_and_no_logrank() -> None:
    cases, _ = make_cases()

    out = report_to_dict(analyse(cases, None, AnalysisOptions(as_of=AS_OF)))

    assert [g["group"] for g in out["groups"]] == ["all"]
    assert out["group_by"] is None
    assert out["logrank"] is None


def test_horizon_beyond_follow_up_is_null_in_json() -> None:
    cases, _ = make_cases()
    out = report_to_dict(analyse(cases, None, AnalysisOptions(as_of=AS_OF, horizons=(1, 30))))

    last = out["groups"][0]["horizons"][1]
    assert (last["survival"], last["ci_lower"], last["ci_upper"]) == (None, None, None)
    assert last["at_risk"] == 0
    assert last["unstable"] is True


def test_group_of_excluded_cases_only_is_omitted_but_counted() -> None:
    cases, groups = make_cases()
    groups = groups.copy()
    late = CaseArrays(["2026-03-01"], [None], [None], [None], [None])
    both = CaseArrays(
        **{
            name: np.concatenate([getattr(cases, name), getattr(late, name)])
            for name in (
                "transfer_date",
                "registered_on",
                "last_verified_on",
                "exit_date",
                "exit_reason",
            )
        }
    )
    labels = np.concatenate([groups, np.array(["other"], dtype=object)])

    report = analyse(both, labels, AnalysisOptions(as_of=AS_OF, group_by="transfer_type"))

    assert "other" not in [g.group for g in report.groups]
    assert report.exclusions == {"transfer_after_as_of": 1}


def test_missing_group_label_is_unknown() -> None:
    cases, groups = make_cases()
    groups = groups.copy()
    groups[:5] = None

    report = analyse(cases, groups, AnalysisOptions(as_of=AS_OF, group_by="country"))

    assert "unknown" in [g.group for g in report.groups]
    assert sum(g.n for g in report.groups) == len(groups)


def test_baseline_block_is_added_per_group() -> None:
    cases, groups = make_cases()
    curves = (BaselineCurve("eurostat-bd", "FR", "TOTAL", 2016, (1, 2, 3, 4, 5, 10), (90, 80, 70, 62, 55, 40)),)
    index = np.where(np.arange(len(groups)) % 10 == 0, -1, 0)

    report = analyse(
        cases,
        groups,
        AnalysisOptions(as_of=AS_OF, group_by="transfer_type"),
        baseline=BaselineInput(curves, index),
    )
    block = report_to_dict(report)["groups"][0]["baseline"]

    assert block["series"] == ["eurostat-bd"]
    assert [e["years"] for e in block["expected"]] == [1, 2, 3, 4, 5]
    assert block["expected"][0]["survival"] < 1
    assert set(block["relative"][0]) == {"years", "survival", "ci_lower", "ci_upper"}
    assert block["matches"][0] | {"n": 0} == {
        "series": "eurostat-bd", "country": "FR", "region": None, "sector": "TOTAL", "cohort": 2016, "n": 0,
    }  # fmt: skip
    assert block["matches"][0]["n"] + block["unmatched"] == report.groups[0].n


def test_competing_outcomes_by_group() -> None:
    cases, groups = make_cases()

    out = competing_to_dict(analyse_competing(cases, groups, AnalysisOptions(as_of=AS_OF, group_by="transfer_type")))

    assert [g["group"] for g in out] == ["conversion", "rescue", "succession"]
    assert all(g["closures"] + g["losses"] > 0 for g in out)


@pytest.mark.parametrize("horizons", [(), (0,), (51,), (1.5,), ("2",), (True,), (1, 1), (-3,)])
def test_bad_horizons_are_rejected_with_a_clear_message(horizons: tuple) -> None:
    with pytest.raises(InvalidSurvivalOptions, match="horizon"):
        AnalysisOptions(as_of=AS_OF, horizons=horizons)


def test_options_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="endpoint must be one of enterprise, cooperative"):
        AnalysisOptions(as_of=AS_OF, endpoint="firms")
    with pytest.raises(InvalidSurvivalOptions, match="as_of"):
        AnalysisOptions(as_of="2025-12-31")  # type: ignore[arg-type]


def test_parse_horizons() -> None:
    assert parse_horizons("5, 1,2") == (1, 2, 5)
    assert AnalysisOptions(as_of=AS_OF, horizons=(10, 1)).horizons == (1, 10)
    with pytest.raises(InvalidSurvivalOptions, match="comma-separated"):
        parse_horizons("1,two")


def test_grouping_must_be_named() -> None:
    cases, groups = make_cases()
    with pytest.raises(InvalidSurvivalOptions, match="group_by"):
        analyse(cases, groups, AnalysisOptions(as_of=AS_OF))
    with pytest.raises(InvalidSurvivalOptions, match="group labels"):
        analyse(cases, None, AnalysisOptions(as_of=AS_OF, group_by="country"))


def test_without_grouping_group_all_is_there_even_when_empty() -> None:
    nobody = CaseArrays(["2026-01-05"], [None], [None], [None], [None])

    out = report_to_dict(analyse(nobody, None, AnalysisOptions(as_of=AS_OF, horizons=(1,))))

    assert [(g["group"], g["n"], g["excluded"]) for g in out["groups"]] == [("all", 0, {"transfer_after_as_of": 1})]
    assert out["groups"][0]["horizons"][0]["survival"] is None
