"""BOHAMIANN: a Bayesian neural network sampled with stochastic-gradient Hamiltonian Monte Carlo.

Model: a tanh MLP ``f(x; w)`` with a Gaussian likelihood ``y ~ N(f(x), exp(s))`` on the z-scored
target, priors ``w ~ N(0, 1/(prior_precision * fan_in))`` and ``s ~ N(log 0.1, 1)``. The posterior over
``(w, s)`` is sampled with :func:`sghmc` (below, written for this project): SGHMC in the
"velocity" form with friction ``mdecay`` and a diagonal mass matrix adapted during burn-in
(the running root-mean-square of the gradient, as in scale-adapted SGHMC), frozen afterwards so
the sampler targets the posterior. After ``burn_in`` steps every ``keep_every``-th position is
kept; the prediction is the mean of the kept networks' outputs, :meth:`predict_std` the
predictive standard deviation (spread of the networks plus the sampled noise).

Default budget: 2 x 50 tanh units, 1,500 burn-in + 3,000 sampling steps on mini-batches of 32,
every 150th kept (20 networks, which keeps a 625-architecture query under 50 ms). The step
count does not grow with the data set, so fitting costs a few seconds whatever its size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from . import _torchutil as tu
from .base import Predictor, PredictorError
from .mlp import BatchedMLP, batched_mlp_forward

LOG_NOISE_PRIOR_MEAN = math.log(0.1)


def sghmc(
    params: list[torch.Tensor],
    potential: Callable[[], torch.Tensor],
    *,
    steps: int,
    burn_in: int,
    keep_every: int,
    lr: float = 1e-2,
    mdecay: float = 0.05,
    adapt_rate: float = 0.01,
    progress: Callable[[int], None] | None = None,
) -> list[list[torch.Tensor]]:
    """Sample ``params`` (leaf tensors, updated in place) from ``exp(-U)`` by SGHMC.

    ``potential()`` returns an unbiased estimate of ``U`` (the negative log posterior of the whole
    data set, e.g. ``N / batch`` times a mini-batch's negative log-likelihood minus the log prior).
    With step size ``lr`` (epsilon), friction ``mdecay`` (alpha) and inverse mass ``m`` per entry:

        v <- v - lr**2 * m * grad U - mdecay * v + Normal(0, 2 * mdecay * lr**2 * m)
        theta <- theta + v

    which is Chen et al.'s SGHMC with ``eta = lr**2 * m`` and the gradient-noise estimate set to 0.
    During the first ``burn_in`` steps ``m = 1 / sqrt(E[grad**2])`` (running mean with rate
    ``adapt_rate``), so every weight moves on the same scale; it is frozen afterwards. Noise comes
    from torch's global RNG: seed it (see ``_torchutil.seeded``) for reproducible chains.
    Returns the kept samples (clones of ``params`` every ``keep_every`` steps after burn-in).
    """
    if steps <= burn_in:
        raise PredictorError(f"SGHMC needs more steps ({steps}) than burn-in steps ({burn_in})")
    if keep_every < 1:
        raise PredictorError(f"keep_every must be >= 1, got {keep_every}")
    vel = [torch.zeros_like(p) for p in params]
    sq = [torch.zeros_like(p) for p in params]
    inv_mass = [torch.ones_like(p) for p in params]
    eps2 = float(lr) ** 2
    kept: list[list[torch.Tensor]] = []
    for t in range(int(steps)):
        for p in params:
            p.requires_grad_(True)
        u = potential()
        if not torch.isfinite(u):
            raise PredictorError(f"SGHMC diverged at step {t} (potential {float(u)}); lower lr (now {lr})")
        grads = torch.autograd.grad(u, params)
        with torch.no_grad():
            for i, (p, g) in enumerate(zip(params, grads)):
                if t < burn_in:
                    # bias-corrected running mean of g**2 -> mass adapted to the gradient scale
                    sq[i].mul_(1.0 - adapt_rate).add_(adapt_rate * g * g)
                    corr = 1.0 - (1.0 - adapt_rate) ** (t + 1)
                    inv_mass[i] = 1.0 / torch.sqrt(sq[i] / corr + 1e-16)
                m = inv_mass[i]
                noise = torch.randn_like(p) * torch.sqrt(2.0 * mdecay * eps2 * m)
                vel[i].mul_(1.0 - mdecay).sub_(eps2 * m * g).add_(noise)
                p.add_(vel[i])
        if t >= burn_in and (t - burn_in + 1) % keep_every == 0:
            kept.append([p.detach().clone() for p in params])
        if progress is not None:
            progress(t)
    for p in params:
        p.requires_grad_(False)
    return kept


class BohamiannPredictor(Predictor):
    name = "bohamiann"
    family = "BOHAMIANN"
    default_encoding = "onehot"
    differentiable: ClassVar[bool] = True
    min_samples: ClassVar[int] = 3

    def __init__(
        self,
        num_layers: int = 2,
        layer_width: int = 50,
        lr: float = 1e-2,
        mdecay: float = 0.05,
        burn_in: int = 1500,
        num_steps: int = 4500,
        keep_every: int = 150,
        batch_size: int = 32,
        prior_precision: float = 1.0,
        device: str = "cpu",
        space: str = "nb201",
        random_state: int | None = 0,
    ):
        self.num_layers = num_layers
        self.layer_width = layer_width
        self.lr = lr
        self.mdecay = mdecay
        self.burn_in = burn_in
        self.num_steps = num_steps
        self.keep_every = keep_every
        self.batch_size = batch_size
        self.prior_precision = prior_precision
        self.device = device
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict:
        return {
            "num_layers": trial.suggest_int("num_layers", 1, 4),
            "layer_width": trial.suggest_int("layer_width", 16, 128, log=True),
            "lr": trial.suggest_float("lr", 1e-3, 5e-2, log=True),
            "mdecay": trial.suggest_float("mdecay", 0.01, 0.2, log=True),
        }

    def _net(self, n_samples: int) -> BatchedMLP:
        return BatchedMLP(n_samples, self.in_dim_, self.num_layers, self.layer_width, "tanh")

    def _fit(self, X, z, archs) -> None:
        dev = tu.resolve_device(self.device)
        Xt, zt = tu.to_tensor(X, dev), tu.to_tensor(z, dev)
        n, self.in_dim_ = int(Xt.shape[0]), int(Xt.shape[1])
        bs = max(1, min(int(self.batch_size), n))
        with tu.seeded(self.random_state, dev) as gen:
            init = self._net(1).to(dev)
            # one flat leaf vector (weights, biases, log noise variance): the sampler's update is a
            # handful of vector ops per step instead of a loop over layers
            shapes = [tuple(w.shape) for w in init.weights] + [tuple(b.shape) for b in init.biases]
            sizes = [math.prod(sh) for sh in shapes]
            theta = torch.cat(
                [t.detach().reshape(-1) for t in [*init.weights, *init.biases]]
                + [torch.tensor([LOG_NOISE_PRIOR_MEAN], device=dev)]
            )
            # per-entry prior precision: N(0, 1 / (prior_precision * fan_in)) keeps the prior's
            # functions on the target's scale whatever the width
            fans = [float(w.shape[1]) for w in init.weights] * 2  # a bias shares its layer's fan-in
            fan_in = torch.cat([torch.full((sz,), f, device=dev) for f, sz in zip(fans, sizes)])
            prior_prec = self.prior_precision * fan_in
            n_layers, act = len(init.weights), torch.tanh
            order: list[torch.Tensor] = []

            def potential() -> torch.Tensor:
                if not order:
                    order.extend(reversed(torch.randperm(n, generator=gen).to(dev).split(bs)))
                idx = order.pop()
                parts = [v.view(sh) for v, sh in zip(theta[:-1].split(sizes), shapes)]
                f = batched_mlp_forward(Xt[idx], parts[:n_layers], parts[n_layers:], act)[0]
                log_var = theta[-1]
                nll = 0.5 * ((f - zt[idx]) ** 2 / log_var.exp() + log_var).sum() * (n / len(idx))
                prior = (
                    0.5 * (prior_prec * theta[:-1] ** 2).sum() + 0.5 * (log_var - LOG_NOISE_PRIOR_MEAN) ** 2
                )
                return nll + prior

            kept = sghmc(
                [theta],
                potential,
                steps=self.num_steps,
                burn_in=self.burn_in,
                keep_every=self.keep_every,
                lr=self.lr,
                mdecay=self.mdecay,
            )
        if not kept:
            raise PredictorError(f"{self.name}: no SGHMC sample kept; raise num_steps or lower keep_every")
        samples = torch.stack([k[0] for k in kept])  # (S, dim)
        self.model_ = self._net(len(kept)).to(dev)
        with torch.no_grad():
            cols = samples[:, :-1].split(sizes, dim=1)
            for j in range(n_layers):
                self.model_.weights[j].copy_(cols[j].reshape(len(kept), *shapes[j][1:]))
                self.model_.biases[j].copy_(cols[n_layers + j].reshape(len(kept), *shapes[n_layers + j][1:]))
        self.model_.requires_grad_(False)
        self.log_noise_ = samples[:, -1].clone()
        self.n_samples_ = len(kept)

    def torch_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mean over the kept networks (standardised unit)."""
        self._check_fitted()
        w = self.model_.weights[0]
        return self.model_(x.to(device=w.device, dtype=w.dtype)).mean(0)

    def _predict(self, X, archs) -> np.ndarray:
        with torch.no_grad():
            return tu.to_numpy(self.torch_forward(tu.to_tensor(X)))

    def predict_std(self, archs) -> np.ndarray:
        """Predictive standard deviation (network spread + sampled noise), in the target's unit."""
        self._check_fitted()
        w = self.model_.weights[0]
        x = tu.to_tensor(self._encode(self._archs(archs)), w.device)
        with torch.no_grad():
            f = self.model_(x)
            var = f.var(0, unbiased=False) + self.log_noise_.exp().mean()
        return tu.to_numpy(var.sqrt()) * self.y_std_

    def _state(self, folder: Path) -> dict:
        tu.save_state({"net": self.model_.state_dict(), "log_noise": self.log_noise_}, folder / "samples.pt")
        return {"in_dim": self.in_dim_, "n_samples": self.n_samples_}

    def _load_state(self, folder: Path, state: dict) -> None:
        dev = tu.resolve_device(self.device)
        self.in_dim_, self.n_samples_ = int(state["in_dim"]), int(state["n_samples"])
        saved = tu.load_state(folder / "samples.pt", dev)
        self.model_ = self._net(self.n_samples_).to(dev)
        self.model_.load_state_dict(saved["net"])
        self.model_.requires_grad_(False)
        self.log_noise_ = saved["log_noise"]
