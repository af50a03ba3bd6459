"""The embedded default study (``hwpred study default``): runs with no download.

Which data it uses, in order:

1. the real tables of the data mirror when ``HWPRED_DATA_MIRROR`` is set (three HELP devices);
2. otherwise a small latency table that the measurement harness measures on this CPU (once;
   later runs reuse it);
3. otherwise (no mirror, no harness in this build) a clear error saying how to get data.

Measuring the fallback table takes a few minutes on a laptop CPU (300 cells plus the lookup
table's 25, batch 1, one thread, 10 timed forwards each); it is stored under
``$HWPRED_HOME/study/`` and reused.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..errors import HwpredError

log = logging.getLogger(__name__)

#: the study on the mirror's real tables
MIRROR_STUDY: dict[str, Any] = {
    "name": "default",
    "description": "Default study on three real HELP latency tables (Raspberry Pi 4, Pixel 3, Xeon Gold 6226)",
    "datasets": ["help:raspi4", "help:pixel3", "help:gold_6226"],
    "predictors": ["lin_reg", "ridge_reg", "bayes_lin_reg", "rf", "xgb", "lgb", "svmr", "minimlp", "lut"],
    "train_sizes": [25, 55, 124, 276, 614],
    "test_size": 625,
    "seeds": [0, 1, 2],
    "tuning": {"n_trials": 0},
}

#: how many architectures the harness measures for the fallback table
LOCAL_TABLE_SIZE = 300
LOCAL_TABLE_NAME = "study-default-cpu"


def default_config_dict(output: str | os.PathLike) -> dict[str, Any]:
    mirror = os.environ.get("HWPRED_DATA_MIRROR")
    if mirror and Path(mirror).is_dir():
        return {**MIRROR_STUDY, "output": str(output)}
    dataset = _local_cpu_dataset()
    return {
        "name": "default-cpu",
        "description": f"Default study on {LOCAL_TABLE_SIZE} NAS-Bench-201 cells measured on this CPU",
        "datasets": [dataset],
        "predictors": ["lin_reg", "ridge_reg", "bayes_lin_reg", "rf", "xgb", "lgb", "svmr", "lut"],
        "train_sizes": [25, 55, 100, 175],
        "test_size": 100,
        "seeds": [0, 1, 2],
        "tuning": {"n_trials": 0},
        "output": str(output),
    }


def _local_cpu_dataset() -> str:
    """Measure (once, resumable) a CPU latency table with the harness; the study's dataset name for it.

    The table holds LOCAL_TABLE_SIZE random NAS-Bench-201 cells plus the lookup table's reference
    architectures, at batch 1 on one thread; an interrupted measurement resumes where it stopped.
    """
    try:
        from ..measure import MeasureConfig, RepeatPolicy, measure_space
    except ImportError:
        raise HwpredError(
            "no data for the default study: HWPRED_DATA_MIRROR is not set and this build has no measurement "
            "harness (hwpred.measure) to measure a table on this CPU. Either point HWPRED_DATA_MIRROR at the "
            "data mirror folder, or run a study on your own table with `hwpred study run CONFIG` and "
            'datasets: ["file:<table.parquet>#<column>"]'
        ) from None
    import numpy as np

    from ..data.locations import hwpred_home
    from ..predictors.lut import LookupTablePredictor
    from ..spaces import NB201

    out = hwpred_home() / "study" / f"{LOCAL_TABLE_NAME}.parquet"
    archs = list(LookupTablePredictor.required_archs("nb201"))
    seen = set(archs)
    for a in NB201.random(LOCAL_TABLE_SIZE + len(archs), np.random.default_rng(0)):
        if a not in seen and len(archs) < LOCAL_TABLE_SIZE + 25:
            archs.append(a)
            seen.add(a)
    cfg = MeasureConfig(
        space="nb201",
        device="cpu",
        batch_size=1,
        threads=1,
        policy=RepeatPolicy(repeats=10, warmup=2),
        energy=False,
    )
    log.info(
        "no data mirror (HWPRED_DATA_MIRROR unset): measuring %d NAS-Bench-201 cells on this CPU "
        "into %s (once; an interrupted run resumes)",
        len(archs),
        out,
    )
    res = measure_space(cfg, archs=archs, out=out, resume=True)
    if not res.complete:
        raise HwpredError(
            f"the CPU table {out} is incomplete ({len(res.table)} of {len(archs)} cells); "
            "run `hwpred study default` again to finish measuring it"
        )
    column = next(c for c in res.table.columns if c.endswith("/latency_ms"))
    from ..data.names import register_local

    # a registered name, not file:<path>: reports name the dataset, not a (possibly temporary) path
    return register_local(
        LOCAL_TABLE_NAME, out, column=column, description="CPU latency table of the default study"
    )
