"""A fitted predictor as a differentiable term of a gradient-based (DARTS-style) search."""

from __future__ import annotations

import torch
from torch import nn

from ..encoders.relaxed import relax
from ..predictors.base import NotDifferentiableError, Predictor
from ..spaces import get_space


class DifferentiableMetric(nn.Module):
    """Maps op weights (positions x ops, rows summing to one) to the predicted metric, in its unit.

    The predictor is frozen: gradients flow to the op weights only. On one-hot weights the value
    equals ``predictor.predict`` of the corresponding architecture.
    """

    def __init__(self, predictor: Predictor):
        super().__init__()
        predictor._check_fitted()
        if not predictor.differentiable:
            raise NotDifferentiableError(
                f"{predictor.name} ({predictor.family}) cannot be a differentiable term; choose one of the "
                "differentiable families (linear, ridge, Bayesian linear, GP, sparse GP, MLPs, BOHAMIANN, "
                "BANANAS, GCN, BONAS, NAO, lookup table)"
            )
        self.predictor = predictor
        self.space = get_space(predictor.space)
        self.encoding = predictor.torch_encoding or predictor.encoding

    def forward(self, weights: torch.Tensor) -> torch.Tensor:
        single = weights.dim() == 2
        w = weights.unsqueeze(0) if single else weights
        if w.shape[-2:] != (self.space.num_positions, self.space.num_ops):
            raise ValueError(
                f"op weights must have shape (..., {self.space.num_positions}, {self.space.num_ops}), "
                f"got {tuple(weights.shape)}"
            )
        z = self.predictor.torch_forward(relax(w.to(torch.float32), self.space, self.encoding)).reshape(-1)
        out = z * self.predictor.y_std_ + self.predictor.y_mean_
        return out[0] if single else out
