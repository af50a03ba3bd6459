"""What a zero-shot accuracy estimate costs in Pareto selection, next to the true accuracy.

On the --naswot-cells cells that `benchmarks/zeroshot.py score` scored (same seed-0 subset):
ranks every mean-rank ensemble of 2 or 3 scores that includes naswot or synflow by its
Spearman with NATS test accuracy, then runs the selection study (hardware noise std x subset
size, --trials trials a cell) with naswot, synflow and the best ensemble as the accuracy the
selection sees, and prints its report (MRA and hypervolume lost against the true accuracy).

    HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/zeroshot.py score --parts free,naswot
    HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/zeroshot_selection.py
    python benchmarks/zeroshot_selection.py --naswot-cells 723 --pool cached   # every score cached there
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from hwpred import zeroshot as zs
from hwpred.data import load_table
from hwpred.errors import DataError
from hwpred.metrics import spearman
from hwpred.zeroshot import SelectionStudy, format_report, run_selection_study

CHEAP_POOL = ("naswot", "synflow", "flops", "params", "relu_count", "l2_norm")


def scored(archs: np.ndarray, names, batch) -> zs.ScoreResult | None:
    """The cached scores (computing nothing); None when no architecture has them all."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", zs.MissingScoreWarning)
        try:
            return zs.score_archs("nb201", archs, list(names), batch=batch, progress=False, cached_only=True)
        except DataError:
            return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--naswot-cells", type=int, default=200, help="the subset `zeroshot.py score` scored")
    ap.add_argument(
        "--pool",
        choices=("cheap", "cached"),
        default="cheap",
        help="ensemble members: the cheap scores, or every score cached on all those cells",
    )
    ap.add_argument("--accuracy", default="cifar10", help="NATS dataset of the true accuracy")
    ap.add_argument("--hardware", default="help:raspi4,help:pixel3", help="hardware datasets")
    ap.add_argument("--trials", type=int, default=200, help="trials per grid cell")
    ap.add_argument("--out", default="results/zeroshot")
    ap.add_argument("--no-progress", dest="progress", action="store_false")
    args = ap.parse_args()
    torch.set_num_threads(1)
    threadpool_limits(1)
    t0 = time.perf_counter()

    archs = load_table("zc:nb201-cifar10").archs
    sub = archs[np.sort(np.random.default_rng(0).permutation(len(archs))[: args.naswot_cells])]
    batch = zs.load_batch("digits", 128, 0, 32)
    pool = CHEAP_POOL
    if args.pool == "cached":
        pool = tuple(
            n
            for n in zs.available_scores()
            if (r := scored(sub, (n,), batch)) is not None and len(r.archs) == len(sub)
        )
        print(f"ensemble pool (every score cached on all {len(sub)} cells): {', '.join(pool)}")
    res = scored(sub, pool, batch)
    if res is None:
        raise SystemExit(
            f"no cached scores for {', '.join(pool)} on these {len(sub)} cells; run "
            f"benchmarks/zeroshot.py score --parts free,naswot --naswot-cells {args.naswot_cells} first"
        )
    table = res.table()  # the architectures with every pool score finite
    y = load_table(f"nats:{args.accuracy}").lookup(f"{args.accuracy}/test_acc", table.archs)
    rows = [
        {
            "ensemble": "+".join(m),
            "spearman_vs_acc": spearman(zs.ensemble_rank([table.column(f"{s}/digits") for s in m]), y),
        }
        for k in (2, 3)
        for m in itertools.combinations(pool, k)
        if {"naswot", "synflow"} & set(m)
    ]
    ens = pd.DataFrame(rows).sort_values("spearman_vs_acc", ascending=False, kind="stable")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ens.to_csv(out / "ensembles.csv", index=False)
    print(f"ensembles on {len(table)} cells (Spearman with NATS {args.accuracy} test accuracy):")
    print("| ensemble | spearman_vs_acc |\n|---|---|")
    print("\n".join(f"| {r.ensemble} | {r.spearman_vs_acc:.3f} |" for r in ens.head(8).itertuples()))

    sources = ("naswot/digits", "synflow/digits", res.add_ensemble(ens["ensemble"].iloc[0].split("+")))
    path = out / "selection_scores.parquet"
    res.table().select(sources).to_parquet(path)
    study = SelectionStudy(
        path,
        sources,
        accuracy=f"nats:{args.accuracy}",
        hardware=tuple(args.hardware.split(",")),
        trials=args.trials,
        output=out,
        name=f"selection-{args.accuracy}-n{len(table)}",
    )
    rep = run_selection_study(study, progress=args.progress)
    print(format_report(rep))
    print("wrote " + ", ".join(str(f) for f in rep.files))
    print(f"\nselection: {time.perf_counter() - t0:.1f} s wall, 1 thread")


if __name__ == "__main__":
    main()
