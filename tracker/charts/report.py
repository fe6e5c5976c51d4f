"""The report's charts, drawn on explicit matplotlib Figures (no pyplot state) and written as SVG
with real text, so that the PDF keeps them as vectors and their labels stay searchable.

The explorer's `figures.km_figure` draws every step down to the last case at risk (faded) and
prints every number at risk; a published report must not, so these charts take inputs already
cut for confidentiality by the caller (a curve stops where too few enterprises remain at risk; a
group whose closures are withheld is not drawn) and are sized for an A4 column. Colours come
from `tracker.charts.style`: the same group has the same colour here and on the web pages. All
words (labels, axes, legends) are given by the caller, in the report's language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import blended_transform_factory

from tracker.charts import style
from tracker.charts import survival as figures
from tracker.i18n import format_number

PALETTE = style.PALETTE
WIDTH_IN = 6.6
MAX_POINTS = 800  # a step curve is resampled to this many steps: invisible at A4 size, small SVG
MAX_CENSOR_MARKS = 150
FIXED_COLOURS = {"closure": PALETTE[1], "loss": PALETTE[0]}


@dataclass(frozen=True)
class StepCurve:
    """A right-continuous step function from S(0) = `start`: `value[i]` holds from `time[i]` on.
    `colour_key`: the group value (e.g. `rescue`), for its colour in `style.group_colours`."""

    label: str
    time: np.ndarray
    value: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    dashed: bool = False
    start: float = 1.0
    end: float | None = None  # last time drawn (years); default: the last step
    censored: np.ndarray | None = None  # cases censored at each time (marks on the curve)
    colour_key: str | None = None


@dataclass(frozen=True)
class RiskRow:
    label: str
    counts: tuple[str, ...]  # one per tick, as published
    colour_key: str | None = None


@dataclass(frozen=True)
class Comparison:
    """One country's five-year survival (with its interval) and the expected survival."""

    label: str
    observed: float
    lower: float | None
    upper: float | None
    expected: float | None
    total: bool = False


@dataclass(frozen=True)
class HazardBar:
    label: str
    rate: float
    lower: float
    upper: float


def _figure(height: float) -> Figure:
    return Figure(figsize=(WIDTH_IN, height))


def _style(ax) -> None:  # noqa: ANN001
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color=style.GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8)


def _percent(y: float, _pos: int | None = None) -> str:
    return f"{format_number(100 * y, 0)} %"


def _colours(field: str | None, curves: Sequence[StepCurve]) -> dict[str, str]:
    keys = [c.colour_key or c.label for c in curves]
    if all(k in FIXED_COLOURS for k in keys):
        return {k: FIXED_COLOURS[k] for k in keys}
    return style.group_colours(field, keys)


def _resample(curve: StepCurve, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    end = curve.end if curve.end is not None else (float(curve.time[-1]) if len(curve.time) else 0.0)
    time = np.r_[0.0, curve.time[curve.time <= end]]
    vals = np.r_[curve.start, values[: len(time) - 1]]
    if len(time) > MAX_POINTS:
        grid = np.linspace(0.0, end, MAX_POINTS)
        idx = np.searchsorted(time, grid, side="right") - 1
        time, vals = grid, vals[idx]
    return np.r_[time, end], np.r_[vals, vals[-1]]


def _censor_marks(curve: StepCurve) -> tuple[np.ndarray, np.ndarray]:
    if curve.censored is None:
        return np.empty(0), np.empty(0)
    end = curve.end if curve.end is not None else np.inf
    at = np.flatnonzero((curve.censored > 0) & (curve.time <= end))
    if len(at) > MAX_CENSOR_MARKS:
        at = at[np.linspace(0, len(at) - 1, MAX_CENSOR_MARKS).astype(int)]
    return curve.time[at], curve.value[at]


def survival_figure(curves: Sequence[StepCurve], ticks: Sequence[int], risk_rows: Sequence[RiskRow],
                    risk_ticks: Sequence[int] | None = None, *, ylabel: str, xlabel: str, risk_title: str,
                    field: str | None = None, salt: str = "km") -> str:
    """Kaplan-Meier curves (with 95 % bands where given, censor marks) and the number-at-risk
    table below, at `risk_ticks` (default: the axis ticks)."""
    risk_ticks = list(ticks if risk_ticks is None else risk_ticks)
    rows = max(len(risk_rows), 1)
    fig = _figure(3.2 + 0.22 * (rows + 1))
    grid = fig.add_gridspec(2, 1, height_ratios=(3.2, 0.22 * (rows + 1)), hspace=0.35,
                            left=0.24, right=0.97, top=0.97, bottom=0.04)
    ax = fig.add_subplot(grid[0])
    table = fig.add_subplot(grid[1], sharex=ax)
    colour_of = _colours(field, curves)
    for curve in curves:
        colour = colour_of[curve.colour_key or curve.label]
        t, v = _resample(curve, curve.value)
        ax.step(t, v, where="post", color=style.stroke(colour),
                linewidth=style.EXPECTED_WIDTH if curve.dashed else style.CURVE_WIDTH,
                linestyle=style.EXPECTED if curve.dashed else "-", label=curve.label)
        if curve.lower is not None and curve.upper is not None:
            _, lo = _resample(curve, np.nan_to_num(curve.lower, nan=0.0))
            _, hi = _resample(curve, np.nan_to_num(curve.upper, nan=1.0))
            ax.fill_between(t, lo, hi, step="post", color=colour, alpha=style.BAND_ALPHA, linewidth=0)
        mt, mv = _censor_marks(curve)
        if len(mt):
            ax.plot(mt, mv, linestyle="none", marker="+", markersize=4, markeredgewidth=0.7,
                    color=style.stroke(colour))
    _style(ax)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, max(ticks) if ticks else 1)
    ax.set_xticks(list(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(_percent))
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_xlabel(xlabel, fontsize=8)
    if curves:
        ax.legend(fontsize=7.5, frameon=False, loc="lower left")
    table.axis("off")
    # The title starts at the figure's left edge, not right-aligned to the row labels as they are:
    # in French or Italian it is longer than the margin, and its line has no counts to run into.
    table.text(0.01, 1.0, risk_title, transform=blended_transform_factory(fig.transFigure, table.transAxes),
               ha="left", va="top", fontsize=7.5, fontweight="bold")
    for r, row in enumerate(risk_rows):
        y = 1.0 - (r + 1) / (rows + 1)
        key = row.colour_key
        table.text(-0.07, y, row.label, transform=table.transAxes, ha="right", va="top", fontsize=7.5,
                   color=style.stroke(colour_of[key]) if key in colour_of and len(risk_rows) > 1 else style.TEXT)
        for tick, text in zip(risk_ticks, row.counts, strict=True):
            table.text(tick, y, text, transform=table.get_xaxis_transform(), ha="center", va="top", fontsize=7.5)
    return figure_svg(fig, salt)


def incidence_figure(curves: Sequence[StepCurve], ticks: Sequence[int], *, ylabel: str, xlabel: str,
                     salt: str = "cif") -> str:
    """Cumulative incidence curves (from 0) of the competing exits."""
    fig = _figure(3.0)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.12, right=0.97, top=0.95, bottom=0.15)
    top = 0.0
    colour_of = _colours(None, curves)
    for curve in curves:
        t, v = _resample(curve, curve.value)
        top = max(top, float(np.nanmax(v)) if len(v) else 0.0)
        ax.step(t, v, where="post", color=style.stroke(colour_of[curve.colour_key or curve.label]),
                linewidth=style.CURVE_WIDTH, label=curve.label, linestyle=style.LOSS if curve.dashed else "-")
    _style(ax)
    ax.set_xlim(0, max(ticks) if ticks else 1)
    ax.set_xticks(list(ticks))
    ax.set_ylim(0, min(1.0, max(0.1, top * 1.15)))
    ax.yaxis.set_major_formatter(FuncFormatter(_percent))
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    if curves:
        ax.legend(fontsize=7.5, frameon=False, loc="upper left")
    return figure_svg(fig, salt)


def comparison_figure(points: Sequence[Comparison], *, observed_label: str, expected_label: str, axis_label: str,
                      salt: str = "cmp") -> str:
    """A dot chart: per country the observed five-year survival with its interval (filled) and
    the expected survival (hollow), the all-countries line last and in bold."""
    fig = _figure(0.9 + 0.32 * max(len(points), 1))
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.3, right=0.97, top=0.98, bottom=0.55 / (0.9 + 0.32 * max(len(points), 1)) + 0.08)
    y = np.arange(len(points))[::-1]
    observed, expected = style.stroke(PALETTE[0]), style.stroke(PALETTE[1])
    for yi, p in zip(y, points, strict=True):
        if p.lower is not None and p.upper is not None:
            ax.plot([p.lower, p.upper], [yi, yi], color=observed, linewidth=1.2)
        ax.plot([p.observed], [yi], marker="o", markersize=5, color=observed, linestyle="none")
        if p.expected is not None:
            ax.plot([p.expected], [yi], marker="D", markersize=5, markerfacecolor="white", markeredgecolor=expected,
                    markeredgewidth=1.2, linestyle="none")
    ax.set_yticks(list(y))
    ax.set_yticklabels([p.label for p in points])
    for label, p in zip(ax.get_yticklabels(), points, strict=True):
        if p.total:
            label.set_fontweight("bold")
    _style(ax)
    ax.grid(axis="x", color=style.GRID, linewidth=0.6)
    ax.grid(axis="y", visible=False)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(FuncFormatter(_percent))
    ax.set_xlabel(axis_label, fontsize=8)
    ax.set_ylim(-0.7, len(points) - 0.3)
    handles = [ax.plot([], [], marker="o", color=observed, linestyle="-", linewidth=1.2, label=observed_label)[0],
               ax.plot([], [], marker="D", markerfacecolor="white", markeredgecolor=expected, linestyle="none",
                       label=expected_label)[0]]
    ax.legend(handles=handles, fontsize=7.5, frameon=False, loc="upper center", bbox_to_anchor=(0.4, -0.18), ncols=2)
    return figure_svg(fig, salt)


def hazard_figure(bars: Sequence[HazardBar], *, ylabel: str, xlabel: str, salt: str = "hazard") -> str:
    """The annual closure rate per 100 enterprise-years, with its interval, per year since transfer."""
    fig = _figure(3.0)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.12, right=0.97, top=0.95, bottom=0.2)
    x = np.arange(len(bars))
    rates = np.array([100 * b.rate for b in bars])
    ax.bar(x, rates, width=0.7, color=PALETTE[0], alpha=0.85)
    if bars:
        low = rates - np.array([100 * b.lower for b in bars])
        high = np.array([100 * b.upper for b in bars]) - rates
        ax.errorbar(x, rates, yerr=[low, high], fmt="none", ecolor=style.MUTED_TEXT, elinewidth=0.8, capsize=2)
    _style(ax)
    # Labels stay horizontal (read without turning the page): smaller past ten bars, and at most
    # sixteen of them ("0–1", "2–3"...), which would otherwise touch.
    step = -(-len(bars) // 16) or 1
    ax.set_xticks(x[::step])
    ax.set_xticklabels([b.label for b in bars][::step], fontsize=7.5 if len(bars) <= 10 else 6.5)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: format_number(v, 0)))
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_xlabel(xlabel, fontsize=8)
    return figure_svg(fig, salt)


def figure_svg(fig: Figure, salt: str) -> str:
    """The figure as an inline `<svg>` element (text kept as text, ids salted per figure, no date),
    sized by CSS to the column width with the aspect ratio of its viewBox."""
    svg = figures.figure_svg(fig, id_prefix=salt)
    svg = svg[svg.index("<svg"):]
    # Element ids (line2d_1, text_2...) repeat from one figure to the next: prefix them so that
    # several figures can share one HTML document.
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{salt}-\1"', svg)
    svg = re.sub(r'(href="#|url\(#)([^")]+)', rf"\1{salt}-\2", svg)
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", svg, count=1)
