"""Figure of a search's predicted front next to its verified one.

Axes are labelled in words with units (``raspi4/latency_ms`` -> "raspi4 latency (ms)") and zoomed
to the selected candidates, so the fronts are not squeezed into a strip by the few very poor
architectures of the background (e.g. the all-``none`` cells at 10 % accuracy).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..experiment.report import readable_label


def _zoom(ax, xs: list[np.ndarray], ys: list[np.ndarray], margin: float = 0.08) -> None:
    x, y = np.concatenate(xs), np.concatenate(ys)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if len(x) == 0 or len(y) == 0:
        return
    for lim, v in ((ax.set_xlim, x), (ax.set_ylim, y)):
        span = float(v.max() - v.min()) or abs(float(v.max())) or 1.0
        lim(float(v.min()) - margin * span, float(v.max()) + margin * span)


def _step(ax, acc, hw, **kw):
    order = np.argsort(hw)
    ax.step(np.asarray(hw)[order], np.maximum.accumulate(np.asarray(acc)[order]), where="post", **kw)


def plot_fronts(
    ver, path: Path, background=None, acc_label: str = "accuracy", hw_label: str = "metric"
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..simulation import pareto_mask

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if background is not None:
        acc_all, hw_all = background
        ax.scatter(hw_all, acc_all, s=3, c="0.82", label="all architectures", rasterized=True)
        front = pareto_mask(acc_all, hw_all)
        _step(ax, acc_all[front], hw_all[front], color="k", lw=1.2, label="true front")
    ax.scatter(
        ver.predicted_hw, ver.true_acc, marker="x", s=28, c="tab:orange", label="selected (predicted metric)"
    )
    ax.scatter(
        ver.true_hw,
        ver.true_acc,
        s=16,
        facecolors="none",
        edgecolors="tab:blue",
        label="selected (measured metric)",
    )
    v = ver.verified
    _step(ax, ver.true_acc[v], ver.true_hw[v], color="tab:blue", lw=1.5, label="verified front")
    # the region of the selection, its measured and predicted metric: where the fronts differ
    _zoom(ax, [ver.predicted_hw, ver.true_hw], [ver.true_acc])
    ax.set_xlabel(readable_label(hw_label))
    ax.set_ylabel(readable_label(acc_label))
    s = ver.summary
    if "mra_pareto" in s:
        ax.set_title(
            f"MRA all {s['mra_all']:.2f} / verified {s['mra_pareto']:.2f}; "
            f"HV {s['hv_fraction_verified']:.3f} of true front",
            fontsize=9,
        )
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    out = []
    for ext in ("png", "svg"):
        p = Path(f"{path}.{ext}")
        fig.savefig(p, dpi=130)
        out.append(p)
    plt.close(fig)
    return out
