"""A real Dask cluster: `dask scheduler` and two `dask worker` processes on localhost, as the
README shows, run a small study with the same numbers as a local run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwpred.study import ResultStore, parse_config, run_study
from hwpred.study.store import RESULT_COLUMNS

pytest.importorskip("dask.distributed")


def _doc(table: Path, out: Path) -> dict:
    return {
        "name": "cluster",
        "datasets": [f"file:{table}#lat"],
        "predictors": ["lin_reg", "ridge_reg", "xgb"],
        "train_sizes": [20, 60],
        "test_size": 300,
        "seeds": [0, 1],
        "tuning": {"n_trials": 0},
        "output": str(out),
    }


def _results(store_dir: Path) -> pd.DataFrame:
    df = ResultStore(store_dir).read()
    return df[RESULT_COLUMNS].sort_values("cell_id").reset_index(drop=True)


@pytest.fixture
def cluster(tmp_path):
    """The scheduler's address, once it and two single-threaded worker processes are up."""
    from distributed import Client

    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    dask = [sys.executable, "-m", "dask"]
    procs = [
        subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
            + ["--scheduler-file", str(sched_file)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    ]
    try:
        deadline = time.time() + 60
        while not sched_file.is_file() and time.time() < deadline and procs[0].poll() is None:
            time.sleep(0.1)
        assert sched_file.is_file(), procs[0].stderr.read().decode()[-2000:] if procs[0].poll() else "slow"
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [*dask, "worker", "--scheduler-file", str(sched_file), "--nthreads", "1"]
                    + ["--no-dashboard", "--local-directory", str(tmp_path / "dask-worker")],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        with Client(scheduler_file=str(sched_file), timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)
            address = client.scheduler.address
            worker_pids = set(client.run(os.getpid).values())
        yield address, worker_pids
    finally:
        for p in reversed(procs):  # only the processes this fixture started
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.mark.slow
def test_scheduler_and_two_worker_processes_match_a_local_run(tmp_path, cluster):
    from hwpred.data import MetricTable
    from hwpred.spaces import NB201

    archs = np.array(NB201.enumerate())
    rng = np.random.default_rng(3)
    y = 2.0 + rng.uniform(0, 1, (6, 5))[np.arange(6), archs].sum(1) + 0.05 * rng.standard_normal(len(archs))
    table = tmp_path / "syn.parquet"
    MetricTable("nb201", archs, {"lat": y}).to_parquet(table)

    local = run_study(parse_config(_doc(table, tmp_path / "local")), progress=False)
    address, worker_pids = cluster
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    remote = run_study(
        parse_config(_doc(table, tmp_path / "remote")), executor="dask", scheduler=address, progress=False
    )
    df = ResultStore(remote.store_dir).read()
    assert remote.stats.ran == len(df) == 3 * 2 * 2 and (df["status"] == "ok").all()
    assert set(df["pid"]) <= worker_pids  # every cell ran in one of the two worker processes
    pd.testing.assert_frame_equal(_results(remote.store_dir), _results(local.store_dir))
