"""Per-op lookup tables: the measurements the Lookup Table predictor is fitted from.

Two ways to get them:

* ``neighbours`` (default): measure exactly ``LookupTablePredictor.required_archs(space)`` — the
  baseline(s) and their one-edit neighbours — as whole networks into a MetricTable. The
  predictor reads each (position, op) delta off it, so interactions with the rest of the network
  are part of the measurement.
* ``isolated`` (NAS-Bench-201): time each op alone at each stage's shape (channels, resolution),
  like a classic per-layer LUT, and compose the same required architectures as
  ``y(baseline) + sum over cells of (t(op) - t(baseline op))`` with the baseline measured whole.
  Cheaper per entry and free of whole-network noise, but blind to fusion and memory effects.
  The per-op timings are written next to the table (``<out>.ops.parquet``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..data.table import MetricTable
from ..experiment.progress import progress_bar
from ..spaces import Arch, SpaceError, get_space
from .config import MeasureConfig
from .harness import MeasureResult, measure_space
from .resume import check_existing_output
from .tables import register_table
from .timers import MeasureError, make_timer, parse_device

MODES = ("neighbours", "isolated")


def lut_archs(space: str, baseline: Sequence[int] | None = None) -> list[Arch]:
    """Architectures a lookup table needs: the lut predictor's plan, or one baseline's neighbours."""
    sp = get_space(space)
    if baseline is not None:
        try:
            b = sp.validate(baseline)
        except SpaceError as exc:
            raise MeasureError(f"baseline: {exc}") from None
        return [b] + [a for a in sp.neighbours(b) if sp.is_valid(a)]
    from ..predictors.lut import LookupTablePredictor

    return list(LookupTablePredictor.required_archs(sp.name))


def measure_lut(
    config: MeasureConfig,
    mode: str = "neighbours",
    baseline: Sequence[int] | None = None,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    register_name: str | None = None,
) -> MeasureResult:
    """Measure the lookup-table architectures of ``config.space`` into a MetricTable."""
    if mode not in MODES:
        raise MeasureError(f"unknown lookup-table mode {mode!r}; use one of {', '.join(MODES)}")
    cfg = config.resolved()
    archs = lut_archs(cfg.space, baseline)
    lut_meta = {
        "lut": {
            "mode": mode,
            "baseline": get_space(cfg.space).to_string(archs[0]),
            "archs": len(archs),
            "plan": "custom baseline + one-edit neighbours"
            if baseline is not None
            else "LookupTablePredictor.required_archs",
        }
    }
    if mode == "neighbours":
        return measure_space(
            cfg,
            archs=archs,
            out=out,
            resume=resume,
            overwrite=overwrite,
            progress=progress,
            register_name=register_name,
            extra_meta=lut_meta,
        )
    return _measure_isolated(cfg, archs, out, resume, overwrite, progress, register_name, lut_meta)


def _nb201_stage_shapes(cfg: MeasureConfig) -> list[tuple[int, int]]:
    """(channels, resolution) of the three NAS-Bench-201 stages for this input size."""
    h = cfg.input_size
    out = []
    for c in (16, 32, 64):
        out.append((c, h))
        h = (h + 1) // 2  # stride-2 reduction with padding 1
    return out


def isolated_op_table(cfg: MeasureConfig, progress: bool = True):
    """Time each NAS-Bench-201 op alone at each stage shape: DataFrame (stage, channels, res, op, stats)."""
    import pandas as pd
    import torch

    from ..spaces.nb201 import OPS
    from ..spaces.nb201_model import make_op

    kind, _ = parse_device(cfg.device)
    timer = make_timer(
        cfg.device, cfg.policy, threads=cfg.threads, cudnn_benchmark=cfg.cudnn_benchmark, clock=cfg.clock
    )
    timer.prepare()
    rows = []
    shapes = _nb201_stage_shapes(cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    with progress_bar("isolated ops", len(shapes) * len(OPS), unit_name="ops", enabled=progress) as bar:
        for stage, (c, h) in enumerate(shapes):
            x_cpu = torch.randn(cfg.batch_size, c, h, h, generator=gen)
            for op in np.random.default_rng([cfg.seed, 3, stage]).permutation(len(OPS)):
                model, x = timer.to_device(make_op(int(op), c), x_cpu)
                st = timer.measure(model, x)
                rows.append(
                    {
                        "stage": stage,
                        "channels": c,
                        "resolution": h,
                        "op": int(op),
                        "op_name": OPS[op],
                        "latency_ms": st.median_ms,
                        "latency_iqr_ms": st.iqr_ms,
                        "n_repeats": st.n,
                    }
                )
                bar.advance()
    return pd.DataFrame(rows).sort_values(["stage", "op"]).reset_index(drop=True)


def _measure_isolated(
    cfg: MeasureConfig, archs: list[Arch], out, resume, overwrite, progress, register_name, lut_meta
) -> MeasureResult:
    sp = get_space(cfg.space)
    if sp.name != "nb201":
        raise MeasureError(
            f"isolated per-op tables exist for nb201 only (a {sp.name} layer's shape depends on the "
            "layers before it); use `mode='neighbours'`"
        )
    if cfg.runtime != "torch" or not isinstance(cfg.input_size, int):
        raise MeasureError(
            "isolated per-op tables time torch ops on square inputs; use `mode='neighbours'` "
            "(whole architectures, any runtime and input shape)"
        )
    if cfg.two_pass or cfg.rounds > 1:
        raise MeasureError(
            f"{'`two_pass`' if cfg.two_pass else '`rounds`'} is not available for isolated "
            "per-op tables; use `mode='neighbours'`"
        )
    base = archs[0]
    ops_path = None
    if out is not None:
        out = Path(out)
        ops_path = out.with_name(out.stem + ".ops.parquet")
        if out.exists() and not overwrite:
            check_existing_output(out, cfg.protocol())
            if not resume:
                raise MeasureError(
                    f"output {out} already exists; pass `overwrite=True` (or `resume=True`, "
                    "which re-measures an isolated table: it takes seconds) or choose another "
                    "`out`"
                )
    # the baseline network, measured whole
    base_res = measure_space(cfg, archs=[base], out=None, progress=False, extra_meta=lut_meta)
    if len(base_res.table) != 1:
        raise MeasureError(
            f"the baseline {sp.to_string(base)} failed to run: {base_res.table.meta.get('failed')}"
        )
    ops = isolated_op_table(cfg, progress=progress)
    t = {(int(r.stage), int(r.op)): float(r.latency_ms) for r in ops.itertuples()}
    cells = 5  # cells per stage
    stages = sorted({s for s, _ in t})
    tag = cfg.tag
    y0 = float(base_res.table.column(f"{tag}/latency_ms")[0])
    values = []
    for a in archs:
        delta = sum(cells * (t[(s, a[p])] - t[(s, base[p])]) for p in range(sp.num_positions) for s in stages)
        values.append(y0 + delta)
    values = np.asarray(values)
    if np.any(values <= 0):
        # additive composition can undershoot for very cheap cells; clip to keep a latency positive
        values = np.maximum(values, 1e-6)
    meta = dict(base_res.table.meta)
    meta["lut"] = {
        **lut_meta["lut"],
        "composition": "y(baseline, measured whole) + 5 cells x sum over stages of "
        "(t_isolated(op) - t_isolated(baseline op)) per position",
        "ops_file": str(ops_path) if ops_path else None,
        "ops": ops.to_dict(orient="records"),
    }
    units = {f"{tag}/latency_ms": "ms"}
    table = MetricTable(
        sp.name, np.asarray(archs, dtype=np.int64), {f"{tag}/latency_ms": values}, meta, units
    )
    if out is not None:
        ops.to_parquet(ops_path)
        table.to_parquet(out)
        if register_name:
            register_table(register_name, out, f"{tag}/latency_ms")
    return MeasureResult(
        table,
        Path(out) if out is not None else None,
        base_res.measured_now,
        base_res.failed_now,
        base_res.wall_s,
        True,
    )


__all__ = ["MODES", "isolated_op_table", "lut_archs", "measure_lut"]
