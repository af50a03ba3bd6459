"""The measurement harness: many architectures, one device, one table; or one user's model.

Protocol against drift and order effects: architectures are measured in a shuffled order, a
fixed reference model is re-measured at intervals (its drift goes into the table's metadata), and
an optional second pass (interleaved with the first, in its own shuffled order, with a freshly
built model) gives every architecture two independent measurements. With ``rounds`` R > 1, each
pass of an architecture is R jobs, each on a fresh build, in R sweeps over all architectures with
their own shuffled orders; the pass reports the median of its jobs, so one job that a noisy machine
threw off is outvoted.

Every finished job is appended to a journal (JSON lines) next to the output, so a run that is
interrupted and restarted with ``resume=True`` measures only what is missing; the table itself is
written atomically at checkpoints and at the end. The pieces: :mod:`.config` (the protocol and the
architectures), :mod:`.schedule` (the order), :mod:`.journal` and :mod:`.resume` (the log and when
a run may continue it), :mod:`.tables` (records -> MetricTable).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..data.table import MetricTable
from ..experiment.progress import progress_bar
from ..spaces import get_space
from ..spaces.onnx_export import input_hw
from ._jobs import JobRunner, error_text, start_session
from ._signals import sigterm_as_interrupt
from .config import MeasureConfig, select_archs
from .device import describe_device
from .energy import open_energy_counter
from .journal import failures, is_complete, result_keys
from .resume import open_run_journal
from .runtimes import runtime_for
from .schedule import pending_jobs, reference_due
from .tables import build_table, register_table
from .timers import MeasureError, RepeatPolicy, make_timer, parse_device


@dataclass
class MeasureResult:
    """What a run gives: its table (also written to ``path``), the jobs measured and failed in this
    session, its wall time, and whether every requested architecture is measured or failed."""

    table: MetricTable
    path: Path | None
    measured_now: int
    failed_now: int
    wall_s: float
    complete: bool


def measure_space(
    config: MeasureConfig,
    archs: Iterable[Sequence[int]] | None = None,
    limit: int | None = None,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    build_fn: Callable | None = None,
    register_name: str | None = None,
    extra_meta: dict | None = None,
) -> MeasureResult:
    """Measure architectures of ``config.space`` into a MetricTable (written to ``out`` if given).

    Parameters
    ----------
    config : MeasureConfig
        The protocol: space, device, repeats, passes, rounds, reference, tag.
    archs : iterable of op tuples or arch strings, optional
        The pool to measure; default the whole space.
    limit : int, optional
        Measure a seeded random subset of this many architectures of the pool; a larger ``limit``
        extends a smaller one, so a run can be resumed with more.
    out : path, optional
        The Parquet table to write; its journal lies beside it (:func:`~hwpred.measure.journal_path`).
        Without it nothing is written and the run cannot be resumed.
    resume : bool
        Continue the run of ``out``: measure only the jobs its journal (or table) lacks. The protocol
        must be the same, except for a larger ``config.rounds``.
    overwrite : bool
        Delete an existing ``out`` and its journal first.
    progress : bool
        Show a progress bar (a line every 30 s when stderr is not a terminal).
    build_fn : callable, optional
        ``build_fn(arch) -> nn.Module`` overrides how models are built (tests, lookup tables);
        it replaces the runtime's build too.
    register_name : str, optional
        Register the written table as ``local:<register_name>`` (column: the median latency).
    extra_meta : dict, optional
        Merged into the table's metadata.

    Returns
    -------
    MeasureResult
        The table (one row per architecture whose passes all succeeded, failures in
        ``table.meta["failed"]``), the jobs measured and failed now, the wall time, completeness.

    Examples
    --------
    >>> from hwpred.measure import MeasureConfig, RepeatPolicy, measure_space
    >>> cfg = MeasureConfig(space="nb201", policy=RepeatPolicy(repeats=3, warmup=1), energy=False)
    >>> res = measure_space(cfg, limit=3, progress=False)
    >>> len(res.table), res.complete, res.table.column_names[0]
    (3, True, 'cpu-t1-b1/latency_ms')
    """
    cfg = config.resolved()
    sp = get_space(cfg.space)
    pool = select_archs(sp, archs, limit, cfg.seed)
    kind, index = parse_device(cfg.device)
    rt_build, rt_meta, rt_timer = runtime_for(cfg, cfg.onnx_cache)
    timer = rt_timer or make_timer(
        cfg.device, cfg.policy, threads=cfg.threads, cudnn_benchmark=cfg.cudnn_benchmark, clock=cfg.clock
    )
    timer.prepare()
    device = describe_device(
        kind,
        threads=cfg.threads,
        batch_size=cfg.batch_size,
        input_size=list(input_hw(cfg.input_size)) if isinstance(cfg.input_size, tuple) else cfg.input_size,
        index=index,
        gpu=rt_timer is None,
    )
    if cfg.runtime != "torch":  # torch tables keep the fingerprint of older journals
        device.update(runtime=cfg.runtime, onnxruntime=rt_meta.get("onnxruntime"))
    extra_meta = {"runtime": rt_meta, **(extra_meta or {})}
    out_path = Path(out) if out is not None else None
    journal = open_run_journal(out_path, cfg, device, resume=resume, overwrite=overwrite)
    records = journal.records
    done, failed = result_keys(records, cfg.rounds), set(failures(records))
    jobs = pending_jobs(pool, cfg.two_pass, cfg.seed, cfg.rounds, done, failed)
    session, t_start = start_session(journal, len(jobs))
    build = (
        build_fn
        or rt_build
        or (lambda a: sp.build_model(a, num_classes=cfg.num_classes, input_size=input_hw(cfg.input_size)[0]))
    )
    energy = open_energy_counter(kind, index) if cfg.energy else None
    run = JobRunner(cfg, timer, journal, session, build, energy)

    def table(complete: bool) -> MetricTable:
        return build_table(
            records, cfg, device, complete=complete, requested=len(pool), extra_meta=extra_meta
        )

    measured_now = failed_now = since_ckpt = 0
    if jobs:
        run.reference(len(done))
        if cfg.paired_reference and run.ref_model is None:
            journal.close()
            raise MeasureError(
                f"the reference architecture {sp.to_string(cfg.reference)} failed to run, so "
                "it cannot be paired with the others; choose another `reference`"
            )
    restore_term = sigterm_as_interrupt()
    try:
        with progress_bar(
            f"measure {sp.name} on {cfg.tag}", len(jobs), unit_name="jobs", enabled=progress
        ) as bar:
            for k, (arch, p, rnd) in enumerate(jobs):
                if arch in failed:  # its other pass failed earlier in this session
                    bar.advance()
                    continue
                if run.job(arch, p, rnd):
                    measured_now += 1
                else:
                    failed.add(arch)
                    failed_now += 1
                bar.advance(failed=arch in failed)
                if reference_due(k, cfg.reference_every):
                    run.reference(len(done) + k + 1)
                since_ckpt += 1
                if out_path is not None and since_ckpt >= cfg.checkpoint_every and k + 1 < len(jobs):
                    since_ckpt = 0
                    table(complete=False).to_parquet(out_path)
        if jobs:
            run.reference(len(done) + len(jobs))
    except KeyboardInterrupt:
        # keep what was measured readable as a table too, not only in the journal
        if out_path is not None and any(r.get("kind") == "result" for r in records):
            table(complete=False).to_parquet(out_path)
        raise
    finally:
        journal.close()
        restore_term()
    complete = is_complete(pool, records, cfg.two_pass, cfg.rounds)
    result = table(complete)
    if out_path is not None:
        result.to_parquet(out_path)
        if register_name:
            register_table(register_name, out_path, f"{cfg.tag}/latency_ms")
    return MeasureResult(result, out_path, measured_now, failed_now, time.time() - t_start, complete)


# -- users' own models --------------------------------------------------------------------------
def load_model_spec(spec: str):
    """``package.module:function`` or ``path/to/file.py:function`` -> the nn.Module it returns."""
    import torch

    if ":" not in spec:
        raise MeasureError(
            f"model {spec!r} must be given as module:function (e.g. torchvision.models:resnet18)"
        )
    mod_name, _, fn_name = spec.rpartition(":")
    try:
        if mod_name.endswith(".py"):
            path = Path(mod_name)
            if not path.is_file():
                raise MeasureError(f"model file {path} does not exist")
            sp = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(sp)
            sp.loader.exec_module(module)
        else:
            module = importlib.import_module(mod_name)
    except MeasureError:
        raise
    except Exception as exc:
        raise MeasureError(
            f"cannot import {mod_name!r} for model {spec!r}: {error_text(exc)}; check the "
            "module path and that it is importable (PYTHONPATH)"
        ) from None
    fn = getattr(module, fn_name, None)
    if fn is None or not callable(fn):
        raise MeasureError(f"module {mod_name!r} has no callable {fn_name!r} (model {spec!r})")
    try:
        model = fn()
    except Exception as exc:
        raise MeasureError(
            f"calling {spec}() failed: {error_text(exc)}; it must build the model with no arguments"
        ) from None
    if not isinstance(model, torch.nn.Module):
        raise MeasureError(f"{spec}() returned {type(model).__name__}, not a torch.nn.Module")
    return model


def measure_model(
    model,
    input_shape: Sequence[int],
    device: str = "cpu",
    policy: RepeatPolicy | None = None,
    threads: int | None = 1,
    batch_size: int = 1,
    passes: int = 1,
    cudnn_benchmark: bool = True,
    energy: bool = True,
    seed: int = 0,
) -> dict:
    """Latency of one model (a JSON-ready dict); each pass re-runs the warm-up and repeats.

    Parameters
    ----------
    model : torch.nn.Module
        The model, e.g. from :func:`load_model_spec`.
    input_shape : sequence of int
        One input's shape without the batch, e.g. ``(3, 224, 224)``.
    device : str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    policy : RepeatPolicy
        Warm-up and timed forwards (fixed or adaptive); the default policy when omitted.
    threads : int, optional
        CPU threads (ignored on CUDA).
    batch_size : int
        Inputs per forward.
    passes : int
        Independent passes, each with its own warm-up.
    cudnn_benchmark : bool
        Let cuDNN autotune (CUDA only).
    energy : bool
        Read energy counters where the machine has them.
    seed : int
        Seed of the random input.

    Returns
    -------
    dict
        ``device`` (its description), ``timer``, ``passes`` (one statistics dict per pass: median,
        IQR, mean, std, min in ms, repeats, energy) and ``error`` when the model failed to run.

    Examples
    --------
    >>> import torch
    >>> from hwpred.measure import RepeatPolicy, measure_model
    >>> res = measure_model(torch.nn.Conv2d(3, 8, 3), (3, 32, 32), policy=RepeatPolicy(repeats=5, warmup=1),
    ...                     energy=False)
    >>> len(res["passes"]), res["passes"][0]["n"], "error" in res
    (1, 5, False)
    """
    import torch

    policy = policy or RepeatPolicy()
    kind, index = parse_device(device)
    if len(input_shape) < 1 or any(int(s) < 1 for s in input_shape):
        raise MeasureError(
            f"input shape {tuple(input_shape)} must be positive sizes without the batch, e.g. 3,224,224"
        )
    timer = make_timer(
        device, policy, threads=threads if kind == "cpu" else None, cudnn_benchmark=cudnn_benchmark
    )
    timer.prepare()
    x_cpu = torch.randn(batch_size, *map(int, input_shape), generator=torch.Generator().manual_seed(seed))
    counter = open_energy_counter(kind, index) if energy else None
    out: dict = {
        "device": describe_device(
            kind,
            threads=threads if kind == "cpu" else None,
            batch_size=batch_size,
            input_size=list(map(int, input_shape)),
            index=index,
        ),
        "timer": timer.describe(),
        "passes": [],
    }
    try:
        model, x = timer.to_device(model, x_cpu)
        for _ in range(passes):
            out["passes"].append(timer.measure(model, x, counter).to_dict())
    except MeasureError:
        raise
    except Exception as exc:
        out["error"] = error_text(exc)
    return out


__all__ = ["MeasureResult", "load_model_spec", "measure_model", "measure_space"]
