"""Zero-shot scores against NAS-Bench-Suite-Zero's published values and NATS accuracy.

Stages; scores are cached under $HWPRED_HOME/cache/zeroshot, so each one resumes:
  score   --parts, in order: free = cheap data-free scores on every published cell (digits batch,
          10 classes, 32 px); naswot on --naswot-cells random cells; data = the data scores on a
          nested subset of --data-cells; shapes = params/flops/synflow in the cifar100 and
          ImageNet16-120 shapes; grasp on the data subset.
  report  Spearman of the cached scores with the published ones and with NATS test accuracy.
A whole-space score table against accuracy is benchmarks/zeroshot_space.py, the scores' speed
benchmarks/zeroshot_speed.py, selection with these scores as the accuracy
benchmarks/zeroshot_selection.py.

  HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/zeroshot.py score
  HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/zeroshot.py report
"""

from __future__ import annotations

import argparse
import functools
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
from hwpred.experiment import markdown_table, write_csv
from hwpred.metrics import spearman

DATASETS = {"cifar10": (10, 32), "cifar100": (100, 32), "ImageNet16-120": (120, 16)}  # classes, pixels
DATA_FREE = ("params", "flops", "synflow")
CHEAP = ("params", "flops", "synflow", "l2_norm", "relu_count")
DATA_SCORES = ("jacob_cov", "epe_nas", "jsc", "snip", "grad_norm", "fisher", "pjs", "wpjs", "wpjsi", "grasp")
PUBLISHED = {"naswot": "nwot", "jacob_cov": "jacov"}  # NAS-Bench-Suite-Zero's name where it differs
ENSEMBLES = (
    ("naswot", "synflow"),
    ("naswot", "synflow", "flops"),
    ("naswot", "flops"),
    ("naswot", "synflow", "jacob_cov"),
    ("naswot", "synflow", "snip"),
)


def show(df: pd.DataFrame, out: str, name: str, fmt: str = "{:.3f}") -> None:
    """Write a CSV under out and print the frame as markdown (missing values blank)."""
    write_csv(df, Path(out) / f"{name}.csv")
    print(markdown_table(df.astype(object).where(df.notna(), ""), fmt) if len(df) else "(none cached)")


@functools.cache
def digits() -> zs.Batch:
    return zs.load_batch("digits", 128, 0, 32)


def shape_batch(ds: str) -> zs.Batch:
    """Data-free scores read only the input shape and the number of classes."""
    classes, px = DATASETS[ds]
    if ds == "cifar10":
        return digits()  # same shape and classes: shares the digits cache
    return zs.Batch(torch.zeros(1, 3, px, px), torch.zeros(1, dtype=torch.long), classes, f"shape-{ds}", 0)


def cells(ds: str = "cifar10", n: int | None = None) -> np.ndarray:
    """The published cells; with n, the first n of one fixed permutation (nested subsets)."""
    archs = load_table(f"zc:nb201-{ds}").archs
    return archs if n is None else archs[np.sort(np.random.default_rng(0).permutation(len(archs))[:n])]


def cached(archs, names, batch) -> pd.DataFrame | None:
    """Cached scores indexed by arch string; None when none of these architectures has them all."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", zs.MissingScoreWarning)
        try:
            res = zs.score_archs("nb201", archs, list(names), batch=batch, progress=False, cached_only=True)
        except DataError:  # none of these architectures has them all cached yet
            return None
    df = pd.DataFrame({n: res.values[f"{n}/{res.data}"] for n in names}, index=res.arch_strings())
    return df.replace([np.inf, -np.inf], np.nan)


def stage_score(args) -> None:
    jobs = {
        "free": [(CHEAP, "cifar10", None)],
        "shapes": [(DATA_FREE, ds, None) for ds in ("ImageNet16-120", "cifar100")],
        "naswot": [(("naswot",), "cifar10", args.naswot_cells)],
        "data": [(DATA_SCORES[:-1], "cifar10", args.data_cells)],
        "grasp": [(("grasp",), "cifar10", args.grasp_cells or args.data_cells)],
    }
    for part in args.parts.split(","):
        if part not in jobs:
            raise SystemExit(f"unknown part {part!r}; parts: {', '.join(jobs)}")
        for names, ds, n in jobs[part]:
            print(f"{part}: {', '.join(names)} on {n or 'all'} cells, {ds} shape", flush=True)
            zs.score_archs(
                "nb201",
                cells(ds, n),
                list(names),
                batch=shape_batch(ds),
                progress=args.progress,
                workers=args.workers,
            )


def stage_report(args) -> None:
    free, vs_acc = [], []
    for ds in DATASETS:
        zc = load_table(f"zc:nb201-{ds}")
        pub = zc.to_frame().set_index("arch")
        acc = pd.Series(load_table(f"nats:{ds}").lookup(f"{ds}/test_acc", zc.archs), index=pub.index)
        ours = cached(zc.archs, DATA_FREE, shape_batch(ds))
        for s in DATA_FREE if ours is not None else ():
            o = ours[s].dropna()
            free.append(
                {
                    "dataset": ds,
                    "score": s,
                    "n": len(o),
                    "spearman_vs_published": spearman(o.values, pub.loc[o.index, f"{ds}/{s}"].values),
                }
            )
        known = set(map(tuple, zc.archs))
        frames = []
        for names, archs in (
            (CHEAP, zc.archs),
            (("naswot",), cells(n=args.naswot_cells)),
            (DATA_SCORES, cells(n=args.data_cells)),
        ):
            keep = np.asarray([a for a in archs if tuple(a) in known])
            frames += [f for n in names if len(keep) and (f := cached(keep, (n,), digits())) is not None]
        if not frames:
            continue
        ours = pd.concat(frames, axis=1, join="outer")
        for members in ENSEMBLES:
            if set(members) <= set(ours.columns):
                ours["ens:" + "+".join(members)] = zs.ensemble_rank([ours[m].values for m in members])
        for s in ours.columns:
            o = ours[s].dropna()
            o = o[o.index.isin(pub.index)]
            row = {
                "dataset": ds,
                "score": s,
                "n": len(o),
                "ours": spearman(o.values, acc.loc[o.index].values),
            }
            col = f"{ds}/{PUBLISHED.get(s, s)}"
            if col in pub.columns:
                row.update(
                    published_same_cells=spearman(pub.loc[o.index, col].values, acc.loc[o.index].values),
                    published_all_cells=spearman(pub[col].values, acc.values),
                    published_all_vs_val_acc=spearman(pub[col].values, pub[f"{ds}/val_acc"].values),
                )
            row["n_published_all"] = len(pub)
            vs_acc.append(row)
    print("Data-free scores vs published (Spearman):")
    show(pd.DataFrame(free), args.out, "published_data_free", "{:.4f}")
    print("\nSpearman with NATS 200-epoch test accuracy (ours: digits batch, 128 images, seed 0):")
    show(pd.DataFrame(vs_acc), args.out, "spearman_vs_accuracy")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["score", "report"])
    ap.add_argument("--parts", default="free,naswot,data,shapes,grasp", help="score: parts, in order")
    ap.add_argument("--naswot-cells", type=int, default=200)
    ap.add_argument("--data-cells", type=int, default=40)
    ap.add_argument("--grasp-cells", type=int, default=None, help="cells for grasp (default: --data-cells)")
    ap.add_argument("--workers", type=int, default=1, help="score: processes scoring in parallel")
    ap.add_argument("--out", default="results/zeroshot")
    ap.add_argument("--no-progress", dest="progress", action="store_false")
    args = ap.parse_args()
    torch.set_num_threads(1)  # every stage on one thread (score workers: one each)
    threadpool_limits(1)
    t0 = time.perf_counter()
    globals()[f"stage_{args.stage}"](args)
    print(f"\n{args.stage}: {time.perf_counter() - t0:.1f} s wall, 1 thread")


if __name__ == "__main__":
    main()
