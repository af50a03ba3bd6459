"""Gaussian-process regressors (gpytorch) on the adjacency one-hot encoding.

``gp``: an exact GP, constant mean, scaled RBF or Matern-5/2 kernel with one length-scale per
input dimension (ARD), hyper-parameters fitted by Adam on the exact marginal likelihood.
Hyper-parameters of the exact GP are fitted on a seeded subset of at most ``hparam_subset`` (400)
training points, the posterior then conditions on all of them.
``sparse_gp``: SGPR (Titsias' collapsed variational bound through gpytorch's
``InducingPointKernel``) with ``num_inducing`` inducing inputs initialised on a seeded random
subset of the training encodings and optimised with the kernel.

Both run in float64 and force Cholesky solves (no CG/Lanczos approximations), so fits are
deterministic; at the study's sizes (<= 1,000 samples) a solve takes milliseconds. Default
budget: 100 Adam steps at lr 0.1. After fitting, the posterior mean is cached as
``c + k(x, Z) @ w`` (Z = training inputs, or the inducing points for SGPR) with the fitted gpytorch
kernel, so a query is one kernel evaluation and :meth:`torch_forward` is differentiable in x.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import gpytorch
import numpy as np
import torch

from . import _torchutil as tu
from .base import Predictor, PredictorError

KERNELS = ("rbf", "matern")
_CHOLESKY_UP_TO = 100_000  # always Cholesky: deterministic and exact at the study's sizes


def _base_kernel(kind: str, dim: int, prior: bool = False) -> gpytorch.kernels.Kernel:
    """ARD kernel; with ``prior``, length-scales start at, and are held near (log-normal prior,
    sd 1 in log space), sqrt(dim)/2, the scale of distances between one-hot encodings. Without
    it, 5-25 points fit 30 free length-scales to degenerate values (0.2 next to 7.7, noise ->
    0.008 on 10 points), an interpolant that ranks the rest of the space poorly."""
    kw: dict = {"ard_num_dims": dim}
    if prior:
        kw["lengthscale_prior"] = gpytorch.priors.LogNormalPrior(float(np.log(np.sqrt(dim) / 2)), 1.0)
    if kind == "rbf":
        k = gpytorch.kernels.RBFKernel(**kw)
    elif kind == "matern":
        k = gpytorch.kernels.MaternKernel(nu=2.5, **kw)
    else:
        raise PredictorError(f"unknown GP kernel {kind!r}; choose one of {KERNELS}")
    if prior:
        k.lengthscale = float(np.sqrt(dim) / 2)
    return k


class _ExactModel(gpytorch.models.ExactGP):
    def __init__(self, x, y, likelihood, kernel):
        super().__init__(x, y, likelihood)
        self.mean_module = gpytorch.means.ConstantMean()
        self.covar_module = kernel

    def forward(self, x):
        return gpytorch.distributions.MultivariateNormal(self.mean_module(x), self.covar_module(x))


def _settings():
    return gpytorch.settings.max_cholesky_size(_CHOLESKY_UP_TO)


def _cholesky(k: torch.Tensor) -> torch.Tensor:
    """Cholesky factor, adding growing jitter only if the matrix is numerically singular."""
    eye = torch.eye(len(k), dtype=k.dtype, device=k.device)
    for jitter in (0.0, 1e-8, 1e-6, 1e-4):
        factor, info = torch.linalg.cholesky_ex(k + jitter * eye)
        if int(info) == 0:
            return factor
    raise PredictorError(
        "GP kernel matrix is not positive definite even with jitter 1e-4; "
        "check for duplicated inputs with conflicting targets or lower lr"
    )


class GPPredictor(Predictor):
    name = "gp"
    family = "Gaussian Process"
    default_encoding = "onehot"
    differentiable: ClassVar[bool] = True

    def __init__(
        self,
        kernel: str = "rbf",
        lr: float = 0.1,
        iterations: int = 100,
        hparam_subset: int | None = 400,
        lengthscale_prior: bool = True,
        device: str = "cpu",
        space: str = "nb201",
        random_state: int | None = 0,
    ):
        self.kernel = kernel
        self.lr = lr
        self.iterations = iterations
        self.hparam_subset = hparam_subset
        self.lengthscale_prior = lengthscale_prior
        self.device = device
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict:
        return {
            "kernel": trial.suggest_categorical("kernel", list(KERNELS)),
            "lr": trial.suggest_float("lr", 1e-2, 0.3, log=True),
            "iterations": trial.suggest_int("iterations", 25, 200, log=True),
        }

    # --- model construction (shared with the sparse variant) ---------------------------------------
    def _kernel(self, x: torch.Tensor, gen: torch.Generator | None, likelihood) -> gpytorch.kernels.Kernel:
        prior = bool(getattr(self, "lengthscale_prior", False))
        return gpytorch.kernels.ScaleKernel(_base_kernel(self.kernel, x.shape[1], prior))

    def _build(self, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator | None = None):
        likelihood = gpytorch.likelihoods.GaussianLikelihood()
        model = _ExactModel(x, y, likelihood, self._kernel(x, gen, likelihood))
        return model.to(device=x.device, dtype=torch.float64), likelihood.to(
            device=x.device, dtype=torch.float64
        )

    def _fit(self, X, z, archs) -> None:
        dev = tu.resolve_device(self.device)
        x = tu.to_tensor(X, dev, torch.float64)
        y = tu.to_tensor(z, dev, torch.float64)
        with tu.seeded(self.random_state, dev) as gen, _settings():
            xs, ys = self._hparam_points(x, y, gen)
            model, likelihood = self._build(xs, ys, gen)
            model.train()
            likelihood.train()
            opt = torch.optim.Adam(model.parameters(), lr=self.lr)  # includes the likelihood's noise
            mll = gpytorch.mlls.ExactMarginalLogLikelihood(likelihood, model)
            for _ in range(int(self.iterations)):
                opt.zero_grad(set_to_none=True)
                loss = -mll(model(xs), ys)
                loss.backward()
                opt.step()
            if len(xs) < len(x):
                model.set_train_data(x, y, strict=False)
        self.model_, self.likelihood_ = model.eval(), likelihood.eval()
        self.model_.requires_grad_(False)
        self.n_features_ = int(x.shape[1])
        self._condition()

    def _hparam_points(self, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator):
        """Seeded subset for the marginal-likelihood fit: an exact GP's O(n^3) gradient steps on
        1,000 points take ~0.3 s each on one core, on 400 points 15x less; the posterior still
        conditions on every training point."""
        k = getattr(self, "hparam_subset", None)  # SGPR has none: its O(n m^2) bound uses every point
        if k is None or len(x) <= int(k):
            return x, y
        idx = torch.randperm(len(x), generator=gen)[: int(k)].to(x.device)
        return x[idx], y[idx]

    # --- posterior mean c + k(x, Z) @ w, cached once after fitting/loading --------------------------
    def _condition(self) -> None:
        """Exact GP: Z = training inputs, w = (K + noise I)^-1 (y - c), by Cholesky."""
        m = self.model_
        x, y = m.train_inputs[0], m.train_targets
        with torch.no_grad():
            c = m.mean_module.constant.reshape(())
            k = m.covar_module.forward(x, x)
            k = k + self.likelihood_.noise.reshape(()) * torch.eye(len(x), dtype=k.dtype, device=k.device)
            self.weights_ = torch.cholesky_solve((y - c)[:, None], _cholesky(k)).squeeze(-1)
            self.centres_, self.const_ = x, c

    def _mean_kernel(self):
        return self.model_.covar_module

    def torch_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior mean (standardised unit) as a differentiable function of the encoding."""
        self._check_fitted()
        xd = x.to(device=self.centres_.device, dtype=torch.float64)
        mean = self.const_ + self._mean_kernel().forward(xd, self.centres_) @ self.weights_
        return mean.to(x.dtype) if x.is_floating_point() else mean

    def _predict(self, X, archs) -> np.ndarray:
        with torch.no_grad():
            return tu.to_numpy(self.torch_forward(tu.to_tensor(X, dtype=torch.float64)))

    def predict_std(self, archs) -> np.ndarray:
        """Posterior predictive standard deviation (with observation noise), in the target's unit."""
        self._check_fitted()
        x = tu.to_tensor(self._encode(self._archs(archs)), self.model_.train_inputs[0].device, torch.float64)
        # without gpytorch's FITC-style diagonal correction, so the variance goes with the SGPR mean
        with torch.no_grad(), _settings(), gpytorch.settings.sgpr_diagonal_correction(False):
            var = self.likelihood_(self.model_(x)).variance
        return tu.to_numpy(var.clamp_min(0).sqrt()) * self.y_std_

    # --- persistence: training data + state dict, rebuilt and re-conditioned on load -----------------
    def _state(self, folder: Path) -> dict:
        tu.save_state(
            {
                "x": self.model_.train_inputs[0],
                "y": self.model_.train_targets,
                "model": self.model_.state_dict(),
            },
            folder / "gp.pt",
        )
        return {"n_features": self.n_features_}

    def _load_state(self, folder: Path, state: dict) -> None:
        dev = tu.resolve_device(self.device)
        saved = tu.load_state(folder / "gp.pt", dev)
        x, y = saved["x"].to(torch.float64), saved["y"].to(torch.float64)
        model, likelihood = self._build(x, y, None)
        model.load_state_dict(saved["model"])
        self.model_, self.likelihood_ = model.eval(), likelihood.eval()
        self.model_.requires_grad_(False)
        self.n_features_ = int(state["n_features"])
        self._condition()


class SparseGPPredictor(GPPredictor):
    name = "sparse_gp"
    family = "Sparse Gaussian Process"

    def __init__(
        self,
        kernel: str = "rbf",
        num_inducing: int = 64,
        lr: float = 0.1,
        iterations: int = 100,
        device: str = "cpu",
        space: str = "nb201",
        random_state: int | None = 0,
    ):
        self.kernel = kernel
        self.num_inducing = num_inducing
        self.lr = lr
        self.iterations = iterations
        self.device = device
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict:
        out = super().search_space(trial)
        out["num_inducing"] = trial.suggest_int("num_inducing", 16, 256, log=True)
        return out

    def _kernel(self, x: torch.Tensor, gen: torch.Generator | None, likelihood) -> gpytorch.kernels.Kernel:
        m = max(1, min(int(self.num_inducing), len(x)))
        if gen is None:  # rebuilding a saved model: the state dict overwrites the inducing points
            start = x[:m].clone()
        else:
            start = x[torch.randperm(len(x), generator=gen)[:m].to(x.device)].clone()
        # the one-hot inputs sit on a lattice; a little jitter keeps duplicated inducing points apart
        if gen is not None:
            start = start + 1e-3 * torch.randn(start.shape, generator=gen, dtype=start.dtype).to(x.device)
        base = gpytorch.kernels.ScaleKernel(_base_kernel(self.kernel, x.shape[1]))
        # SGPR: the kernel needs the model's likelihood for the bound's trace term
        return gpytorch.kernels.InducingPointKernel(base, start, likelihood=likelihood)

    def _mean_kernel(self):
        return self.model_.covar_module.base_kernel

    def _condition(self) -> None:
        """SGPR mean: Z = inducing points u, w = (noise Kuu + Kuf Kfu)^-1 Kuf (y - c)."""
        m = self.model_
        x, y = m.train_inputs[0], m.train_targets
        with torch.no_grad():
            c = m.mean_module.constant.reshape(())
            z = m.covar_module.inducing_points
            base = self._mean_kernel()
            kuu, kuf = base.forward(z, z), base.forward(z, x)
            a = self.likelihood_.noise.reshape(()) * kuu + kuf @ kuf.T
            self.weights_ = torch.cholesky_solve((kuf @ (y - c))[:, None], _cholesky(a)).squeeze(-1)
            self.centres_, self.const_ = z.detach().clone(), c
