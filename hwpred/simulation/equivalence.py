"""How many perfectly measured candidates are worth a predictor of Kendall tau X on all of them.

Both sides must be measured against one reference: the selection's hypervolume in the whole
space, bounded by the whole space's hypervolume reference. The grid's noisy selections on the
whole space already use it; the perfectly measured side is the true front of a random subset
of m candidates, whose own hypervolume in the grid uses the subset's reference, so it is
recomputed here with the whole space's (same subsets as the grid: same seeds). The answer, per
pair and noise level, is the m at which the subsets' mean hypervolume reaches the noisy
whole-space selection's, interpolated in log(m).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .grid import SimulationConfig
from .pairs import SimPair
from .unit import _subset, _true_front, unit_task

_LOW, _HIGH = 0.1, 0.9


def exact_subsets(pair: SimPair, cfg: SimulationConfig, trials: int) -> pd.DataFrame:
    """Mean hypervolume (whole-space reference) of the true front of ``trials`` random subsets
    per subset size of ``cfg`` (the whole space itself included), one row per size."""
    whole = _true_front(unit_task(pair, cfg, "all", 0, 1), pair.acc[None, :], pair.hw[None, :])
    ref = whole.ref_hw
    rows = [{"pair": pair.key, "subset_size": len(pair), "hv_exact": float(whole.hv_true[0]), "trials": 1}]
    from .selection import TrueFront

    for size in cfg.subset_sizes:
        if size == "all" or int(size) >= len(pair):
            continue
        task = unit_task(pair, cfg, size, 0, trials)
        idx = np.stack([_subset(task, t) for t in range(trials)])
        hv = TrueFront(pair.acc[idx], pair.hw[idx], ref_hw=np.broadcast_to(ref, (trials,))).hv_true
        rows.append(
            {"pair": pair.key, "subset_size": int(size), "hv_exact": float(hv.mean()), "trials": trials}
        )
    return pd.DataFrame(rows)


def equivalent_candidates(cells: pd.DataFrame, exact: pd.DataFrame) -> pd.DataFrame:
    """Per noise level: the median and 10th-90th percentile over pairs of the equivalent m."""
    per_pair = []
    whole = cells[cells["subset_all"] & (cells["selection_accuracy"].fillna("") == "")]
    for pair, e in exact.groupby("pair"):
        e = e.sort_values("subset_size")
        xs = np.log(e["subset_size"].to_numpy(float))
        ys = np.maximum.accumulate(e["hv_exact"].to_numpy(float))
        for r in whole[whole["pair"] == pair].itertuples(index=False):
            hv = float(r.hv_mean)
            per_pair.append(
                {
                    "pair": pair,
                    "noise_std": r.noise_std,
                    "kendall_tau": r.kendall_tau_mean,
                    "equivalent_candidates": float(np.exp(np.interp(hv, ys, xs))),
                    "below_smallest_size": bool(hv < ys[0]),
                    "n_all": int(e["subset_size"].max()),
                }
            )
    p = pd.DataFrame(per_pair)
    if p.empty:
        return p
    g = p.groupby("noise_std")
    return pd.DataFrame(
        {
            "kendall_tau": g["kendall_tau"].mean(),
            "candidates_median": g["equivalent_candidates"].median(),
            "candidates_p10": g["equivalent_candidates"].quantile(_LOW),
            "candidates_p90": g["equivalent_candidates"].quantile(_HIGH),
            "pairs_below_smallest_size": g["below_smallest_size"].sum().astype(int),
            "pairs": g.size(),
            "n_all": g["n_all"].median(),
        }
    ).reset_index()
