"""A learned device representation (the idea behind HELP's hardware embedding).

One network predicts a device's standardised log latency of a cell from the cell's one-hot
encoding and a device embedding. The embedding is computed from the device's latencies on a
few *reference* architectures (a k-center cover of the sources' latency vectors), so devices
that rank the references alike get nearby embeddings. The network is pre-trained on the
sources (every source a device), then adapted to the target with its few samples: the target's
embedding starts at the embedding its measured references give (or, when the samples do not
include the references, at the average source embedding), and the embedding, an output scale
and shift, and then the whole network take a few gradient steps on the target's samples.

Pre-training dominates the cost and depends only on the sources and the hyper-parameters, so it
is cached per process (keyed by the sources' checksums); every seed and sample count of a
protocol reuses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from ...encoders import encode
from .. import _torchutil as tu
from .base import TransferPredictor
from .selection import kcenter

_PRETRAINED: dict[tuple, tuple[dict, np.ndarray]] = {}


class _Net(nn.Module):
    def __init__(self, n_in: int, n_refs: int, emb_dim: int, hidden: int):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_refs, hidden), nn.ReLU(), nn.Linear(hidden, emb_dim))
        self.body = nn.Sequential(
            nn.Linear(n_in + emb_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([x, emb.expand(len(x), -1)], dim=1)).squeeze(1)


class DeviceEmbeddingPredictor(TransferPredictor):
    """Network over the one-hot cell, conditioned on a device embedding; pre-trained on the sources."""

    name = "transfer_net"
    family = "Learned device embedding (transfer)"
    min_samples: ClassVar[int] = 2

    def __init__(
        self,
        sources="help-split",
        target: str | None = None,
        n_refs: int = 20,
        emb_dim: int = 8,
        hidden: int = 128,
        pretrain_steps: int = 3000,
        adapt_steps: int = 200,
        lr: float = 2e-3,
        log_target: bool = True,
        space: str = "nb201",
        random_state: int | None = 0,
    ):
        self.sources = sources
        self.target = target
        self.n_refs = n_refs
        self.emb_dim = emb_dim
        self.hidden = hidden
        self.pretrain_steps = pretrain_steps
        self.adapt_steps = adapt_steps
        self.lr = lr
        self.log_target = log_target
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict:
        return {
            "adapt_steps": trial.suggest_int("adapt_steps", 50, 400, log=True),
            "lr": trial.suggest_float("lr", 5e-4, 1e-2, log=True),
        }

    def _x(self, archs: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(encode(archs, self._space(), "onehot")), dtype=torch.float32)

    def _pretrain(self) -> tuple[_Net, np.ndarray]:
        key = (tuple(self.sources_.checksums), self.n_refs, self.emb_dim, self.hidden)
        key += (self.pretrain_steps, self.lr, self.log_target, self.random_state)
        F, archs = self.features_, self.sources_.archs
        net = _Net(self._x(archs[:1]).shape[1], self.n_refs, self.emb_dim, self.hidden)
        if key in _PRETRAINED:
            state, refs = _PRETRAINED[key]
            net.load_state_dict(state)
            return net, refs
        refs = kcenter(F, self.n_refs, seed=int(self.random_state or 0))
        X = self._x(archs)
        Y = torch.as_tensor(F, dtype=torch.float32)
        R = Y[refs]  # (n_refs, devices)
        with tu.seeded(self.random_state) as gen:
            net = _Net(X.shape[1], self.n_refs, self.emb_dim, self.hidden)
            opt = torch.optim.Adam(net.parameters(), lr=self.lr)
            for _ in range(int(self.pretrain_steps)):
                j = int(torch.randint(Y.shape[1], (1,), generator=gen))
                i = torch.randint(len(X), (256,), generator=gen)
                loss = ((net(X[i], net.encoder(R[:, j])) - Y[i, j]) ** 2).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        _PRETRAINED[key] = ({k: v.clone() for k, v in net.state_dict().items()}, refs)
        return net, refs

    def _fit_features(self, F, z, archs) -> None:
        net, refs = self._pretrain()
        ref_archs = self.sources_.archs[refs]
        with torch.no_grad():
            R = torch.as_tensor(self.features_[refs], dtype=torch.float32)
            emb0 = net.encoder(R.T).mean(0)
            rows = {tuple(a): k for k, a in enumerate(np.asarray(archs).tolist())}
            have = [rows.get(tuple(a)) for a in ref_archs.tolist()]
            if all(h is not None for h in have):  # the references were measured: embed them
                r = torch.as_tensor(z[have], dtype=torch.float32)
                emb0 = net.encoder(((r - r.mean()) / (r.std() + 1e-8))[None])[0]
        x, y = self._x(archs), torch.as_tensor(z, dtype=torch.float32)
        emb = nn.Parameter(emb0.clone())
        scale, shift = nn.Parameter(torch.ones(())), nn.Parameter(torch.zeros(()))
        with tu.seeded(self.random_state):
            opt = torch.optim.Adam([emb, scale, shift], lr=10 * self.lr)
            tune = torch.optim.Adam(net.body.parameters(), lr=0.1 * self.lr)
            for step in range(int(self.adapt_steps)):
                loss = ((scale * net(x, emb) + shift - y) ** 2).mean() + 1e-2 * ((emb - emb0) ** 2).sum()
                opt.zero_grad(set_to_none=True)
                tune.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if step >= self.adapt_steps // 2:  # the whole body only once the embedding has settled
                    tune.step()
        self.net_ = net.eval().requires_grad_(False)
        self.emb_ = emb.detach()
        self.affine_ = (float(scale.detach()), float(shift.detach()))

    def _predict_features(self, F) -> np.ndarray:
        raise AssertionError("transfer_net predicts from the cells, see predict")  # pragma: no cover

    def predict(self, archs) -> np.ndarray:
        self._check_fitted()
        a = self._archs(archs)
        if len(a) == 0:
            return np.zeros(0)
        self.sources_.rows(a, self.name)  # the same coverage rule as the other transfer families
        with torch.no_grad():
            z = self.affine_[0] * self.net_(self._x(a), self.emb_) + self.affine_[1]
        t = z.numpy().astype(np.float64) * self.y_std_ + self.y_mean_
        return np.exp(t) if self.log_target else t

    def _family_state(self, folder: Path) -> dict:
        tu.save_state({"net": self.net_.state_dict(), "emb": self.emb_}, folder / "net.pt")
        return {"affine": list(self.affine_), "n_in": int(self._x(self.sources_.archs[:1]).shape[1])}

    def _load_family_state(self, folder: Path, state: dict) -> None:
        blob = tu.load_state(folder / "net.pt")
        self.net_ = _Net(int(state["n_in"]), self.n_refs, self.emb_dim, self.hidden)
        self.net_.load_state_dict(blob["net"])
        self.net_.eval().requires_grad_(False)
        self.emb_ = blob["emb"]
        self.affine_ = tuple(float(v) for v in state["affine"])
