"""Survival figures drawn with matplotlib on explicit ``Figure`` objects (no pyplot state), shared by
the survival explorer and the annual report.

Inputs are plain data: a ``tracker.survival.SurvivalReport`` or its ``report_to_dict(...,
include_steps=True)`` form, the ``analyse_competing`` result or its ``competing_to_dict`` form,
and lists of dicts for baselines' sources and published figures. Time is in years since the
transfer; survival is a fraction (0..1) and printed as a percentage.

- ``km_figure``: Kaplan-Meier step curve per group with its 95 % CI band, censor marks, the part
  where fewer than ``unstable_below`` cases remain at risk drawn faded, the expected survival
  (Ederer II over the matched national baselines) dashed, published cooperative figures as
  numbered points, and the number at risk per group under the x axis at whole years.
- ``competing_figure``: cumulative incidence of closure and of loss of the cooperative form.
- ``figure_svg`` / ``figure_png``: serialise a figure (deterministic SVG: no date, fixed ids).
"""

from __future__ import annotations

import io
import math
import re
import textwrap
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")  # never a GUI backend on a server; Figure objects below need no pyplot

import numpy as np  # noqa: E402
from matplotlib import rc_context  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MultipleLocator  # noqa: E402

from tracker.charts import style  # noqa: E402

#: Okabe & Ito (2008) colour-blind-safe palette (tracker.charts.style, shared with the report).
PALETTE = style.PALETTE
#: Horizontal resolution of drawn curves, in bins per x range (about one per point of plot width):
#: steps closer than this are merged for drawing only, which keeps the SVG small and quick to draw
#: for 100,000 cases. Many groups share a budget, down to a minimum. Censor marks likewise.
CURVE_RESOLUTION = 450
CURVE_BUDGET = 1800
MIN_RESOLUTION = 150
CENSOR_RESOLUTION = 150
FONT_SIZE = 9.0
LEGEND_WIDTH = 3.3  # inches to the right of the plot
_SVG_LOCK = threading.Lock()  # rc_context changes process-wide settings for the duration of a save


@dataclass(frozen=True)
class _Curve:
    """One group's step curve: values hold from ``time[i]`` to ``time[i+1]``; ``time[0] == 0``."""

    group: str
    n: int
    time: np.ndarray
    survival: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    at_risk: np.ndarray  # per segment: cases at risk during (time[i], time[i+1]] (one fewer than time)
    censor_time: np.ndarray
    censor_survival: np.ndarray
    expected_time: np.ndarray | None
    expected: np.ndarray | None
    horizon_at_risk: dict[float, int]
    last_time: float


_ID = re.compile(r"[A-Za-z][\w-]*")


def _id(name: str) -> str:
    """A group name made fit for an XML id."""
    return re.sub(r"[^\w.-]", "_", name)


def colour(index: int) -> str:
    """The palette colour at ``index`` (cycles after eight). Groups take ``style.group_colours``."""
    return PALETTE[index % len(PALETTE)]


def _group_field(report: Any) -> str | None:
    group_by = _get(report, "group_by")
    return str(group_by).split(",")[0] if group_by else None


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _array(values: Any) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in values], dtype=float) \
        if isinstance(values, list | tuple) else np.asarray(values, dtype=float)


def _curve(group: Any) -> _Curve:
    steps = _get(group, "steps")
    if steps is None:
        raise ValueError("km_figure needs the curve steps: pass the SurvivalReport or "
                         "report_to_dict(report, include_steps=True)")
    time = _array(_get(steps, "time"))
    survival = _array(_get(steps, "survival"))
    lower, upper = _array(_get(steps, "ci_lower")), _array(_get(steps, "ci_upper"))
    at_risk = _array(_get(steps, "at_risk"))
    censored = _array(_get(steps, "censored"))
    # Segment i runs from the previous step (0 first) to step i at the previous level, then drops.
    seg_time = np.r_[0.0, time]
    seg_survival, seg_lower, seg_upper = np.r_[1.0, survival], np.r_[1.0, lower], np.r_[1.0, upper]
    expected_time = expected = None
    baseline = _get(group, "baseline")
    if baseline is not None:
        rel_steps = _get(baseline, "steps")
        if rel_steps is not None and not isinstance(baseline, Mapping):
            expected_time, expected = np.r_[0.0, _array(rel_steps.time)], np.r_[1.0, _array(rel_steps.expected)]
        else:
            points = [(h["years"], h["survival"]) for h in baseline.get("expected", []) if h["survival"] is not None]
            if points:
                expected_time = np.r_[0.0, [p[0] for p in points]]
                expected = np.r_[1.0, [p[1] for p in points]]
    horizons = {float(_get(h, "years")): int(_get(h, "at_risk")) for h in _get(group, "horizons", ())}
    has_censor = censored > 0
    return _Curve(group=str(_get(group, "group")), n=int(_get(group, "n")), time=seg_time, survival=seg_survival,
                  ci_lower=seg_lower, ci_upper=seg_upper, at_risk=at_risk,
                  censor_time=time[has_censor], censor_survival=survival[has_censor],
                  expected_time=expected_time, expected=expected, horizon_at_risk=horizons,
                  last_time=float(time[-1]) if len(time) else 0.0)


def _thin(time: np.ndarray, xmax: float, resolution: int) -> np.ndarray:
    """Indices that keep the first step and the last step of every 1/resolution of the x range."""
    if len(time) <= 2 * resolution or xmax <= 0:
        return np.arange(len(time))
    bins = np.floor(time / xmax * resolution).astype(np.int64)
    last = np.r_[bins[1:] != bins[:-1], True]
    keep = last.copy()
    keep[0] = True
    return np.flatnonzero(keep)


def _resolution(groups: int) -> int:
    return max(MIN_RESOLUTION, min(CURVE_RESOLUTION, CURVE_BUDGET // max(groups, 1)))


def _thinned(curve: _Curve, xmax: float, resolution: int) -> _Curve:
    """The curve with steps merged below the drawing resolution; a merged segment keeps the smallest
    number at risk of its parts (so the faded part never shrinks)."""
    keep = _thin(curve.time, xmax, resolution)
    if len(keep) == len(curve.time):
        return curve
    return _Curve(**{**curve.__dict__, "time": curve.time[keep], "survival": curve.survival[keep],
                     "ci_lower": curve.ci_lower[keep], "ci_upper": curve.ci_upper[keep],
                     "at_risk": np.minimum.reduceat(curve.at_risk, keep[:-1])})


def _step_path(curve: _Curve) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices of the step curve and, per vertex, whether it touches a stable segment / an unstable
    one. Segment k is (time[k], S[k]) → (time[k+1], S[k]) → (time[k+1], S[k+1])."""
    t, s = curve.time, curve.survival
    m = len(t) - 1  # segments
    x = np.empty(2 * m + 1)
    y = np.empty(2 * m + 1)
    x[0:-1:2], y[0:-1:2] = t[:-1], s[:-1]
    x[1::2], y[1::2] = t[1:], s[:-1]
    x[-1], y[-1] = t[-1], s[-1]
    return x, y, curve.at_risk


def _split_by_stability(x: np.ndarray, y: np.ndarray, risk: np.ndarray,
                        threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """y with NaN where a vertex is not on a stable segment, and y with NaN where not on an unstable one."""
    m = len(risk)
    stable = risk >= threshold
    on_stable = np.zeros(len(x), dtype=bool)
    on_unstable = np.zeros(len(x), dtype=bool)
    for offset in (0, 1, 2):
        on_stable[offset:offset + 2 * m:2] |= stable
        on_unstable[offset:offset + 2 * m:2] |= ~stable
    return np.where(on_stable, y, np.nan), np.where(on_unstable, y, np.nan)


def _percent(value: float, _pos: int | None = None) -> str:
    return f"{value * 100:.0f} %"


def _year_step(xmax: float, width_pt: float = 430.0, label_chars: int = 4) -> int:
    """Whole years between ticks: every year when the at-risk numbers fit side by side, else 2, 5, 10."""
    for step in (1, 2, 5, 10):
        if width_pt / (xmax / step + 1) >= 5.0 * label_chars + 6:
            return step
    return 10


def _at_risk_rows(curves: Sequence[_Curve], at_risk: Mapping[str, Sequence[int]] | None,
                  years: np.ndarray) -> list[list[int | None]]:
    rows = []
    for curve in curves:
        given = at_risk.get(curve.group) if at_risk is not None else None
        if given is not None:
            rows.append([int(given[int(y)]) if int(y) < len(given) else None for y in years])
        else:
            rows.append([curve.horizon_at_risk.get(float(y)) for y in years])
    return rows


def _source_text(sources: Sequence[Mapping[str, Any]]) -> str:
    by_series: dict[str, str] = {}
    for s in sources:
        by_series.setdefault(str(s.get("series", "")), str(s.get("publisher") or s.get("series")))
    return "; ".join(f"{publisher} ({series})" for series, publisher in sorted(by_series.items()))


def _wrap(text: str, width: int = 44) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def km_figure(
    report: Any,
    *,
    at_risk: Mapping[str, Sequence[int]] | None = None,
    unstable_below: int = 10,
    baseline_sources: Sequence[Mapping[str, Any]] = (),
    published: Sequence[Mapping[str, Any]] = (),
    max_years: float | None = None,
    width: float = 10.0,
    colours: Mapping[str, str] | None = None,
) -> Figure:
    """Kaplan-Meier curves of ``report`` (a ``SurvivalReport`` or ``report_to_dict(report,
    include_steps=True)``), one colour per group in report order.

    ``at_risk``: per group name, the number at risk at years 0, 1, 2, ... (index = year) for the
    table under the x axis; without it the table shows the report's horizons that are whole years.
    ``unstable_below``: segments with fewer cases at risk are drawn faded (and their CI band).
    ``baseline_sources``: dicts with ``series`` and ``publisher`` named in the legend entry of the
    dashed expected-survival curves (drawn for groups that have a ``baseline``).
    ``published``: dicts with ``years``, ``survival`` (fraction), ``label`` and optionally
    ``group`` (a group name, for its colour): numbered diamonds, explained in the legend.
    ``max_years``: right end of the x axis (default: the longest follow-up, rounded up).
    ``colours``: per group name (default ``style.group_colours`` of the report's grouping field, so
    a group has the same colour here and in the report).
    """
    groups = list(_get(report, "groups", ()))
    curves = [_curve(g) for g in groups if int(_get(g, "n", 0)) > 0]
    longest = max((c.last_time for c in curves), default=1.0)
    xmax = float(max_years) if max_years else float(max(1, math.ceil(longest)))
    curves = [_thinned(c, xmax, _resolution(len(curves))) for c in curves]
    rows = len(curves)
    widest = max((len(f"{c.n:,}") for c in curves), default=1)
    step = _year_step(xmax, (width - LEGEND_WIDTH - 0.8) * 72, widest)
    years = np.arange(0, math.floor(xmax) + 1, step)

    # Fixed layout in inches (a layout engine would cost a second drawing pass on every save); the
    # height is settled once the legend is known.
    pad = 0.5 * widest * 5.0 + 4  # points: the year-0 numbers sit centred on the y axis
    left = max(0.8, 0.2 + 0.068 * max((len(c.group) for c in curves), default=3) + pad / 72)
    fig = Figure(figsize=(width, 6.0))
    ax = fig.add_axes((0, 0, 1, 1))
    table = fig.add_axes((0, 0, 1, 1), sharex=ax)
    table.tick_params(axis="y", pad=pad)
    handles: list[Any] = []
    colour_of = dict(colours) if colours is not None else style.group_colours(_group_field(report),
                                                                               [c.group for c in curves])
    any_unstable = False
    for curve in curves:
        handles.append(_draw_curve(ax, curve, colour_of[curve.group], unstable_below, xmax,
                                   max(30, CENSOR_RESOLUTION * 4 // max(len(curves), 4))))
        any_unstable |= bool((curve.at_risk < unstable_below).any())
    # (expected_time and expected are set together)
    with_expected = [(c, c.expected_time, c.expected) for c in curves
                     if c.expected_time is not None and c.expected is not None and np.isfinite(c.expected[1:]).any()]
    for curve, expected_time, expected in with_expected:
        ok = np.isfinite(expected)
        ax.plot(expected_time[ok], expected[ok], color=style.stroke(colour_of[curve.group]),
                lw=style.EXPECTED_WIDTH, ls=style.EXPECTED, gid=f"expected-{_id(curve.group)}")
    handles.append(Patch(facecolor="0.6", alpha=0.35, label="95 % confidence interval"))
    handles.append(Line2D([], [], color="0.2", marker="|", ls="none", ms=7, label="censored"))
    if with_expected:
        source = _source_text(baseline_sources)
        label = "expected survival (matched national baselines" + (f"; source: {source})" if source else ")")
        handles.append(Line2D([], [], color="0.2", lw=style.EXPECTED_WIDTH, ls=style.EXPECTED, label=_wrap(label)))
    if any_unstable:
        handles.append(Line2D([], [], color="0.2", lw=style.CURVE_WIDTH, ls=style.TAIL,
                              label=f"fewer than {unstable_below} at risk"))
    handles.extend(_draw_published(ax, published, colour_of, xmax))

    ax.set_xlim(0, xmax)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(_percent))
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.tick_params(labelbottom=True, labelsize=FONT_SIZE)
    ax.set_xlabel("Years since transfer", fontsize=FONT_SIZE)
    ax.set_ylabel("Surviving (Kaplan-Meier)", fontsize=FONT_SIZE)
    ax.grid(True, color="0.9", lw=0.6)
    ax.set_axisbelow(True)
    _draw_at_risk_table(table, curves, colour_of, _at_risk_rows(curves, at_risk, years), years)
    height = _place_km_axes(fig, ax, table, left, rows, handles)
    anchor = ((width - LEGEND_WIDTH + 0.15) / width, 1 - 0.1 / height)
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=anchor, fontsize=FONT_SIZE - 0.5, frameon=False,
               borderaxespad=0)
    return fig


def _place_km_axes(fig: Figure, ax: Any, table: Any, left: float, rows: int, handles: Sequence[Any]) -> float:
    """Size the figure for the plot, the at-risk table and the legend; returns the height (inches)."""
    width = fig.get_figwidth()
    plot_h, axis_h, title_h, row_h, top, bottom = 3.9, 0.55, 0.32, 0.2, 0.15, 0.12
    table_h = row_h * max(rows, 1)
    line, gap = (FONT_SIZE - 0.5) * 1.25 / 72, (FONT_SIZE - 0.5) * 0.5 / 72
    legend_h = sum(line * (h.get_label().count("\n") + 1) + gap for h in handles)
    height = max(top + plot_h + axis_h + title_h + table_h + bottom, 0.1 + legend_h + 0.15)
    fig.set_size_inches(width, height)
    plot_w = width - left - LEGEND_WIDTH
    ax.set_position((left / width, (height - top - plot_h) / height, plot_w / width, plot_h / height))
    table_top = height - top - plot_h - axis_h - title_h
    table.set_position((left / width, (table_top - table_h) / height, plot_w / width, table_h / height))
    return height


def _draw_curve(ax: Any, curve: _Curve, col: str, threshold: int, xmax: float, marks: int) -> Line2D:
    line = style.stroke(col)
    x, y, risk = _step_path(curve)
    y_stable, y_unstable = _split_by_stability(x, y, risk, threshold)
    lo_x, lo_y, _ = _step_path(_Curve(**{**curve.__dict__, "survival": curve.ci_lower}))
    _, hi_y, _ = _step_path(_Curve(**{**curve.__dict__, "survival": curve.ci_upper}))
    band_ok = np.isfinite(lo_y) & np.isfinite(hi_y)
    stable_v = np.isfinite(y_stable)
    ax.fill_between(lo_x, lo_y, hi_y, where=band_ok & stable_v, color=col, alpha=style.BAND_ALPHA, lw=0,
                    interpolate=False, gid=f"ci-{_id(curve.group)}")
    ax.fill_between(lo_x, lo_y, hi_y, where=band_ok & np.isfinite(y_unstable), color=col,
                    alpha=0.06, lw=0, interpolate=False)
    label = f"{curve.group} (n = {curve.n:,})"
    ax.plot(x, y_stable, color=line, lw=style.CURVE_WIDTH, solid_joinstyle="miter", gid=f"curve-{_id(curve.group)}")
    # Few at risk: dashed at full colour (a transparent line would lose its contrast).
    ax.plot(x, y_unstable, color=line, lw=style.CURVE_WIDTH, ls=style.TAIL, gid=f"unstable-{_id(curve.group)}")
    if len(curve.censor_time):
        keep = _thin(curve.censor_time, xmax, marks)
        ax.plot(curve.censor_time[keep], curve.censor_survival[keep], ls="none", marker="|", ms=5, mew=0.9,
                color=line, gid=f"censored-{_id(curve.group)}")
    return Line2D([], [], color=line, lw=style.CURVE_WIDTH, label=label)


def _draw_published(ax: Any, published: Sequence[Mapping[str, Any]], colour_of: Mapping[str, str],
                    xmax: float) -> list[Any]:
    handles: list[Any] = []
    placed: list[tuple[float, float]] = []
    points = sorted(enumerate(published, 1), key=lambda p: (float(p[1]["years"]), -float(p[1]["survival"])))
    for number, point in points:
        x, y = float(point["years"]), float(point["survival"])
        face = colour_of.get(str(point.get("group")), "white")
        ax.plot([x], [y], ls="none", marker="D", ms=6, mfc=face, mec="0.1", mew=0.9, zorder=5,
                gid=f"published-{number}")
        # Labels of points at the same horizon are stacked downwards so they never overlap.
        label_y = y
        for px, py in placed:
            if abs(px - x) < 0.3 and abs(py - label_y) < 0.04:
                label_y = py - 0.04
        placed.append((x, label_y))
        ax.annotate(str(number), (x, y), xytext=(x + xmax * 0.015, label_y), textcoords="data",
                    fontsize=FONT_SIZE - 1.5, va="center", ha="left", color="0.1",
                    arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.5} if label_y != y else None)
    for number, point in enumerate(published, 1):
        face = colour_of.get(str(point.get("group")), "white")
        handles.append(Line2D([], [], ls="none", marker="D", ms=5, mfc=face, mec="0.1",
                              label=_published_label(number, point)))
    return handles


def _published_label(number: int, point: Mapping[str, Any]) -> str:
    return _wrap(f"{number}: {float(point['survival']) * 100:.3g} % at {float(point['years']):g} y, {point['label']}")


def _draw_at_risk_table(table: Any, curves: Sequence[_Curve], colour_of: Mapping[str, str],
                        rows: Sequence[Sequence[int | None]], years: np.ndarray) -> None:
    table.set_ylim(max(len(curves), 1) - 0.5, -0.5)
    table.set_yticks(range(len(curves)), [c.group for c in curves], fontsize=FONT_SIZE - 0.5)
    for label in table.get_yticklabels():
        label.set_color(style.TEXT)  # black: coloured text fails contrast; the legend gives the colour
    for i, row in enumerate(rows):
        for year, count in zip(years, row, strict=True):
            table.text(float(year), i, "–" if count is None else f"{count:,}", ha="center", va="center",
                       fontsize=FONT_SIZE - 0.5, color=style.TEXT)
    table.set_title("Number at risk", loc="left", fontsize=FONT_SIZE, pad=3)
    table.xaxis.set_visible(False)  # the plot's x axis above is the scale (shared)
    table.tick_params(axis="y", left=False)
    for side in ("top", "right", "bottom", "left"):
        table.spines[side].set_visible(False)


# --- competing outcomes ---------------------------------------------------------------------------

def _competing_series(entry: Any) -> tuple[str, int, np.ndarray, np.ndarray, np.ndarray, bool]:
    """(group, n, time, closure, loss, is_step) from an ``analyse_competing`` pair or a dict."""
    if isinstance(entry, Mapping):
        points = [h for h in entry.get("horizons", ()) if h.get("closure") is not None]
        steps = entry.get("steps")
        if steps:
            return (str(entry["group"]), int(entry["n"]), np.r_[0.0, _array(steps["time"])],
                    np.r_[0.0, _array(steps["closure"])], np.r_[0.0, _array(steps["loss"])], True)
        return (str(entry["group"]), int(entry["n"]), np.r_[0.0, [float(h["years"]) for h in points]],
                np.r_[0.0, [h["closure"] for h in points]], np.r_[0.0, [h["loss"] for h in points]], False)
    name, result = entry
    steps = result.steps
    return (str(name), int(result.n), np.r_[0.0, steps.time], np.r_[0.0, steps.closure],
            np.r_[0.0, steps.loss], True)


def competing_figure(results: Sequence[Any], *, max_years: float | None = None, width: float = 10.0,
                     group_field: str | None = None, colours: Mapping[str, str] | None = None) -> Figure:
    """Cumulative incidence (Aalen-Johansen) of closure and of loss of the cooperative form per group,
    side by side. ``results``: ``analyse_competing(...)`` (step curves) or ``competing_to_dict(...)``
    (points at the horizons, joined by lines)."""
    series = [_competing_series(r) for r in results]
    colour_of = dict(colours) if colours is not None else style.group_colours(group_field, [s[0] for s in series])
    longest = max((float(s[2][-1]) for s in series), default=1.0)
    xmax = float(max_years) if max_years else float(max(1, math.ceil(longest)))
    legend_rows = math.ceil(len(series) / 4) if series else 0
    left, gap, right, top, plot_h, axis_h = 0.85, 0.3, 0.2, 0.35, 2.8, 0.55
    height = top + plot_h + axis_h + 0.22 * legend_rows + 0.1
    fig = Figure(figsize=(width, height))
    panel_w = (width - left - gap - right) / 2
    bottom = (height - top - plot_h) / height
    first = fig.add_axes((left / width, bottom, panel_w / width, plot_h / height))
    second = fig.add_axes(((left + panel_w + gap) / width, bottom, panel_w / width, plot_h / height), sharey=first)
    second.tick_params(labelleft=False)
    axes = (first, second)
    titles = ("Closure (liquidation, dissolution, other)", "Loss of the cooperative form (sold, merged, demutualised)")
    top = 0.0
    for group, n, time, closure, loss, is_step in series:
        keep = _thin(time, xmax, _resolution(len(series))) if is_step else np.arange(len(time))
        for ax, values, kind in zip(axes, (closure, loss), ("closure", "loss"), strict=True):
            ax.plot(time[keep], values[keep], color=style.stroke(colour_of[group]), lw=1.7,
                    drawstyle="steps-post" if is_step else "default", marker=None if is_step else "o", ms=3.5,
                    gid=f"{kind}-{_id(group)}",
                    label=f"{group} (n = {n:,})" if kind == "closure" else None)
            top = max(top, float(np.nanmax(values)) if len(values) else 0.0)
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, fontsize=FONT_SIZE, loc="left")
        ax.set_xlim(0, xmax)
        ax.xaxis.set_major_locator(MultipleLocator(_year_step(xmax)))
        ax.set_xlabel("Years since transfer", fontsize=FONT_SIZE)
        ax.grid(True, color="0.9", lw=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(labelsize=FONT_SIZE)
    axes[0].set_ylim(0, min(1.0, max(0.05, top * 1.1)))
    axes[0].yaxis.set_major_formatter(FuncFormatter(_percent))
    axes[0].set_ylabel("Cumulative incidence", fontsize=FONT_SIZE)
    if series:
        fig.legend(loc="lower center", bbox_to_anchor=(0.5, 0.05 / height), ncols=min(len(series), 4),
                   fontsize=FONT_SIZE - 0.5, frameon=False, borderaxespad=0)
    return fig


# --- output -----------------------------------------------------------------------------------------

def figure_svg(fig: Figure, *, id_prefix: str = "fig") -> str:
    """The figure as an SVG document: text kept as text, no timestamp (the same figure gives the same
    bytes), and every id (and reference to one) prefixed with ``id_prefix`` so that several figures
    can sit in one HTML page or PDF. Curves carry ids such as ``{id_prefix}-curve-{group}``,
    ``-ci-``, ``-censored-``, ``-expected-``, ``-unstable-``, ``-published-{n}``, ``-closure-``, ``-loss-``."""
    if not _ID.fullmatch(id_prefix):
        raise ValueError(f"id_prefix must be a letter then letters, digits, '-' or '_', not {id_prefix!r}")
    buffer = io.StringIO()
    with _SVG_LOCK, rc_context({"svg.fonttype": "none", "svg.hashsalt": id_prefix}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "Transfer Tracker"})
    return (buffer.getvalue().replace(' id="', f' id="{id_prefix}-').replace("url(#", f"url(#{id_prefix}-")
            .replace('xlink:href="#', f'xlink:href="#{id_prefix}-'))


def figure_png(fig: Figure, *, dpi: int = 150) -> bytes:
    """The figure as PNG bytes (white background)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white", metadata={"Software": "Transfer Tracker"})
    return buffer.getvalue()


__all__ = ["PALETTE", "colour", "style", "competing_figure", "figure_png", "figure_svg", "km_figure"]
