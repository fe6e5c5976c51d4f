"""The survival figures (tracker.charts.survival): explicit Figures drawn from plain data, with the
curves, bands, censor marks, faded unstable parts, expected curves, published points and the
number-at-risk table where a reader expects them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from tracker.charts import style
from tracker.charts.survival import PALETTE, competing_figure, figure_png, figure_svg, km_figure
from tracker.survival import (
    AnalysisOptions,
    BaselineCurve,
    BaselineInput,
    CaseArrays,
    analyse,
    analyse_competing,
    competing_to_dict,
    report_to_dict,
)

AS_OF = date(2025, 12, 31)


def make_cases(n: int = 80, seed: int = 3) -> tuple[CaseArrays, np.ndarray]:
    rng = np.random.default_rng(seed)
    transfer = np.datetime64("2012-01-01") + rng.integers(0, 3000, n).astype("timedelta64[D]")
    exits = transfer + rng.integers(30, 4000, n).astype("timedelta64[D]")
    exited = exits <= np.datetime64("2024-06-30")
    cases = CaseArrays(
        transfer_date=transfer,
        registered_on=np.full(n, np.datetime64("NaT"), "datetime64[D]"),
        last_verified_on=np.where(exited, np.datetime64("NaT"), np.datetime64("2024-06-30")),
        exit_date=np.where(exited, exits, np.datetime64("NaT")),
        exit_reason=np.where(exited, rng.choice(np.array(["liquidation", "sold"], dtype=object), n), None),
    )
    return cases, rng.choice(np.array(["rescue", "succession"], dtype=object), n)


@pytest.fixture
def report():
    cases, groups = make_cases()
    curve = BaselineCurve("test-series", "FR", "TOTAL", 2015, (1.0, 3.0, 5.0), (90.0, 75.0, 60.0))
    baseline = BaselineInput(curves=(curve,), curve_index=np.zeros(len(cases), dtype=np.int64))
    return analyse(cases, groups, AnalysisOptions(as_of=AS_OF, group_by="transfer_type"), baseline=baseline)


def artist(fig: Figure, gid: str):
    found = [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]
    found += [t for t in fig.texts if t.get_gid() == gid]
    assert found, gid
    return found[0]


def test_km_figure_is_an_explicit_figure_without_pyplot(report):
    fig = km_figure(report)
    assert isinstance(fig, Figure)
    assert fig.canvas.manager is None  # not registered with pyplot's figure manager


def test_each_group_has_its_step_curve_band_censor_marks_and_expected_curve(report):
    fig = km_figure(report, baseline_sources=[{"series": "test-series", "publisher": "Statistics Office"}])
    colours = style.group_colours("transfer_type", [g.group for g in report.groups])
    for group in report.groups:
        line = artist(fig, f"curve-{group.group}")
        x, y = line.get_data()
        # the curve steps down at each event time to the engine's survival there
        for t, s in zip(group.steps.time[:5], group.steps.survival[:5], strict=True):
            assert np.any((np.asarray(x) == t) & np.isclose(np.asarray(y, dtype=float), s))
        assert to_rgb(line.get_color()) == to_rgb(style.stroke(colours[group.group]))
        artist(fig, f"ci-{group.group}")
        artist(fig, f"censored-{group.group}")
        expected = artist(fig, f"expected-{group.group}")
        assert expected.get_linestyle() in ("--", "-.")  # dashed
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("expected survival" in text for text in legend)
    assert any(text.startswith(f"{report.groups[0].group} (n = {report.groups[0].n}") for text in legend)


def test_the_dict_form_draws_the_same_curves(report):
    from_report = km_figure(report)
    from_dict = km_figure(report_to_dict(report, include_steps=True))
    for group in report.groups:
        a, b = artist(from_report, f"curve-{group.group}"), artist(from_dict, f"curve-{group.group}")
        np.testing.assert_array_equal(a.get_xdata(), b.get_xdata())
        np.testing.assert_array_equal(np.asarray(a.get_ydata(), float), np.asarray(b.get_ydata(), float))
        artist(from_dict, f"expected-{group.group}")  # from the expected survival at the horizons
    with pytest.raises(ValueError, match="include_steps=True"):
        km_figure(report_to_dict(report))


def test_the_part_with_few_at_risk_is_drawn_apart(report):
    fig = km_figure(report, unstable_below=10)
    for group in report.groups:
        stable = np.asarray(artist(fig, f"curve-{group.group}").get_ydata(), float)
        faded = artist(fig, f"unstable-{group.group}")
        assert faded.get_alpha() in (None, 1)  # dashed at full colour, not transparent
        assert faded.get_linestyle() == "--"
        assert style.contrast(faded.get_color()) >= 3
        few = group.steps.at_risk < 10
        assert few.any() and np.isfinite(np.asarray(faded.get_ydata(), float)).any()
        # the last step (fewest at risk) is on the faded curve only
        assert np.isnan(stable[-1]) and np.isfinite(np.asarray(faded.get_ydata(), float)[-1])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "fewer than 10 at risk" in legend


def test_the_number_at_risk_sits_under_the_year_ticks(report):
    counts = {g.group: [g.n, *(h.at_risk for h in g.horizons)] for g in report.groups}
    fig = km_figure(report, at_risk=counts, max_years=5)
    plot, table = fig.axes[0], fig.axes[1]
    assert table.get_shared_x_axes().joined(plot, table)
    ticks = [t for t in plot.get_xticks() if 0 <= t <= 5]
    assert ticks == [0, 1, 2, 3, 4, 5]
    cells = {(t.get_position()[0], t.get_text()) for t in table.texts}
    for row in counts.values():
        for year, count in enumerate(row):
            assert (year, f"{count:,}") in cells
    assert [t.get_text() for t in table.get_yticklabels()] == [g.group for g in report.groups]
    assert all(to_rgb(t.get_color()) == (0, 0, 0) for t in table.texts)  # black: readable


def test_published_figures_are_numbered_points_explained_in_the_legend(report):
    published = [{"years": 5, "survival": 0.661, "label": "cooperatives, CG Scop 2012 (FR)"},
                 {"years": 3, "survival": 0.825, "label": "cooperatives, CG Scop 2012 (FR)", "group": "rescue"}]
    fig = km_figure(report, published=published)
    point = artist(fig, "published-1")
    assert (point.get_xdata()[0], point.get_ydata()[0]) == (5.0, 0.661)
    rescue = style.group_colours("transfer_type", ["rescue"])["rescue"]
    assert to_rgb(artist(fig, "published-2").get_markerfacecolor()) == to_rgb(rescue)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(text.startswith("1: 66.1 % at 5 y") for text in legend)


def test_competing_figure_from_results_and_from_dicts():
    cases, groups = make_cases()
    results = analyse_competing(cases, groups, AnalysisOptions(as_of=AS_OF, group_by="transfer_type"))
    for data in (results, competing_to_dict(results)):
        fig = competing_figure(data)
        assert isinstance(fig, Figure) and len(fig.axes) == 2
        for name, result in results:
            top = max(h.closure for h in result.horizons if h.closure is not None)
            plotted = float(np.nanmax(artist(fig, f"closure-{name}").get_ydata()))
            # steps run to the last follow-up, the dict form to the last horizon
            assert plotted >= top - 1e-12 if data is results else np.isclose(plotted, top)
            artist(fig, f"loss-{name}")


def test_svg_is_valid_deterministic_and_keeps_text(report):
    fig = km_figure(report)
    svg = figure_svg(fig, id_prefix="km")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {"".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert "Number at risk" in texts and "Years since transfer" in texts
    assert figure_svg(fig, id_prefix="km") == svg  # no timestamp: cacheable, diffable
    other = figure_svg(fig, id_prefix="other")
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    assert ids and all(i.startswith("km-") for i in ids)  # two figures can share a page or a PDF
    assert not ids & {el.get("id") for el in ET.fromstring(other).iter() if el.get("id")}
    assert f"km-curve-{report.groups[0].group}" in ids
    with pytest.raises(ValueError):
        figure_svg(fig, id_prefix='x" onload="alert(1)')


def test_png(report):
    png = figure_png(km_figure(report), dpi=72)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_an_empty_report_still_draws_axes():
    cases, _ = make_cases(5)
    empty = analyse(cases.subset(np.zeros(5, dtype=bool)), None, AnalysisOptions(as_of=AS_OF))
    fig = km_figure(empty)
    assert isinstance(fig, Figure)
    ET.fromstring(figure_svg(fig))


def test_palette_is_okabe_ito():
    assert len(set(PALETTE)) == 8
    assert {c.upper() for c in PALETTE} == {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
                                            "#D55E00", "#CC79A7"}


def test_bands_by_default_for_two_groups_at_most_with_a_switch(report):
    assert artist(km_figure(report), f"ci-{report.groups[0].group}")
    fig = km_figure(report, bands=False)
    assert not [a for ax in fig.axes for a in ax.get_children() if str(a.get_gid()).startswith("ci-")]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "95 % confidence interval" not in legend


def test_human_labels_medians_and_the_log_rank_p_on_the_plot(report):
    labels = {g.group: g.group.title() + " label" for g in report.groups}
    fig = km_figure(report, labels=labels, logrank_p=0.0004, text={"logrank_below": "Log-rank : p < 0,001"})
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    for group in report.groups:
        assert any(text.startswith(labels[group.group] + " (n = ") for text in legend)
        if group.median_years is not None:
            assert any(f"median {group.median_years:.1f} y" in text for text in legend)
            x, y = artist(fig, f"median-{group.group}").get_data()
            assert list(y) == [0.5, 0.5, 0] and x[1] == group.median_years
    assert artist(fig, "logrank").get_text() == "Log-rank : p < 0,001"
    assert artist(km_figure(report, logrank_p=0.0234), "logrank").get_text() == "Log-rank p = 0.023"
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == [labels[g.group] for g in report.groups]


def test_a_downloaded_figure_stands_on_its_own(report):
    fig = km_figure(report, header=("Enterprise survival", "As of 2025-12-31, by transfer type"),
                    footer="Source: Transfer Tracker; n = 80")
    assert artist(fig, "title").get_text() == "Enterprise survival"
    assert "by transfer type" in artist(fig, "selection").get_text()
    assert artist(fig, "source").get_text().startswith("Source:")
    svg = figure_svg(fig)
    assert "Enterprise survival" in svg and "n = 80" in svg


def test_the_delayed_entry_note_when_fewer_are_at_risk_at_zero(report):
    counts = {g.group: [g.n - 3, *(h.at_risk for h in g.horizons)] for g in report.groups}
    assert artist(km_figure(report, at_risk=counts, max_years=5), "delayed-note")
    full = {g.group: [g.n, *(h.at_risk for h in g.horizons)] for g in report.groups}
    fig = km_figure(report, at_risk=full, max_years=5)
    assert not [t for t in fig.texts if t.get_gid() == "delayed-note"]


def test_the_forest_plot_writes_round_ratios_in_the_reader_s_language_and_keeps_its_labels_whole():
    from tracker.charts.survival import forest_figure

    long_label = "Type de transmission : Transformation contre Transmission (faute de repreneur)"
    terms = [{"label": long_label, "hazard_ratio": 1.05, "ci_lower": 0.82, "ci_upper": 1.31},
             {"label": "Salariés (log)", "hazard_ratio": 0.97, "ci_lower": 0.9, "ci_upper": 1.04}]
    fig = forest_figure(terms, number=lambda v: f"{v:g}".replace(".", ","))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    shown = [t.get_text() for t in ax.get_xticklabels() + ax.get_xticklabels(minor=True) if t.get_text()]
    assert shown and all("10" not in s or s == "10" for s in shown), shown  # not 8 × 10⁻¹
    assert "0,8" in shown and "1" in shown
    renderer = canvas.get_renderer()
    assert min(t.get_window_extent(renderer).x0 for t in ax.get_yticklabels()) >= 0  # the longest is not cut
