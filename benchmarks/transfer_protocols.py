"""Few-shot transfer benchmark: transfer and classic families on the HELP split and leave-one-device-out.

For every (protocol, family, target, sample count, seed): fit on n random target architectures,
predict the whole space, Spearman over the architectures not measured. Prints the mean over
targets (mean ± sd over seeds), the per-target table at one count, and the cold fit + whole-space
predict time per family (one core; the network's pre-training included).

    HWPRED_DATA_MIRROR=/path/to/mirror OMP_NUM_THREADS=1 python benchmarks/transfer_protocols.py \\
        --protocols help-split,lodo --sizes 0,5,10,20,50,100 --seeds 10 --out transfer.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import numpy as np

from hwpred.predictors import available_transfer, create
from hwpred.predictors.transfer import embedding
from hwpred.predictors.transfer.protocol import run_protocol


def factory(family: str, params: dict | None = None):
    """``make(sources, target)`` for a family; ``family:label`` names a variant given in ``params``."""
    name, kw = family.split(":", 1)[0], dict((params or {}).get(family, {}))
    if name in available_transfer():
        return lambda sources, target: create(name, sources=sources, target=target, **kw)
    return lambda sources, target: create(name, **kw)


def cold_time(family: str, params: dict, target: str = "help:raspi4", n: int = 10) -> float:
    """Seconds for one fit on n samples + a whole-space predict, with nothing cached."""
    from hwpred.data import load_dataset

    archs, y = load_dataset(target).arrays()
    embedding._PRETRAINED.clear()
    pred = factory(family, params)(["help-all"], target)
    t0 = time.perf_counter()
    pred.fit(archs[:n], y[:n])
    pred.predict(archs)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocols", default="help-split,lodo")
    ap.add_argument("--families", default="transfer_ridge,transfer_gp,transfer_net,ridge_reg,xgb,gp")
    ap.add_argument("--sizes", default="0,5,10,20,50,100")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--strategy", default="random", help="random, kcenter or doptimal")
    ap.add_argument("--detail-size", type=int, default=10, help="sample count of the per-target table")
    ap.add_argument("--out", default=None, help="write every trial as JSON here")
    ap.add_argument(
        "--params",
        default="{}",
        help='JSON hyper-parameters per family label, e.g. \'{"gp:noprior": {"lengthscale_prior": false}}\'',
    )
    ap.add_argument("--no-timing", action="store_true", help="skip the cold fit + predict timing")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    params = json.loads(args.params)
    fams = {f: factory(f, params) for f in args.families.split(",")}
    sizes = [int(s) for s in args.sizes.split(",")]
    trials = []
    for protocol in args.protocols.split(","):
        trials += run_protocol(protocol, fams, sizes, range(args.seeds), strategy=args.strategy)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump([t.__dict__ for t in trials], fh)

    # mean over targets per seed, then mean ± sd over seeds
    per_seed = defaultdict(list)
    for t in trials:
        per_seed[(t.protocol, t.family, t.n, t.seed)].append(t.spearman)
    table = defaultdict(list)
    for (p, f, n, _), v in per_seed.items():
        table[(p, f, n)].append(np.mean(v))
    print(f"Spearman over unmeasured architectures, mean over targets (mean ± sd over {args.seeds} seeds)")
    print("| protocol | family | " + " | ".join(f"n={n}" for n in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    for p in args.protocols.split(","):
        for f in fams:
            cells = [
                f"{np.mean(table[(p, f, n)]):.3f} ± {np.std(table[(p, f, n)]):.3f}"
                if table[(p, f, n)]
                else "-"
                for n in sizes
            ]
            print(f"| {p} | {f} | " + " | ".join(cells) + " |")

    n = args.detail_size
    per_target = defaultdict(list)
    for t in trials:
        if t.n == n:
            per_target[(t.protocol, t.family, t.target)].append(t.spearman)
    for p in args.protocols.split(","):
        targets = sorted({k[2] for k in per_target if k[0] == p})
        print(f"\n{p}, n={n}: Spearman per target (mean over seeds); min = worst target")
        print("| family | mean | min | " + " | ".join(x.split(":")[1] for x in targets) + " |")
        print("|---|---|---|" + "---|" * len(targets))
        for f in fams:
            v = [np.mean(per_target[(p, f, x)]) for x in targets if per_target[(p, f, x)]]
            if v:
                print(
                    f"| {f} | {np.mean(v):.3f} | {np.min(v):.3f} | "
                    + " | ".join(f"{x:.3f}" for x in v)
                    + " |"
                )

    if not args.no_timing:
        print("\ncold fit (10 samples) + whole-space predict, help:raspi4 with sources help-all, one thread")
        for f in fams:
            print(f"  {f:16s} {cold_time(f, params):7.2f} s")


if __name__ == "__main__":
    main()
