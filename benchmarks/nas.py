"""NAS benchmark: NSGA-II with a fitted latency predictor vs the true table vs random search.

NAS-Bench-201, accuracy = nats:cifar10 (ground truth), latency = help:raspi4. For each seed:
a predictor trained on 100 and on 1,000 random measured architectures drives NSGA-II with a
budget of 2,000 predictor evaluations; the upper bound runs NSGA-II on the true latency table;
random search spends the same 2,000 evaluations (with the 1,000-sample predictor, and with the
true table). Every selection is verified against the true table: hypervolume of the verified
front as a fraction of the true front's, and MRA_pareto (percentage points of accuracy).

    python benchmarks/nas.py --family xgb --seeds 10
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", default="xgb")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=2000)
    ap.add_argument("--population", type=int, default=50)
    ap.add_argument("--out", default="results/bench_nas.csv")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from hwpred.data import load_dataset
    from hwpred.nas import (
        ArchProblem,
        PredictorObjective,
        TableObjective,
        nsga2_search,
        random_search,
        verify_selection,
    )
    from hwpred.predictors import create

    acc, lat = load_dataset("nats:cifar10"), load_dataset("help:raspi4")
    archs, y = lat.arrays()
    acc_obj = lambda: TableObjective(acc.column, True, "nb201", acc)
    true_obj = lambda: TableObjective(lat.column, False, "nb201", lat)
    rows = []
    t_start = time.perf_counter()
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(y))
        preds = {}
        for n in (100, 1000):
            idx = perm[:n]
            preds[n] = create(args.family, random_state=seed).fit(archs[idx], y[idx])
        runs = {
            f"nsga2 + {args.family} (100)": lambda s, preds=preds: nsga2_search(
                ArchProblem("nb201", [acc_obj(), PredictorObjective(lat.column, False, "nb201", preds[100])]),
                args.budget,
                args.population,
                s,
            ),
            f"nsga2 + {args.family} (1000)": lambda s, preds=preds: nsga2_search(
                ArchProblem(
                    "nb201", [acc_obj(), PredictorObjective(lat.column, False, "nb201", preds[1000])]
                ),
                args.budget,
                args.population,
                s,
            ),
            "nsga2 + true table": lambda s, preds=preds: nsga2_search(
                ArchProblem("nb201", [acc_obj(), true_obj()]), args.budget, args.population, s
            ),
            f"random + {args.family} (1000)": lambda s, preds=preds: random_search(
                ArchProblem(
                    "nb201", [acc_obj(), PredictorObjective(lat.column, False, "nb201", preds[1000])]
                ),
                args.budget,
                s,
            ),
            "random + true table": lambda s, preds=preds: random_search(
                ArchProblem("nb201", [acc_obj(), true_obj()]), args.budget, s
            ),
        }
        for name, run in runs.items():
            res = run(seed)
            ver = verify_selection(res.archs, res.values[:, 1], acc, lat)
            rows.append(
                {
                    "method": name,
                    "seed": seed,
                    "n_evaluations": res.n_evaluations,
                    "seconds": res.seconds,
                    **{
                        k: ver.summary[k]
                        for k in ("n_selected", "n_verified", "mra_all", "mra_pareto", "hv_fraction_verified")
                    },
                }
            )
        print(f"seed {seed} done ({time.perf_counter() - t_start:.0f} s)", flush=True)
    df = pd.DataFrame(rows)
    from pathlib import Path

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    agg = df.groupby("method", sort=False).agg(
        hv_fraction_mean=("hv_fraction_verified", "mean"),
        hv_fraction_std=("hv_fraction_verified", "std"),
        mra_pareto_mean=("mra_pareto", "mean"),
        mra_pareto_std=("mra_pareto", "std"),
        mra_all_mean=("mra_all", "mean"),
        n_selected=("n_selected", "mean"),
        n_verified=("n_verified", "mean"),
        evaluations=("n_evaluations", "mean"),
        search_s=("seconds", "mean"),
    )
    cols = list(agg.columns)
    print("| method | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, r in agg.iterrows():
        print(f"| {name} | " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in r) + " |")
    return df


if __name__ == "__main__":
    main()
