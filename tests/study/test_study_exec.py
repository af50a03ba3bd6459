"""Study execution: SIGKILL + resume, concurrent runs on one store, process pool, Dask LocalCluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hwpred.study import ResultStore, parse_config
from hwpred.study.store import RESULT_COLUMNS

PREDICTORS = ["lin_reg", "ridge_reg", "xgb"]


@pytest.fixture(scope="module")
def table_path(tmp_path_factory) -> Path:
    from hwpred.data import MetricTable
    from hwpred.spaces import NB201

    archs = np.array(NB201.enumerate())
    rng = np.random.default_rng(1)
    cost = rng.uniform(0.0, 1.0, size=(6, 5))
    inter = rng.uniform(0.0, 0.3, size=(5, 5))
    y = (
        3.0
        + cost[np.arange(6), archs].sum(1)
        + inter[archs[:, 0], archs[:, 5]]
        + 0.05 * rng.standard_normal(len(archs))
    )
    p = tmp_path_factory.mktemp("study-exec") / "syn.parquet"
    MetricTable("nb201", archs, {"lat": y}).to_parquet(p)
    return p


def _doc(table_path: Path, out: Path, seeds=(0, 1, 2, 3), sizes=(20, 40, 80)) -> dict:
    return {
        "name": "exec",
        "datasets": [f"file:{table_path}#lat"],
        "predictors": PREDICTORS,
        "train_sizes": list(sizes),
        "test_size": 400,
        "seeds": list(seeds),
        "tuning": {"n_trials": 0},
        "output": str(out),
    }


def _results(store_dir: Path) -> pd.DataFrame:
    df = ResultStore(store_dir).read()
    return df[RESULT_COLUMNS].sort_values("cell_id").reset_index(drop=True)


def _cli(cfg: Path, *extra: str) -> list[str]:
    """`hwpred study run CONFIG` in a fresh process, without importing the other command groups."""
    code = (
        "import sys; from hwpred.study.cli import add_parser; import argparse; "
        "p = argparse.ArgumentParser(); add_parser(p.add_subparsers()); "
        "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))"
    )
    return [sys.executable, "-c", code, "study", "run", str(cfg), "--no-progress", *extra]


@pytest.fixture(scope="module")
def reference(table_path, tmp_path_factory):
    """An uninterrupted in-process run of the same config: the numbers every executor must match."""
    from hwpred.study import run_study

    out = tmp_path_factory.mktemp("study-ref")
    run = run_study(parse_config(_doc(table_path, out)), progress=False)
    df = _results(run.store_dir)
    assert len(df) == len(run.grid.cells) == 3 * 3 * 4 and (df["status"] == "ok").all()
    return df


def test_sigkill_mid_run_then_resume_equals_uninterrupted(tmp_path, table_path, reference):
    """SIGKILL a running study (driver and its 2 pool workers), resume it: same cells, same numbers."""
    from hwpred.study import run_study

    cfg = tmp_path / "exec.yaml"
    cfg.write_text(yaml.safe_dump(_doc(table_path, tmp_path / "out")))
    cells_dir = tmp_path / "out" / "exec" / "cells"
    proc = subprocess.Popen(
        _cli(cfg, "--workers", "2"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    n_at_kill = 0
    deadline = time.time() + 120
    try:
        while time.time() < deadline and proc.poll() is None:
            if cells_dir.is_dir():
                n_at_kill = sum(
                    1 for f in os.listdir(cells_dir) if f.endswith(".parquet") and not f.startswith(".")
                )
                if n_at_kill >= 3:
                    break
            time.sleep(0.01)
        assert proc.poll() is None, (
            f"the study ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
        )
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    partial = _results(tmp_path / "out" / "exec")
    assert 3 <= len(partial) < len(reference), "not killed mid-way"

    from hwpred.study import load_config

    resumed = run_study(load_config(cfg), progress=False)
    assert resumed.stats.already_done == len(partial)
    assert resumed.stats.ran == len(reference) - len(partial)
    final = _results(tmp_path / "out" / "exec")
    files = [f for f in os.listdir(cells_dir) if f.endswith(".parquet")]
    assert len(files) == len(reference) and not [f for f in files if f.startswith(".")]
    assert final["cell_id"].is_unique
    pd.testing.assert_frame_equal(final, reference)


def test_two_concurrent_runs_on_one_store(tmp_path, table_path, reference):
    cfg = tmp_path / "exec.yaml"
    cfg.write_text(yaml.safe_dump(_doc(table_path, tmp_path / "out", seeds=(0, 1))))
    from hwpred.study import load_config, run_study

    proc = subprocess.Popen(_cli(cfg), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cells_dir = tmp_path / "out" / "exec" / "cells"
    deadline = time.time() + 120
    while (
        time.time() < deadline
        and proc.poll() is None
        and not (cells_dir.is_dir() and any(cells_dir.iterdir()))
    ):
        time.sleep(0.01)  # let the other run start, then race it cell by cell
    mine = run_study(load_config(cfg), progress=False)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert mine.stats.ran + mine.stats.already_done <= len(mine.grid.cells)
    final = _results(tmp_path / "out" / "exec")
    assert final["cell_id"].is_unique
    pd.testing.assert_frame_equal(final, _seeds(reference, 0, 1))


def _seeds(df: pd.DataFrame, *seeds: int) -> pd.DataFrame:
    return df[df["cell_id"].str.endswith(tuple(f"|s{s}" for s in seeds))].reset_index(drop=True)


def test_dask_localcluster_two_workers_same_numbers(tmp_path, table_path, reference):
    pytest.importorskip("dask.distributed")
    from hwpred.study import run_study

    # a smaller grid keeps the cluster's start-up the main cost
    doc = _doc(table_path, tmp_path, seeds=(0, 1))
    run = run_study(parse_config(doc), executor="dask", workers=2, progress=False)
    df = ResultStore(run.store_dir).read()
    assert run.stats.ran == len(df) == 3 * 3 * 2 and (df["status"] == "ok").all()
    assert run.stats.workers == 2
    assert os.getpid() not in set(df["pid"])
    pd.testing.assert_frame_equal(_results(run.store_dir), _seeds(reference, 0, 1))
