"""How well the sources can rank a target at all: few-shot protocol targets against all-cells fits.

For each target of a protocol (the HELP split by default), the whole table is cut in two halves at
random; a model fitted on one half ranks the other (and the other way round), Spearman averaged
over the two folds. Models: a ridge mix of the sources' standardised log latencies, LightGBM on
the same, and LightGBM on the sources plus the cell's one-hot ops. A few-shot family fitted on 10
cells cannot be expected to rank above what these reach from 7,812. Prints a Markdown table.

    HWPRED_DATA_MIRROR=/path/to/datasets python benchmarks/transfer_ceiling.py
    python benchmarks/transfer_ceiling.py --protocol lodo
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hwpred.data import load_table
from hwpred.encoders import onehot
from hwpred.metrics import spearman
from hwpred.predictors.transfer.base import standardised_features
from hwpred.predictors.transfer.protocol import PROTOCOLS, protocol_pairs
from hwpred.predictors.transfer.sources import resolve_sources

MODELS = ("ridge mix of the sources", "LightGBM, sources", "LightGBM, sources + ops")


def model(label: str):
    import lightgbm as lgb
    from sklearn.linear_model import RidgeCV

    if label == MODELS[0]:
        return RidgeCV(alphas=np.logspace(-3, 3, 13))
    return lgb.LGBMRegressor(n_estimators=800, learning_rate=0.05, num_leaves=63, verbose=-1, n_jobs=2)


def two_fold(target: str, sources: list[str], seed: int) -> dict[str, float]:
    """Mean Spearman over the two halves, per model."""
    table = load_table(target)
    archs = table.archs
    y = np.log(np.asarray(table.column(next(iter(table.columns))), dtype=np.float64))
    bundle = resolve_sources(sources, table.space, target=target)
    F = standardised_features(bundle)[bundle.rows(archs, "benchmark")]
    inputs = {MODELS[0]: F, MODELS[1]: F, MODELS[2]: np.hstack([F, onehot(archs, table.space)])}
    perm = np.random.default_rng(seed).permutation(len(y))
    halves = (perm[: len(y) // 2], perm[len(y) // 2 :])
    out = {}
    for label, Z in inputs.items():
        folds = [
            spearman(model(label).fit(Z[a], y[a]).predict(Z[b]), y[b]) for a, b in (halves, halves[::-1])
        ]
        out[label] = float(np.mean(folds))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--protocol", default="help-split", choices=PROTOCOLS)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = {target: two_fold(target, sources, args.seed) for target, sources in protocol_pairs(args.protocol)}
    print(f"{args.protocol}, two folds of half the cells each, Spearman:")
    print("| target | " + " | ".join(MODELS) + " |")
    print("|---|" + "---|" * len(MODELS))
    for target, row in rows.items():
        print(f"| {target} | " + " | ".join(f"{row[m]:.3f}" for m in MODELS) + " |")
    means = [np.mean([row[m] for row in rows.values()]) for m in MODELS]
    print("| mean | " + " | ".join(f"{v:.3f}" for v in means) + " |")
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
