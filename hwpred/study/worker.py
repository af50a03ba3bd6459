"""The study's unit of work: fit and score one cell, in whichever process runs it.

Workers only compute: :func:`run_cell` returns the cell's record and the driver stores it. Each
worker uses one BLAS/OpenMP/torch thread (:func:`limit_threads`, run once per worker process), so
that workers are the parallelism and the numbers do not depend on the executor.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from .cells import Cell, reference_archs, split, study_dataset

_THREADS_LIMITED = False
_LIMITER = None
_VERSIONS: str | None = None


def limit_threads() -> None:
    """One BLAS/OpenMP/torch thread per worker: workers are the parallelism, and it keeps numbers
    identical between executors (thread count can change floating-point reduction order)."""
    global _THREADS_LIMITED, _LIMITER
    if _THREADS_LIMITED:
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits

        _LIMITER = threadpool_limits(limits=1)
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        pass
    _THREADS_LIMITED = True
    # import what every cell needs now, so that one-off import time is not charged to the first cell
    from .. import metrics  # noqa: F401  (scipy.stats)
    from ..predictors import registry  # noqa: F401


def _limit_torch() -> None:
    if "torch" in sys.modules:
        import torch

        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)


def library_versions() -> str:
    global _VERSIONS
    if _VERSIONS is None:
        from importlib import metadata

        out = {"python": sys.version.split()[0]}
        for pkg in (
            "hwpred",
            "numpy",
            "scipy",
            "scikit-learn",
            "torch",
            "xgboost",
            "lightgbm",
            "ngboost",
            "gpytorch",
            "torch-geometric",
            "optuna",
        ):
            try:
                out[pkg] = metadata.version(pkg)
            except metadata.PackageNotFoundError:
                out[pkg] = None
        _VERSIONS = json.dumps(out, sort_keys=True)
    return _VERSIONS


def _seed_everything(seed: int) -> None:
    np.random.seed(seed % (2**32))
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)


def predictor_params(
    name: str, params: Mapping[str, Any], seed: int, space: str, target: str | None = None
) -> dict[str, Any]:
    """The config's fixed parameters plus the study's seed, search space and one thread where taken."""
    from ..predictors.registry import get_class

    names = set(get_class(name).param_names())
    full = dict(params)
    if "random_state" in names and "random_state" not in full:
        full["random_state"] = seed
    if "space" in names and "space" not in full:
        full["space"] = space
    if "sources" in names and "target" not in full:  # a transfer family: its group leaves the target out
        full["target"] = target
    for threads in ("n_jobs", "nthread", "num_threads"):
        if threads in names and threads not in full:
            full[threads] = 1
    return full


def fit_cell_predictor(cell: Cell, archs: np.ndarray, y: np.ndarray, space: str):
    """Fit with the config's fixed parameters, after an Optuna search when the budget allows.

    Returns (fitted predictor, fit seconds, tuning seconds, trials run). Reference families are
    never tuned: they are fitted on the architectures they require, not on a sample.
    """
    from ..predictors import create

    t = cell.tuning
    fixed = predictor_params(cell.predictor, cell.params, cell.seed, space, cell.dataset)
    _seed_everything(cell.seed)
    if t.n_trials > 0 and not cell.reference:
        from .. import tuning

        res = tuning.tune(
            cell.predictor,
            archs,
            y,
            n_trials=t.n_trials,
            timeout=t.timeout,
            sampler=t.sampler,
            cv=t.n_folds,
            seed=cell.seed,
            fixed_params=fixed,
            storage=t.storage,
            study_name=f"{t.study_name or cell.study}/{cell.cell_id}" if t.storage else None,
        )
        _limit_torch()
        return res.predictor, float(res.fit_seconds), float(res.tuning_seconds), int(res.n_trials)
    pred = create(cell.predictor, **fixed)
    _limit_torch()
    _seed_everything(cell.seed)
    t0 = time.perf_counter()
    pred.fit(archs, y)
    return pred, time.perf_counter() - t0, 0.0, 0


def _plain_json(obj: Any) -> Any:
    """numpy values in hyper-parameters as plain JSON (arrays as lists, scalars as numbers)."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def cell_record(cell: Cell, status: str = "ok", error: str = "") -> dict[str, Any]:
    """The fields of a cell's record that come from the cell itself, plus its status."""
    return {
        "cell_id": cell.cell_id,
        "study": cell.study,
        "config_hash": cell.config_hash,
        "dataset": cell.dataset,
        "predictor": cell.predictor,
        "reference": cell.reference,
        "train_size": cell.train_size,
        "seed": cell.seed,
        "status": status,
        "error": error,
    }


def unmeasured_spearman(pred, ds, train_rows: np.ndarray) -> float:
    """Spearman over every architecture of the dataset outside the training rows: the measure of
    the few-shot transfer literature, beside the test-set scores every cell gets."""
    from ..metrics import spearman

    rest = np.ones(len(ds), dtype=bool)
    rest[train_rows] = False
    y_hat = np.asarray(pred.predict(ds.table.archs[rest]), dtype=np.float64)
    return float(spearman(ds.table.column(ds.column)[rest], y_hat))


def run_cell(cell: Cell) -> dict[str, Any]:
    """Fit and score one cell; never raises for a predictor failure (the record says 'failed')."""
    from ..metrics import all_metrics

    limit_threads()
    t_start = time.perf_counter()
    rec = cell_record(cell)
    rec.update(n_trials=0, versions=library_versions(), host=socket.gethostname(), pid=os.getpid())
    rec.update(family="", space="", n_test=0)
    try:
        ds = study_dataset(cell.dataset)
        rec["space"] = ds.space
        # the cached table's own arrays (no copy per cell): only fancy-indexed subsets leave here
        archs, y = ds.table.archs, ds.table.column(ds.column)
        test_idx, pool = split(len(ds), cell.test_size, cell.seed)
        if cell.reference:
            tr_archs = reference_archs(cell.predictor, ds.space)
            tr_y = ds.lookup(tr_archs)
            tr = ds.table.rows_of(tr_archs)
            test_idx = test_idx[~np.isin(test_idx, tr)]
        else:
            tr = pool[: cell.train_size]
            tr_archs, tr_y = archs[tr], y[tr]
        te_archs, te_y = archs[test_idx], y[test_idx]
        rec["n_test"] = len(test_idx)

        pred, fit_time, tune_time, n_trials = fit_cell_predictor(cell, tr_archs, tr_y, ds.space)
        rec["family"] = getattr(pred, "family", "") or ""
        t0 = time.perf_counter()
        y_hat = np.asarray(pred.predict(te_archs), dtype=np.float64)
        query = time.perf_counter() - t0
        m = all_metrics(te_y, y_hat)
        if np.all(np.isfinite(y_hat)) and np.ptp(y_hat) == 0:
            # a constant prediction ranks nothing: score it 0, not NaN (NaN would drop out of the means)
            m.update(kendall_tau=0.0, spearman=0.0, pearson=0.0, monotonicity=0.0)
            rec["error"] = "constant predictions (rank metrics set to 0)"
        sd = float(np.std(te_y))
        dev = (y_hat - te_y) / sd if sd > 0 else np.full_like(te_y, np.nan)
        rec.update(m)
        if cell.score_unmeasured:
            rec["spearman_unmeasured"] = unmeasured_spearman(pred, ds, tr)
        rec.update(
            dev_std=float(np.std(dev)),
            fit_time_s=fit_time,
            tuning_time_s=tune_time,
            query_time_s=query,
            n_trials=n_trials,
            best_params=json.dumps(pred.get_params(), sort_keys=True, default=_plain_json),
        )
        if not np.all(np.isfinite(y_hat)):
            rec.update(status="failed", error=f"{int((~np.isfinite(y_hat)).sum())} non-finite predictions")
    except Exception as exc:  # one bad cell must not end a 100k-cell study; it is recorded and reported
        msg = str(exc).splitlines()[0][:500] if str(exc) else ""
        rec.update(status="failed", error=f"{type(exc).__name__}: {msg}")
    rec["cell_time_s"] = time.perf_counter() - t_start
    rec["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return rec
