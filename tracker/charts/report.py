"""The report's charts, drawn on explicit matplotlib Figures (no pyplot state) and written as SVG
with real text, so that the PDF keeps them as vectors and their labels stay searchable.

The explorer's `figures.km_figure` draws every step down to the last case at risk (faded) and
prints every number at risk; a published report must not, so these charts take inputs already
cut for confidentiality by the caller (a curve stops where fewer than 5 enterprises remain at
risk; the number-at-risk rows carry the published strings, "c" for 1 to 4) and are sized for an
A4 column. They share the explorer's colour-blind-safe palette and its deterministic SVG output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from tracker.charts import survival as figures

PALETTE = figures.PALETTE
WIDTH_IN = 6.6
MAX_POINTS = 800  # a step curve is resampled to this many steps: invisible at A4 size, small SVG


@dataclass(frozen=True)
class StepCurve:
    """A right-continuous step function from S(0) = `start`: `value[i]` holds from `time[i]` on."""

    label: str
    time: np.ndarray
    value: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    dashed: bool = False
    start: float = 1.0
    end: float | None = None  # last time drawn (years); default: the last step


@dataclass(frozen=True)
class RiskRow:
    label: str
    counts: tuple[str, ...]  # one per tick, as published


def _figure(height: float) -> Figure:
    return Figure(figsize=(WIDTH_IN, height))


def _style(ax) -> None:  # noqa: ANN001
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#d9d9d9", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8)


def _resample(curve: StepCurve, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    end = curve.end if curve.end is not None else (float(curve.time[-1]) if len(curve.time) else 0.0)
    time = np.r_[0.0, curve.time[curve.time <= end]]
    vals = np.r_[curve.start, values[: len(time) - 1]]
    if len(time) > MAX_POINTS:
        grid = np.linspace(0.0, end, MAX_POINTS)
        idx = np.searchsorted(time, grid, side="right") - 1
        time, vals = grid, vals[idx]
    return np.r_[time, end], np.r_[vals, vals[-1]]


def survival_figure(curves: Sequence[StepCurve], ticks: Sequence[int], risk_rows: Sequence[RiskRow],
                    risk_ticks: Sequence[int] | None = None, ylabel: str = "Share still operating",
                    salt: str = "km") -> str:
    """Kaplan-Meier curves (with 95 % bands where given) and the number-at-risk table below, at
    `risk_ticks` (default: the axis ticks; fewer where the counts are long numbers)."""
    risk_ticks = list(ticks if risk_ticks is None else risk_ticks)
    rows = max(len(risk_rows), 1)
    fig = _figure(3.2 + 0.22 * (rows + 1))
    grid = fig.add_gridspec(2, 1, height_ratios=(3.2, 0.22 * (rows + 1)), hspace=0.35,
                            left=0.24, right=0.97, top=0.97, bottom=0.04)
    ax = fig.add_subplot(grid[0])
    table = fig.add_subplot(grid[1], sharex=ax)
    for i, curve in enumerate(curves):
        colour = PALETTE[i % len(PALETTE)]
        t, v = _resample(curve, curve.value)
        ax.step(t, v, where="post", color=colour, linewidth=1.4, linestyle="--" if curve.dashed else "-",
                label=curve.label)
        if curve.lower is not None and curve.upper is not None:
            _, lo = _resample(curve, np.nan_to_num(curve.lower, nan=0.0))
            _, hi = _resample(curve, np.nan_to_num(curve.upper, nan=1.0))
            ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.15, linewidth=0)
    _style(ax)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, max(ticks) if ticks else 1)
    ax.set_xticks(list(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{100 * y:.0f} %"))
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_xlabel("Years since transfer", fontsize=8)
    ax.legend(fontsize=7.5, frameon=False, loc="lower left")
    table.axis("off")
    table.text(-0.07, 1.0, "Number at risk", transform=table.transAxes, ha="right", va="top", fontsize=7.5,
               fontweight="bold")
    for r, row in enumerate(risk_rows):
        y = 1.0 - (r + 1) / (rows + 1)
        table.text(-0.07, y, row.label, transform=table.transAxes, ha="right", va="top", fontsize=7.5,
                   color=PALETTE[r % len(PALETTE)] if len(risk_rows) > 1 else "black")
        for tick, text in zip(risk_ticks, row.counts, strict=True):
            table.text(tick, y, text, transform=table.get_xaxis_transform(), ha="center", va="top", fontsize=7.5)
    return figure_svg(fig, salt)


def incidence_figure(curves: Sequence[StepCurve], ticks: Sequence[int], salt: str = "cif") -> str:
    """Cumulative incidence curves (from 0) of the competing exits."""
    fig = _figure(3.0)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.12, right=0.97, top=0.95, bottom=0.15)
    top = 0.0
    for i, curve in enumerate(curves):
        t, v = _resample(curve, curve.value)
        top = max(top, float(np.nanmax(v)) if len(v) else 0.0)
        ax.step(t, v, where="post", color=PALETTE[i % len(PALETTE)], linewidth=1.4, label=curve.label,
                linestyle="--" if curve.dashed else "-")
    _style(ax)
    ax.set_xlim(0, max(ticks) if ticks else 1)
    ax.set_xticks(list(ticks))
    ax.set_ylim(0, min(1.0, max(0.1, top * 1.15)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{100 * y:.0f} %"))
    ax.set_xlabel("Years since transfer", fontsize=8)
    ax.set_ylabel("Cumulative share of enterprises", fontsize=8)
    ax.legend(fontsize=7.5, frameon=False, loc="upper left")
    return figure_svg(fig, salt)


def bar_figure(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], ylabel: str,
               salt: str = "bars") -> str:
    """Stacked bars per category (e.g. transfers per year by transfer type); NaN bars are left out."""
    fig = _figure(2.8)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.1, right=0.97, top=0.95, bottom=0.2)
    x = np.arange(len(categories))
    bottom = np.zeros(len(categories))
    for i, (label, values) in enumerate(series):
        heights = np.nan_to_num(np.asarray(values, dtype=float))
        ax.bar(x, heights, bottom=bottom, color=PALETTE[i % len(PALETTE)], width=0.8, label=label)
        bottom += heights
    _style(ax)
    step = max(1, int(np.ceil(len(categories) / 16)))
    ax.set_xticks(x[::step])
    ax.set_xticklabels(list(categories)[::step], rotation=90 if step == 1 and len(categories) > 12 else 0)
    ax.set_xlim(-0.6, len(categories) - 0.4)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel, fontsize=8)
    ax.legend(fontsize=7.5, frameon=False, ncols=min(4, len(series)), loc="upper left")
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
