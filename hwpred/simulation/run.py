"""Planning and running a simulation grid on the experiment scaffold.

The grid is cut into units of (pair, subset size, block of ``trials_per_part`` trials), each
with every noise level; :func:`hwpred.experiment.execute` runs the units that have no part in
the store yet (inline, in a local process pool or on a Dask cluster) and the driver stores
each result as it arrives. A killed run leaves its finished parts intact and a re-run computes
only the missing ones, to the same numbers.
"""

from __future__ import annotations

import logging
import time

import pandas as pd

from .._io import check_writable
from ..errors import ConfigError, DataError, HwpredError
from ..experiment.executor import EXECUTORS, Outcome, execute
from ..experiment.health import set_aside_damaged
from .grid import SimulationConfig, resolve_size
from .pairs import SimPair, load_pair
from .store import SimulationStore
from .unit import UnitTask, example_selection, run_unit, unit_task

log = logging.getLogger(__name__)


def load_pairs(cfg: SimulationConfig) -> tuple[list[SimPair], list[str]]:
    """Load every pair (tables cached across pairs); with missing_datasets=skip, report absent ones."""
    cache: dict = {}
    pairs, skipped = [], []
    for spec in cfg.pairs:
        try:
            pair = load_pair(
                spec.accuracy,
                spec.hardware,
                selection_accuracy=spec.selection_accuracy,
                accuracy_scale=cfg.accuracy_scale,
                cache=cache,
            )
        except HwpredError as exc:
            if cfg.missing_datasets == "skip" and _looks_missing(exc):
                skipped.append(f"{spec.key}: {exc}")
                continue
            msg = str(exc) if spec.key in str(exc) else f"{cfg.source}, pair {spec.key}: {exc}"
            raise type(exc)(msg) from None
        for s in cfg.subset_sizes:
            resolve_size(s, len(pair), pair.key, cfg.source)
        pairs.append(pair)
    if not pairs:
        raise DataError(f"{cfg.source}: none of the pairs could be loaded: " + "; ".join(skipped))
    return pairs, skipped


def _looks_missing(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(
        w in text
        for w in (
            "no such",
            "not found",
            "missing",
            "mirror",
            "unknown dataset",
            "no dataset",
            "not available",
            "download",
        )
    )


def plan(cfg: SimulationConfig, pairs: list[SimPair]) -> list[UnitTask]:
    """Every unit of the grid, pair by pair, size by size, block by block of trials."""
    tasks = []
    for pair in pairs:
        for size in cfg.subset_sizes:
            for t0 in range(0, cfg.trials, cfg.trials_per_part):
                tasks.append(unit_task(pair, cfg, size, t0, min(t0 + cfg.trials_per_part, cfg.trials)))
    return tasks


def _work(task: UnitTask) -> tuple[pd.DataFrame, float]:
    t0 = time.perf_counter()
    df = run_unit(task)
    return df, time.perf_counter() - t0


def run_simulation(
    cfg: SimulationConfig,
    workers: int | None = None,
    progress: bool = True,
    pairs: list[SimPair] | None = None,
    console=None,
    *,
    executor: str = "local",
    scheduler: str | None = None,
) -> SimulationStore:
    """Run (or resume) the grid of ``cfg`` and return its store.

    Parameters
    ----------
    cfg : SimulationConfig
        The grid, from :func:`load_config` or :func:`parse_config`.
    workers : int, optional
        Worker processes (default: the config's ``workers``); the numbers do not depend on it.
    progress : bool
        Show a progress bar on standard error, one step per simulated selection.
    pairs : list of SimPair, optional
        The pairs, already loaded (e.g. from :func:`make_pair`); by default the config's pairs
        are loaded by name.
    console : rich.console.Console, optional
        Where the progress bar is drawn.
    executor : {"local", "dask"}
        A local process pool (inline with one worker) or a Dask cluster.
    scheduler : str, optional
        The Dask scheduler's address (``tcp://host:8786``); without it a local cluster is started.

    Returns
    -------
    SimulationStore
        The store at ``cfg.output / cfg.name``: ``read()`` gives one row per pair x subset size x
        noise level x trial.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from hwpred.data import MetricTable
    >>> from hwpred.simulation import make_pair, parse_config, run_simulation
    >>> from hwpred.spaces import NB201
    >>> archs = np.array(NB201.enumerate()[:300])
    >>> rng = np.random.default_rng(0)
    >>> acc = MetricTable("nb201", archs, {"acc": rng.uniform(50, 90, 300)}, units={"acc": "%"})
    >>> lat = MetricTable("nb201", archs, {"ms": rng.uniform(1, 5, 300)}, units={"ms": "ms"})
    >>> pair = make_pair(acc, "acc", lat, "ms", accuracy_name="toy:acc", hardware_name="toy:ms")
    >>> cfg = parse_config({"name": "toy", "pairs": [{"accuracy": "toy:acc", "hardware": "toy:ms"}],
    ...                     "subset_sizes": [100], "noise_stds": [0.0, 1.0], "trials": 4,
    ...                     "output": tempfile.mkdtemp(), "example": {"subset_size": 100}})
    >>> results = run_simulation(cfg, pairs=[pair], progress=False).read()
    >>> len(results), float(results[results["noise_std"] == 0]["mra_all"].max())
    (8, 0.0)
    """
    workers = int(workers or cfg.workers)
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    if executor not in EXECUTORS:
        raise ConfigError(f"executor {executor!r} is unknown; use one of {', '.join(EXECUTORS)}")
    if pairs is None:
        pairs, skipped = load_pairs(cfg)
    else:
        skipped = []
        for pair in pairs:
            for s in cfg.subset_sizes:
                resolve_size(s, len(pair), pair.key, cfg.source)
    check_writable(cfg.output, cfg.source)
    store = SimulationStore(cfg.store_dir)
    store.init(cfg.name, cfg.config_hash, cfg.source, cfg.result_fields())
    store.write_json(store.pairs_path.name, {"pairs": [p.info() for p in pairs], "skipped": skipped})
    units = plan(cfg, pairs)
    store.write_plan(t.part_id for t in units)
    set_aside_damaged(store, console)
    missing = set(store.missing(t.part_id for t in units))
    todo = [t for t in units if t.part_id in missing]

    def on_result(task: UnitTask, result: tuple[pd.DataFrame, float]) -> Outcome:
        df, seconds = result
        store.write_part(task.part_id, df)
        return Outcome(seconds=seconds)

    if executor == "local":  # one unit left: no pool to start
        workers = min(workers, max(len(todo), 1))
    stats = execute(
        todo,
        _work,
        on_result,
        is_done=lambda t: store.has(t.part_id),
        claims=store.claims(lambda t: t.part_id),
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        label=f"simulate {cfg.name}",
        unit_name="selections",
        already_done=len(units) - len(todo),
        console=console,
    )
    log.info(
        "simulation %s: %d of %d part(s) run here (%d already stored), %.1f s",
        cfg.name,
        stats.ran,
        stats.total,
        stats.already_done,
        stats.wall_s,
    )
    store.last_run = stats
    store.consolidate()
    ex_pair = pairs[min(cfg.example.pair, len(pairs) - 1)]
    ex_df, ex_info = example_selection(ex_pair, cfg)
    store.write_frame(store.example_path.name, ex_df)
    store.write_json(store.example_info_path.name, ex_info)
    return store
