"""Zero-shot scores against NAS-Bench-Suite-Zero's published values and NATS accuracy, and speed.

Stages (each resumable: scores are cached under $HWPRED_HOME/cache/zeroshot):

  score   compute what the comparison needs (--parts, in order): free = data-free scores on
          every published cell (digits shape: 10 classes, 32 px); naswot on a random subset
          of --naswot-cells cells; data = the other data scores on a nested subset of
          --data-cells cells; shapes = params/flops/synflow with the cifar100 and
          ImageNet16-120 shapes (100/120 classes, 32/16 px); grasp on the data subset.
  report  print (and write to --out) Spearman tables from whatever is cached.
  select  selection with naswot, synflow, the best ensemble and the true accuracy as the
          accuracy the selection sees (hardware noise std x subset size), on the naswot cells.
  speed   seconds per architecture of each score (wall and process CPU time, 1 thread),
          scored one at a time so that no score reuses another's pass.

  HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/zeroshot.py score
  HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/zeroshot.py report
  HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/zeroshot.py select
  python benchmarks/zeroshot.py speed --speed-cells 3
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hwpred.data import load_table
from hwpred.metrics import spearman
from hwpred.spaces import NB201
from hwpred.zeroshot import Batch, load_batch, score_archs
from hwpred.zeroshot.runner import MissingScoreWarning, set_threads
from hwpred.zeroshot.scores import _MEMO, available_scores, ensemble_rank, get_score

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
SHAPE = {"cifar10": (10, 32), "cifar100": (100, 32), "ImageNet16-120": (120, 16)}
DATA_FREE = ("params", "flops", "synflow")
# ours -> NAS-Bench-Suite-Zero's name
PUBLISHED_NAME = {"naswot": "nwot", "jacob_cov": "jacov", "synflow": "synflow", "params": "params",
                  "flops": "flops", "epe_nas": "epe_nas", "snip": "snip", "grad_norm": "grad_norm",
                  "grasp": "grasp", "fisher": "fisher", "l2_norm": "l2_norm"}
DATA_SCORES = ("jacob_cov", "epe_nas", "jsc", "snip", "grad_norm", "fisher", "pjs", "wpjs", "wpjsi", "grasp")
CHEAP_DIGITS = ("params", "flops", "synflow", "l2_norm", "relu_count")


def md(df: pd.DataFrame, fmt: str = "{:.3f}") -> str:
    """A markdown table (pandas' to_markdown needs tabulate, not a dependency)."""
    cells = [["" if v is pd.NA else fmt.format(v) if isinstance(v, float) else str(v) for v in row]
             for row in df.itertuples(index=False)]
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    return "\n".join([head, sep] + ["| " + " | ".join(r) + " |" for r in cells])


def shape_batch(ds: str) -> Batch:
    """Data-free scores only read the input shape and the number of classes."""
    classes, px = SHAPE[ds]
    if ds == "cifar10":
        return load_batch("digits", 128, 0, px)  # same shape and classes: shares the digits cache
    return Batch(torch.zeros(1, 3, px, px), torch.zeros(1, dtype=torch.long), classes, f"shape-{ds}", 0)


def cells(ds: str) -> np.ndarray:
    return load_table(f"zc:nb201-{ds}").archs


def subset(archs: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Nested random subsets: the first n of one fixed permutation."""
    perm = np.random.default_rng(seed).permutation(len(archs))
    return archs[np.sort(perm[:min(n, len(archs))])]


def stage_score(args) -> None:
    c10 = cells("cifar10")
    digits = load_batch("digits", 128, 0, 32)
    parts = args.parts.split(",")
    for part in parts:
        if part == "free":
            print(f"data-free scores on {len(c10)} cifar10 cells (digits batch shape)", flush=True)
            score_archs("nb201", c10, list(CHEAP_DIGITS), batch=digits, progress=args.progress)
        elif part == "shapes":
            for ds in ("ImageNet16-120", "cifar100"):
                print(f"data-free scores, {ds} shape", flush=True)
                score_archs("nb201", cells(ds), list(DATA_FREE), batch=shape_batch(ds), progress=args.progress)
        elif part == "naswot":
            sub = subset(c10, args.naswot_cells)
            print(f"naswot on {len(sub)} cells", flush=True)
            score_archs("nb201", sub, ["naswot"], batch=digits, progress=args.progress, workers=args.workers)
        elif part == "data":
            sub = subset(c10, args.data_cells)
            print(f"data scores on {len(sub)} cells", flush=True)
            score_archs("nb201", sub, [s for s in DATA_SCORES if s != "grasp"], batch=digits, progress=args.progress,
                        workers=args.workers)
        elif part == "grasp":
            sub = subset(c10, args.grasp_cells or args.data_cells)
            print(f"grasp on {len(sub)} cells", flush=True)
            score_archs("nb201", sub, ["grasp"], batch=digits, progress=args.progress, workers=args.workers)
        else:
            raise SystemExit(f"unknown part {part!r}; parts: free, shapes, naswot, data, grasp")


def _cached(archs, names, batch) -> pd.DataFrame | None:
    """Our cached scores as a frame indexed by arch string (None if nothing cached yet)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingScoreWarning)
        try:
            res = score_archs("nb201", archs, list(names), batch=batch, progress=False, cached_only=True)
        except Exception as exc:  # nothing cached yet for this stage
            return None
    df = pd.DataFrame({n: res.values[f"{n}/{res.data}"] for n in names}, index=res.arch_strings())
    return df.replace([np.inf, -np.inf], np.nan)


def stage_report(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    digits = load_batch("digits", 128, 0, 32)
    rows_free, rows_acc = [], []
    for ds in DATASETS:
        zc = load_table(f"zc:nb201-{ds}")
        pub = zc.to_frame().set_index("arch")
        acc_t = load_table(f"nats:{ds}")
        acc = pd.Series(acc_t.lookup(f"{ds}/test_acc", zc.archs), index=pub.index)
        # data-free vs published, with the dataset's own shape
        ours_free = _cached(zc.archs, DATA_FREE, shape_batch(ds))
        if ours_free is not None:
            for s in DATA_FREE:
                o = ours_free[s].dropna()
                rows_free.append({"dataset": ds, "score": s, "n": len(o),
                                  "spearman_vs_published": spearman(o.values, pub.loc[o.index, f"{ds}/{s}"].values)})
        # every score (digits batch, 10 classes, 32 px) vs NATS test accuracy
        frames = []
        zc_set = set(map(tuple, zc.archs))
        for names, archs in ((CHEAP_DIGITS, zc.archs), (("naswot",), subset(cells("cifar10"), args.naswot_cells)),
                             (DATA_SCORES, subset(cells("cifar10"), args.data_cells))):
            keep = np.asarray([a for a in archs if tuple(a) in zc_set])
            for name in names:  # one score at a time: a score still running does not hide the others
                f = _cached(keep, (name,), digits) if len(keep) else None
                if f is not None:
                    frames.append(f)
        if not frames:
            continue
        ours = pd.concat(frames, axis=1, join="outer")
        if {"naswot", "synflow"} <= set(ours.columns):
            for members in (("naswot", "synflow"), ("naswot", "synflow", "flops"), ("naswot", "flops"),
                            ("naswot", "synflow", "jacob_cov"), ("naswot", "synflow", "snip")):
                if set(members) <= set(ours.columns):
                    ours["ens:" + "+".join(members)] = ensemble_rank([ours[m].values for m in members])
        for s in ours.columns:
            o = ours[s].dropna()
            o = o[o.index.isin(pub.index)]
            row = {"dataset": ds, "score": s, "n": len(o), "ours": spearman(o.values, acc.loc[o.index].values)}
            pname = PUBLISHED_NAME.get(s)
            if pname and f"{ds}/{pname}" in pub.columns:
                p = pub.loc[o.index, f"{ds}/{pname}"]
                row["published_same_cells"] = spearman(p.values, acc.loc[o.index].values)
                row["published_all_cells"] = spearman(pub[f"{ds}/{pname}"].values, acc.values)
                row["published_all_vs_val_acc"] = spearman(pub[f"{ds}/{pname}"].values, pub[f"{ds}/val_acc"].values)
                row["n_published_all"] = int(len(pub))
            rows_acc.append(row)
    free = pd.DataFrame(rows_free)
    accdf = pd.DataFrame(rows_acc)
    if "n_published_all" in accdf:
        accdf["n_published_all"] = accdf["n_published_all"].astype("Int64")
    free.to_csv(out / "published_data_free.csv", index=False)
    accdf.to_csv(out / "spearman_vs_accuracy.csv", index=False)
    pd.set_option("display.width", 200)
    print("\nData-free scores vs published (Spearman):")
    print(md(free, "{:.4f}") if len(free) else "(none cached)")
    print("\nSpearman with NATS 200-epoch test accuracy (ours: digits batch, 128 images, seed 0):")
    if len(accdf):
        wide = accdf.pivot_table(index="score", columns="dataset", values=["ours", "published_same_cells"])
        print(md(accdf))
        wide.to_csv(out / "spearman_vs_accuracy_wide.csv")


def stage_select(args) -> None:
    """Selection with naswot / synflow / the best ensemble / true accuracy on the naswot cells."""
    import itertools

    from hwpred.data import MetricTable
    from hwpred.zeroshot.selection import SelectionStudy, format_report, run_selection_study

    digits = load_batch("digits", 128, 0, 32)
    sub = subset(cells("cifar10"), args.naswot_cells)
    pool = ("naswot", "synflow", "flops", "params", "relu_count", "l2_norm")
    if args.select_pool == "cached":  # every score cached on all of the universe's cells
        pool = tuple(n for n in available_scores()
                     if (f := _cached(sub, (n,), digits)) is not None and len(f) == len(sub))
        print(f"ensemble pool (every score cached on all {len(sub)} cells): {', '.join(pool)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingScoreWarning)
        res = score_archs("nb201", sub, list(pool), batch=digits, progress=False, cached_only=True)
    table = res.table()  # architectures with every pool score finite
    acc = load_table(f"nats:{args.accuracy}")
    y = acc.lookup(f"{args.accuracy}/test_acc", table.archs)
    best, best_rho = None, -2.0
    rows = []
    for k in (2, 3):
        for members in itertools.combinations(pool, k):
            if "naswot" not in members and "synflow" not in members:
                continue
            e = ensemble_rank([table.column(f"{m}/digits") for m in members])
            rho = spearman(e, y)
            rows.append({"ensemble": "+".join(members), "spearman_vs_acc": rho})
            if rho > best_rho:
                best, best_rho = members, rho
    ens = pd.DataFrame(rows).sort_values("spearman_vs_acc", ascending=False)
    print(f"ensembles on {len(table)} cells (Spearman with NATS {args.accuracy} test accuracy):")
    print(md(ens.head(8)))
    col = res.add_ensemble(list(best))
    table = res.table()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ens.to_csv(out / "ensembles.csv", index=False)
    path = out / "selection_scores.parquet"
    MetricTable(table.space, table.archs, {c: table.column(c) for c in ("naswot/digits", "synflow/digits", col)},
                table.meta, table.units).to_parquet(path)
    study = SelectionStudy(path, ("naswot/digits", "synflow/digits", col), accuracy=f"nats:{args.accuracy}",
                           hardware=tuple(args.hardware.split(",")), subset_sizes=(50, 100, "all"),
                           noise_stds=(0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0), trials=args.trials, output=out,
                           name=f"selection-{args.accuracy}-n{len(table)}")  # a new universe: a new store
    rep = run_selection_study(study, progress=args.progress)
    print(format_report(rep))
    print("wrote " + ", ".join(str(f) for f in rep.files))


def stage_space(args) -> None:
    """Spearman / Kendall tau of whole-space score columns (and their mean-rank ensemble) with the
    NATS-Bench test accuracy of every cell, per dataset; cells with a missing score are listed."""
    from hwpred.data import MetricTable
    from hwpred.metrics import kendall_tau

    t = MetricTable.read_parquet(args.table)
    cols = list(t.column_names)
    missing = {c: len(v) for c, v in t.meta.get("missing", {}).items()}
    print(f"{args.table}: {len(t)} cells with every column finite; missing per column: {missing}")
    scores = {c: t.column(c) for c in cols}
    if len(cols) > 1:
        scores["mean rank " + "+".join(c.split("/")[0] for c in cols)] = ensemble_rank([t.column(c) for c in cols])
    rows = []
    for ds in DATASETS:
        acc = load_table(f"nats:{ds}")
        y = acc.lookup(f"{ds}/test_acc", t.archs)
        for name, v in scores.items():
            rows.append({"dataset": ds, "score": name, "n": len(v), "spearman": spearman(v, y),
                         "kendall_tau": kendall_tau(v, y)})
    df = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "space_vs_accuracy.csv", index=False)
    print(md(df))


def stage_speed(args) -> None:
    batch = load_batch("digits", 128, 0, 32)
    archs = NB201.random(args.speed_cells, rng=123)
    rows = []
    for name in available_scores():
        wall, cpu = [], []
        for a in archs:
            torch.manual_seed(0)
            model = NB201.build_model(a, num_classes=10)
            _MEMO.clear()
            t0, c0 = time.perf_counter(), time.process_time()
            get_score(name)(model, batch)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        rows.append({"score": name, "cells": len(archs), "wall_s_per_arch": float(np.mean(wall)),
                     "cpu_s_per_arch": float(np.mean(cpu))})
        print(f"  {name:11s} wall {np.mean(wall):7.3f} s/arch  cpu {np.mean(cpu):7.3f} s/arch", flush=True)
    df = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "speed.csv", index=False)
    print(md(df))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["score", "report", "speed", "select", "space"])
    ap.add_argument("--table", default="results/zeroshot/nb201-naswot-synflow-all.parquet",
                    help="space: a 'hwpred zeroshot score' table of the whole space")
    ap.add_argument("--accuracy", default="cifar10", help="select: NATS dataset of the true accuracy")
    ap.add_argument("--hardware", default="help:raspi4,help:pixel3", help="select: hardware datasets")
    ap.add_argument("--trials", type=int, default=200, help="select: trials per grid cell")
    ap.add_argument("--parts", default="free,naswot,data,shapes,grasp", help="score stage parts, in order")
    ap.add_argument("--naswot-cells", type=int, default=200)
    ap.add_argument("--select-pool", choices=("cheap", "cached"), default="cheap",
                    help="select: ensemble members from the cheap scores, or from every score cached on the universe")
    ap.add_argument("--data-cells", type=int, default=40)
    ap.add_argument("--grasp-cells", type=int, default=None, help="cells for grasp (default: --data-cells)")
    ap.add_argument("--speed-cells", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1, help="score stage: processes scoring in parallel")
    ap.add_argument("--out", default="results/zeroshot")
    ap.add_argument("--no-progress", dest="progress", action="store_false")
    args = ap.parse_args()
    set_threads(1)  # torch and numpy's BLAS: every stage runs on one thread (workers: one each)
    t0 = time.perf_counter()
    {"score": stage_score, "report": stage_report, "speed": stage_speed, "select": stage_select,
     "space": stage_space}[args.stage](args)
    print(f"\n{args.stage}: {time.perf_counter() - t0:.1f} s wall, {json.dumps({'threads': 1})}")


if __name__ == "__main__":
    main()
