"""BANANAS: an ensemble of three MLPs on the path encoding; prediction = the ensemble mean.

Each member is initialised from a different draw of the same seeded RNG and sees its own
mini-batch order, so the members disagree where data is scarce (the spread is exposed by
:meth:`BananasPredictor.predict_std`). Default budget: 100 epochs of mini-batches of 32 per member.
"""

from __future__ import annotations

import numpy as np
import torch

from . import _torchutil as tu
from .mlp import MLPLargePredictor


class BananasPredictor(MLPLargePredictor):
    """BANANAS: the large MLP's hyper-parameters and search space, as an ensemble of three
    networks on the path encoding (mean prediction)."""

    name = "bananas"
    family = "BANANAS"
    default_encoding = "path"
    n_models = 3
    weights_file = "ensemble.pt"

    def predict_std(self, archs) -> np.ndarray:
        """Standard deviation of the three members' predictions, in the target's unit."""
        self._check_fitted()
        x = tu.to_tensor(self._encode(self._archs(archs)), self.model_.weights[0].device)
        with torch.no_grad():
            preds = self.model_(x)
        return tu.to_numpy(preds.std(0, unbiased=False)) * self.y_std_
