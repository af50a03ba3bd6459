"""Which cells to measure on a new device: Kendall tau on the study's 625-cell test sets.

For each target, seed and sample count: the transfer families fitted on cells chosen from the
seed's training pool (the study's split, so the test sets are those of
`studies/transfer-kendall.yaml` and of the classic families' table) by each strategy: random (the
study's own draw order), k-center or D-optimal on the sources' standardised log latencies.
Beside them the ceilings, fitted on the whole training pool (15,000 cells): a ridge mix of the
sources' log latencies, the same with the sources' latencies on a linear scale added, the same
with the cell's one-hot ops, and LightGBM on sources + ops.
Prints mean ± sd over seeds as Markdown tables.

    HWPRED_DATA_MIRROR=/path/to/datasets python benchmarks/transfer_choice.py
    python benchmarks/transfer_choice.py --targets help:raspi4 --sizes 25 --seeds 3 --no-ceiling
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hwpred.data import load_table
from hwpred.encoders import onehot
from hwpred.metrics import kendall_tau
from hwpred.predictors import create
from hwpred.predictors.transfer.base import standardised_features
from hwpred.predictors.transfer.selection import choose
from hwpred.predictors.transfer.sources import resolve_sources
from hwpred.study.cells import split

STRATEGIES = ("random", "kcenter", "doptimal")
#: label -> (family, parameters)
FAMILIES = {
    "transfer_ridge": ("transfer_ridge", {}),
    "transfer_ridge, keep=auto": ("transfer_ridge", {"keep": "auto"}),
    "transfer_gp": ("transfer_gp", {}),
}


def ceilings(F: np.ndarray, X: np.ndarray, y: np.ndarray, pool: np.ndarray, test: np.ndarray) -> dict:
    import lightgbm as lgb
    from sklearn.linear_model import RidgeCV

    alphas = np.logspace(-3, 3, 13)
    FX = np.hstack([F, X])
    linear = np.exp(F)  # each source on a linear scale (up to its own factor)
    FL = np.hstack([F, (linear - linear.mean(axis=0)) / linear.std(axis=0)])
    out = {}
    mixes = (
        ("ridge mix of the sources", F),
        ("ridge, log + linear sources", FL),
        ("ridge, sources + ops", FX),
    )
    for label, Z in mixes:
        out[label] = RidgeCV(alphas=alphas).fit(Z[pool], y[pool]).predict(Z[test])
    gbm = lgb.LGBMRegressor(n_estimators=600, learning_rate=0.05, num_leaves=31, verbose=-1, n_jobs=1)
    out["LightGBM, sources + ops"] = gbm.fit(FX[pool], y[pool]).predict(FX[test])
    return {k: kendall_tau(v, y[test]) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", default="help:raspi4,help:pixel3,help:gold_6226")
    ap.add_argument(
        "--sources", default="help-all", help="a source group or names (the target's hardware is left out)"
    )
    ap.add_argument("--sizes", default="10,25,50")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--test-size", type=int, default=625)
    ap.add_argument("--no-ceiling", dest="ceiling", action="store_false")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    t0 = time.perf_counter()
    for target in args.targets.split(","):
        table = load_table(target)
        column = next(iter(table.columns))
        # the study's row order (archs sorted), so split() gives the study's test sets
        order = np.lexsort(table.archs.T[::-1])
        archs, y = table.archs[order], np.asarray(table.column(column), dtype=np.float64)[order]
        bundle = resolve_sources(args.sources, table.space, target=target)
        feats = standardised_features(bundle)[bundle.rows(archs, "benchmark")]
        log_y = np.log(y)
        scores: dict[tuple[str, str], dict] = {}  # (cells, family) -> {n: values over seeds}
        for seed in range(args.seeds):
            test, pool = split(len(y), args.test_size, seed)
            for n in sizes:
                for strategy in STRATEGIES:
                    pick = pool[:n] if strategy == "random" else pool[choose(feats[pool], n, strategy, seed)]
                    for label, (fam, params) in FAMILIES.items():
                        p = create(fam, sources=args.sources, target=target, random_state=seed, **params)
                        p.fit(archs[pick], y[pick])
                        scores.setdefault((strategy, label), {}).setdefault(n, []).append(
                            kendall_tau(p.predict(archs[test]), log_y[test])
                        )
            if args.ceiling:
                X = onehot(archs, table.space)
                for k, v in ceilings(feats, X, log_y, pool, test).items():
                    scores.setdefault(("all pool cells", k), {}).setdefault("all", []).append(v)
        print(
            f"\n{target} ({column}), sources {args.sources} ({len(bundle.labels)} tables), seeds 0-{args.seeds - 1}:"
        )
        print("| cells | family | " + " | ".join(f"n={n}" for n in sizes) + " |")
        print("|---|---|" + "---|" * len(sizes))
        for (strategy, label), by_n in scores.items():
            vals = [f"{np.mean(v):.3f} ± {np.std(v):.3f}" for v in by_n.values()]
            print(f"| {strategy} | {label} | " + " | ".join(vals) + " |")
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
