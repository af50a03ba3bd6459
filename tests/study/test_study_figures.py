"""Study and NAS figures: units on every axis, no stray minor tick labels, one colour per predictor."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hwpred.experiment.report import distinct_colours, pyplot, readable_label
from hwpred.study.report import _plot_metric


def _summary(predictors: list[str]) -> pd.DataFrame:
    rows = []
    for k, p in enumerate(predictors):
        for n in (25, 55, 124, 276, 614):
            row = {"dataset": "help:raspi4", "predictor": p, "train_size": n, "reference": False}
            for m in ("kendall_tau", "fit_time_s"):
                row[f"{m}_mean"], row[f"{m}_std"] = 0.5 + 0.01 * k + n / 2000, 0.01
            rows.append(row)
    return pd.DataFrame(rows)


def test_eighteen_distinct_colours():
    colours = distinct_colours(range(18))
    assert len(set(colours.values())) == 18


def test_fit_time_axes_units_ticks_and_colours():
    from hwpred.predictors import available

    preds = available()  # all 18 families in one panel
    fig = _plot_metric(_summary(preds), "fit_time_s", "fit time (s)", "fit", logy=True)
    ax = fig.axes[0]
    fig.canvas.draw()
    assert [t.get_text() for t in ax.xaxis.get_majorticklabels()] == ["25", "55", "124", "276", "614"]
    assert all(t.get_text() == "" for t in ax.xaxis.get_minorticklabels() + ax.yaxis.get_minorticklabels())
    assert ax.get_xlabel().endswith("(architectures)") and ax.get_ylabel().endswith("(s)")
    from matplotlib.colors import to_rgba

    line_colours = [tuple(np.round(to_rgba(ln.get_color()), 4)) for ln in ax.lines]
    assert len(set(line_colours)) == len(preds)
    pyplot().close(fig)


def test_readable_labels():
    assert readable_label("raspi4/latency_ms") == "raspi4 latency (ms)"
    assert readable_label("cifar10/test_acc") == "cifar10 test accuracy (%)"
    assert readable_label("pi5-onnx/energy_mj") == "pi5-onnx energy (mJ)"
    assert readable_label("naswot/digits") == "naswot/digits"  # no known unit: left as it is
