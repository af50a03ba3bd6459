"""Study benchmarks: quick-study wall time with per-family share, Dask 1-vs-2-worker scaling, grid overhead.

    # the quick study on 2 local workers (fresh store under --output), per-family share of the time
    python benchmarks/study.py quick --config studies/quick.yaml --workers 2

    # the same config on a smaller grid, Dask LocalCluster with 1 then 2 workers: wall-time ratio
    python benchmarks/study.py dask-scaling --config studies/quick.yaml --datasets help:raspi4 \
        --predictors gp sparse_gp minimlp ngb nao bohamiann --sizes 55 124 276 --seeds 0 1

Both print their figures (and write them as JSON next to the store). The grid overhead per cell is
the driver's time (submit, receive, write the part file) per cell and, more strictly, the
worker-seconds the cells did not use: (wall x workers - sum of cell times) / cells, which also
counts worker start-up and the idle tail; both are compared with the median cell time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from hwpred.study import load_config, run_study


def _fresh(cfg, output: Path, name: str):
    cfg = cfg.with_overrides(output=output, name=name)
    if cfg.store_dir.exists():
        shutil.rmtree(cfg.store_dir)
    return cfg


def _overhead(stats) -> dict:
    med = stats.median_unit_s
    return {
        "cells": stats.ran,
        "failed": stats.failed,
        "wall_s": round(stats.wall_s, 2),
        "workers": stats.workers,
        "startup_s": round(stats.startup_s, 2),
        "wall_after_startup_s": round(stats.wall_s - stats.startup_s, 2),
        "sum_cell_s": round(sum(stats.unit_s), 2),
        "median_cell_s": round(med, 4),
        "driver_s_per_cell": round(stats.driver_s / max(stats.ran, 1), 5),
        "driver_pct_of_median_cell": round(100 * stats.driver_s / max(stats.ran, 1) / med, 3),
        "unused_worker_s_per_cell": round(stats.overhead_per_unit_s, 4),
        "unused_pct_of_median_cell": round(100 * stats.overhead_per_unit_s / med, 2),
    }


def _machine() -> dict:
    import torch

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_avg_at_end": os.getloadavg(),
    }


def cmd_quick(args) -> dict:
    cfg = load_config(args.config)
    cfg = _fresh(cfg, Path(args.output), args.name or f"{cfg.name}-bench")
    run = run_study(cfg, executor="local", workers=args.workers, progress=not args.no_progress)
    df = run.store.read()
    ok = df[df.status == "ok"]
    share = (df.groupby("predictor")["cell_time_s"].sum() / df["cell_time_s"].sum() * 100).sort_values(
        ascending=False
    )
    per_family = pd.DataFrame(
        {
            "share_pct": share.round(2),
            "cells": df.groupby("predictor").size(),
            "failed": df[df.status != "ok"].groupby("predictor").size().reindex(share.index, fill_value=0),
            "median_cell_s": df.groupby("predictor")["cell_time_s"].median().round(3),
            "mean_fit_s": ok.groupby("predictor")["fit_time_s"].mean().round(3),
            "mean_tuning_s": ok.groupby("predictor")["tuning_time_s"].mean().round(3),
        }
    ).loc[share.index]
    out = {
        "config": str(args.config),
        "store": str(run.store_dir),
        "machine": _machine(),
        "datasets": [d.name for d in run.validated.datasets],
        "seeds": list(cfg.seeds),
        "predictors": len(cfg.predictors),
        "wall_min": round(run.stats.wall_s / 60, 2),
        **_overhead(run.stats),
        "per_family": per_family.reset_index().to_dict(orient="records"),
    }
    print(
        f"\nquick study: {out['cells']} cells ({out['failed']} failed) in {out['wall_min']} min wall "
        f"on {args.workers} local workers"
    )
    print(per_family.to_string())
    print(
        f"median cell {out['median_cell_s']} s; driver time per cell {out['driver_s_per_cell']} s "
        f"({out['driver_pct_of_median_cell']}% of the median cell); unused worker time per cell "
        f"{out['unused_worker_s_per_cell']} s ({out['unused_pct_of_median_cell']}%)"
    )
    if args.figure:
        from hwpred.study import write_report

        rep = write_report(run.store_dir)
        dest = Path(args.figure)
        dest.parent.mkdir(parents=True, exist_ok=True)
        for ext in ("png", "svg"):
            shutil.copyfile(rep.out / f"kendall_tau.{ext}", dest.with_suffix(f".{ext}"))
        shutil.copyfile(rep.out / "kendall_tau_centred.png", dest.with_name(dest.stem + "-centred.png"))
        print(f"report {rep.html}; main figure copied to {dest.with_suffix('.png')}")
    (run.store_dir / "benchmark.json").write_text(json.dumps(out, indent=1, default=str))
    return out


def cmd_dask_scaling(args) -> dict:
    from hwpred.study.store import RESULT_COLUMNS

    base = load_config(args.config)
    cfg = base.with_overrides(
        datasets=tuple(
            replace(d, train_sizes=tuple(sorted(args.sizes or d.train_sizes)))
            for d in base.datasets
            if not args.datasets or d.name in args.datasets
        ),
        predictors=tuple(p for p in base.predictors if not args.predictors or p.name in args.predictors),
        seeds=tuple(args.seeds) if args.seeds else None,
    )
    results, frames = {}, {}
    for n in (1, 2):
        run = run_study(
            _fresh(cfg, Path(args.output), f"scaling-w{n}"),
            executor="dask",
            workers=n,
            progress=not args.no_progress,
        )
        results[n] = _overhead(run.stats)
        frames[n] = run.store.read()[RESULT_COLUMNS].sort_values("cell_id").reset_index(drop=True)
    same = frames[1].drop(columns=["cell_id"]).equals(frames[2].drop(columns=["cell_id"]))
    ratio = results[1]["wall_s"] / results[2]["wall_s"]
    ratio_run = results[1]["wall_after_startup_s"] / results[2]["wall_after_startup_s"]
    out = {
        "grid_cells": results[1]["cells"],
        "wall_s_1_worker": results[1]["wall_s"],
        "wall_s_2_workers": results[2]["wall_s"],
        "speedup_1_to_2": round(ratio, 3),
        "speedup_1_to_2_after_startup": round(ratio_run, 3),
        "same_numbers": bool(same),
        "one_worker": results[1],
        "two_workers": results[2],
        "machine": _machine(),
    }
    print(
        f"\nDask LocalCluster, {out['grid_cells']} cells: 1 worker {out['wall_s_1_worker']} s, 2 workers "
        f"{out['wall_s_2_workers']} s, speed-up {out['speedup_1_to_2']}x "
        f"({out['speedup_1_to_2_after_startup']}x without cluster start-up); identical numbers: {same}"
    )
    print(json.dumps(results, indent=1))
    Path(args.output).mkdir(parents=True, exist_ok=True)
    (Path(args.output) / "scaling.json").write_text(json.dumps(out, indent=1, default=str))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    q, d = sub.add_parser("quick"), sub.add_parser("dask-scaling")
    for p in (q, d):
        p.add_argument("--config", default="studies/quick.yaml")
        p.add_argument("--output", default="results/bench")
        p.add_argument("--no-progress", action="store_true")
    q.add_argument("--workers", type=int, default=2)
    q.add_argument("--name", default=None)
    q.add_argument(
        "--figure", help="copy the report's main figure here (e.g. docs/img/study-kendall-tau.png)"
    )
    q.set_defaults(func=cmd_quick)
    for flag in ("--datasets", "--predictors"):
        d.add_argument(flag, nargs="*", default=None)
    d.add_argument("--seeds", nargs="*", type=int, default=None)
    d.add_argument("--sizes", nargs="*", type=int, help="training-set sizes (default: the config's)")
    d.set_defaults(func=cmd_dask_scaling)
    args = ap.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
