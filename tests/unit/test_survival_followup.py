"""Follow-up preparation: who is followed from when to when, and who is left out and why."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from tracker.survival import CaseArrays, InvalidSurvivalOptions, prepare_followup

AS_OF = date(2025, 12, 31)
FIELDS = ("transfer_date", "registered_on", "last_verified_on", "exit_date", "exit_reason")


def cases(*rows: tuple[str | None, ...]) -> CaseArrays:
    return CaseArrays(**{name: [row[i] for row in rows] for i, name in enumerate(FIELDS)})


def years(days: int) -> float:
    return days / 365.25


def test_open_case_is_censored_at_its_last_verification() -> None:
    f = prepare_followup(cases(("2020-01-01", None, "2021-01-01", None, None)), AS_OF)

    assert f.included.tolist() == [True]
    assert f.entry.tolist() == [0.0]
    assert f.stop.tolist() == [years(366)]
    assert f.event.tolist() == [False]


def test_verification_after_as_of_counts_as_as_of() -> None:
    f = prepare_followup(cases(("2024-12-31", None, "2026-06-30", None, None)), AS_OF)

    assert f.stop.tolist() == [years(365)]


def test_exit_after_as_of_is_ignored_and_case_followed_until_as_of() -> None:
    f = prepare_followup(cases(("2024-12-31", None, None, "2026-03-01", "liquidation")), AS_OF)

    assert f.included.tolist() == [True]
    assert f.stop.tolist() == [years(365)]
    assert f.event.tolist() == [False]


def test_endpoints_differ_only_for_loss_of_the_cooperative_form() -> None:
    data = cases(
        ("2020-01-01", None, None, "2022-01-01", "liquidation"),
        ("2020-01-01", None, None, "2022-01-01", "dissolution"),
        ("2020-01-01", None, None, "2022-01-01", "other"),
        ("2020-01-01", None, None, "2022-01-01", "sold"),
        ("2020-01-01", None, None, "2022-01-01", "merged"),
        ("2020-01-01", None, None, "2022-01-01", "demutualised"),
    )
    enterprise = prepare_followup(data, AS_OF, "enterprise")
    cooperative = prepare_followup(data, AS_OF, "cooperative")

    assert enterprise.event.tolist() == [True, True, True, False, False, False]
    assert cooperative.event.tolist() == [True] * 6
    assert np.array_equal(enterprise.stop, cooperative.stop)  # a sale still ends follow-up
    assert enterprise.cause.tolist() == [1, 1, 1, 2, 2, 2]


def test_exit_reasons_are_read_case_insensitively() -> None:
    data = cases(("2020-01-01", None, None, "2022-01-01", " Sold"))

    assert prepare_followup(data, AS_OF).cause.tolist() == [2]


def test_delayed_entry_starts_at_registration_and_missing_registration_means_transfer() -> None:
    data = cases(
        ("2020-01-01", "2021-01-01", "2025-01-01", None, None),
        ("2020-01-01", None, "2025-01-01", None, None),
        ("2020-01-01", "2019-06-01", "2025-01-01", None, None),  # supported before transfer
    )
    f = prepare_followup(data, AS_OF)

    assert f.entry.tolist() == [years(366), 0.0, 0.0]


def test_no_delayed_entry_enters_everyone_at_zero() -> None:
    data = cases(("2020-01-01", "2024-01-01", None, "2022-01-01", "liquidation"))

    assert prepare_followup(data, AS_OF).exclusions() == {"ended_before_entry": 1}
    f = prepare_followup(data, AS_OF, delayed_entry=False)
    assert f.included.tolist() == [True]
    assert f.entry.tolist() == [0.0]
    assert f.event.tolist() == [True]


def test_excluded_cases_carry_a_reason_and_are_counted() -> None:
    data = cases(
        ("2026-02-01", None, None, None, None),  # transferred after as_of
        ("2020-01-01", None, None, None, None),  # open, never verified
        ("2020-01-01", "2023-01-01", None, "2022-06-01", "liquidation"),  # exit before registration
        ("2020-01-01", "2022-06-01", "2022-06-01", None, None),  # verified on the entry day
        ("2020-01-01", None, None, "2020-01-01", "liquidation"),  # exit on the transfer date
        ("2020-01-01", None, None, "2021-01-01", None),  # exit without a reason
        (None, None, "2021-01-01", None, None),
        ("2020-01-01", None, "2021-01-01", None, None),  # included
    )
    f = prepare_followup(data, AS_OF)

    assert f.reasons.tolist() == [
        "transfer_after_as_of",
        "no_verification",
        "ended_before_entry",
        "ended_before_entry",
        "no_follow_up",
        "unknown_exit_reason",
        "no_transfer_date",
        None,
    ]
    assert f.exclusions() == {
        "no_transfer_date": 1,
        "transfer_after_as_of": 1,
        "no_verification": 1,
        "unknown_exit_reason": 1,
        "no_follow_up": 1,
        "ended_before_entry": 2,
    }
    assert np.isnan(f.stop[:-1]).all()
    assert not f.event.any()


def test_results_are_read_only() -> None:
    f = prepare_followup(cases(("2020-01-01", None, "2021-01-01", None, None)), AS_OF)

    with pytest.raises(ValueError, match="read-only"):
        f.stop[0] = 5.0


def test_unknown_endpoint_is_rejected() -> None:
    with pytest.raises(InvalidSurvivalOptions, match="endpoint"):
        prepare_followup(cases(("2020-01-01", None, "2021-01-01", None, None)), AS_OF, "firm")


def test_case_arrays_need_equal_lengths() -> None:
    with pytest.raises(InvalidSurvivalOptions, match="same length"):
        CaseArrays(["2020-01-01"], [None, None], [None], [None], [None])
