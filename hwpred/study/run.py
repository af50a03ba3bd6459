"""Run a study end to end: plan it, claim its store, execute the missing cells, summarise."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from ..experiment.executor import Outcome, RunStats, execute
from ..experiment.health import set_aside_damaged
from .cells import Cell, Grid, plan
from .config import StudyConfig, Validated
from .store import ResultStore
from .worker import cell_record, limit_threads, run_cell


@dataclass
class StudyRun:
    validated: Validated
    grid: Grid
    store: ResultStore
    stats: RunStats

    @property
    def store_dir(self) -> Path:
        return self.store.root


def run_study(
    cfg: StudyConfig,
    executor: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    console: Console | None = None,
    retry_failed: bool = False,
) -> StudyRun:
    """Run (or resume) a study: every cell its store lacks is fitted, scored and stored.

    A failed cell is recorded with its error and the run goes on; finished cells are never run
    again, so an interrupted run resumes where it stopped.

    Parameters
    ----------
    cfg : StudyConfig
        A parsed config (:func:`~hwpred.study.parse_config` or :func:`~hwpred.study.load_config`).
    executor : {"local", "dask"}, optional
        Overrides the config's: ``local`` runs inline with one worker, else in a process pool;
        ``dask`` uses the scheduler at ``scheduler`` or starts a ``LocalCluster``.
    workers : int, optional
        Worker processes (overrides the config's); each uses one BLAS/torch thread.
    scheduler : str, optional
        A Dask scheduler address such as ``tcp://host:8786`` (overrides the config's).
    progress : bool
        Show a progress bar on standard error.
    console : rich.console.Console, optional
        Where the notes and the summary lines go (standard error by default).
    retry_failed : bool
        Run again the cells the store records as failed (else they count as done).

    Returns
    -------
    StudyRun
        The validated config, the grid, the store, and the run's statistics (``ran``, ``failed``,
        ``already_done``, ``errors``, ``wall_s``, ``unit_s`` the worker time of each cell...).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from rich.console import Console
    >>> from hwpred.data import MetricTable
    >>> from hwpred.spaces import NB201
    >>> from hwpred.study import parse_config, run_study
    >>> tmp = Path(tempfile.mkdtemp())
    >>> archs = np.array(NB201.enumerate()[:500])
    >>> cost = np.random.default_rng(0).uniform(size=(6, 5))         # latency: a cost per op and edge
    >>> table = MetricTable("nb201", archs, {"cpu/latency_ms": cost[np.arange(6), archs].sum(1)})
    >>> _ = table.to_parquet(tmp / "cpu.parquet")
    >>> cfg = parse_config({"name": "demo", "datasets": [f"file:{tmp}/cpu.parquet#cpu/latency_ms"],
    ...                     "predictors": ["lin_reg"], "train_sizes": [30, 60], "test_size": 200,
    ...                     "seeds": [0, 1], "output": str(tmp / "results")})
    >>> run = run_study(cfg, progress=False, console=Console(quiet=True))
    >>> run.stats.ran, run.stats.failed
    (4, 0)
    >>> bool(run.store.read()["kendall_tau"].min() > 0.9)
    True
    >>> again = run_study(cfg, progress=False, console=Console(quiet=True))  # resumed: nothing left to run
    >>> again.stats.ran, again.stats.already_done
    (0, 4)
    """
    console = console or Console(stderr=True)
    executor = executor or cfg.executor
    workers = workers or cfg.workers
    scheduler = scheduler or cfg.scheduler
    v, grid = plan(cfg)
    store = ResultStore(cfg.store_dir)
    store.claim(cfg)
    store.clean_temp()
    for note in grid.notes:
        console.print(f"[yellow]note:[/] {note}")
    where = (
        f"dask ({scheduler or f'LocalCluster, {workers} workers'})"
        if executor == "dask"
        else f"local ({workers} worker{'s' if workers > 1 else ''})"
    )
    console.print(
        f"study [bold]{cfg.name}[/]: {len(grid.cells)} cells on {len(v.datasets)} dataset(s), "
        f"{len(cfg.predictors)} predictor(s), {len(cfg.seeds)} seed(s); executor {where}; "
        f"store {store.root}"
    )
    store.write_plan(c.cell_id for c in grid.cells)
    set_aside_damaged(store, console)
    missing = set(store.missing(c.cell_id for c in grid.cells))
    retry = set(store.failed_ids()) if retry_failed else set()
    if retry:
        console.print(f"retrying {len(retry)} cell(s) recorded as failed")
    todo = [c for c in grid.cells if c.cell_id in missing or c.cell_id in retry]
    stats = execute(
        todo,
        run_cell,
        _recorder(store),
        is_done=lambda cell: cell.cell_id not in retry and store.has(cell.cell_id),
        claims=store.claims(lambda cell: cell.cell_id),
        on_crash=_crash_recorder(store),
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        label="study",
        unit_name="cells",
        initializer=limit_threads,
        already_done=len(grid.cells) - len(todo),
        console=console,
    )
    if stats.already_done:
        console.print(f"{stats.already_done} cell(s) were already in the store and were skipped")
    if stats.done_elsewhere:
        console.print(f"{stats.done_elsewhere} cell(s) were computed by another run on the same store")
    console.print(
        f"ran {stats.ran} cell(s) in {stats.wall_s:.1f} s"
        + (f"; [red]{stats.failed} failed[/]" if stats.failed else "")
    )
    for line in stats.failure_summary():
        console.print(f"  [red]failed:[/] {line}")
    return StudyRun(v, grid, store, stats)


def _crash_recorder(store: ResultStore):
    """A cell whose worker died (or that raised outside the cell's own error handling) is recorded as failed."""

    def on_crash(cell: Cell, reason: str) -> Outcome:
        rec = cell_record(cell, status="failed", error=reason)
        rec["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        store.write(rec)
        return Outcome(ok=False, error=f"{cell.cell_id}: {reason}")

    return on_crash


def _recorder(store: ResultStore):
    """The driver's side of a cell: store its record, tell the executor how it went."""

    def on_result(cell: Cell, record: dict) -> Outcome:
        store.write(record)
        ok = record.get("status") == "ok"
        return Outcome(
            ok=ok,
            error=None if ok else f"{record['cell_id']}: {record.get('error')}",
            seconds=float(record.get("cell_time_s") or 0.0),
        )

    return on_result
