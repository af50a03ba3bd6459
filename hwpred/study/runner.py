"""Run a study end to end: validate, build the grid, claim the store, execute, summarise."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from .config import StudyConfig, Validated, validate
from .executors import RunStats, execute
from .grid import Grid, build_grid
from .store import ResultStore


@dataclass
class StudyRun:
    validated: Validated
    grid: Grid
    store: ResultStore
    stats: RunStats

    @property
    def store_dir(self) -> Path:
        return self.store.root


def plan(cfg: StudyConfig) -> tuple[Validated, Grid]:
    """Every check, then the grid; nothing runs and nothing is written but the output folder."""
    v = validate(cfg)
    return v, build_grid(v)


def run_study(cfg: StudyConfig, executor: str | None = None, workers: int | None = None,
              scheduler: str | None = None, progress: bool = True, console: Console | None = None) -> StudyRun:
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
    where = f"dask ({scheduler or f'LocalCluster, {workers} workers'})" if executor == "dask" \
        else f"local ({workers} worker{'s' if workers > 1 else ''})"
    console.print(f"study [bold]{cfg.name}[/]: {len(grid.cells)} cells on {len(v.datasets)} dataset(s), "
                  f"{len(cfg.predictors)} predictor(s), {len(cfg.seeds)} seed(s); executor {where}; "
                  f"store {store.root}")
    stats = execute(grid.cells, store, executor=executor, workers=workers, scheduler=scheduler,
                    progress=progress)
    if stats.already_done:
        console.print(f"{stats.already_done} cell(s) were already in the store and were skipped")
    console.print(f"ran {stats.ran} cell(s) in {stats.wall_s:.1f} s"
                  + (f"; [red]{stats.failed} failed[/]" if stats.failed else ""))
    for e in stats.errors:
        console.print(f"  [red]failed[/] {e}")
    return StudyRun(v, grid, store, stats)
