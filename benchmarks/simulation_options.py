"""The seed code's noise variant and hypervolume reference against hwpred's defaults.

Runs the same few pairs of ``simulation/paper2022.yaml`` (same seeds) once with the defaults
(``noise_model: {variant: fixed-shape}``, ``hv_reference: front-max``), once with the seed
code's noise (``variant: seed-code``) and once with its reference (``hv_reference: subset-max``),
and prints, per subset size and noise level, the mean over the pairs of each option minus the
default: Kendall tau, MRA_all, MRA_pareto and the HV fraction.

    HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/simulation_options.py
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import pandas as pd

from hwpred.simulation import load_config, run_simulation

ROOT = Path(__file__).resolve().parents[1]
PAIRS = "help:raspi4,help:pixel3,help:1080ti_1,hwnb360:pi5-onnx-cifar100"
METRICS = ("kendall_tau", "mra_all", "mra_pareto", "hv_fraction")


def run(cfg, name: str, out: Path, **changes) -> pd.DataFrame:
    cfg = dataclasses.replace(cfg, name=name, output=out, **changes)
    rows = run_simulation(cfg, progress=False).read()
    return rows.groupby(["hardware", "subset_size", "noise_std"])[list(METRICS)].mean()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hardware", default=PAIRS, help="hardware tables, each paired with nats:cifar10")
    ap.add_argument("--sizes", default="100,1000,all")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    base = load_config(ROOT / "simulation" / "paper2022.yaml")
    wanted = args.hardware.split(",")
    pairs = tuple(p for p in base.pairs if p.accuracy == "nats:cifar10" and p.hardware in wanted)
    sizes = tuple(s if s == "all" else int(s) for s in args.sizes.split(","))
    cfg = dataclasses.replace(
        base,
        pairs=pairs,
        subset_sizes=sizes,
        trials=args.trials,
        workers=args.workers,
        example=dataclasses.replace(base.example, pair=0),
    )
    out = Path(tempfile.mkdtemp(prefix="hwpred-simopts-"))
    default = run(cfg, "default", out)
    options = {
        "seed-code noise": run(
            cfg, "seed-noise", out, noise_model=dataclasses.replace(cfg.noise_model, variant="seed-code")
        ),
        "subset-max reference": run(cfg, "subset-ref", out, hv_reference="subset-max"),
    }
    print(
        f"nats:cifar10 x {', '.join(p.hardware for p in pairs)}; {args.trials} trials; option minus default"
    )
    for label, frame in options.items():
        diff = (frame - default).groupby(level=["subset_size", "noise_std"]).mean()
        print(f"\n## {label}: mean over pairs of (option - default)")
        print(diff.round(4).to_string())
        print(
            "range over sizes and levels:",
            {m: (round(diff[m].min(), 4), round(diff[m].max(), 4)) for m in METRICS},
        )
    whole = (
        default.index.get_level_values("subset_size") == default.index.get_level_values("subset_size").max()
    )
    for label, frame in (("front-max (default)", default), ("subset-max", options["subset-max reference"])):
        hv = frame.loc[whole, "hv_fraction"].groupby(level="noise_std").mean().drop(0.0, errors="ignore")
        print(
            f"HV fraction on the largest size, {label}: {hv.min():.3f}-{hv.max():.3f} over noise levels > 0"
        )


if __name__ == "__main__":
    main()
