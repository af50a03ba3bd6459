"""BANANAS: an ensemble of three MLPs on the path encoding; prediction = the ensemble mean.

Each member is initialised from a different draw of the same seeded RNG and sees its own
mini-batch order, so the members disagree where data is scarce (the spread is exposed by
:meth:`BananasPredictor.predict_std`). Default budget: 100 epochs of mini-batches of 32 per member.
"""
from __future__ import annotations

import numpy as np
import torch

from . import _torchutil as tu
from .mlp import MLPEnsembleBase


class BananasPredictor(MLPEnsembleBase):
    name = "bananas"
    family = "BANANAS"
    default_encoding = "path"
    n_models = 3
    weights_file = "ensemble.pt"

    def __init__(self, num_layers: int = 20, layer_width: int = 20, lr: float = 1e-3, epochs: int = 100,
                 batch_size: int = 32, device: str = "cpu", space: str = "nb201", random_state: int | None = 0):
        self.num_layers = num_layers
        self.layer_width = layer_width
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict:
        return {"num_layers": trial.suggest_int("num_layers", 5, 25),
                "layer_width": trial.suggest_int("layer_width", 5, 25),
                "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True)}

    def predict_std(self, archs) -> np.ndarray:
        """Standard deviation of the three members' predictions, in the target's unit."""
        self._check_fitted()
        x = tu.to_tensor(self._encode(self._archs(archs)), self.model_.weights[0].device)
        with torch.no_grad():
            preds = self.model_(x)
        return tu.to_numpy(preds.std(0, unbiased=False)) * self.y_std_
