"""A DARTS-style demonstration: architecture weights descended against a fixed accuracy
surrogate plus a latency penalty from a fitted (differentiable) latency predictor.

As the penalty weight grows, the relaxed predicted latency falls, and so should the *measured*
latency of the discretised (argmax) architecture: that is what makes a predictor useful as a
differentiable term, and what :func:`latency_penalised_descent` records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..predictors.base import Predictor
from ..spaces import get_space
from .differentiable import DifferentiableMetric


@dataclass
class DescentConfig:
    warmup_steps: int = 75  # accuracy only: the search first heads for large, accurate cells
    steps: int = 225  # then the latency penalty ramps up
    lr: float = 0.05
    penalty_max: float = 4.0  # final weight of the (standardised) latency term
    record_every: int = 25
    seed: int = 0


def latency_penalised_descent(
    latency: Predictor,
    accuracy: Predictor,
    measure: Callable[[tuple[int, ...]], float] | None = None,
    config: DescentConfig | None = None,
) -> pd.DataFrame:
    """Minimise ``-acc(w) + lambda_t * lat(w) / lat_scale`` over op weights ``w = softmax(alpha)``.

    ``alpha`` starts near zero (all ops equally likely); for ``warmup_steps`` only accuracy counts,
    then ``lambda_t`` ramps linearly from 0 to ``penalty_max``. ``measure(arch)`` gives the measured latency of a discrete architecture (a
    table lookup or the measurement harness); each recorded step stores the relaxed prediction,
    the argmax architecture, its predicted and its measured latency.
    """
    cfg = config or DescentConfig()
    space = get_space(latency.space)
    lat_term, acc_term = DifferentiableMetric(latency), DifferentiableMetric(accuracy)
    lat_scale = float(latency.y_std_)
    gen = torch.Generator().manual_seed(cfg.seed)
    alpha = (1e-3 * torch.randn(space.num_positions, space.num_ops, generator=gen)).requires_grad_(True)
    opt = torch.optim.Adam([alpha], lr=cfg.lr)
    rows = []
    total = cfg.warmup_steps + cfg.steps
    for step in range(total + 1):
        penalty = cfg.penalty_max * max(step - cfg.warmup_steps, 0) / max(cfg.steps, 1)
        w = torch.softmax(alpha, dim=-1)
        lat = lat_term(w)
        acc = acc_term(w)
        if step % cfg.record_every == 0 or step in (cfg.warmup_steps, total):
            arch = tuple(int(v) for v in alpha.detach().argmax(-1))
            if space.is_valid(arch):
                rows.append(
                    {
                        "step": step,
                        "penalty": penalty,
                        "relaxed_latency": float(lat.detach()),
                        "relaxed_accuracy": float(acc.detach()),
                        "arch": space.to_string(arch),
                        "predicted_latency": float(latency.predict([arch])[0]),
                        "measured_latency": float(measure(arch)) if measure else np.nan,
                    }
                )
        loss = -acc / float(accuracy.y_std_) + penalty * lat / lat_scale
        opt.zero_grad()
        loss.backward()
        opt.step()
    return pd.DataFrame(rows)
