"""Group labels for --group-by."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.survival import (
    InvalidSurvivalOptions,
    category_labels,
    cohort_labels,
    label_mask,
    nace_section_labels,
    size_class_labels,
)


def test_missing_categories_become_unknown() -> None:
    assert category_labels(["rescue", None, "", "FR"]).tolist() == [
        "rescue",
        "unknown",
        "unknown",
        "FR",
    ]


def test_nace_codes_of_every_documented_form_give_their_section() -> None:
    codes = ["C", "25", "25.6", "25.62", "C25", "C28.1", "01", "99", None, "04", "ZZ"]

    assert nace_section_labels(codes).tolist() == [
        *["C"] * 6, "A", "U", "unknown", "unknown", "unknown",
    ]  # fmt: skip


def test_cohorts_by_year_and_by_band() -> None:
    dates = np.array(["2008-01-01", "2014-12-31", "2015-01-01", "2030-01-01", None], "datetime64[D]")

    assert cohort_labels(dates).tolist() == ["2008", "2014", "2015", "2030", "unknown"]
    assert cohort_labels(dates, [(2015, 2020), (2008, 2014)]).tolist() == [
        "2008-2014",
        "2008-2014",
        "2015-2020",
        "other",
        "unknown",
    ]


@pytest.mark.parametrize("bands", [[(2010, 2008)], [(2008, 2014), (2014, 2016)]])
def test_bad_bands_are_rejected(bands: list[tuple[int, int]]) -> None:
    with pytest.raises(InvalidSurvivalOptions):
        cohort_labels(np.array(["2010-01-01"], "datetime64[D]"), bands)


def test_size_classes() -> None:
    employees = [0, 9, 10, 49, 50, 249, 250, 4000, None, float("nan")]

    assert size_class_labels(employees).tolist() == [
        "0-9", "0-9", "10-49", "10-49", "50-249", "50-249", "250+", "250+", "unknown", "unknown",
    ]  # fmt: skip


def test_label_mask_selects_a_value() -> None:
    assert label_mask(np.array(["FR", "BE", "FR"], dtype=object), "FR").tolist() == [
        True,
        False,
        True,
    ]
