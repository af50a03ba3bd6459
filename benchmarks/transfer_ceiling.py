"""How well the sources can rank a target at all: few-shot protocol targets against all-cells fits.

For each target of a protocol (the HELP split by default), the whole table is cut in two halves at
random; a model fitted on one half ranks the other (and the other way round), Spearman averaged
over the two folds. Models: a ridge mix of the sources' standardised log latencies, LightGBM on
the same, and LightGBM on the sources plus the cell's one-hot ops. A few-shot family fitted on 10
cells cannot be expected to rank above what these reach from 7,812. Prints a Markdown table.

``--kendall``: the study's Kendall-tau targets instead (help:raspi4, help:pixel3, help:gold_6226,
sources help-all): the ridge mix and LightGBM on sources + ops fitted on the first n cells of each
seed's training pool, Kendall tau on its 625-cell test set (the sets of
``studies/transfer-kendall.yaml``), mean over seeds: how many measured cells a model needs before
it ranks as the target asks.

    HWPRED_DATA_MIRROR=/path/to/datasets python benchmarks/transfer_ceiling.py
    python benchmarks/transfer_ceiling.py --protocol lodo
    python benchmarks/transfer_ceiling.py --kendall --seeds 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hwpred.data import load_table
from hwpred.encoders import onehot
from hwpred.metrics import kendall_tau, spearman
from hwpred.predictors.transfer.base import standardised_features
from hwpred.predictors.transfer.protocol import PROTOCOLS, protocol_pairs
from hwpred.predictors.transfer.sources import resolve_sources
from hwpred.study.cells import split, study_dataset

MODELS = ("ridge mix of the sources", "LightGBM, sources", "LightGBM, sources + ops")
KENDALL_TARGETS = ("help:raspi4", "help:pixel3", "help:gold_6226")
CURVE_SIZES = (25, 100, 250, 500, 1000, 3000, 15000)


def model(label: str, n_train: int | None = None):
    import lightgbm as lgb
    from sklearn.linear_model import RidgeCV

    if label == MODELS[0]:
        return RidgeCV(alphas=np.logspace(-3, 3, 13))
    # leaves of at least 20 cells, fewer when there are few cells to split
    leaf = 20 if n_train is None else min(20, max(2, n_train // 10))
    return lgb.LGBMRegressor(
        n_estimators=800, learning_rate=0.05, num_leaves=63, min_child_samples=leaf, verbose=-1, n_jobs=2
    )


def model_inputs(archs: np.ndarray, space: str, target: str, sources) -> dict[str, np.ndarray]:
    """Each model's input rows for ``archs``: the sources' standardised log values (+ one-hot ops)."""
    bundle = resolve_sources(sources, space, target=target)
    F = standardised_features(bundle)[bundle.rows(archs, "benchmark")]
    return {MODELS[0]: F, MODELS[1]: F, MODELS[2]: np.hstack([F, onehot(archs, space)])}


def two_fold(target: str, sources: list[str], seed: int) -> dict[str, float]:
    """Mean Spearman over the two halves, per model."""
    table = load_table(target)
    y = np.log(np.asarray(table.column(next(iter(table.columns))), dtype=np.float64))
    perm = np.random.default_rng(seed).permutation(len(y))
    halves = (perm[: len(y) // 2], perm[len(y) // 2 :])
    out = {}
    for label, Z in model_inputs(table.archs, table.space, target, sources).items():
        folds = [
            spearman(model(label).fit(Z[a], y[a]).predict(Z[b]), y[b]) for a, b in (halves, halves[::-1])
        ]
        out[label] = float(np.mean(folds))
    return out


def kendall_curve(target: str, seeds: int) -> dict[tuple[str, int], list[float]]:
    """Kendall tau on each seed's study test set of the ridge mix and LightGBM on sources + ops
    fitted on the first n pool cells, for each n of :data:`CURVE_SIZES`."""
    ds = study_dataset(target)  # the study's row order, so split() gives its test sets
    y = np.log(ds.table.column(ds.column))
    every = model_inputs(ds.table.archs, ds.space, target, "help-all")
    inputs = {label: every[label] for label in (MODELS[0], MODELS[2])}
    out: dict[tuple[str, int], list[float]] = {}
    for seed in range(seeds):
        test, pool = split(len(y), 625, seed)
        for n in CURVE_SIZES:
            tr = pool[:n]
            for label, Z in inputs.items():
                pred = model(label, n).fit(Z[tr], y[tr]).predict(Z[test])
                out.setdefault((label, n), []).append(kendall_tau(pred, y[test]))
    return out


def print_kendall(seeds: int) -> None:
    print(f"Kendall tau on the study's test sets, sources help-all, mean over seeds 0-{seeds - 1}:")
    print("| target | model | " + " | ".join(f"n={n:,}" for n in CURVE_SIZES) + " |")
    print("|---|---|" + "---|" * len(CURVE_SIZES))
    for target in KENDALL_TARGETS:
        curve = kendall_curve(target, seeds)
        for label in (MODELS[0], MODELS[2]):
            vals = " | ".join(f"{np.mean(curve[(label, n)]):.3f}" for n in CURVE_SIZES)
            print(f"| {target} | {label} | {vals} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--protocol", default="help-split", choices=PROTOCOLS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kendall", action="store_true", help="the Kendall-tau targets' learning curves")
    ap.add_argument("--seeds", type=int, default=5, help="with --kendall: seeds 0..N-1")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.kendall:
        print_kendall(args.seeds)
        print(f"{time.perf_counter() - t0:.0f} s")
        return
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
