"""Torch eager against ONNX Runtime on this CPU, and a measured table against FLOPs and parameters.

Runtime comparison: ``--n`` random NAS-Bench-201 cells measured in both runtimes with the same
protocol (two passes; ``--paired`` adds the paired reference). The runtimes take turns in blocks
of ``--chunk`` cells (each block a resumed run of a larger nested subset), so a change in the
machine's speed hits both alike. Printed side by side: each runtime's test-retest Kendall tau,
the tau between the runtimes, and the speed ratio (torch / ONNX Runtime latency per cell).
Everything resumes from the journals in ``--out-dir``.

    python benchmarks/measure_runtimes.py --n 500 --repeats 20 --warmup 3 --paired --out-dir results/measure/runtimes500

Measured table: ``--table TABLE`` prints the Kendall tau of a two-pass table of NAS-Bench-201
cells or TransNAS-Bench-101 macro backbones (``hwpred measure SPACE --two-pass``) against the
architectures' FLOPs and parameter counts at the table's input size, beside its own test-retest
tau; ``--against NAME ...`` adds the tau of the mean of both passes, and of the FLOPs, with each
named table of the same space.

    python benchmarks/measure_runtimes.py --table results/measure/transnas-macro-cpu.parquet
    python benchmarks/measure_runtimes.py --table nb201-cpu.parquet --against help:gold_6226 help:raspi4
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from hwpred.data import MetricTable
from hwpred.measure import MeasureConfig, RepeatPolicy, measure_space, pass2_column, rank_agreement
from hwpred.metrics import kendall_tau

RUNTIMES = ("torch", "onnxruntime")


def figure_columns(table: MetricTable, tag: str, paired: bool) -> list[str]:
    names = ["latency_ms", "cpu_time_ms"] + (["rel_latency_q10"] if paired else [])
    return [f"{tag}/{n}" for n in names if f"{tag}/{n}" in table.columns]


def run_runtimes(args) -> None:
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    policy = RepeatPolicy(repeats=args.repeats, warmup=args.warmup)
    tables: dict[str, MetricTable] = {}
    wall = dict.fromkeys(RUNTIMES, 0.0)
    for k in range(args.chunk, args.n + args.chunk, args.chunk):
        limit = min(k, args.n)
        for rt in RUNTIMES:
            cfg = MeasureConfig(
                space="nb201", policy=policy, two_pass=True, paired_reference=args.paired, runtime=rt,
                energy=False, seed=args.seed,
            )  # fmt: skip
            out = out_dir / f"{rt}.parquet"
            t0 = time.perf_counter()
            res = measure_space(cfg, limit=limit, out=out, resume=out.exists(), progress=not args.quiet)
            wall[rt] += time.perf_counter() - t0
            tables[rt] = res.table
    t_torch, t_ort = tables["torch"], tables["onnxruntime"]
    archs = [tuple(a) for a in t_torch.archs]
    print(f"{platform.processor() or platform.machine()}, {len(archs)} NAS-Bench-201 cells, batch 1, 1 thread, "
          f"{args.repeats} repeats, two passes{', paired' if args.paired else ''}")  # fmt: skip
    print(f"measuring time this run: torch {wall['torch']:.0f} s, onnxruntime {wall['onnxruntime']:.0f} s")
    print(f"{'figure':<18} {'torch retest':>12} {'ort retest':>11} {'torch vs ort':>13}")
    for name in ("latency_ms", "cpu_time_ms", "rel_latency_q10"):
        ct, co = f"cpu-t1-b1/{name}", f"ort-cpu-t1-b1/{name}"
        if ct not in t_torch.columns or co not in t_ort.columns:
            continue
        a1, a2 = t_torch.lookup(ct, archs), t_torch.lookup(pass2_column(ct), archs)
        b1, b2 = t_ort.lookup(co, archs), t_ort.lookup(pass2_column(co), archs)
        cross = kendall_tau((a1 + a2) / 2, (b1 + b2) / 2)
        print(f"{name:<18} {kendall_tau(a1, a2):>12.3f} {kendall_tau(b1, b2):>11.3f} {cross:>13.3f}")
    lt = t_torch.lookup("cpu-t1-b1/latency_ms", archs)
    lo = t_ort.lookup("ort-cpu-t1-b1/latency_ms", archs)
    ratio = lt / lo
    print(f"speed ratio torch / onnxruntime per cell: median {np.median(ratio):.2f} "
          f"(IQR {np.percentile(ratio, 25):.2f}-{np.percentile(ratio, 75):.2f}); "
          f"median latency torch {np.median(lt):.3f} ms, onnxruntime {np.median(lo):.3f} ms")  # fmt: skip
    for rt, t in tables.items():
        ref = t.meta.get("reference", {})
        if ref.get("drift_rel") is not None:
            print(f"  {rt} reference drift {ref['drift_rel']:+.1%}, range {ref['range_rel']:.1%}")


def _aligned(table: MetricTable, archs: list[tuple], column: str | None = None) -> np.ndarray:
    """``table``'s column (its default when None) in the order of ``archs``."""
    where = {tuple(int(v) for v in a): i for i, a in enumerate(table.archs)}
    values = table.column(column or table.column_names[0])
    return np.array([values[where[a]] for a in archs], dtype=float)


def run_table(args) -> None:
    from hwpred.data.names import load_table
    from hwpred.zeroshot import score_archs

    table = MetricTable.read_parquet(args.table)
    if table.space not in ("nb201", "transnas_macro"):
        raise SystemExit(f"{args.table} is a {table.space} table, not nb201 or transnas_macro")
    size = table.meta.get("device", {}).get("input_size") or (256 if table.space == "transnas_macro" else 32)
    side = size if isinstance(size, int) else int(size[0])
    archs = [tuple(int(v) for v in a) for a in table.archs]
    scores = score_archs(table.space, archs, scores=["flops", "params"], image_size=side, batch_size=1,
                         cache_dir=False, progress=not args.quiet)  # fmt: skip
    flops = dict(zip(map(tuple, scores.archs), scores.values["flops/digits"]))
    params = dict(zip(map(tuple, scores.archs), scores.values["params/digits"]))
    f = np.array([flops[a] for a in archs])
    p = np.array([params[a] for a in archs])
    print(
        f"{args.table}: {len(archs)} {table.space} architectures, input {size}, FLOPs counted at {side}x{side}"
    )
    print(f"{'column':<32} {'retest tau':>10} {'tau FLOPs':>10} {'tau params':>11}")
    tag = next(c.split("/")[0] for c in table.column_names)
    for col in figure_columns(table, tag, paired=True):
        v = table.column(col)
        two = pass2_column(col)
        retest = rank_agreement(v, table.column(two))["tau"] if two in table.columns else float("nan")
        print(f"{col:<32} {retest:>10.3f} {kendall_tau(v, f):>10.3f} {kendall_tau(v, p):>11.3f}")
    print(f"FLOPs vs params tau {kendall_tau(f, p):.3f}")
    col = f"{tag}/cpu_time_ms" if f"{tag}/cpu_time_ms" in table.columns else f"{tag}/latency_ms"
    two = pass2_column(col)
    if two not in table.columns:
        return
    mean = (table.column(col) + table.column(two)) / 2
    print(
        f"mean of both passes' {col}: tau FLOPs {kendall_tau(mean, f):.3f}, tau params {kendall_tau(mean, p):.3f}"
    )
    for name in args.against:
        other = _aligned(load_table(name), archs)
        print(
            f"{name:<24} tau with the mean {kendall_tau(mean, other):.3f}, tau with FLOPs {kendall_tau(f, other):.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--chunk", type=int, default=50, help="cells per turn of each runtime")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--paired", action="store_true", help="pair every forward with the reference's")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", default="results/measure/runtimes")
    ap.add_argument(
        "--table", default=None, help="a two-pass nb201 or transnas_macro table: tau against FLOPs/params"
    )
    ap.add_argument(
        "--against", nargs="*", default=[], help="tables of the same space to compare --table with"
    )
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    if args.table:
        run_table(args)
    else:
        run_runtimes(args)


if __name__ == "__main__":
    main()
