"""Query time of every predictor family for 625 test architectures, on a quiet machine.

The predictor benchmark targets a query under 50 ms for 625 architectures. Fitting and timing are separate
steps so that the (slow) fits can run at any time and the timing when nothing else runs:

    HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/predictor_query.py fit    # saves fitted predictors
    python benchmarks/predictor_query.py time                                            # loads them, times predict

``fit`` trains each family with default hyper-parameters on 1,000 help:raspi4 architectures
(seed 0: a random 625-architecture test set, the training set drawn from the rest; the Lookup
Table on its own reference architectures) and saves it with ``predictor.save``; ``time`` loads each one
with ``hwpred.load_predictor`` and reports the best and the median of 7 ``predict`` calls on the
625 test architectures (validation and encoding included), wall and process CPU time, one
torch thread.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DEFAULT_DIR = Path("results") / "predictor-query"
N_TEST = 625


def fit(args) -> None:
    from hwpred.data import load_dataset
    from hwpred.predictors import available, create, get_class

    ds = load_dataset(args.dataset)
    archs, y = ds.arrays()
    perm = np.random.default_rng(0).permutation(len(y))
    test, train = perm[:N_TEST], perm[N_TEST : N_TEST + args.n]
    np.save(args.dir / "test_archs.npy", archs[test])
    for fam in args.families.split(",") if args.families else available():
        out = args.dir / fam
        if (out / "predictor.json").exists():
            print(f"{fam}: already fitted", flush=True)
            continue
        t0 = time.perf_counter()
        required = getattr(get_class(fam), "required_archs", None)  # a reference family (the LUT)
        if required is not None:
            ref = np.asarray(required(ds.table.space))
            model = create(fam, random_state=0).fit(ref, ds.table.lookup(ds.column, ref))
        else:
            model = create(fam, random_state=0).fit(archs[train], y[train])
        model.save(out)
        print(f"{fam}: fitted in {time.perf_counter() - t0:.1f} s -> {out}", flush=True)


def time_all(args) -> None:
    import torch

    from hwpred import load_predictor

    torch.set_num_threads(1)
    test = np.load(args.dir / "test_archs.npy")
    rows = []
    for out in sorted(p for p in args.dir.iterdir() if p.is_dir()):
        model = load_predictor(out)
        model.predict(test)  # first call: lazy imports, allocator warm-up
        wall, cpu = [], []
        for _ in range(7):
            t0, c0 = time.perf_counter(), time.process_time()
            model.predict(test)
            wall.append(1000 * (time.perf_counter() - t0))
            cpu.append(1000 * (time.process_time() - c0))
        rows.append(
            {
                "family": out.name,
                "best_wall_ms": min(wall),
                "median_wall_ms": float(np.median(wall)),
                "best_cpu_ms": min(cpu),
            }
        )
    rows.sort(key=lambda r: -r["median_wall_ms"])
    print(f"| family | best wall ms | median wall ms | best CPU ms |  ({len(test)} archs, 7 calls)")
    print("|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['family']} | {r['best_wall_ms']:.1f} | {r['median_wall_ms']:.1f} | {r['best_cpu_ms']:.1f} |"
        )
    worst = rows[0]
    print(
        f"\nslowest median: {worst['family']} {worst['median_wall_ms']:.1f} ms -> "
        + ("PASS" if worst["median_wall_ms"] < 50 else "FAIL")
        + " (< 50 ms for 625 archs)"
    )
    (args.dir / "query_times.json").write_text(json.dumps(rows, indent=2))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stage", choices=["fit", "time"])
    ap.add_argument("--dataset", default="help:raspi4")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--families", default=None, help="comma-separated (default: all 18)")
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    fit(args) if args.stage == "fit" else time_all(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
