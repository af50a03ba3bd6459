"""NAO: an encoder of the op sequence, a regressor on its embedding and a decoder, trained jointly.

The architecture is read as its sequence of ops (one token per position). The encoder embeds
each token, runs an LSTM over the sequence and mean-pools the outputs into one vector; a small
MLP regresses the z-scored target from that vector; an LSTM decoder, started from the pooled
vector, reconstructs the sequence with teacher forcing. Loss =
``trade_off * MSE + (1 - trade_off) * cross-entropy``: the reconstruction term keeps the
embedding faithful to the architecture, as in Neural Architecture Optimization (Luo et al. 2018).

The embedding lookup is written as ``one_hot @ E``, so :meth:`NAOPredictor.torch_forward` accepts a
relaxed (soft one-hot) sequence, shape (batch, positions * ops), and is differentiable in it.
Default budget: hidden width 64, batches of 100, 60 epochs and at least 600 updates.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import _torchutil as tu
from .base import Predictor


class NAONet(nn.Module):
    def __init__(self, positions: int, num_ops: int, hidden: int):
        super().__init__()
        self.positions, self.num_ops = positions, num_ops
        self.embed = nn.Parameter(torch.randn(num_ops, hidden) * 0.1)
        self.encoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.regressor = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.dec_embed = nn.Embedding(num_ops + 1, hidden)  # last index = start token
        self.decoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, num_ops)

    def encode(self, soft: torch.Tensor) -> torch.Tensor:
        """(batch, positions, ops) soft one-hot -> pooled embedding (batch, hidden)."""
        seq, _ = self.encoder(soft @ self.embed)
        return seq.mean(1)

    def regress(self, soft: torch.Tensor) -> torch.Tensor:
        return self.regressor(self.encode(soft)).squeeze(-1)

    def reconstruction_logits(self, pooled: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced decoder logits (batch, positions, ops) for the true ``tokens``."""
        start = torch.full((len(tokens), 1), self.num_ops, dtype=torch.long, device=tokens.device)
        inputs = self.dec_embed(torch.cat([start, tokens[:, :-1]], dim=1))
        h0 = pooled.unsqueeze(0).contiguous()
        out, _ = self.decoder(inputs, (h0, torch.zeros_like(h0)))
        return self.out(out)


class NAOPredictor(Predictor):
    name = "nao"
    family = "NAO"
    default_encoding = "tuple"
    differentiable: ClassVar[bool] = True

    def __init__(
        self,
        hidden_dim: int = 64,
        batch_size: int = 100,
        lr: float = 1e-3,
        trade_off: float = 0.8,
        epochs: int = 60,
        min_steps: int = 600,
        device: str = "cpu",
        space: str = "nb201",
        random_state: int | None = 0,
    ):
        self.hidden_dim = hidden_dim
        self.batch_size = batch_size
        self.lr = lr
        self.trade_off = trade_off
        self.epochs = epochs
        self.min_steps = min_steps
        self.device = device
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict:
        return {
            "hidden_dim": trial.suggest_int("hidden_dim", 16, 128, log=True),
            "batch_size": trial.suggest_int("batch_size", 32, 256, log=True),
            "lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
        }

    def _net(self) -> NAONet:
        sp = self._space()
        return NAONet(sp.num_positions, sp.num_ops, int(self.hidden_dim))

    def _fit(self, X, z, archs) -> None:
        dev = tu.resolve_device(self.device)
        tokens = torch.as_tensor(np.asarray(archs), dtype=torch.long, device=dev)
        zt = tu.to_tensor(z, dev)
        with tu.seeded(self.random_state, dev) as gen:
            self.model_ = self._net().to(dev)
            soft = F.one_hot(tokens, self.model_.num_ops).float()
            w = float(self.trade_off)

            def batch_loss(idx: torch.Tensor) -> torch.Tensor:
                idx = idx.to(dev)
                pooled = self.model_.encode(soft[idx])
                mse = F.mse_loss(self.model_.regressor(pooled).squeeze(-1), zt[idx])
                logits = self.model_.reconstruction_logits(pooled, tokens[idx])
                ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[idx].reshape(-1))
                return w * mse + (1.0 - w) * ce

            self.train_result_ = tu.train_loop(
                self.model_,
                len(zt),
                batch_loss,
                epochs=self.epochs,
                lr=self.lr,
                batch_size=self.batch_size,
                generator=gen,
                min_steps=self.min_steps,
                max_norm=5.0,
            )

    def torch_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised prediction of a (batch, positions * ops) soft one-hot op sequence."""
        self._check_fitted()
        m = self.model_
        p = m.embed
        return m.regress(x.to(device=p.device, dtype=p.dtype).reshape(len(x), m.positions, m.num_ops))

    def _predict(self, X, archs) -> np.ndarray:
        m = self.model_
        tokens = torch.as_tensor(np.asarray(archs), dtype=torch.long, device=m.embed.device)
        with torch.no_grad():
            return tu.to_numpy(m.regress(F.one_hot(tokens, m.num_ops).float()))

    def _state(self, folder: Path) -> dict:
        tu.save_state(self.model_, folder / "nao.pt")
        return {}

    def _load_state(self, folder: Path, state: dict) -> None:
        dev = tu.resolve_device(self.device)
        self.model_ = self._net().to(dev)
        self.model_.load_state_dict(tu.load_state(folder / "nao.pt", dev))
        self.model_.eval()
