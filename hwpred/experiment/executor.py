"""One executor for every experiment: inline, a local process pool, or a Dask cluster.

Workers only compute (``work(unit)`` returns a result); the driver process hands each result
to ``on_result``, which stores it. So a Dask worker on another machine needs no access to the
results folder, and a killed driver loses at most the units in flight. The driver keeps a
bounded window of units in flight (a few per worker) instead of submitting a large grid at
once: memory stays flat and an interrupted run leaves little unfinished work behind. Before a
unit is submitted the driver asks ``is_done(unit)`` again, so two runs sharing a store skip
what the other finished meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from .progress import progress_bar

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
    errors: list[str] = field(default_factory=list)  # first few failure messages

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


def _weight(unit: Any) -> int:
    return int(getattr(unit, "weight", 1))


def execute(
    units: Sequence[Any],
    work: Callable[[Any], Any],
    on_result: Callable[[Any, Any], Outcome | None],
    *,
    is_done: Callable[[Any], bool] = lambda unit: False,
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
    with progress_bar(
        label,
        total_w + already_done,
        done=already_done,
        unit_name=unit_name,
        enabled=progress,
        console=console,
    ) as bar:

        def handle(unit: Any, result: Any) -> None:
            t0 = time.perf_counter()
            outcome = on_result(unit, result) or Outcome()
            stats.ran += 1
            if outcome.seconds is not None:
                stats.unit_s.append(float(outcome.seconds))
            if not outcome.ok:
                stats.failed += 1
                if len(stats.errors) < 5:
                    stats.errors.append(str(outcome.error))
            bar.advance(_weight(unit), failed=not outcome.ok)
            stats.driver_s += time.perf_counter() - t0

        t_start = time.perf_counter()
        if executor == "dask":
            _run_dask(units, work, is_done, handle, workers, scheduler, stats, initializer, initargs)
        elif workers == 1:
            if initializer is not None:
                initializer(*initargs)
            for unit in units:
                if not is_done(unit):
                    handle(unit, work(unit))
        else:
            _run_pool(units, work, is_done, handle, workers, stats, initializer, initargs)
        stats.wall_s = time.perf_counter() - t_start
    return stats


def _window(workers: int) -> int:
    return max(4, 3 * workers)


def _run_pool(units, work, is_done, handle, workers: int, stats: RunStats, initializer, initargs) -> None:
    queue = iter(units)
    with one_thread_env():
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(units)),
            mp_context=mp.get_context("spawn"),
            initializer=initializer,
            initargs=initargs,
        )
    try:
        running: dict = {}

        def fill() -> None:
            while len(running) < _window(workers):
                t0 = time.perf_counter()
                unit = next(queue, None)
                if unit is None:
                    return
                if is_done(unit):
                    continue
                with one_thread_env():
                    running[pool.submit(work, unit)] = unit
                stats.driver_s += time.perf_counter() - t0

        fill()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                handle(running.pop(fut), fut.result())
            fill()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(
    units, work, is_done, handle, workers: int, scheduler: str | None, stats: RunStats, initializer, initargs
) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ConfigError("the dask executor needs dask[distributed]: pip install 'hwpred[dist]'") from None
    cluster = None
    t0 = time.perf_counter()
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address "
                "(tcp://host:8786) and that it is running"
            ) from None
        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
    else:
        with one_thread_env():
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        client = Client(cluster)
        n_workers = workers
    stats.workers = n_workers
    stats.startup_s = time.perf_counter() - t0
    try:
        if initializer is not None:
            client.run(initializer, *initargs)
        queue = iter(units)
        ac = as_completed()
        submitted: dict = {}

        def submit_one() -> bool:
            while True:
                unit = next(queue, None)
                if unit is None:
                    return False
                if not is_done(unit):
                    fut = client.submit(work, unit, pure=False)
                    submitted[fut.key] = unit
                    ac.add(fut)
                    return True

        for _ in range(_window(n_workers)):
            if not submit_one():
                break
        for fut in ac:
            result = fut.result()
            unit = submitted.pop(fut.key)
            fut.release()
            handle(unit, result)
            t0 = time.perf_counter()
            submit_one()
            stats.driver_s += time.perf_counter() - t0
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
