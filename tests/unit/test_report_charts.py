"""The report's charts (tracker.charts.report) keep every label inside the figure, in the
languages whose labels run longest."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from tracker.charts import report as charts
from tracker.charts.report import RiskRow, StepCurve, survival_figure


@pytest.mark.parametrize("title", ["Number at risk", "Effectif exposé au risque", "Numero a rischio",
                                   "Número en riesgo"])
def test_the_number_at_risk_table_stays_inside_the_figure(monkeypatch, title):
    """Its title was right-aligned to the row labels' edge, so a French title longer than the
    margin started outside the figure and the PDF showed "ctif exposé au risque"."""
    drawn = []
    monkeypatch.setattr(charts, "figure_svg", lambda fig, salt: drawn.append(fig) or "<svg/>")
    curves = [StepCurve(label, np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.9, 0.8]), colour_key=key)
              for label, key in (("Transmission", "succession"), ("Transformation", "conversion"))]
    rows = [RiskRow(curve.label, ("30", "20", "10"), curve.colour_key) for curve in curves]
    survival_figure(curves, [0, 1, 2], rows, ylabel="Part toujours en activité", xlabel="Années", risk_title=title,
                    field="transfer_type")
    (fig,) = drawn
    renderer = FigureCanvasAgg(fig).get_renderer()
    texts = {text.get_text(): text.get_window_extent(renderer) for text in fig.axes[1].texts}
    assert title in texts and "Transformation" in texts
    for text, box in texts.items():
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width, (text, box)


@pytest.mark.parametrize("years", [0, 5, 16, 20, 30, 45])
def test_the_hazard_bars_labels_read_horizontally_without_touching(monkeypatch, years):
    """Figure 4 turned its year labels on their side past ten bars; they now stay level, and past
    sixteen bars every other one is shown so that neighbours never touch."""
    drawn = []
    monkeypatch.setattr(charts, "figure_svg", lambda fig, salt: drawn.append(fig) or "<svg/>")
    bars = [charts.HazardBar(f"{y}–{y + 1}", 0.05, 0.02, 0.09) for y in range(years)]
    charts.hazard_figure(bars, ylabel="Cessations pour 100 entreprises-années", xlabel="Années depuis la reprise")
    (fig,) = drawn
    renderer = FigureCanvasAgg(fig).get_renderer()
    labels = [label for label in fig.axes[0].get_xticklabels() if label.get_text()]
    assert all(label.get_rotation() == 0 for label in labels) and len(labels) <= 16
    assert [label.get_text() for label in labels][:1] == ([] if not years else ["0–1"])
    boxes = sorted((label.get_window_extent(renderer) for label in labels), key=lambda box: box.x0)
    assert all(left.x1 + 2 <= right.x0 for left, right in zip(boxes, boxes[1:], strict=False)), boxes
