"""Figure of the end-to-end check: predicted vs measured latency of held-out cells on this CPU.

    python benchmarks/transfer_cpu_figure.py heldout.parquet pred-transfer_ridge pred-transfer_gp \\
        pred-transfer_net --out docs/img/transfer-cpu.png
"""

from __future__ import annotations

import argparse

import numpy as np

from hwpred.data import MetricTable
from hwpred.metrics import kendall_tau, spearman
from hwpred.predictors import load_predictor_folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("heldout", help="held-out table measured with hwpred measure")
    ap.add_argument("predictors", nargs="+", help="folders saved by hwpred transfer fit")
    ap.add_argument("--column", default="cpu-t1-b1/latency_ms")
    ap.add_argument("--out", required=True, help="PNG path (an SVG is written beside it)")
    args = ap.parse_args()
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = MetricTable.read_parquet(args.heldout)
    archs, y = table.dataset(args.column)
    fig, axes = plt.subplots(1, len(args.predictors), figsize=(4.2 * len(args.predictors), 4), squeeze=False)
    for ax, folder in zip(axes[0], args.predictors):
        pred = load_predictor_folder(folder)
        trained = {tuple(r) for r in pred.train_archs_.tolist()}
        keep = np.array([tuple(r) not in trained for r in archs.tolist()])
        y_hat = pred.predict(archs[keep])
        ax.scatter(y[keep], y_hat, s=6, alpha=0.6)
        lim = [min(y[keep].min(), y_hat.min()), max(y[keep].max(), y_hat.max())]
        ax.plot(lim, lim, color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(f"measured {args.column}")
        ax.set_ylabel(f"predicted {args.column}")
        ax.set_title(
            f"{pred.name}, {pred.n_train_} measured\n{keep.sum()} held out: Spearman "
            f"{spearman(y[keep], y_hat):.3f}, tau {kendall_tau(y[keep], y_hat):.3f}",
            fontsize=9,
        )
        print(f"{pred.name}: n_checked={keep.sum()} spearman={spearman(y[keep], y_hat):.4f}")
    fig.tight_layout()
    fig.savefig(args.out, dpi=130)
    fig.savefig(args.out.rsplit(".", 1)[0] + ".svg")


if __name__ == "__main__":
    main()
