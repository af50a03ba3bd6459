"""Live verification: measure (or look up) the selected candidates, keep their true Pareto subset,
and score the selection before and after against the true front when the table covers the space."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data import Dataset
from ..simulation import TrueFront, hypervolume, pareto_mask, reference_metric
from ..spaces import get_space
from .objectives import NASError


@dataclass
class Verification:
    archs: np.ndarray  # the selected candidates
    predicted_hw: np.ndarray
    true_acc: np.ndarray
    true_hw: np.ndarray
    verified: np.ndarray  # bool mask: true Pareto subset of the selection
    summary: dict = field(default_factory=dict)

    def frame(self, space) -> pd.DataFrame:
        sp = get_space(space)
        return pd.DataFrame(
            {
                "arch": [sp.to_string(a) for a in self.archs],
                "predicted_hw": self.predicted_hw,
                "true_acc": self.true_acc,
                "true_hw": self.true_hw,
                "verified": self.verified,
            }
        )


def verify_selection(
    archs: np.ndarray,
    predicted_hw: np.ndarray,
    accuracy: Dataset,
    hardware: Dataset | None = None,
    measure: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Verification:
    """True values of the selection, from ``hardware`` (a measured dataset) or from
    ``measure(archs)`` (the measurement harness, run now). Accuracy is ground truth from the
    ``accuracy`` dataset.

    When the joined tables cover every architecture of the space, the selection is placed
    against the true front: MRA before verification (all selected, ``mra_all``) and after
    (true Pareto subset, ``mra_pareto``) in percentage points of accuracy, and hypervolume as a
    fraction of the true front's (MRA in the accuracy column's unit: percentage points for a
    percent column): ``hv_claimed`` with the predicted metric (what the search
    believed), ``hv_verified`` with the measured one.
    """
    archs = np.asarray(archs, dtype=np.int64)
    if len(archs) == 0:
        raise NASError(
            "nothing to verify: the search selected no architecture (were the constraints impossible?)"
        )
    if (hardware is None) == (measure is None):
        raise NASError("verify against exactly one source: a measured table or the measurement harness")
    true_acc = accuracy.lookup(archs)
    true_hw = hardware.lookup(archs) if hardware is not None else np.asarray(measure(archs), float)
    verified = np.asarray(pareto_mask(true_acc, true_hw), dtype=bool)
    summary: dict = {"n_selected": int(len(archs)), "n_verified": int(verified.sum())}
    both = joined(accuracy, hardware) if hardware is not None else None
    if both is not None and len(both) == len(get_space(accuracy.space).enumerate()):
        all_acc, all_hw = both.column(accuracy.column), both.column(hardware.column)
        index = {a: i for i, a in enumerate(both.arch_tuples)}
        mask = np.zeros(len(both), dtype=bool)
        mask[[index[tuple(int(v) for v in a)] for a in archs]] = True
        front = TrueFront(all_acc, all_hw)
        m = front.evaluate(mask)
        ref = float(front.ref_hw[0])
        claimed = hypervolume(
            true_acc, np.asarray(predicted_hw, float), ref, mask=pareto_mask(true_acc, predicted_hw)
        )
        summary.update(
            {
                "mra_all": float(m.mra_all[0]),
                "mra_pareto": float(m.mra_pareto[0]),
                "hv_true_front": float(m.hv_true[0]),
                "hv_verified": float(m.hv[0]),
                "hv_fraction_verified": float(m.hv_fraction[0]),
                "hv_fraction_claimed": float(claimed / m.hv_true[0]) if m.hv_true[0] > 0 else float("nan"),
                "n_true_front": int(m.n_front[0]),
            }
        )
    else:
        ref = float(reference_metric(true_hw[verified].max()))
        summary.update(
            {
                "hv_verified": float(hypervolume(true_acc, true_hw, ref, mask=verified)),
                "note": "the true front is unknown (the table does not cover the space): no MRA",
            }
        )
    return Verification(archs, np.asarray(predicted_hw, float), true_acc, true_hw, verified, summary)


def joined(accuracy: Dataset, hardware: Dataset):
    """The two views' columns joined on the op tuple (a MetricTable of the architectures both hold)."""
    return accuracy.table.select([accuracy.column]).join(hardware.table.select([hardware.column]))
