"""The three ways to run units (inline, a local process pool, Dask) and the driver's queue.

Private to :func:`hwpred.experiment.executor.execute`, which owns the parameters and the stats.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from ..errors import ConfigError


def _one_thread_env():
    from .executor import one_thread_env

    return one_thread_env()


#: a unit whose worker died this many times is run alone once more, then recorded as failed
MAX_CRASHES = 2
#: how often the driver looks again at units another run holds
POLL_S = 1.0


class Feeder:
    """The driver's queue: skips finished units, claims the rest, sets aside what others hold."""

    def __init__(self, units, is_done, claims, stats, on_idle=None):
        self.queue = deque(units)
        self.is_done, self.claims, self.stats = is_done, claims, stats
        self.held_elsewhere: list = []
        self.crashes: Counter = Counter()
        self.on_idle = on_idle

    def next(self):
        while self.queue:
            unit = self.queue.popleft()
            if self.is_done(unit):
                self.stats.done_elsewhere += 1
                continue
            if self.claims is None:
                return unit
            if not self.claims.acquire(unit):
                self.held_elsewhere.append(unit)
                continue
            if self.is_done(unit):  # finished by its previous holder just before we claimed it
                self.claims.release(unit)
                self.stats.done_elsewhere += 1
                continue
            return unit
        return None

    def waiting(self) -> bool:
        """Units held by other runs remain: look at them again after a pause."""
        if not self.held_elsewhere or self.queue:
            return False
        if self.on_idle is not None:  # e.g. write what is pending, so runs waiting on us can go on
            self.on_idle()
        time.sleep(POLL_S)
        self.queue.extend(self.held_elsewhere)
        self.held_elsewhere = []
        return True

    def exhausted_after_crash(self, unit) -> bool:
        """Count a worker death against ``unit``; True when it is out of retries, else requeue it."""
        self.crashes[id(unit)] += 1
        if self.crashes[id(unit)] > MAX_CRASHES:
            return True
        self.queue.appendleft(unit)
        return False

    def suspect(self, unit) -> bool:
        """Whether ``unit`` was in flight when workers died MAX_CRASHES times: it runs alone."""
        return self.crashes[id(unit)] >= MAX_CRASHES

    def isolate(self) -> bool:
        """Whether the next unit must run alone."""
        return bool(self.queue) and self.suspect(self.queue[0])

    def done(self, unit) -> None:
        if self.claims is not None:
            self.claims.release(unit)


def run_inline(feeder: Feeder, work, handle, crash, initializer, initargs) -> None:
    if initializer is not None:
        initializer(*initargs)
    while True:
        unit = feeder.next()
        if unit is None:
            if feeder.waiting():
                continue
            return
        try:
            result = work(unit)
        except Exception as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            crash(unit, f"{type(exc).__name__}: {exc}", exc)
            continue
        handle(unit, result)


def _window(workers: int) -> int:
    return max(4, 3 * workers)


def _new_pool(workers: int, initializer, initargs) -> ProcessPoolExecutor:
    with _one_thread_env():
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=mp.get_context("spawn"),
            initializer=initializer,
            initargs=initargs,
        )


def run_pool(feeder: Feeder, work, handle, crash, workers: int, stats, initializer, initargs) -> None:
    workers = min(workers, len(feeder.queue))
    pool = _new_pool(workers, initializer, initargs)
    running: dict = {}
    try:

        def fill() -> None:
            while len(running) < _window(workers):
                if running and (feeder.isolate() or any(feeder.suspect(u) for u in running.values())):
                    return  # a unit suspected of killing workers runs alone
                t0 = time.perf_counter()
                unit = feeder.next()
                if unit is None:
                    return
                with _one_thread_env():
                    running[pool.submit(work, unit)] = unit
                stats.driver_s += time.perf_counter() - t0

        fill()
        while running or feeder.waiting():
            if not running:
                fill()
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = []
            for fut in finished:
                unit = running.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    broken.append(unit)
                    continue
                except Exception as exc:
                    crash(unit, f"{type(exc).__name__}: {exc}", exc)
                    continue
                handle(unit, result)
            if broken:
                # a worker died: every unit in flight is lost; retry them, the suspects alone
                broken += list(running.values())
                running.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                for unit in reversed(broken):
                    if feeder.exhausted_after_crash(unit):
                        crash(unit, f"WorkerDied: the worker process died {MAX_CRASHES + 1} times running it")
                pool = _new_pool(workers, initializer, initargs)
            fill()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def run_dask(
    feeder: Feeder,
    work,
    handle,
    crash,
    workers: int,
    scheduler: str | None,
    stats,
    initializer,
    initargs,
) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ConfigError("the dask executor needs dask[distributed]: pip install 'hwpred[dist]'") from None
    from distributed.scheduler import KilledWorker

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
        with _one_thread_env():
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
        ac = as_completed()
        submitted: dict = {}

        def submit_one() -> bool:
            unit = feeder.next()
            if unit is None:
                return False
            fut = client.submit(work, unit, pure=False)
            submitted[fut.key] = unit
            ac.add(fut)
            return True

        while True:
            for _ in range(_window(n_workers) - len(submitted)):
                if not submit_one():
                    break
            if not submitted:
                if feeder.waiting():
                    continue
                return
            fut = next(ac)
            unit = submitted.pop(fut.key)
            try:
                result = fut.result()
            except KilledWorker:
                crash(unit, "WorkerDied: it killed the Dask workers that ran it")
                continue
            except Exception as exc:
                crash(unit, f"{type(exc).__name__}: {exc}", exc)
                continue
            finally:
                fut.release()
            t1 = time.perf_counter()
            handle(unit, result)
            stats.driver_s += time.perf_counter() - t1
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
