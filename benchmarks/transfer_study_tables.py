"""The few-shot protocol tables from a transfer study's store (``studies/transfer-help-split.yaml``,
``studies/transfer-lodo.yaml``).

For each metric (Spearman over every unmeasured architecture, Kendall tau on the 625-cell test
set): the mean over the protocol's targets per seed, then mean ± sd over seeds, family x sample
count; and the per-target means over seeds at one sample count. Prints Markdown.

    hwpred study run studies/transfer-help-split.yaml --workers 2
    python benchmarks/transfer_study_tables.py results/studies/transfer-help-split --detail-size 10
"""

from __future__ import annotations

import argparse

import pandas as pd

from hwpred.study.store import open_store

METRICS = {
    "spearman_unmeasured": "Spearman over the unmeasured cells",
    "kendall_tau": "Kendall tau, test set",
}


def protocol_table(df: pd.DataFrame, metric: str, families: list[str]) -> str:
    per_seed = df.groupby(["predictor", "train_size", "seed"])[metric].mean()
    agg = per_seed.groupby(["predictor", "train_size"]).agg(["mean", "std"])
    sizes = sorted(df["train_size"].unique())
    lines = ["| family | " + " | ".join(f"n={n}" for n in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for fam in families:
        cells = [
            f"{agg.loc[(fam, n), 'mean']:.3f} ± {agg.loc[(fam, n), 'std']:.3f}"
            if (fam, n) in agg.index
            else "-"
            for n in sizes
        ]
        lines.append(f"| {fam} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def target_table(df: pd.DataFrame, metric: str, families: list[str], size: int) -> str:
    sub = df[df["train_size"] == size].groupby(["predictor", "dataset"])[metric].mean().unstack()
    targets = list(sub.columns)
    names = [t.split(":", 1)[-1] for t in targets]
    lines = ["| family | mean | min | " + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
    for fam in families:
        row = sub.loc[fam]
        vals = " | ".join(f"{row[t]:.3f}" for t in targets)
        lines.append(f"| {fam} | {row.mean():.3f} | {row.min():.3f} | {vals} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", help="the study's store folder")
    ap.add_argument("--detail-size", type=int, default=10, help="sample count of the per-target tables")
    args = ap.parse_args()
    store = open_store(args.store)
    every = store.read()
    df = every[every["status"] == "ok"]
    config = (store.read_meta() or {}).get("config", {})
    families = [p["name"] for p in config.get("predictors", [])] or sorted(df["predictor"].unique())
    families = [f for f in families if f in set(df["predictor"])]
    print(
        f"{store.root.name}: {len(df)} cells ok, {len(every) - len(df)} failed, {df['dataset'].nunique()} targets"
    )
    for metric, label in METRICS.items():
        print(f"\n{label}, mean over the targets (mean ± sd over seeds):\n")
        print(protocol_table(df, metric, families))
        print(f"\n{label}, per target at n = {args.detail_size} (mean over seeds):\n")
        print(
            target_table(
                df,
                metric,
                [f for f in families if args.detail_size in set(df[df.predictor == f].train_size)],
                args.detail_size,
            )
        )


if __name__ == "__main__":
    main()
