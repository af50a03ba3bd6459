"""Spearman and Kendall tau of a whole-space zero-shot score table with NATS-Bench test accuracy.

Reads a ``hwpred zeroshot score`` table of NAS-Bench-201 (``--table``; cells with every column
finite) and correlates each of its scores, and their mean rank when it has several, with the
200-epoch test accuracy on cifar10, cifar100 and ImageNet16-120. Prints the table and writes
``space_vs_accuracy.csv`` under ``--out``.

    hwpred zeroshot score --space nb201 --scores naswot,synflow --workers 2 \
        --out results/zeroshot/nb201-naswot-synflow-all.parquet
    HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/zeroshot_space.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

from hwpred import zeroshot as zs
from hwpred.data import MetricTable, load_table
from hwpred.experiment import markdown_table, write_csv
from hwpred.metrics import kendall_tau, spearman

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--table",
        default="results/zeroshot/nb201-naswot-synflow-all.parquet",
        help="a 'hwpred zeroshot score' table of the whole space",
    )
    ap.add_argument("--out", default="results/zeroshot")
    args = ap.parse_args()
    threadpool_limits(1)
    t0 = time.perf_counter()
    t = MetricTable.read_parquet(args.table)
    missing = {c: len(v) for c, v in t.meta.get("missing", {}).items()}
    print(f"{args.table}: {len(t)} cells with every column finite; missing per column: {missing}")
    scores = {c: t.column(c) for c in t.column_names}
    if len(scores) > 1:
        scores["mean rank " + "+".join(c.split("/")[0] for c in t.column_names)] = zs.ensemble_rank(
            list(scores.values())
        )
    rows = []
    for ds in DATASETS:
        y = load_table(f"nats:{ds}").lookup(f"{ds}/test_acc", t.archs)
        rows += [
            {
                "dataset": ds,
                "score": k,
                "n": len(v),
                "spearman": spearman(v, y),
                "kendall_tau": kendall_tau(v, y),
            }
            for k, v in scores.items()
        ]
    df = pd.DataFrame(rows)
    write_csv(df, Path(args.out) / "space_vs_accuracy.csv")
    print(markdown_table(df))
    print(f"\nspace: {time.perf_counter() - t0:.1f} s wall, 1 thread")


if __name__ == "__main__":
    main()
