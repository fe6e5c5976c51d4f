"""The charts' shared style (tracker.charts.style): one colour per group value wherever it is drawn,
colour-blind-safe, with lines and text that keep their contrast on white."""

from __future__ import annotations

import pytest

from tracker.charts import style


def test_the_palette_is_okabe_ito_strongest_first():
    assert len(set(style.PALETTE)) == 8
    assert {c.upper() for c in style.PALETTE} == {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442",
                                                  "#0072B2", "#D55E00", "#CC79A7"}
    assert [style.contrast(c) >= 3 for c in style.PALETTE] == [True] * 5 + [False] * 3


@pytest.mark.parametrize(("field", "groups", "others"), [
    ("transfer_type", ["rescue"], [["succession", "rescue"], ["rescue", "conversion", "other"]]),
    ("country", ["FR"], [["FR", "IT"], ["ES", "FR", "BE", "DE"], ["FR"]]),
    ("cohort", ["2012"], [["2010", "2011", "2012", "2013"], ["2012", "2015"]]),
    ("size_class", ["10-49"], [["0-9", "10-49"], ["10-49", "250+", "unknown"]]),
])
def test_a_group_keeps_its_colour_whatever_the_other_groups(field, groups, others):
    name = groups[0]
    alone = style.group_colours(field, groups)[name]
    for names in others:
        assert style.group_colours(field, names)[name] == alone


@pytest.mark.parametrize("names", [
    [str(y) for y in range(2005, 2013)],
    ["FR", "IT", "ES", "BE", "DE", "PT", "GR", "NL"],
    list("ABCDEFGH"),
])
def test_up_to_eight_groups_all_differ(names):
    colours = style.group_colours("cohort" if names[0].isdigit() else "country", names)
    assert list(colours) == names  # in the order given
    assert len(set(colours.values())) == len(names)


def test_consecutive_cohorts_never_share_a_colour():
    for start in range(1990, 2030):
        names = [str(y) for y in range(start, start + 7)]
        assert len(set(style.group_colours("cohort", names).values())) == 7


def test_beyond_eight_groups_line_styles_tell_them_apart():
    names = [str(y) for y in range(2000, 2012)]
    colours, styles = style.group_colours("cohort", names), style.group_linestyles("cohort", names)
    assert len({(colours[n], str(styles[n])) for n in names}) == len(names)


def test_strokes_keep_three_to_one_and_their_hue():
    for colour in style.PALETTE:
        line = style.stroke(colour)
        assert style.contrast(line) >= 3
        if style.contrast(colour) >= 3:
            assert line == colour.upper()
    assert style.contrast(style.TEXT) >= 4.5 and style.contrast(style.MUTED_TEXT) >= 4.5
