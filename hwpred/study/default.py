"""The embedded default study (``hwpred study default``): real data, no download, no measuring.

It runs on the HELP latency tables shipped inside the package (:mod:`hwpred.data.shipped`), so it
needs neither the data mirror nor the network, and finishes in about a minute on two cores. The
devices are chosen to be of different kinds, because which family wins depends on the device:

- ``help:pixel3``: a phone (the only HELP phone table not rounded to whole milliseconds);
- ``help:raspi4``: an embedded ARM board;
- ``help:gold_6226``: a desktop/server CPU (Intel Xeon Gold 6226);
- ``help:titan_rtx_256``: a desktop GPU at batch 256 (NVIDIA Titan RTX);
- ``help:fpga``: an accelerator (Xilinx ZC706 FPGA, simulated).

The families are the fast ones (each fit well under a second at 1,000 architectures), the
lookup-table reference and the reference-device transfer family ``transfer_ridge``, whose sources
are the other shipped HELP tables minus every table of the target's hardware (the ``help-all``
group); sizes go from 10 to 1,000 measurements, three seeds, 1,000 held-out architectures per
test set.

``hwpred study default --measure-here`` instead measures a small latency table on this CPU with
the harness (once; later runs reuse it) and studies that: two passes of the same protocol, so
that :func:`table_noise` can say how repeatable the table is (the test-retest Kendall tau of the
two passes: each predictor is scored against one noisy pass, so its tau is read against that). Measuring takes several minutes (300 cells
plus the lookup table's 25, batch 1, one thread, 10 timed forwards each, twice); the table is
stored under ``$HWPRED_HOME/study/`` and registered as ``local:study-default-cpu``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..errors import HwpredError

log = logging.getLogger(__name__)

#: the predictor families of the default study: each fits well under a second at 1,000 archs
FAST_FAMILIES = ["lin_reg", "ridge_reg", "bayes_lin_reg", "svmr", "rf", "xgb", "lgb", "lut"]

#: the study on the shipped real tables
SHIPPED_STUDY: dict[str, Any] = {
    "name": "default",
    "description": "Default study on five shipped HELP latency tables of different kinds of device: "
    "a phone (Pixel 3), an embedded board (Raspberry Pi 4), a server CPU (Xeon Gold 6226), "
    "a GPU (Titan RTX, batch 256) and an FPGA",
    "datasets": ["help:pixel3", "help:raspi4", "help:gold_6226", "help:titan_rtx_256", "help:fpga"],
    "predictors": [*FAST_FAMILIES, {"name": "transfer_ridge", "params": {"sources": "help-all"}}],
    "train_sizes": [10, 25, 50, 100, 250, 1000],
    "test_size": 1000,
    "seeds": [0, 1, 2],
    "tuning": {"n_trials": 0},
}

#: how many architectures the harness measures for the ``--measure-here`` table
LOCAL_TABLE_SIZE = 300
LOCAL_TABLE_NAME = "study-default-cpu"
#: the file's stem: a two-pass protocol, so not the one-pass table earlier versions measured
LOCAL_TABLE_FILE = "study-default-cpu-2pass"


def default_config_dict(output: str | os.PathLike, measure_here: bool = False) -> dict[str, Any]:
    """The default study's config: on the shipped tables, or (``measure_here``) on a table
    measured on this CPU first."""
    if not measure_here:
        return {**SHIPPED_STUDY, "output": str(output)}
    dataset = _local_cpu_dataset()
    return {
        "name": "default-cpu",
        "description": f"Default study on {LOCAL_TABLE_SIZE} NAS-Bench-201 cells measured on this CPU",
        "datasets": [dataset],
        "predictors": list(FAST_FAMILIES),
        "train_sizes": [25, 55, 100, 175],
        "test_size": 100,
        "seeds": [0, 1, 2],
        "tuning": {"n_trials": 0},
        "output": str(output),
    }


def table_noise(name: str) -> dict:
    """How repeatable a two-pass measured table is: Kendall tau, Spearman rho and median relative
    difference between its two passes (:func:`hwpred.measure.repeatability.pass_agreement`)."""
    from ..data.names import load_dataset
    from ..measure.repeatability import pass_agreement

    ds = load_dataset(name)
    return {"column": ds.column, **pass_agreement(ds.table, ds.column)}


def _local_cpu_dataset() -> str:
    """Measure (once, resumable) a CPU latency table with the harness; the study's dataset name for it.

    The table holds LOCAL_TABLE_SIZE random NAS-Bench-201 cells plus the lookup table's reference
    architectures, at batch 1 on one thread, in two passes; an interrupted measurement resumes
    where it stopped.
    """
    try:
        from ..measure import MeasureConfig, RepeatPolicy, measure_space
    except ImportError:
        raise HwpredError(
            "--measure-here: this build has no measurement harness (hwpred.measure) to measure a table "
            "on this CPU. Run `hwpred study default` without it (the shipped tables), or a study on "
            'your own table with `hwpred study run CONFIG` and datasets: ["file:<table.parquet>#<column>"]'
        ) from None
    import numpy as np

    from ..data.locations import hwpred_home
    from ..predictors.lut import LookupTablePredictor
    from ..spaces import NB201

    out = hwpred_home() / "study" / f"{LOCAL_TABLE_FILE}.parquet"
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
        two_pass=True,
    )
    log.info(
        "measuring %d NAS-Bench-201 cells on this CPU, two passes, into %s "
        "(once; an interrupted run resumes)",
        len(archs),
        out,
    )
    res = measure_space(cfg, archs=archs, out=out, resume=True)
    if not res.complete:
        raise HwpredError(
            f"the CPU table {out} is incomplete ({len(res.table)} of {len(archs)} cells); "
            "run `hwpred study default --measure-here` again to finish measuring it"
        )
    column = next(c for c in res.table.columns if c.endswith("/latency_ms"))
    from ..data.names import register_local

    # a registered name, not file:<path>: reports name the dataset, not a (possibly temporary) path
    return register_local(
        LOCAL_TABLE_NAME, out, column=column, description="CPU latency table of the default study"
    )
