"""Executors: run pending cells on a local process pool or a Dask cluster, storing each as it ends.

Workers only compute (``grid.run_cell`` returns a record); the driver process writes every record
to the store. So a Dask worker on another machine needs no access to the results folder, and a
killed driver loses at most the cells in flight. The driver keeps a bounded window of cells in
flight (a few per worker) instead of submitting a 100k-cell study at once: memory stays flat and
an interrupted run leaves little unfinished work behind.
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from ..errors import ConfigError
from .grid import Cell, limit_threads, run_cell
from .store import ResultStore

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass
class RunStats:
    total: int = 0            # cells in the grid
    already_done: int = 0     # skipped because the store had them
    ran: int = 0              # finished in this run
    failed: int = 0           # of those, recorded as failed
    wall_s: float = 0.0       # driver wall time from first submit to last write
    cell_s: list[float] = field(default_factory=list)   # worker time of each cell run here
    driver_s: float = 0.0     # driver time spent submitting, receiving and writing
    workers: int = 1
    startup_s: float = 0.0    # starting/connecting the Dask cluster (included in wall_s)
    errors: list[str] = field(default_factory=list)     # first few failure messages

    @property
    def median_cell_s(self) -> float:
        import numpy as np

        return float(np.median(self.cell_s)) if self.cell_s else float("nan")

    @property
    def overhead_per_cell_s(self) -> float:
        """Grid-machinery time per cell: worker-seconds available minus worker-seconds used."""
        if not self.cell_s:
            return float("nan")
        return max(self.wall_s * self.workers - sum(self.cell_s), 0.0) / len(self.cell_s)


@contextlib.contextmanager
def _one_thread_env() -> Iterator[None]:
    """Child processes inherit one-thread settings before they import numpy/torch."""
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


def pending_cells(cells: Iterable[Cell], store: ResultStore) -> tuple[list[Cell], int]:
    from .._io import part_filename

    cells = list(cells)
    done = store.part_files()
    todo = [c for c in cells if part_filename(c.cell_id) not in done]
    return todo, len(cells) - len(todo)


def execute(cells: list[Cell], store: ResultStore, executor: str = "local", workers: int = 1,
            scheduler: str | None = None, progress: bool = True,
            on_record: Callable[[dict], None] | None = None) -> RunStats:
    """Run every cell the store lacks; returns timing and failure counts."""
    todo, done = pending_cells(cells, store)
    stats = RunStats(total=len(cells), already_done=done, workers=workers)
    if executor not in ("local", "dask"):
        raise ConfigError(f"executor {executor!r} is unknown; use local or dask")
    if not todo:
        return stats
    with _progress(progress, len(cells), done) as advance:
        def handle(rec: dict) -> None:
            t0 = time.perf_counter()
            store.write(rec)
            stats.ran += 1
            stats.cell_s.append(float(rec.get("cell_time_s") or 0.0))
            if rec.get("status") != "ok":
                stats.failed += 1
                if len(stats.errors) < 5:
                    stats.errors.append(f"{rec['cell_id']}: {rec.get('error')}")
            if on_record:
                on_record(rec)
            advance(rec.get("status") != "ok")
            stats.driver_s += time.perf_counter() - t0

        t_start = time.perf_counter()
        if executor == "dask":
            _run_dask(todo, store, workers, scheduler, handle, stats)
        elif workers == 1:
            _run_inline(todo, store, handle, stats)
        else:
            _run_pool(todo, store, workers, handle, stats)
        stats.wall_s = time.perf_counter() - t_start
    return stats


def _window(workers: int) -> int:
    return max(4, 3 * workers)


def _run_inline(todo: list[Cell], store: ResultStore, handle, stats: RunStats) -> None:
    limit_threads()
    for cell in todo:
        if store.has(cell.cell_id):  # a concurrent run finished it meanwhile
            continue
        handle(run_cell(cell))


def _run_pool(todo: list[Cell], store: ResultStore, workers: int, handle, stats: RunStats) -> None:
    queue = iter(todo)
    with _one_thread_env():
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                   initializer=limit_threads)
    try:
        running = set()

        def fill() -> None:
            while len(running) < _window(workers):
                t0 = time.perf_counter()
                cell = next(queue, None)
                if cell is None:
                    return
                if store.has(cell.cell_id):
                    continue
                with _one_thread_env():
                    running.add(pool.submit(run_cell, cell))
                stats.driver_s += time.perf_counter() - t0

        fill()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                running.discard(fut)
                handle(fut.result())
            fill()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(todo: list[Cell], store: ResultStore, workers: int, scheduler: str | None, handle,
              stats: RunStats) -> None:
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
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address "
                              "(tcp://host:8786) and that it is running") from None
        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
    else:
        with _one_thread_env():
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        n_workers = workers
    stats.workers = n_workers
    stats.startup_s = time.perf_counter() - t0
    try:
        queue = iter(todo)
        ac = as_completed()

        def submit_one() -> bool:
            while True:
                cell = next(queue, None)
                if cell is None:
                    return False
                if not store.has(cell.cell_id):
                    ac.add(client.submit(run_cell, cell, pure=False))
                    return True

        for _ in range(_window(n_workers)):
            if not submit_one():
                break
        for fut in ac:
            rec = fut.result()
            fut.release()
            handle(rec)
            t0 = time.perf_counter()
            submit_one()
            stats.driver_s += time.perf_counter() - t0
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def _progress(enabled: bool, total: int, done: int):
    """Rich progress bar: cells done / total, elapsed, ETA, failures."""
    if not enabled:
        yield lambda failed=False: None
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    failed_n = [0]
    with Progress(TextColumn("[bold]study[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("cells"),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                  TextColumn("{task.fields[failed]}")) as prog:
        task = prog.add_task("cells", total=total, completed=done, failed="")

        def advance(failed: bool = False) -> None:
            if failed:
                failed_n[0] += 1
            prog.update(task, advance=1, failed=f"[red]{failed_n[0]} failed[/]" if failed_n[0] else "")

        yield advance
