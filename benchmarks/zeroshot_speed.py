"""Seconds per architecture of each zero-shot score, wall and CPU, on one thread.

Every score of ``hwpred.zeroshot.available_scores()`` on the same ``--speed-cells`` random
NAS-Bench-201 cells (seed 123, 10 classes, 32 px) with the embedded digits batch (128 images,
seed 0), each on a freshly built network so that no score reuses another's pass; one torch and
one BLAS thread. Prints a line per score and the table, and writes ``speed.csv`` under ``--out``.

    python benchmarks/zeroshot_speed.py --speed-cells 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from hwpred import zeroshot as zs
from hwpred.experiment import markdown_table, write_csv
from hwpred.spaces import NB201


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed-cells", type=int, default=3)
    ap.add_argument("--out", default="results/zeroshot")
    args = ap.parse_args()
    torch.set_num_threads(1)
    threadpool_limits(1)
    t_start = time.perf_counter()
    batch, archs, rows = zs.load_batch("digits", 128, 0, 32), NB201.random(args.speed_cells, rng=123), []
    for name in zs.available_scores():
        wall, cpu = [], []
        for a in archs:
            torch.manual_seed(0)
            model = NB201.build_model(a, num_classes=10)
            t0, c0 = time.perf_counter(), time.process_time()
            zs.get_score(name)(model, batch)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        rows.append(
            {
                "score": name,
                "cells": len(archs),
                "wall_s_per_arch": float(np.mean(wall)),
                "cpu_s_per_arch": float(np.mean(cpu)),
            }
        )
        print(f"  {name:11s} wall {np.mean(wall):7.3f} s/arch  cpu {np.mean(cpu):7.3f} s/arch", flush=True)
    df = pd.DataFrame(rows)
    write_csv(df, Path(args.out) / "speed.csv")
    print(markdown_table(df))
    print(f"\nspeed: {time.perf_counter() - t_start:.1f} s wall, 1 thread")


if __name__ == "__main__":
    main()
