"""What one measurement run is: its protocol (:class:`MeasureConfig`) and the architectures it measures.

Messages name the Python parameter a user can change between backticks (`limit`, `threads=1`);
``hwpred measure`` shows them as its command-line flags.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..spaces import Arch, SpaceError, get_space
from ..spaces.onnx_export import DEFAULT_OPSET
from .runtimes import GRAPH_OPT, check_runtime
from .timers import MeasureError, RepeatPolicy, parse_device

#: per space: (default input size, default number of classes, reference architecture)
SPACE_DEFAULTS: dict[str, tuple[int, int, Arch]] = {
    "nb201": (32, 10, (3, 1, 2, 4, 3, 1)),
    # 256x256: the input every TransNAS-Bench-101 network was trained and evaluated at (its tasks'
    # `input_dim`); the benchmark timed its own latency on 720x1080 frames (`--input-size 720x1080`)
    "transnas_macro": (256, 75, (4, 1, 4, 1, 4, 0)),  # 64-41414-basic
}


@dataclass(frozen=True)
class MeasureConfig:
    """Everything that defines one measurement protocol (archs selection is separate)."""

    space: str = "nb201"
    device: str = "cpu"
    batch_size: int = 1
    input_size: int | tuple[int, int] | None = None  # image side, or (height, width)
    num_classes: int | None = None
    threads: int | None = 1
    policy: RepeatPolicy = field(default_factory=RepeatPolicy)
    two_pass: bool = False
    reference: tuple[int, ...] | None = None
    reference_every: int = 100
    seed: int = 0
    tag: str | None = None
    cudnn_benchmark: bool = True
    checkpoint_every: int = 250
    energy: bool = True
    clock: str = "wall"  # CPU only: "wall" latency (default) or "cpu" thread CPU time as the primary figure
    paired_reference: bool = False  # CPU only: pair each timed forward with one of the reference model
    rounds: int = 1  # jobs per architecture and pass; the pass reports the median of their statistics
    runtime: str = "torch"  # "torch" (eager) or "onnxruntime" (the architecture's ONNX export)
    graph_opt: str = "all"  # onnxruntime: graph optimisation level (disabled, basic, extended, all)
    opset: int = DEFAULT_OPSET  # onnxruntime: ONNX opset of the export
    onnx_cache: str | None = None  # onnxruntime: folder of exported files (default $HWPRED_HOME/cache/onnx)

    def resolved(self) -> MeasureConfig:
        """Fill per-space defaults and validate; raises MeasureError/ConfigError for bad values."""
        try:
            sp = get_space(self.space)
        except SpaceError as exc:
            raise MeasureError(str(exc)) from None
        kind, _ = parse_device(self.device)
        if self.batch_size < 1:
            raise MeasureError(f"batch size must be >= 1, got {self.batch_size}")
        if self.rounds < 1:
            raise MeasureError(f"rounds must be >= 1 jobs per architecture and pass, got {self.rounds}")
        if self.reference_every < 1:
            raise MeasureError(f"reference interval must be >= 1 architectures, got {self.reference_every}")
        size, classes, ref = SPACE_DEFAULTS.get(sp.name, (32, 10, None))
        input_size = resolve_input_size(self.input_size or size)
        num_classes = self.num_classes or classes
        reference = tuple(self.reference) if self.reference is not None else (ref or sp.enumerate()[0])
        try:
            reference = sp.validate(reference)
        except SpaceError as exc:
            raise MeasureError(f"reference architecture: {exc}") from None
        threads = self.threads if kind == "cpu" else None
        if self.clock not in ("wall", "cpu"):
            raise MeasureError(f"unknown clock {self.clock!r}; use 'wall' or 'cpu'")
        if self.clock == "cpu" and (kind != "cpu" or threads != 1):
            raise MeasureError("the 'cpu' clock (thread CPU time) needs `device='cpu'` `threads=1`")
        if self.paired_reference and kind != "cpu":
            raise MeasureError(
                "`paired_reference=True` is a CPU option (for machines shared with other "
                "jobs); CUDA is timed with events"
            )
        runtime = check_runtime(self.runtime)
        if runtime != "torch":
            if self.graph_opt not in GRAPH_OPT:
                raise MeasureError(
                    f"unknown graph optimisation level {self.graph_opt!r}; use one of {', '.join(GRAPH_OPT)}"
                )
            if not 7 <= int(self.opset) <= 25:
                raise MeasureError(f"ONNX opset must be in 7-25, got {self.opset}")
        tag = self.tag or default_tag(kind, threads, self.batch_size, runtime)
        if "/" in tag or not tag.strip():
            raise MeasureError(f"device tag {tag!r} must be non-empty and contain no '/'")
        return replace(
            self,
            space=sp.name,
            device=self.device if kind == "cpu" else self.device.lower(),
            input_size=input_size,
            num_classes=num_classes,
            reference=reference,
            threads=threads,
            tag=tag,
            runtime=runtime,
        )

    def protocol(self) -> dict:
        """What must be identical for two runs' measurements to share one table."""
        c = self.resolved()
        return {
            "space": c.space,
            "device": c.device,
            "batch_size": c.batch_size,
            "input_size": list(c.input_size) if isinstance(c.input_size, tuple) else c.input_size,
            "num_classes": c.num_classes,
            "threads": c.threads,
            "policy": c.policy.to_dict(),
            "two_pass": c.two_pass,
            "reference": list(c.reference),
            "tag": c.tag,
            "cudnn_benchmark": c.cudnn_benchmark if c.device != "cpu" else None,
            "clock": c.clock,
            "paired_reference": c.paired_reference,
            "rounds": c.rounds,
            "runtime": c.runtime,
            "graph_opt": c.graph_opt if c.runtime != "torch" else None,
            "opset": int(c.opset) if c.runtime != "torch" else None,
        }


def default_tag(kind: str, threads: int | None, batch_size: int, runtime: str = "torch") -> str:
    tag = f"cpu-t{threads}-b{batch_size}" if kind == "cpu" else f"cuda-b{batch_size}"
    return tag if runtime == "torch" else f"ort-{tag}"


def resolve_input_size(size) -> int | tuple[int, int]:
    """An image side, or (height, width) (``720x1080``, ``[720, 1080]``); a square one as its side."""
    if isinstance(size, str):
        parts = size.lower().replace(",", "x").split("x")
        try:
            size = [int(p) for p in parts] if len(parts) > 1 else int(parts[0])
        except ValueError:
            raise MeasureError(
                f"input size {size!r} must be a side (256) or HEIGHTxWIDTH (720x1080)"
            ) from None
    if isinstance(size, int | np.integer):
        h = w = int(size)
    else:
        try:
            h, w = (int(v) for v in size)
        except (TypeError, ValueError):
            raise MeasureError(f"input size {size!r} must be a side (256) or (height, width)") from None
    if h < 8 or w < 8:
        raise MeasureError(f"input size must be >= 8 pixels each way, got {h}x{w}")
    return h if h == w else (h, w)


def select_archs(
    space, archs: Iterable[Sequence[int]] | None = None, limit: int | None = None, seed: int = 0
) -> list[Arch]:
    """The pool (given archs or the whole space), reduced to a seeded random ``limit`` subset."""
    sp = get_space(space)
    if archs is None:
        pool = sp.enumerate()
    else:
        pool, seen = [], set()
        for a in archs:
            try:
                t = sp.from_string(a) if isinstance(a, str) else sp.validate(a)
            except SpaceError as exc:
                raise MeasureError(str(exc)) from None
            if t not in seen:
                seen.add(t)
                pool.append(t)
    if limit is not None:
        if limit < 1:
            raise MeasureError(f"`limit` must be >= 1, got {limit}")
        if limit > len(pool):
            raise MeasureError(
                f"`limit` {limit} is more than the {len(pool)} architectures to choose from; "
                "leave it out to measure them all"
            )
        if limit < len(pool):
            # a prefix of one seeded permutation: a larger limit extends a smaller one (resume)
            idx = np.random.default_rng([seed, 1]).permutation(len(pool))[:limit]
            pool = [pool[i] for i in sorted(idx)]
    return pool


__all__ = [
    "MeasureConfig",
    "SPACE_DEFAULTS",
    "default_tag",
    "resolve_input_size",
    "select_archs",
]
