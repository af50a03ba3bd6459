"""Timers for one model on one device: warm-up, fixed or adaptive repeats, robust statistics.

Latency is reported as the median of per-forward times (robust to the occasional preemption of
a shared machine); the adaptive mode stops once the median is known precisely enough, judged by
the distribution-free order-statistic (binomial) confidence interval of the median.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Protocol

import numpy as np

from ..errors import ConfigError, HwpredError


class MeasureError(HwpredError):
    """A measurement request the user can fix (unknown device, CUDA absent, bad model spec...)."""


@dataclass(frozen=True)
class RepeatPolicy:
    """How many timed forwards to run per model.

    Fixed mode runs ``repeats`` timed forwards. Adaptive mode runs at least ``repeats`` and then
    adds ``step`` at a time until the relative half-width of the median's ``confidence`` interval
    is below ``target_rel_ci``, ``max_repeats`` is reached or ``max_time_s`` has passed.
    """

    repeats: int = 20
    warmup: int = 3
    adaptive: bool = False
    target_rel_ci: float = 0.02
    confidence: float = 0.95
    max_repeats: int = 200
    max_time_s: float | None = None
    step: int = 5

    def __post_init__(self):
        if self.repeats < 1:
            raise ConfigError(f"repeats must be >= 1, got {self.repeats}")
        if self.warmup < 0:
            raise ConfigError(f"warm-up runs must be >= 0, got {self.warmup}")
        if self.adaptive:
            if not 0 < self.target_rel_ci < 1:
                raise ConfigError(
                    f"adaptive target (relative CI half-width) must be in (0, 1), got {self.target_rel_ci}"
                )
            if not 0.5 < self.confidence < 1:
                raise ConfigError(f"confidence must be in (0.5, 1), got {self.confidence}")
            if self.max_repeats < self.repeats:
                raise ConfigError(f"max repeats ({self.max_repeats}) must be >= repeats ({self.repeats})")
            if self.step < 1:
                raise ConfigError(f"adaptive step must be >= 1, got {self.step}")

    def to_dict(self) -> dict:
        return asdict(self)


def median_ci(samples, confidence: float = 0.95) -> tuple[float, float] | None:
    """Distribution-free confidence interval of the median from order statistics.

    The number of samples below the true median is Binomial(n, 1/2), so the interval
    [x_(j), x_(n+1-j)] (1-based order statistics) covers it with probability
    1 - 2 P(B <= j-1). We take the largest j reaching ``confidence``; None when n is too small
    for any interval to reach it (n < 6 at 95 %).
    """
    x = np.sort(np.asarray(samples, dtype=np.float64))
    n = len(x)
    if n == 0:
        return None
    alpha = 1.0 - confidence
    # exact binomial tail with integers (no scipy import on the timing path): largest j with
    # P(B <= j-1) <= alpha/2
    total, cum, j, c = 1 << n, 0, 0, 1  # c = C(n, k)
    for k in range((n + 1) // 2):
        cum += c
        if cum / total > alpha / 2:
            break
        j = k + 1
        c = c * (n - k) // (k + 1)
    if j == 0:
        return None
    return float(x[j - 1]), float(x[n - j])


def relative_ci_halfwidth(samples, confidence: float = 0.95) -> float:
    """Half-width of the median's CI over the median; inf while too few samples."""
    ci = median_ci(samples, confidence)
    if ci is None:
        return float("inf")
    med = float(np.median(samples))
    if med <= 0:
        return float("inf")
    return (ci[1] - ci[0]) / 2.0 / med


@dataclass(frozen=True)
class TimingStats:
    """Summary of the timed forwards of one model (milliseconds)."""

    median_ms: float
    iqr_ms: float
    mean_ms: float
    std_ms: float
    min_ms: float
    n: int
    rel_ci: float  # relative half-width of the median's 95 % CI (inf when n < 6)
    energy_mj: float | None = None  # energy per forward, when a counter is available
    cpu_median_ms: float | None = None  # median thread CPU time per forward (CPU, 1 thread)
    ratio_median: float | None = None  # paired mode: median of (this forward / adjacent reference forward)
    ref_median_ms: float | None = None  # paired mode: median of the paired reference forwards
    # paired mode: 10th percentile of this model's forwards over that of the reference forwards.
    # The undisturbed forwards change least from job to job: with hundreds of pairs this ratio
    # repeats better than the median of ratios (docs/benchmarks.md, "which statistic").
    ratio_q10: float | None = None

    @classmethod
    def from_samples(
        cls, samples_ms, energy_mj: float | None = None, confidence: float = 0.95, cpu_samples_ms=None
    ) -> TimingStats:
        x = np.asarray(samples_ms, dtype=np.float64)
        if len(x) == 0:
            raise ValueError("no samples")
        q25, q75 = np.percentile(x, [25, 75])
        cpu = float(np.median(cpu_samples_ms)) if cpu_samples_ms is not None and len(cpu_samples_ms) else None
        return cls(
            median_ms=float(np.median(x)),
            iqr_ms=float(q75 - q25),
            mean_ms=float(x.mean()),
            std_ms=float(x.std(ddof=1)) if len(x) > 1 else 0.0,
            min_ms=float(x.min()),
            n=int(len(x)),
            rel_ci=relative_ci_halfwidth(x, confidence),
            energy_mj=energy_mj,
            cpu_median_ms=cpu,
        )

    @property
    def cv(self) -> float:
        return self.std_ms / self.mean_ms if self.mean_ms > 0 else float("nan")

    def to_dict(self) -> dict:
        d = asdict(self)
        if not np.isfinite(d["rel_ci"]):
            d["rel_ci"] = None  # JSON has no inf
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TimingStats:
        d = dict(d)
        if d.get("rel_ci") is None:
            d["rel_ci"] = float("inf")
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def collect(time_chunk: Callable[[int], list[float]], policy: RepeatPolicy) -> np.ndarray:
    """Run the repeat policy on ``time_chunk(k) -> k durations in ms``; return all samples."""
    t0 = time.perf_counter()
    samples = list(time_chunk(policy.repeats))
    if policy.adaptive:
        while len(samples) < policy.max_repeats:
            if relative_ci_halfwidth(samples, policy.confidence) <= policy.target_rel_ci:
                break
            if policy.max_time_s is not None and time.perf_counter() - t0 >= policy.max_time_s:
                break
            samples.extend(time_chunk(min(policy.step, policy.max_repeats - len(samples))))
    return np.asarray(samples, dtype=np.float64)


#: quantile of the paired forwards whose ratio gives ``TimingStats.ratio_q10``
RATIO_QUANTILE = 0.1


class EnergyCounter(Protocol):
    def read_mj(self) -> float: ...


class Timer(Protocol):
    device: str
    policy: RepeatPolicy

    def prepare(self) -> None: ...
    def to_device(self, model, x): ...
    def measure(self, model, x, energy: EnergyCounter | None = None, reference=None) -> TimingStats: ...
    def describe(self) -> dict: ...


class CPUTimer:
    """``perf_counter_ns`` around each forward, eval mode, ``inference_mode``, fixed thread count.

    With one thread the intra-op work runs on the calling thread, so its CPU time
    (``thread_time_ns``) is recorded alongside: on a machine shared with other jobs it excludes
    the time the process was descheduled, which wall-clock latency cannot. ``clock="cpu"`` makes
    that the primary statistic (1 thread only); the default stays wall-clock latency.
    """

    device = "cpu"

    def __init__(self, policy: RepeatPolicy = RepeatPolicy(), threads: int | None = 1, clock: str = "wall"):
        if threads is not None and threads < 1:
            raise ConfigError(f"thread count must be >= 1, got {threads}")
        if clock not in ("wall", "cpu"):
            raise ConfigError(f"unknown clock {clock!r}; use 'wall' (latency) or 'cpu' (thread CPU time)")
        if clock == "cpu" and threads != 1:
            raise ConfigError("the 'cpu' clock (thread CPU time) measures latency only with `threads=1`")
        self.policy = policy
        self.threads = threads
        self.clock = clock
        self.last_samples: dict[str, list[float]] | None = None  # raw times of the last measure() call

    def prepare(self) -> None:
        import torch

        if self.threads is not None:
            torch.set_num_threads(self.threads)

    def to_device(self, model, x):
        return model.eval(), x

    def measure(self, model, x, energy: EnergyCounter | None = None, reference=None) -> TimingStats:
        """Time ``model(x)``; with a ``reference`` model, pair every timed forward with one of the
        reference (alternating which goes first) and also report the median ratio: contention
        that changes slowly compared to one pair cancels out of it."""
        import torch

        self.prepare()
        model.eval()
        with_cpu = self.threads == 1
        primary_cpu = self.clock == "cpu"
        wall_ms: list[float] = []
        cpu_ms: list[float] = []
        ratios: list[float] = []
        ref_wall_ms: list[float] = []
        ref_cpu_ms: list[float] = []
        clock, tclock = time.perf_counter_ns, time.thread_time_ns

        def one(m) -> tuple[float, float]:
            c = tclock() if with_cpu else 0
            t = clock()
            m(x)
            t1 = clock()
            return (t1 - t) / 1e6, ((tclock() - c) / 1e6 if with_cpu else 0.0)

        with torch.inference_mode():
            for _ in range(self.policy.warmup):
                model(x)
                if reference is not None:
                    reference(x)

            def chunk(k: int) -> list[float]:
                for _ in range(k):
                    ref_first = reference is not None and len(wall_ms) % 2 == 0
                    if ref_first:
                        rw, rc = one(reference)
                    w, c = one(model)
                    if reference is not None and not ref_first:
                        rw, rc = one(reference)
                    wall_ms.append(w)
                    if with_cpu:
                        cpu_ms.append(c)
                    if reference is not None:
                        ref_wall_ms.append(rw)
                        if with_cpu:
                            ref_cpu_ms.append(rc)
                        r = rc if primary_cpu else rw
                        ratios.append((c if primary_cpu else w) / r if r > 0 else float("inf"))
                if reference is not None:
                    return ratios[-k:]
                return cpu_ms[-k:] if primary_cpu else wall_ms[-k:]

            e0 = energy.read_mj() if energy is not None else None
            collect(chunk, self.policy)
            e1 = energy.read_mj() if energy is not None else None
        samples = cpu_ms if primary_cpu else wall_ms
        # the raw per-forward times of this call, for studies of other statistics (benchmarks/measure_estimators.py)
        self.last_samples = {
            "wall_ms": wall_ms,
            "cpu_ms": cpu_ms,
            "ref_wall_ms": ref_wall_ms,
            "ref_cpu_ms": ref_cpu_ms,
        }
        e = (e1 - e0) / len(samples) if e0 is not None and e1 is not None else None
        st = TimingStats.from_samples(
            samples,
            energy_mj=e,
            confidence=self.policy.confidence,
            cpu_samples_ms=cpu_ms if with_cpu else None,
        )
        if reference is not None:
            ref_ms = ref_cpu_ms if primary_cpu else ref_wall_ms
            q_ref = float(np.quantile(ref_ms, RATIO_QUANTILE))
            st = replace(
                st,
                ratio_median=float(np.median(ratios)),
                ref_median_ms=float(np.median(ref_ms)),
                ratio_q10=float(np.quantile(samples, RATIO_QUANTILE)) / q_ref if q_ref > 0 else float("inf"),
                rel_ci=relative_ci_halfwidth(ratios, self.policy.confidence),
            )
        return st

    def describe(self) -> dict:
        import torch

        return {
            "timer": f"cpu {'thread_time_ns' if self.clock == 'cpu' else 'perf_counter_ns'} per forward",
            "threads": self.threads or torch.get_num_threads(),
            "clock": self.clock,
            "policy": self.policy.to_dict(),
        }


class CUDATimer:
    """CUDA events around each forward, synchronised per chunk; input already on the device."""

    device = "cuda"

    def __init__(
        self, policy: RepeatPolicy = RepeatPolicy(), cudnn_benchmark: bool = True, device_index: int = 0
    ):
        require_cuda()
        self.policy = policy
        self.cudnn_benchmark = cudnn_benchmark
        self.device_index = device_index

    def prepare(self) -> None:
        import torch

        torch.backends.cudnn.benchmark = self.cudnn_benchmark
        torch.cuda.set_device(self.device_index)

    def to_device(self, model, x):
        dev = f"cuda:{self.device_index}"
        return model.to(dev).eval(), x.to(dev)

    def measure(self, model, x, energy: EnergyCounter | None = None, reference=None) -> TimingStats:
        import torch

        if reference is not None:
            raise MeasureError("a paired reference is a CPU option; CUDA is timed with events")
        self.prepare()
        model.eval()
        with torch.inference_mode():
            for _ in range(self.policy.warmup):
                model(x)
            torch.cuda.synchronize()

            def chunk(k: int) -> list[float]:
                starts = [torch.cuda.Event(enable_timing=True) for _ in range(k)]
                ends = [torch.cuda.Event(enable_timing=True) for _ in range(k)]
                for s, e in zip(starts, ends):
                    s.record()
                    model(x)
                    e.record()
                torch.cuda.synchronize()
                return [s.elapsed_time(e) for s, e in zip(starts, ends)]

            e0 = energy.read_mj() if energy is not None else None
            samples = collect(chunk, self.policy)
            torch.cuda.synchronize()
            e1 = energy.read_mj() if energy is not None else None
        e = (e1 - e0) / len(samples) if e0 is not None and e1 is not None else None
        return TimingStats.from_samples(samples, energy_mj=e, confidence=self.policy.confidence)

    def describe(self) -> dict:
        return {
            "timer": "cuda events per forward",
            "cudnn_benchmark": self.cudnn_benchmark,
            "device_index": self.device_index,
            "policy": self.policy.to_dict(),
        }


DEVICES = ("cpu", "cuda")


def require_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise MeasureError(
            "CUDA was asked for but torch.cuda.is_available() is False on this machine "
            f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}); "
            "measure with `device='cpu'` or run on a machine with an NVIDIA GPU and a CUDA "
            "build of torch"
        )


def parse_device(device: str) -> tuple[str, int]:
    """'cpu', 'cuda' or 'cuda:N' -> (kind, index); a clear error for anything else."""
    d = str(device).strip().lower()
    if d == "cpu":
        return "cpu", 0
    if d == "cuda" or d == "gpu":
        return "cuda", 0
    if d.startswith("cuda:") and d[5:].isdigit():
        return "cuda", int(d[5:])
    raise MeasureError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'")


def make_timer(
    device: str = "cpu",
    policy: RepeatPolicy = RepeatPolicy(),
    threads: int | None = 1,
    cudnn_benchmark: bool = True,
    clock: str = "wall",
) -> CPUTimer | CUDATimer:
    kind, index = parse_device(device)
    if kind == "cpu":
        return CPUTimer(policy, threads=threads, clock=clock)
    if clock != "wall":
        raise ConfigError("the 'cpu' clock exists for `device='cpu'` only; CUDA is timed with events")
    require_cuda()
    import torch

    if index >= torch.cuda.device_count():
        raise MeasureError(
            f"device cuda:{index} does not exist; this machine has {torch.cuda.device_count()} GPU(s)"
        )
    return CUDATimer(policy, cudnn_benchmark=cudnn_benchmark, device_index=index)
