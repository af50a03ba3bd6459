"""``hwpred measure``: latency tables of a search space, one user model, or a per-op lookup table.

hwpred measure nb201 --device cpu --limit 50 --out cpu.parquet --name mycpu
hwpred measure transnas_macro --device cuda --batch-size 32 --out gpu.parquet
hwpred measure model mypkg.models:build --input-shape 3,224,224 --out model.json
hwpred measure lut nb201 --mode neighbours --out lut.parquet
hwpred measure nb201 --runtime onnxruntime --limit 50 --out ort.parquet
hwpred measure export nb201 --format onnx --limit 100 --out exported/
hwpred measure import exported/ results.csv --device pixel8 --out pixel8.parquet
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from ..errors import ConfigError, HwpredError
from ..spaces import SpaceError, get_space
from .timers import MeasureError, RepeatPolicy


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "measure",
        help="measure device latency (and energy) tables on CPU or CUDA, in torch or ONNX Runtime",
        description="Measure latency (and energy where counters exist) of every architecture of a search space "
        "(or a subset), of one user model (TARGET 'model', SPEC module:function), or the per-op lookup "
        "table the 'lut' predictor is fitted from (TARGET 'lut', SPEC the space); or export models for an "
        "external device tool (TARGET 'export', SPEC the space) and import its timings (TARGET 'import', "
        "SPEC the export folder, then the tool's CSV); or merge tables measured as disjoint shards "
        "with one protocol (TARGET 'merge', then the tables).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "target",
        help="search space (nb201, transnas_macro), 'model', 'lut', 'export', 'import' or 'merge'",
    )
    p.add_argument(
        "spec",
        nargs="?",
        help="for 'model': module:function returning an nn.Module; for 'lut' and 'export': the space; "
        "for 'import': the export folder; for 'merge': the first measured table",
    )
    p.add_argument(
        "results",
        nargs="*",
        help="for 'import': the device tool's CSV of timings; for 'merge': the other measured tables",
    )
    g = p.add_argument_group("device and inputs")
    g.add_argument(
        "--device", default=None, help="cpu, cuda or cuda:N (default cpu); for 'import': the device's name"
    )
    g.add_argument(
        "--runtime",
        default="torch",
        choices=("torch", "onnxruntime"),
        help="run the model in torch (eager) or as its ONNX export in ONNX Runtime ('onnx' extra)",
    )
    g.add_argument(
        "--graph-opt",
        default="all",
        choices=("disabled", "basic", "extended", "all"),
        help="onnxruntime: graph optimisation level",
    )
    g.add_argument("--opset", type=int, default=17, help="onnxruntime and export: ONNX opset")
    g.add_argument(
        "--onnx-cache",
        default=None,
        help="onnxruntime: folder of exported models (default ~/.hwpred/cache/onnx)",
    )
    g.add_argument("--threads", type=int, default=1, help="CPU threads (torch.set_num_threads)")
    g.add_argument("--batch-size", type=int, default=1, help="inputs per timed forward")
    g.add_argument(
        "--input-size",
        default=None,
        help="image side or HEIGHTxWIDTH (default 32 for nb201, 256 for transnas_macro)",
    )
    g.add_argument("--classes", type=int, default=None, help="classifier outputs (default 10 / 75)")
    g.add_argument("--input-shape", default="3,224,224", help="for 'model': input shape without the batch")
    g.add_argument("--no-cudnn-benchmark", action="store_true", help="disable cuDNN autotuning")
    g.add_argument("--no-energy", action="store_true", help="do not read energy counters")
    g.add_argument(
        "--clock",
        default="wall",
        choices=("wall", "cpu"),
        help="CPU: primary figure is wall-clock latency, or thread CPU time (1 thread; robust on shared machines)",
    )
    r = p.add_argument_group("repeats")
    r.add_argument("--repeats", type=int, default=20, help="timed forwards (the minimum when --adaptive)")
    r.add_argument("--warmup", type=int, default=3, help="untimed forwards first")
    r.add_argument(
        "--adaptive",
        action="store_true",
        help="repeat until the median's CI relative half-width is below --target",
    )
    r.add_argument(
        "--target",
        dest="target_ci",
        type=float,
        default=0.02,
        help="adaptive: relative CI half-width to reach",
    )
    r.add_argument("--confidence", type=float, default=0.95, help="adaptive: confidence of the median's CI")
    r.add_argument("--max-repeats", type=int, default=200, help="adaptive: most timed forwards per model")
    r.add_argument("--max-time", type=float, default=None, help="adaptive: most seconds of repeats per model")
    s = p.add_argument_group("selection and protocol")
    s.add_argument(
        "--limit", type=int, default=None, help="measure a seeded random subset of N architectures"
    )
    s.add_argument("--archs", default=None, help="file of architectures to measure, one per line")
    s.add_argument("--seed", type=int, default=0, help="subset and order seed")
    s.add_argument("--two-pass", action="store_true", help="two interleaved passes: two independent columns")
    s.add_argument("--reference", default=None, help="reference architecture re-measured against drift")
    s.add_argument("--reference-every", type=int, default=100, help="re-measure the reference every N jobs")
    s.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="jobs per architecture and pass, each on a fresh build, in R sweeps over the architectures "
        "(each in its own shuffled order); the pass reports their median (outvotes a job that a "
        "noisy machine threw off); --resume with a larger R adds sweeps to a run",
    )
    s.add_argument(
        "--paired-reference",
        action="store_true",
        help="CPU: time the reference next to every forward and add rel_latency (robust to shared cores)",
    )
    s.add_argument("--mode", default="neighbours", help="for 'lut': neighbours or isolated")
    s.add_argument(
        "--baseline", default=None, help="for 'lut': own baseline (default: the lut predictor's plan)"
    )
    o = p.add_argument_group("output")
    o.add_argument(
        "--out", default=None, help="output .parquet (.json for 'model'); default <space>-<tag>.parquet"
    )
    o.add_argument("--tag", default=None, help="device tag in column names (default e.g. cpu-t1-b1)")
    o.add_argument("--name", default=None, help="register the table as local:NAME for study configs")
    o.add_argument(
        "--resume", action="store_true", help="continue an interrupted run: measure only what is missing"
    )
    o.add_argument("--overwrite", action="store_true", help="replace an existing output and its journal")
    o.add_argument("--checkpoint-every", type=int, default=250, help="write the partial table every N jobs")
    o.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI; also: hwpred -q)")
    x = p.add_argument_group("export and import")
    x.add_argument("--format", default="onnx", choices=("onnx",), help="for 'export': the model format")
    x.add_argument(
        "--allow-missing",
        action="store_true",
        help="for 'import': import even when some exported models have no row (listed in the metadata)",
    )
    p.set_defaults(func=run)


def _policy(args) -> RepeatPolicy:
    return RepeatPolicy(
        repeats=args.repeats,
        warmup=args.warmup,
        adaptive=args.adaptive,
        target_rel_ci=args.target_ci,
        confidence=args.confidence,
        max_repeats=args.max_repeats if args.adaptive else max(args.repeats, args.max_repeats),
        max_time_s=args.max_time,
    )


def _parse_arch(space, text: str | None):
    if text is None:
        return None
    t = text.strip()
    try:
        if all(ch.isdigit() or ch in ",() " for ch in t):
            return space.validate(tuple(int(v) for v in t.strip("()").replace(",", " ").split()))
        return space.from_string(t)
    except SpaceError as exc:
        raise MeasureError(str(exc)) from None


def _space_or_error(name: str):
    try:
        return get_space(name)
    except SpaceError as exc:
        raise MeasureError(
            f"{exc}; or use 'hwpred measure model module:function' / 'hwpred measure lut SPACE'"
        ) from None


def _config(args, space):
    from .config import MeasureConfig

    return MeasureConfig(
        space=space.name,
        device=args.device or "cpu",
        batch_size=args.batch_size,
        input_size=args.input_size,
        num_classes=args.classes,
        threads=args.threads,
        policy=_policy(args),
        two_pass=args.two_pass,
        reference=_parse_arch(space, args.reference),
        reference_every=args.reference_every,
        seed=args.seed,
        tag=args.tag,
        cudnn_benchmark=not args.no_cudnn_benchmark,
        checkpoint_every=args.checkpoint_every,
        energy=not args.no_energy,
        clock=args.clock,
        paired_reference=args.paired_reference,
        rounds=args.rounds,
        runtime=args.runtime,
        graph_opt=args.graph_opt,
        opset=args.opset,
        onnx_cache=args.onnx_cache,
    )


def _report(res, name: str | None) -> None:
    t = res.table
    m = t.meta.get("measure", {})
    ref = t.meta.get("reference", {})
    print(
        f"wrote {res.path}: {len(t)} architectures ({'complete' if res.complete else 'INCOMPLETE'}), "
        f"{res.measured_now} jobs measured now in {res.wall_s:.1f} s, {len(t.meta.get('failed', []))} failed"
    )
    if m.get("jobs_per_min"):
        print(
            f"  rate {m['jobs_per_min']:.1f} jobs/min over {m.get('sessions')} session(s), {m.get('wall_s'):.0f} s in all"
        )
    if ref.get("drift_rel") is not None:
        print(
            f"  reference {ref['arch']}: {ref['first_ms']:.3f} -> {ref['last_ms']:.3f} ms "
            f"(drift {ref['drift_rel']:+.1%}, range {ref['range_rel']:.1%} over {len(ref['series'])} checks)"
        )
    for f in t.meta.get("failed", [])[:5]:
        print(f"  failed {f['arch']}: {f['error']}")
    if len(t):
        col = t.column_names[0]
        v = t.column(col)
        print(
            f"  {col}: min {v.min():.3f}, median {float(__import__('numpy').median(v)):.3f}, max {v.max():.3f}"
        )
    if name:
        print(f"  registered as local:{name}")


#: parameters whose flag is not ``--`` + the name with dashes
_FLAGS = {"num_classes": "--classes", "target_rel_ci": "--target", "register_name": "--name"}
_PARAM = re.compile(r"`(\w+)(?:=([^`]*))?`")


def flag_wording(message: str) -> str:
    """A library message with its `param=value` mentions as this command's flags (`resume=True` ->
    --resume, `mode='isolated'` -> --mode isolated, `limit` -> --limit)."""

    def flag(m: re.Match) -> str:
        name, value = m.group(1), m.group(2)
        opt = _FLAGS.get(name, "--" + name.replace("_", "-"))
        if value is None or value == "True":
            return opt
        return f"{opt} {value.strip(chr(39) + chr(34))}"

    return _PARAM.sub(flag, message)


def run(args) -> int:
    try:
        return _run(args)
    except HwpredError as exc:
        raise type(exc)(flag_wording(str(exc))) from None


def _run(args) -> int:
    from ..spaces import read_archs_file
    from .harness import load_model_spec, measure_model, measure_space

    if args.resume and args.overwrite:
        raise ConfigError("--resume and --overwrite contradict each other; pass one")
    if args.max_time is not None and not args.adaptive:
        raise ConfigError(
            "--max-time bounds the repeats of --adaptive only; add --adaptive, or bound a fixed run with --repeats"
        )
    target = args.target.strip()
    if target in ("export", "import", "merge"):
        from .exchange_cli import run_export, run_import, run_merge

        return {"export": run_export, "import": run_import, "merge": run_merge}[target](args)
    if args.results:
        raise MeasureError(f"unexpected argument(s) {' '.join(args.results)!r}")
    if target == "model":
        if args.runtime != "torch":
            raise MeasureError(
                "hwpred measure model runs the model in torch; for ONNX Runtime measure a space with "
                "--runtime onnxruntime, or export your model with torch.onnx and time it there"
            )
        if not args.spec:
            raise MeasureError(
                "hwpred measure model needs the model as module:function, e.g. mypkg.nets:build"
            )
        try:
            shape = tuple(int(v) for v in args.input_shape.replace("x", ",").split(",") if v.strip())
        except ValueError:
            raise MeasureError(f"--input-shape {args.input_shape!r} must be sizes like 3,224,224") from None
        from .timers import make_timer

        make_timer(args.device or "cpu", _policy(args), threads=args.threads)  # device errors first
        model = load_model_spec(args.spec)
        res = measure_model(
            model,
            shape,
            device=args.device or "cpu",
            policy=_policy(args),
            threads=args.threads,
            batch_size=args.batch_size,
            passes=2 if args.two_pass else 1,
            cudnn_benchmark=not args.no_cudnn_benchmark,
            energy=not args.no_energy,
            seed=args.seed,
        )
        res["model"] = args.spec
        if "error" in res:
            print(f"model {args.spec} failed on {args.device or 'cpu'}: {res['error']}")
        for i, st in enumerate(res["passes"], start=1):
            print(
                f"{args.spec} on {args.device or 'cpu'} (batch {args.batch_size}, pass {i}): median {st['median_ms']:.3f} ms, "
                f"IQR {st['iqr_ms']:.3f}, mean {st['mean_ms']:.3f} +- {st['std_ms']:.3f}, n {st['n']}"
                + (f", energy {st['energy_mj']:.3f} mJ" if st.get("energy_mj") is not None else "")
            )
        if args.out:
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(res, indent=2))
            print(f"wrote {out}")
        return 1 if "error" in res else 0

    if target == "lut":
        from .op_tables import measure_lut

        space = _space_or_error(args.spec or "nb201")
        cfg = _config(args, space).resolved()
        out = args.out or f"{space.name}-lut-{args.mode}-{cfg.tag}.parquet"
        res = measure_lut(
            cfg,
            mode=args.mode,
            baseline=_parse_arch(space, args.baseline),
            out=out,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=not args.no_progress,
            register_name=args.name,
        )
        _report(res, args.name)
        return 0

    if args.spec:
        raise MeasureError(f"unexpected argument {args.spec!r} after the space {target!r}")
    space = _space_or_error(target)
    cfg = _config(args, space).resolved()
    archs = read_archs_file(args.archs, space) if args.archs else None
    out = args.out or f"{space.name}-{cfg.tag}.parquet"
    if not str(out).endswith(".parquet"):
        raise MeasureError(f"--out {out}: a measurement table is written as Parquet; use a .parquet path")
    try:
        res = measure_space(
            cfg,
            archs=archs,
            limit=args.limit,
            out=out,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=not args.no_progress,
            register_name=args.name,
        )
    except KeyboardInterrupt:
        import sys

        print(
            f"hwpred: interrupted; finished measurements are journalled next to {out}: run the same command "
            "with --resume to measure only what is missing",
            file=sys.stderr,
        )
        return 130
    _report(res, args.name)
    return 0
