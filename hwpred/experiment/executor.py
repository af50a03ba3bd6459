"""One executor for every experiment: inline, a local process pool, or a Dask cluster.

Workers only compute (``work(unit)`` returns a result); the driver process hands each result
to ``on_result``, which stores it. So a Dask worker on another machine needs no access to the
results folder, and a killed driver loses at most the units in flight. The driver keeps a
bounded window of units in flight (a few per worker) instead of submitting a large grid at
once: memory stays flat and an interrupted run leaves little unfinished work behind.

Before a unit is submitted the driver asks ``is_done(unit)`` again and, given ``claims``
(:class:`~hwpred.experiment.claims.Claims`), claims it, so several runs sharing a store split
the units and each is computed once; units another live run holds are waited for at the end
(and taken over if that run dies). A unit whose worker process dies is retried; one that kills
its worker :data:`MAX_CRASHES` times is run alone and then reported through ``on_crash`` as
failed, so it cannot stall the run.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from .progress import progress_bar
from .runners import Feeder, run_dask, run_inline, run_pool

EXECUTORS = ("local", "dask")
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass
class Outcome:
    """What the driver learnt from one result: whether the unit succeeded, and its worker time."""

    ok: bool = True
    error: str | None = None
    seconds: float | None = None


@dataclass
class RunStats:
    total: int = 0  # units in the grid
    already_done: int = 0  # skipped because the store had them
    ran: int = 0  # finished in this run
    failed: int = 0  # of those, recorded as failed
    wall_s: float = 0.0  # driver wall time from first submit to last result
    unit_s: list[float] = field(default_factory=list)  # worker time of each unit run here
    driver_s: float = 0.0  # driver time spent submitting, receiving and storing
    workers: int = 1
    startup_s: float = 0.0  # starting/connecting the Dask cluster (included in wall_s)
    errors: list[str] = field(default_factory=list)  # every failure message of this run
    done_elsewhere: int = 0  # finished by another run on the same store while this one ran
    taken_over: int = 0  # stale claims of dead runs taken over

    def failure_summary(self, limit: int = 5) -> list[str]:
        """One line per kind of failure (the text before the first ':' of the error), with its first message."""
        kinds: Counter = Counter()
        first: dict[str, str] = {}
        for e in self.errors:
            kind = _error_kind(e)
            kinds[kind] += 1
            first.setdefault(kind, e)
        return [f"{n} x {k}: first {first[k]}" for k, n in kinds.most_common(limit)]

    @property
    def median_unit_s(self) -> float:
        import numpy as np

        return float(np.median(self.unit_s)) if self.unit_s else float("nan")

    @property
    def overhead_per_unit_s(self) -> float:
        """Scaffold time per unit: worker-seconds available minus worker-seconds used."""
        if not self.unit_s:
            return float("nan")
        return max(self.wall_s * self.workers - sum(self.unit_s), 0.0) / len(self.unit_s)


@contextlib.contextmanager
def one_thread_env() -> Iterator[None]:
    """Child processes inherit one-thread BLAS/OpenMP settings before they import numpy/torch."""
    old = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: "1" for k in _THREAD_VARS})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _error_kind(message: str) -> str:
    """The kind of a failure message ``<unit>: <Kind>: <text>`` (or ``<unit>: <text>``)."""
    parts = [p.strip() for p in str(message).split(": ")]
    return parts[1] if len(parts) > 2 else (parts[-1][:60] if parts else "error")


def _weight(unit: Any) -> int:
    return int(getattr(unit, "weight", 1))


def execute(
    units: Sequence[Any],
    work: Callable[[Any], Any],
    on_result: Callable[[Any, Any], Outcome | None],
    *,
    is_done: Callable[[Any], bool] = lambda unit: False,
    claims=None,
    on_crash: Callable[[Any, str], Outcome | None] | None = None,
    on_idle: Callable[[], None] | None = None,
    executor: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
    label: str = "run",
    unit_name: str = "units",
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
    already_done: int = 0,
    console=None,
) -> RunStats:
    """Run ``work`` on every unit and hand each result to ``on_result`` in the driver.

    Parameters
    ----------
    units : sequence
        The units still to run. A unit may carry a ``weight`` (progress steps it is worth).
    work : callable
        ``work(unit) -> result``; a module-level function, since it is sent to worker processes.
    on_result : callable
        ``on_result(unit, result) -> Outcome | None``, called in the driver as each unit ends
        (store the result there). ``None`` counts as a success.
    is_done : callable
        Asked again just before a unit is submitted; a unit another run finished is skipped.
    claims : Claims, optional
        Claim each unit before it is submitted (:meth:`PartStore.claims`), so that concurrent runs
        on one store split the units; units held by another live run are waited for at the end.
    on_idle : callable, optional
        Called while this run waits for units other runs hold (store what is pending, so that a
        run waiting on this one's claims can go on).
    on_crash : callable, optional
        ``on_crash(unit, reason)``: record a unit that killed its worker process (or raised in
        it) as failed; without it such a unit's error ends the run.
    executor : {"local", "dask"}
        ``local`` runs inline when ``workers == 1``, else in a pool of spawned processes with one
        BLAS thread each; ``dask`` uses the scheduler at ``scheduler`` or a ``LocalCluster``.
    initializer, initargs
        Run once in every worker process (and once in the driver for an inline run).
    already_done : int
        Units of the grid finished before this run (for the stats, and as steps already done on
        the progress bar).

    Returns
    -------
    RunStats
        Counts, failures and timings of this run.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"executor {executor!r} is unknown; use one of {', '.join(EXECUTORS)}")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    units = list(units)
    stats = RunStats(total=len(units) + already_done, already_done=already_done, workers=workers)
    if not units:
        return stats
    total_w = sum(_weight(u) for u in units)
    feeder = Feeder(units, is_done, claims, stats, on_idle)
    with contextlib.ExitStack() as stack:
        if claims is not None:
            stack.enter_context(claims)
        bar = stack.enter_context(
            progress_bar(
                label,
                total_w + already_done,
                done=already_done,
                unit_name=unit_name,
                enabled=progress,
                console=console,
            )
        )

        def record(unit: Any, outcome: Outcome | None) -> None:
            outcome = outcome or Outcome()
            stats.ran += 1
            if outcome.seconds is not None:
                stats.unit_s.append(float(outcome.seconds))
            if not outcome.ok:
                stats.failed += 1
                stats.errors.append(str(outcome.error))
            feeder.done(unit)
            bar.advance(_weight(unit), failed=not outcome.ok)

        def handle(unit: Any, result: Any) -> None:
            t0 = time.perf_counter()
            record(unit, on_result(unit, result))
            stats.driver_s += time.perf_counter() - t0

        def crash(unit: Any, reason: str, exc: BaseException | None = None) -> None:
            if on_crash is None:
                raise exc if exc is not None else RuntimeError(reason)
            record(unit, on_crash(unit, reason))

        t_start = time.perf_counter()
        if executor == "dask":
            run_dask(feeder, work, handle, crash, workers, scheduler, stats, initializer, initargs)
        elif workers == 1:
            run_inline(feeder, work, handle, crash, initializer, initargs)
        else:
            run_pool(feeder, work, handle, crash, workers, stats, initializer, initargs)
        stats.wall_s = time.perf_counter() - t_start
        if claims is not None:
            stats.taken_over = claims.taken_over
    return stats
