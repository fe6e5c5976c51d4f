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
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.textpath import TextToPath  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, MultipleLocator, NullFormatter  # noqa: E402

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
    """The publishers of the baselines, once each (their series codes are for the downloads)."""
    return "; ".join(sorted({str(s.get("publisher") or s.get("series", "")) for s in sources}))


def _wrap(text: str, width: int = 44) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


#: The figures' words, in English; callers pass them translated (``text=``), so that this module
#: needs no request or locale. ``%(n)s``-style placeholders are filled here.
TEXT: dict[str, str] = {
    "x_label": "Years since transfer",
    "y_label": "Surviving (Kaplan-Meier)",
    "at_risk": "Number at risk",
    "ci": "95 % confidence interval",
    "censored": "censored",
    "expected": "expected survival (national baselines)",
    "expected_source": "expected survival (national baselines: %(source)s)",
    "few_at_risk": "fewer than %(n)s at risk",
    "group": "%(group)s (n = %(n)s)",
    "group_median": "%(group)s (n = %(n)s; median %(median)s y)",
    "logrank": "Log-rank p = %(p)s",
    "logrank_below": "Log-rank p < 0.001",
    "delayed": "At 0: the cases observed from their transfer; the others enter at their registration "
               "(delayed entry), so fewer are at risk at 0 than the n of the legend.",
    "closure": "Closure (liquidation, dissolution, other)",
    "loss": "Loss of the cooperative form (sold, merged, demutualised)",
    "incidence": "Cumulative incidence",
    "ci_horizons": "95 % confidence interval at the horizons",
    "hazard": "Events per 100 enterprise-years",
    "hazard_year": "Year since transfer",
    "published_x": "Surviving",
    "this_selection": "this selection",
    "hazard_ratio": "Hazard ratio (95 % CI, log scale)",
}


def _words(text: Mapping[str, str] | None) -> dict[str, str]:
    return {**TEXT, **(text or {})}


def _fmt(template: str, **values: Any) -> str:
    return template % values


def p_text(p: float) -> str:
    """A p-value as printed on a figure: < 0.001 below a thousandth, else three decimals."""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


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
    labels: Mapping[str, str] | None = None,
    bands: bool | None = None,
    logrank_p: float | None = None,
    text: Mapping[str, str] | None = None,
    number: Any = None,
    header: tuple[str, str] | None = None,
    footer: str | None = None,
) -> Figure:
    """Kaplan-Meier curves of ``report`` (a ``SurvivalReport`` or ``report_to_dict(report,
    include_steps=True)``), to the survminer standard: legend above the plot, censor marks, the
    medians marked at 50 %, the log-rank p on the plot, and the number at risk in black under
    the x axis, aligned with its ticks.

    ``at_risk``: per group name, the number at risk at years 0, 1, 2, ... (index = year) for the
    table under the x axis; without it the table shows the report's horizons that are whole years.
    When fewer are at risk at 0 than a group's n (delayed entry), a note says why.
    ``unstable_below``: segments with fewer cases at risk are drawn dashed (and their CI band lighter).
    ``baseline_sources``: dicts with ``series`` and ``publisher`` named in the legend entry of the
    dashed expected-survival curves (drawn for groups that have a ``baseline``).
    ``published``: dicts with ``years``, ``survival`` (fraction), ``label`` and optionally
    ``group``: numbered diamonds on the curve (the report's use; the explorer draws them apart,
    ``published_figure``).
    ``max_years``: right end of the x axis (default: the longest follow-up, rounded up).
    ``colours``: per group name (default ``style.group_colours`` of the report's grouping field, so
    a group has the same colour here and in the report). ``labels``: the name shown per group.
    ``bands``: draw the CI bands (default: for one or two groups only; more overlap illegibly).
    ``logrank_p``: printed in the plot. ``text``: the words, translated (keys of ``TEXT``).
    ``number``: formats a count (default ``1,234``). ``header`` (title, selection in words) and
    ``footer`` (as of, n, source) make a figure that stands on its own when downloaded.
    """
    words = _words(text)
    count = number or (lambda v: f"{v:,}")
    decimal = (lambda v: number(v, 1)) if number else (lambda v: f"{v:.1f}")
    groups = list(_get(report, "groups", ()))
    drawn = [g for g in groups if int(_get(g, "n", 0)) > 0]
    curves = [_curve(g) for g in drawn]
    medians = {str(_get(g, "group")): _get(g, "median_years") for g in drawn}
    name_of = {c.group: (labels or {}).get(c.group, c.group) for c in curves}
    longest = max((c.last_time for c in curves), default=1.0)
    xmax = float(max_years) if max_years else float(max(1, math.ceil(longest)))
    curves = [_thinned(c, xmax, _resolution(len(curves))) for c in curves]
    rows = len(curves)
    widest = max((len(count(c.n)) for c in curves), default=1)
    step = _year_step(xmax, (width - 2.0) * 72, widest)
    years = np.arange(0, math.floor(xmax) + 1, step)
    show_bands = len(curves) <= 2 if bands is None else bands

    pad = 0.5 * widest * 5.4 + 4  # points: the year-0 numbers sit centred on the y axis
    left = max(0.85, 0.25 + 0.075 * max((len(name_of[c.group]) for c in curves), default=3) + pad / 72)
    fig = Figure(figsize=(width, 6.0))
    ax = fig.add_axes((0, 0, 1, 1))
    table = fig.add_axes((0, 0, 1, 1), sharex=ax)
    table.tick_params(axis="y", pad=pad)
    colour_of = dict(colours) if colours is not None else style.group_colours(_group_field(report),
                                                                               [c.group for c in curves])
    handles: list[Any] = []
    any_unstable = False
    for curve in curves:
        median = medians.get(curve.group)
        label = (_fmt(words["group_median"], group=name_of[curve.group], n=count(curve.n), median=decimal(median))
                 if median is not None else _fmt(words["group"], group=name_of[curve.group], n=count(curve.n)))
        handles.append(_draw_curve(ax, curve, colour_of[curve.group], unstable_below, xmax,
                                   max(30, CENSOR_RESOLUTION * 4 // max(len(curves), 4)), show_bands, label))
        any_unstable |= bool((curve.at_risk < unstable_below).any())
        if median is not None and median <= xmax:
            line = style.stroke(colour_of[curve.group])
            ax.plot([0, median, median], [0.5, 0.5, 0], color=line, lw=0.8, ls=(0, (1, 1.5)),
                    gid=f"median-{_id(curve.group)}")
    # (expected_time and expected are set together)
    with_expected = [(c, c.expected_time, c.expected) for c in curves
                     if c.expected_time is not None and c.expected is not None and np.isfinite(c.expected[1:]).any()]
    for curve, expected_time, expected in with_expected:
        ok = np.isfinite(expected)
        ax.plot(expected_time[ok], expected[ok], color=style.stroke(colour_of[curve.group]),
                lw=style.EXPECTED_WIDTH, ls=style.EXPECTED, gid=f"expected-{_id(curve.group)}")
    if show_bands and curves:
        handles.append(Patch(facecolor="0.55", alpha=0.35, label=words["ci"]))
    handles.append(Line2D([], [], color="0.2", marker="|", ls="none", ms=7, label=words["censored"]))
    if with_expected:
        source = _source_text(baseline_sources)
        label = _fmt(words["expected_source"], source=source) if source else words["expected"]
        handles.append(Line2D([], [], color="0.2", lw=style.EXPECTED_WIDTH, ls=style.EXPECTED,
                              label=_wrap(label, 60)))
    if any_unstable:
        handles.append(Line2D([], [], color="0.2", lw=style.CURVE_WIDTH, ls=style.TAIL,
                              label=_fmt(words["few_at_risk"], n=unstable_below)))
    handles.extend(_draw_published(ax, published, colour_of, xmax))
    if logrank_p is not None and len(curves) > 1:
        shown = words["logrank_below"] if logrank_p < 0.001 else _fmt(words["logrank"], p=p_text(logrank_p))
        ax.text(0.985, 0.975, shown, transform=ax.transAxes, ha="right",
                va="top", fontsize=FONT_SIZE, color=style.TEXT, gid="logrank",
                bbox={"boxstyle": "square,pad=0.25", "facecolor": "white", "edgecolor": "none", "alpha": 0.9})

    ax.set_xlim(0, xmax)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(_percent))
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.tick_params(labelbottom=True, labelsize=FONT_SIZE, colors=style.TEXT)
    ax.set_xlabel(words["x_label"], fontsize=FONT_SIZE, color=style.TEXT)
    ax.set_ylabel(words["y_label"], fontsize=FONT_SIZE, color=style.TEXT)
    ax.grid(True, color=style.GRID, lw=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    at_risk_rows = _at_risk_rows(curves, at_risk, years)
    delayed = any(row and row[0] is not None and row[0] < c.n for c, row in zip(curves, at_risk_rows, strict=True))
    _draw_at_risk_table(table, curves, [name_of[c.group] for c in curves], at_risk_rows, years, words["at_risk"],
                        count)
    # as many legend columns as the longest entry allows across the plot
    longest_label = max((max(len(line) for line in h.get_label().split("\n")) for h in handles), default=10)
    column_in = (longest_label * (FONT_SIZE - 0.5) * 0.55 + 40) / 72
    ncols = max(1, min(len(handles), 3, int((width - left) // column_in)))
    _place_km_axes(fig, ax, table, left, rows, handles, ncols, words["delayed"] if delayed else None,
                   header, footer)
    return fig


def _legend_rows(handles: Sequence[Any], ncols: int) -> int:
    groups = [h for h in handles if not isinstance(h, Patch) and h.get_linestyle() == "-" and h.get_marker() in
              ("None", None, "")]
    rest = len(handles) - len(groups)
    return math.ceil(len(groups) / max(ncols, 1)) + math.ceil(rest / max(ncols, 1))


def _place_km_axes(fig: Figure, ax: Any, table: Any, left: float, rows: int, handles: Sequence[Any], ncols: int,
                   note: str | None, header: tuple[str, str] | None, footer: str | None) -> float:
    """Size the figure: header, legend above the plot, plot, at-risk table, note, footer; returns
    the height (inches)."""
    width = fig.get_figwidth()
    right, plot_h, axis_h, title_h, row_h, bottom = 0.25, 3.1, 0.55, 0.3, 0.21, 0.12
    line = (FONT_SIZE - 0.5) * 1.45 / 72
    chars = int((width - 0.4) * 72 / (FONT_SIZE * 0.52))
    header_lines = []
    if header is not None:
        header_lines = textwrap.wrap(header[1], chars)
    header_h = (0.12 + 0.25 + line * len(header_lines) + 0.08) if header is not None else 0.0
    legend_h = line * _legend_rows(handles, ncols) + 0.1
    note_lines = textwrap.wrap(note, chars) if note else []
    footer_lines = textwrap.wrap(footer, chars) if footer else []
    note_h = line * len(note_lines) + (0.08 if note_lines else 0)
    footer_h = line * len(footer_lines) + (0.12 if footer_lines else 0)
    table_h = row_h * max(rows, 1)
    height = header_h + legend_h + plot_h + axis_h + title_h + table_h + note_h + footer_h + bottom
    fig.set_size_inches(width, height)
    plot_w = width - left - right
    top_of_plot = height - header_h - legend_h
    ax.set_position((left / width, (top_of_plot - plot_h) / height, plot_w / width, plot_h / height))
    table_top = top_of_plot - plot_h - axis_h - title_h
    table.set_position((left / width, (table_top - table_h) / height, plot_w / width, table_h / height))
    if header is not None:
        fig.text(0.2 / width, 1 - 0.12 / height, header[0], ha="left", va="top", fontsize=FONT_SIZE + 2.5,
                 fontweight="bold", color=style.TEXT, gid="title")
        fig.text(0.2 / width, 1 - 0.45 / height, "\n".join(header_lines), ha="left", va="top",
                 fontsize=FONT_SIZE - 0.5, color=style.TEXT, linespacing=1.35, gid="selection")
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(left / width, (height - header_h) / height),
               ncols=ncols, fontsize=FONT_SIZE - 0.5, frameon=False, borderaxespad=0.2, handlelength=2.6,
               columnspacing=1.6, labelcolor=style.TEXT)
    y = table_top - table_h - 0.06
    if note_lines:
        fig.text(0.2 / width, y / height, "\n".join(note_lines), ha="left", va="top", fontsize=FONT_SIZE - 0.5,
                 color=style.TEXT, linespacing=1.35, gid="delayed-note")
        y -= note_h
    if footer_lines:
        fig.text(0.2 / width, (y - 0.06) / height, "\n".join(footer_lines), ha="left", va="top",
                 fontsize=FONT_SIZE - 1, color=style.MUTED_TEXT, linespacing=1.35, gid="source")
    return height


def _draw_curve(ax: Any, curve: _Curve, col: str, threshold: int, xmax: float, marks: int, bands: bool,
                label: str) -> Line2D:
    line = style.stroke(col)
    x, y, risk = _step_path(curve)
    y_stable, y_unstable = _split_by_stability(x, y, risk, threshold)
    lo_x, lo_y, _ = _step_path(_Curve(**{**curve.__dict__, "survival": curve.ci_lower}))
    _, hi_y, _ = _step_path(_Curve(**{**curve.__dict__, "survival": curve.ci_upper}))
    band_ok = np.isfinite(lo_y) & np.isfinite(hi_y)
    stable_v = np.isfinite(y_stable)
    if bands:
        ax.fill_between(lo_x, lo_y, hi_y, where=band_ok & stable_v, color=col, alpha=style.BAND_ALPHA, lw=0,
                        interpolate=False, gid=f"ci-{_id(curve.group)}")
        ax.fill_between(lo_x, lo_y, hi_y, where=band_ok & np.isfinite(y_unstable), color=col,
                        alpha=0.07, lw=0, interpolate=False)
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


def _draw_at_risk_table(table: Any, curves: Sequence[_Curve], names: Sequence[str],
                        rows: Sequence[Sequence[int | None]], years: np.ndarray, title: str,
                        count: Any) -> None:
    table.set_ylim(max(len(curves), 1) - 0.5, -0.5)
    table.set_yticks(range(len(curves)), list(names), fontsize=FONT_SIZE)
    for label in table.get_yticklabels():
        label.set_color(style.TEXT)  # black: coloured text fails contrast; the legend gives the colour
    for i, row in enumerate(rows):
        for year, value in zip(years, row, strict=True):
            table.text(float(year), i, "–" if value is None else count(value), ha="center", va="center",
                       fontsize=FONT_SIZE, color=style.TEXT)
    table.set_title(title, loc="left", fontsize=FONT_SIZE, pad=3, color=style.TEXT, fontweight="bold")
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


def _standalone(width: float, body_h: float, header: tuple[str, str] | None,
                footer: str | None) -> tuple[float, float, list[str], list[str]]:
    """(total height, height above the body, header lines, footer lines) in inches."""
    line = (FONT_SIZE - 0.5) * 1.45 / 72
    chars = int((width - 0.4) * 72 / (FONT_SIZE * 0.52))
    header_lines = textwrap.wrap(header[1], chars) if header is not None else []
    footer_lines = textwrap.wrap(footer, chars) if footer else []
    header_h = (0.12 + 0.25 + line * len(header_lines) + 0.1) if header is not None else 0.0
    footer_h = (line * len(footer_lines) + 0.15) if footer_lines else 0.0
    return header_h + body_h + footer_h, header_h, header_lines, footer_lines


def _header_footer(fig: Figure, header: tuple[str, str] | None, header_lines: Sequence[str],
                   footer_lines: Sequence[str]) -> None:
    width, height = fig.get_figwidth(), fig.get_figheight()
    if header is not None:
        fig.text(0.2 / width, 1 - 0.12 / height, header[0], ha="left", va="top", fontsize=FONT_SIZE + 2.5,
                 fontweight="bold", color=style.TEXT, gid="title")
        fig.text(0.2 / width, 1 - 0.45 / height, "\n".join(header_lines), ha="left", va="top",
                 fontsize=FONT_SIZE - 0.5, color=style.TEXT, linespacing=1.35, gid="selection")
    if footer_lines:
        line = (FONT_SIZE - 0.5) * 1.45 / 72
        fig.text(0.2 / width, (0.08 + line * len(footer_lines)) / height, "\n".join(footer_lines), ha="left",
                 va="top", fontsize=FONT_SIZE - 1, color=style.MUTED_TEXT, linespacing=1.35, gid="source")


def _style_axes(ax: Any) -> None:
    ax.grid(True, color=style.GRID, lw=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=FONT_SIZE, colors=style.TEXT)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def competing_figure(results: Sequence[Any], *, max_years: float | None = None, width: float = 10.0,
                     group_field: str | None = None, colours: Mapping[str, str] | None = None,
                     labels: Mapping[str, str] | None = None, text: Mapping[str, str] | None = None,
                     header: tuple[str, str] | None = None, footer: str | None = None) -> Figure:
    """Cumulative incidence (Aalen-Johansen) of closure and of loss of the cooperative form per group,
    side by side, with the 95 % intervals at the horizons as a band (for one or two groups).
    ``results``: ``analyse_competing(...)`` (step curves) or ``competing_to_dict(...)`` (points at
    the horizons, joined by lines)."""
    words = _words(text)
    series = [_competing_series(r) for r in results]
    intervals = [_competing_intervals(r) for r in results]
    colour_of = dict(colours) if colours is not None else style.group_colours(group_field, [s[0] for s in series])
    longest = max((float(s[2][-1]) for s in series), default=1.0)
    xmax = float(max_years) if max_years else float(max(1, math.ceil(longest)))
    legend_rows = math.ceil(len(series) / 3) if series else 0
    left, gap, right, top, plot_h, axis_h = 0.85, 0.3, 0.2, 0.45, 2.8, 0.55
    body_h = top + plot_h + axis_h + 0.24 * legend_rows + 0.15
    height, header_h, header_lines, footer_lines = _standalone(width, body_h, header, footer)
    fig = Figure(figsize=(width, height))
    panel_w = (width - left - gap - right) / 2
    bottom = (height - header_h - top - plot_h) / height
    first = fig.add_axes((left / width, bottom, panel_w / width, plot_h / height))
    second = fig.add_axes(((left + panel_w + gap) / width, bottom, panel_w / width, plot_h / height), sharey=first)
    second.tick_params(labelleft=False)
    axes = (first, second)
    titles = (words["closure"], words["loss"])
    peak = 0.0
    bands = len(series) <= 2
    for (group, n, time, closure, loss, is_step), ci in zip(series, intervals, strict=True):
        keep = _thin(time, xmax, _resolution(len(series))) if is_step else np.arange(len(time))
        line = style.stroke(colour_of[group])
        name = (labels or {}).get(group, group)
        for ax, values, kind in zip(axes, (closure, loss), ("closure", "loss"), strict=True):
            ax.plot(time[keep], values[keep], color=line, lw=style.CURVE_WIDTH,
                    drawstyle="steps-post" if is_step else "default", marker=None if is_step else "o", ms=3.5,
                    gid=f"{kind}-{_id(group)}",
                    label=_fmt(words["group"], group=name, n=f"{n:,}") if kind == "closure" else None)
            peak = max(peak, float(np.nanmax(values)) if len(values) else 0.0)
            points = ci[kind]
            if bands and points:
                xs = np.r_[0.0, [p[0] for p in points]]
                ax.fill_between(xs, np.r_[0.0, [p[1] for p in points]], np.r_[0.0, [p[2] for p in points]],
                                color=colour_of[group], alpha=style.BAND_ALPHA, lw=0, gid=f"{kind}-ci-{_id(group)}")
                peak = max(peak, max(p[2] for p in points))
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, fontsize=FONT_SIZE, loc="left", color=style.TEXT)
        ax.set_xlim(0, xmax)
        ax.xaxis.set_major_locator(MultipleLocator(_year_step(xmax)))
        ax.set_xlabel(words["x_label"], fontsize=FONT_SIZE, color=style.TEXT)
        _style_axes(ax)
    axes[0].set_ylim(0, min(1.0, max(0.05, peak * 1.1)))
    axes[0].yaxis.set_major_formatter(FuncFormatter(_percent))
    axes[0].set_ylabel(words["incidence"], fontsize=FONT_SIZE, color=style.TEXT)
    if series:
        handles, names = axes[0].get_legend_handles_labels()
        if bands:
            handles.append(Patch(facecolor="0.55", alpha=0.35))
            names.append(words["ci_horizons"])
        fig.legend(handles, names, loc="upper left",
                   bbox_to_anchor=(left / width, (bottom * height - axis_h - 0.02) / height),
                   ncols=min(len(handles), 3), fontsize=FONT_SIZE - 0.5, frameon=False, borderaxespad=0,
                   labelcolor=style.TEXT)
    _header_footer(fig, header, header_lines, footer_lines)
    return fig


def _competing_intervals(entry: Any) -> dict[str, list[tuple[float, float, float]]]:
    """Per outcome, (years, lower, upper) at the horizons where both bounds are known."""
    horizons = entry.get("horizons", ()) if isinstance(entry, Mapping) else entry[1].horizons
    out: dict[str, list[tuple[float, float, float]]] = {"closure": [], "loss": []}
    for h in horizons:
        for kind in ("closure", "loss"):
            bounds = _get(h, f"{kind}_ci", (None, None)) or (None, None)
            lower, upper = (bounds.get("lower"), bounds.get("upper")) if isinstance(bounds, Mapping) else bounds
            if lower is not None and upper is not None:
                out[kind].append((float(_get(h, "years")), float(lower), float(upper)))
    return out


def hazard_figure(report: Any, *, colours: Mapping[str, str] | None = None, labels: Mapping[str, str] | None = None,
                  text: Mapping[str, str] | None = None, width: float = 10.0,
                  header: tuple[str, str] | None = None, footer: str | None = None) -> Figure:
    """The annual hazard (events per 100 enterprise-years in each year since the transfer) per group,
    with its 95 % interval as a band (for one or two groups, as the survival figure)."""
    words = _words(text)
    groups = [g for g in _get(report, "groups", ()) if _get(g, "hazard")]
    names = [str(_get(g, "group")) for g in groups]
    colour_of = dict(colours) if colours is not None else style.group_colours(_group_field(report), names)
    left, right, top, plot_h, axis_h = 0.85, 0.25, 0.15, 2.8, 0.55
    legend_rows = math.ceil(len(groups) / 3) if len(groups) > 1 else 0
    body_h = top + plot_h + axis_h + 0.24 * legend_rows + 0.15
    height, header_h, header_lines, footer_lines = _standalone(width, body_h, header, footer)
    fig = Figure(figsize=(width, height))
    bottom = (height - header_h - top - plot_h) / height
    ax = fig.add_axes((left / width, bottom, (width - left - right) / width, plot_h / height))
    bands = len(groups) <= 2
    xmax = 1
    for group, name in zip(groups, names, strict=True):
        rows = [h for h in _get(group, "hazard") if _get(h, "rate") is not None]
        if not rows:
            continue
        mid = np.array([(_get(h, "start") + _get(h, "end")) / 2 for h in rows], dtype=float)
        rate = np.array([_get(h, "rate") for h in rows], dtype=float) * 100
        line = style.stroke(colour_of[name])
        ax.plot(mid, rate, color=line, lw=style.CURVE_WIDTH, marker="o", ms=4, gid=f"hazard-{_id(name)}",
                label=(labels or {}).get(name, name))
        lower = np.array([np.nan if _get(h, "ci_lower") is None else _get(h, "ci_lower") for h in rows]) * 100
        upper = np.array([np.nan if _get(h, "ci_upper") is None else _get(h, "ci_upper") for h in rows]) * 100
        if bands:
            ax.fill_between(mid, lower, upper, color=colour_of[name], alpha=style.BAND_ALPHA, lw=0,
                            gid=f"hazard-ci-{_id(name)}")
        xmax = max(xmax, max(int(_get(h, "end")) for h in rows))
    ax.set_xlim(0, xmax)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(MultipleLocator(_year_step(xmax)))
    ax.set_xlabel(words["hazard_year"], fontsize=FONT_SIZE, color=style.TEXT)
    ax.set_ylabel(words["hazard"], fontsize=FONT_SIZE, color=style.TEXT)
    _style_axes(ax)
    if len(groups) > 1:
        fig.legend(loc="upper left", bbox_to_anchor=(left / width, (bottom * height - axis_h - 0.02) / height),
                   ncols=min(len(groups), 3), fontsize=FONT_SIZE - 0.5, frameon=False, borderaxespad=0,
                   labelcolor=style.TEXT)
    _header_footer(fig, header, header_lines, footer_lines)
    return fig


def published_figure(published: Sequence[Mapping[str, Any]], *, own: Sequence[Mapping[str, Any]] = (),
                     text: Mapping[str, str] | None = None, width: float = 6.0,
                     header: tuple[str, str] | None = None, footer: str | None = None) -> Figure:
    """Published cooperative survival figures as a dot chart, one row each (sorted by horizon, then
    value), with this selection's own estimate and its 95 % interval at the same horizon above them:
    context beside the horizon table, not points piled on the curves."""
    words = _words(text)
    rows: list[tuple[str, float, float | None, float | None, bool]] = []
    horizons = sorted({float(p["years"]) for p in published})
    mine = {float(o["years"]): o for o in own}
    for years in horizons:
        if years in mine:
            o = mine[years]
            rows.append((f"{words['this_selection']} · {years:g} y", float(o["survival"]), o.get("ci_lower"),
                         o.get("ci_upper"), True))
        for p in sorted((p for p in published if float(p["years"]) == years), key=lambda p: -float(p["survival"])):
            rows.append((_short_label(f"{years:g} y · {p['label']}"), float(p["survival"]), None, None, False))
    row_h, top, axis_h = 0.26, 0.15, 0.55
    body_h = top + row_h * max(len(rows), 1) + axis_h + 0.1
    height, header_h, header_lines, footer_lines = _standalone(width, body_h, header, footer)
    fig = Figure(figsize=(width, height))
    left = min(width * 0.6, 0.2 + 0.058 * max((len(r[0]) for r in rows), default=10))
    plot_h = row_h * max(len(rows), 1)
    ax = fig.add_axes((left / width, (height - header_h - top - plot_h) / height,
                       (width - left - 0.25) / width, plot_h / height))
    for i, (_label, value, lower, upper, is_own) in enumerate(rows):
        if is_own and lower is not None and upper is not None:
            ax.plot([lower, upper], [i, i], color=style.TEXT, lw=1.4, gid=f"published-ci-{i}")
        ax.plot([value], [i], ls="none", marker="o" if is_own else "D", ms=6 if is_own else 5,
                mfc=style.TEXT if is_own else "white", mec=style.TEXT, mew=1.1, gid=f"published-{i}")
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=FONT_SIZE - 0.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    values = [r[1] for r in rows] + [r[2] for r in rows if r[2] is not None] + [r[3] for r in rows if r[3] is not None]
    low = max(0.0, math.floor((min(values, default=0.5) - 0.05) * 10) / 10)
    ax.set_xlim(low, 1.0)
    ax.xaxis.set_major_formatter(FuncFormatter(_percent))
    ax.set_xlabel(words["published_x"], fontsize=FONT_SIZE, color=style.TEXT)
    _style_axes(ax)
    ax.grid(True, axis="x", color=style.GRID, lw=0.6)
    ax.grid(False, axis="y")
    _header_footer(fig, header, header_lines, footer_lines)
    return fig


def forest_figure(terms: Sequence[Mapping[str, Any]], *, text: Mapping[str, str] | None = None, width: float = 8.0,
                  header: tuple[str, str] | None = None, footer: str | None = None, number: Any = None) -> Figure:
    """A Cox model's hazard ratios with their 95 % intervals as a forest plot (log scale, a line at
    1): one row per term, labelled ``label`` (else covariate and level). ``number`` writes a tick's
    value in the reader's language (default ``0.5``)."""
    words = _words(text)
    rows = [t for t in terms if t.get("hazard_ratio") is not None]
    names = [_short_label(str(t.get("label") or f"{t['covariate']} {t.get('level') or ''}".strip()), 50)
             for t in rows]
    row_h, top, axis_h = 0.3, 0.15, 0.6
    body_h = top + row_h * max(len(rows), 1) + axis_h + 0.1
    height, header_h, header_lines, footer_lines = _standalone(width, body_h, header, footer)
    fig = Figure(figsize=(width, height))
    # The labels' own width (measured in the font they are drawn in), so the longest is not cut at the edge.
    font = FontProperties(size=FONT_SIZE - 0.5)
    measure = TextToPath()
    widest = max((measure.get_text_width_height_descent(n, font, ismath=False)[0] / 72 for n in names), default=1.0)
    left = min(width * 0.55, 0.35 + 1.12 * widest)  # with the tick pad, and a margin for the renderer's hinting
    plot_h = row_h * max(len(rows), 1)
    ax = fig.add_axes((left / width, (height - header_h - top - plot_h) / height,
                       (width - left - 0.3) / width, plot_h / height))
    values = []
    for i, term in enumerate(rows):
        hr, lower, upper = float(term["hazard_ratio"]), term.get("ci_lower"), term.get("ci_upper")
        if lower is not None and upper is not None:
            ax.plot([float(lower), float(upper)], [i, i], color=style.TEXT, lw=1.4, gid=f"forest-ci-{i}")
            values += [float(lower), float(upper)]
        ax.plot([hr], [i], ls="none", marker="s", ms=6, color=style.PALETTE[0], gid=f"forest-{i}")
        values.append(hr)
    ax.axvline(1.0, color=style.MUTED_TEXT, lw=0.9, ls=(0, (4, 2)))
    ax.set_xscale("log")
    positive = [v for v in values if v > 0] or [1.0]
    ax.set_xlim(min(min(positive), 1.0) / 1.25, max(max(positive), 1.0) * 1.25)
    ax.xaxis.set_major_locator(FixedLocator(_ratio_ticks(*ax.get_xlim())))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: number(v) if number else f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())  # matplotlib's minor labels read 3 × 10⁰ and overlap
    ax.set_yticks(range(len(rows)), names, fontsize=FONT_SIZE - 0.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel(words["hazard_ratio"], fontsize=FONT_SIZE, color=style.TEXT)
    _style_axes(ax)
    ax.grid(False, axis="y")
    _header_footer(fig, header, header_lines, footer_lines)
    return fig


def _ratio_ticks(low: float, high: float) -> list[float]:
    """Round ratios within (low, high) for a log axis: 0.5, 1, 2, 5…, finer when the range is narrow."""
    coarse = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
    inside = [v for v in coarse if low <= v <= high]
    if len(inside) < 3:
        inside = sorted({*inside, *(v for v in (0.6, 0.7, 0.8, 0.9, 1.25, 1.5, 3.0, 4.0) if low <= v <= high)})
    return inside


def _short_label(text: str, limit: int = 58) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


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


def figure_pdf(fig: Figure) -> bytes:
    """The figure as a vector PDF (text as text, no creation date: the same figure, the same bytes)."""
    buffer = io.BytesIO()
    with _SVG_LOCK, rc_context({"pdf.fonttype": 42}):
        fig.savefig(buffer, format="pdf", metadata={"CreationDate": None, "Creator": "Transfer Tracker",
                                                    "Producer": "Transfer Tracker"})
    return buffer.getvalue()


def figure_png(fig: Figure, *, dpi: int = 150) -> bytes:
    """The figure as PNG bytes (white background)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white", metadata={"Software": "Transfer Tracker"})
    return buffer.getvalue()


__all__ = ["PALETTE", "TEXT", "colour", "competing_figure", "figure_pdf", "figure_png", "figure_svg", "hazard_figure",
           "forest_figure", "km_figure", "p_text", "published_figure", "style"]
