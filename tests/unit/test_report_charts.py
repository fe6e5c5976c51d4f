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
