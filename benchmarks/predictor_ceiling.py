"""How high can a latency predictor's Kendall tau go on a HELP table? A learning curve and a noise check.

The predictor benchmark targets tau >= 0.90 at 1,000 training samples on help:raspi4 and help:pixel3. This
script asks what the tables allow, with the study's protocol (studies/predictors-default.yaml):
per seed, a random 625-architecture test set and training sets drawn from the rest.

1. Learning curve: XGBoost and LightGBM (default hyper-parameters, one-hot encoding, fast
   enough to fit on every remaining cell) trained on 100 ... 15,000 architectures, 3 seeds
   (at 15,000 the training set is the whole pool).
2. Twins: NAS-Bench-201 cells whose edge 1->2 is ``none`` are computationally identical to the
   cell with nodes 1 and 2 swapped (same ops on the same shapes). The two published latencies of
   such a pair differ only by measurement noise (and any measurement-order effect), so their
   Kendall tau is what repeating the measurement would give.
3. Order drift (``--drift``): is that noise tied to the order the cells were measured in? The
   table rows follow the NAS-Bench-201 benchmark index (HELP's file order). Out-of-fold residuals
   of a LightGBM fit on log latency (5 folds over all cells) are checked for autocorrelation
   along that order; a drift the index could predict would show up there.

    HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/predictor_ceiling.py
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from hwpred.data import load_dataset
from hwpred.metrics import kendall_tau
from hwpred.predictors import create

N_TEST = 625


@dataclass
class Table:
    archs: np.ndarray  # rows in lexicographic order of the op tuples, whatever the file's order
    y: np.ndarray
    index: dict  # op tuple -> row

    def split(self, seed: int, n_train: int) -> tuple[np.ndarray, np.ndarray]:
        """(test rows, training rows): the first 625 of the seed's permutation, then the next n_train."""
        perm = np.random.default_rng(seed).permutation(len(self.y))
        return perm[:N_TEST], perm[N_TEST : N_TEST + n_train]


def load(dataset: str) -> Table:
    archs, y = load_dataset(dataset).arrays()
    archs = np.asarray(archs, dtype=np.int64)
    order = np.lexsort(archs.T[::-1])
    archs, y = archs[order], np.asarray(y, dtype=np.float64)[order]
    return Table(archs, y, {tuple(a): i for i, a in enumerate(archs.tolist())})


def twins(t: Table) -> tuple[np.ndarray, np.ndarray]:
    """Latencies of the pairs (a, a with nodes 1 and 2 swapped) for cells with edge 1->2 = none.

    Edge order (0->1, 0->2, 1->2, 0->3, 1->3, 2->3): swapping nodes 1 and 2 exchanges edges
    0->1 with 0->2 and 1->3 with 2->3.
    """
    first, second = [], []
    for a, i in t.index.items():
        if a[2] != 0:
            continue
        twin = (a[1], a[0], 0, a[3], a[5], a[4])
        if twin != a and a < twin and twin in t.index:
            first.append(t.y[i])
            second.append(t.y[t.index[twin]])
    return np.array(first), np.array(second)


def order_drift(dataset: str, folds: int = 5, half_window: int = 25) -> dict:
    """Autocorrelation of out-of-fold log-latency residuals along the table's row (benchmark index) order."""
    archs, y = load_dataset(dataset).arrays()
    archs, y = np.asarray(archs, dtype=np.int64), np.log(np.asarray(y, dtype=np.float64))
    fold = np.random.default_rng(0).permutation(len(y)) % folds
    oof = np.empty_like(y)
    for k in range(folds):
        tr = fold != k
        oof[~tr] = create("lgb", random_state=0).fit(archs[tr], y[tr]).predict(archs[~tr])
    r = y - oof

    def autocorr(lag: int) -> float:
        return float(np.corrcoef(r[:-lag], r[lag:])[0, 1])

    # mean of the 2*half_window neighbours in index order, the cell itself left out
    w = np.ones(2 * half_window + 1)
    w[half_window] = 0.0
    neigh = np.convolve(r, w, mode="same") / np.convolve(np.ones_like(r), w, mode="same")
    explained = 1.0 - np.var(r - neigh) / np.var(r)
    return {
        "resid_sd": float(np.std(r)),
        "lag1": autocorr(1),
        "lag25": autocorr(25),
        "lag625": autocorr(625),
        "explained_by_neighbours": float(explained),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="help:raspi4,help:pixel3,help:gold_6226")
    ap.add_argument("--families", default="xgb,lgb")
    ap.add_argument("--sizes", default="100,1000,3000,7000,15000")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--drift", action="store_true", help="only the order-drift check")
    args = ap.parse_args()
    if args.drift:
        print(
            "| dataset | residual sd (log) | autocorr lag 1 | lag 25 | lag 625 | variance explained by 50 index neighbours |"
        )
        print("|---|---|---|---|---|---|")
        for ds in args.datasets.split(","):
            d = order_drift(ds)
            print(
                f"| {ds} | {d['resid_sd']:.3f} | {d['lag1']:.3f} | {d['lag25']:.3f} | {d['lag625']:.3f} | "
                f"{d['explained_by_neighbours']:.3f} |",
                flush=True,
            )
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    print("| dataset | family | " + " | ".join(f"tau @{n}" for n in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    notes = []
    for ds in args.datasets.split(","):
        t = load(ds)
        pool = len(t.y) - N_TEST
        for fam in args.families.split(","):
            cells = []
            for n in sizes:
                n = min(n, pool)
                taus = []
                for seed in seeds:
                    test, train = t.split(seed, n)
                    t0 = time.perf_counter()
                    model = create(fam, random_state=seed).fit(t.archs[train], t.y[train])
                    taus.append(kendall_tau(t.y[test], model.predict(t.archs[test])))
                    if n == pool and seed == seeds[0]:
                        notes.append(f"{ds} {fam} on all {n}: fit {time.perf_counter() - t0:.1f} s")
                cells.append(f"{np.mean(taus):.3f}" + (f" ± {np.std(taus):.3f}" if len(taus) > 1 else ""))
            print(f"| {ds} | {fam} | " + " | ".join(cells) + " |", flush=True)
        a, b = twins(t)
        rel = np.abs(a - b) / ((a + b) / 2)
        notes.append(
            f"{ds}: {len(a)} twin pairs, Kendall tau between twins {kendall_tau(a, b):.3f}, "
            f"median |diff|/mean {np.median(rel):.3f}, 90th percentile {np.quantile(rel, 0.9):.3f}"
        )
    print()
    for line in notes:
        print("- " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
