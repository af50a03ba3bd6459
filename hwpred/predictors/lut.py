"""Lookup Table: a baseline architecture plus one additive delta per (position, op).

The reference line of the predictor study: instead of learning from random samples it is
built from the ``1 + positions x (ops - 1)`` one-edit neighbours of a baseline, exactly what a
practitioner measures to build a per-layer latency table. For NAS-Bench-201 the baseline is the
all-``none`` cell. For TransNAS macro the baseline is chosen with ``is_valid`` so that every
one-edit change that can exist in the space is itself a valid architecture; when a baseline
cannot vary some (position, op) pair, further baselines are added greedily, each one agreeing
with an already-covered op at the position it varies, so its deltas chain onto the table.
(For TransNAS macro a single five-layer baseline, ``64-11144-basic``, already varies every
position, so the plan has one baseline; the chaining is there for spaces where it is not.)

Prediction: ``z(arch) = z(baseline) + sum_i delta[i, arch[i]]`` in standardised units, i.e. a
linear map of the adjacency one-hot encoding, which is what ``torch_forward`` computes.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..spaces import SearchSpace, SpaceError, get_space
from .base import Predictor, PredictorError

TABLE_FILE = "lookup_table.json"

Arch = tuple[int, ...]


@dataclass(frozen=True)
class LutPlan:
    """Which architectures to measure and how each delta is read off them.

    ``edits[k] = (baseline_index, position, op, arch)``: ``delta[position, op] =
    delta[position, baselines[baseline_index][position]] + y(arch) - y(baseline)``.
    """

    space: str
    baselines: tuple[Arch, ...]
    edits: tuple[tuple[int, int, int, Arch], ...]
    #: (position, op) pairs that occur in some valid architecture of the space
    reachable: frozenset[tuple[int, int]]

    @property
    def archs(self) -> list[Arch]:
        seen: dict[Arch, None] = {}
        for a in (*self.baselines, *(e[3] for e in self.edits)):
            seen.setdefault(a, None)
        return list(seen)


def _edits_of(sp: SearchSpace, base: Arch) -> list[tuple[int, int, Arch]]:
    out = []
    for i in range(sp.num_positions):
        for v in range(sp.num_ops):
            if v != base[i]:
                cand = base[:i] + (v,) + base[i + 1 :]
                if sp.is_valid(cand):
                    out.append((i, v, cand))
    return out


@functools.cache
def lut_plan(space: str) -> LutPlan:
    """Greedy cover of every reachable (position, op) pair by one-edit neighbours of baselines."""
    sp = get_space(space)
    all_archs = np.asarray(sp.enumerate(), dtype=np.int64)
    reachable = frozenset((i, int(v)) for i in range(sp.num_positions) for v in np.unique(all_archs[:, i]))
    zero = (0,) * sp.num_positions
    # the all-op-0 architecture first (NB201's baseline by convention), then enumeration order
    candidates = ([zero] if sp.is_valid(zero) else []) + [
        tuple(int(v) for v in a) for a in all_archs if tuple(a) != zero
    ]
    baselines: list[Arch] = []
    edits: list[tuple[int, int, int, Arch]] = []
    known: set[tuple[int, int]] = set()
    cache: dict[Arch, list[tuple[int, int, Arch]]] = {}

    def gain(base: Arch) -> tuple[set[tuple[int, int]], list[tuple[int, int, Arch]]]:
        """(pairs newly covered, usable edits); an edit is usable only where the baseline's own
        op at that position is already in the table (the first baseline anchors itself)."""
        if base not in cache:
            cache[base] = _edits_of(sp, base)
        own = {(i, base[i]) for i in range(sp.num_positions)}
        anchored = own if not known else known
        usable = [(i, v, a) for i, v, a in cache[base] if (i, v) not in known and (i, base[i]) in anchored]
        pairs = {(i, v) for i, v, _ in usable} | (own if not known else set())
        return pairs, usable

    while reachable - known:
        missing = reachable - known
        best, best_pairs, best_edits = None, set(), []
        for cand in candidates:
            if cand in baselines:
                continue
            pairs, usable = gain(cand)
            if len(pairs & missing) > len(best_pairs & missing):
                best, best_pairs, best_edits = cand, pairs, usable
                if missing <= pairs:
                    break  # covers everything still missing: no need to look further
        if best is None:
            # the rest only occur together with other uncovered pairs, so one-edit differences
            # cannot separate them; predicting an architecture that uses one raises a clear error
            break
        b = len(baselines)
        baselines.append(best)
        known |= best_pairs - {(i, v) for i, v, _ in best_edits}
        for i, v, a in best_edits:
            edits.append((b, i, v, a))
            known.add((i, v))
    return LutPlan(space=sp.name, baselines=tuple(baselines), edits=tuple(edits), reachable=reachable)


class LookupTablePredictor(Predictor):
    name: ClassVar[str] = "lut"
    family: ClassVar[str] = "Lookup Table"
    default_encoding: ClassVar[str] = "tuple"
    #: ``torch_forward`` takes the adjacency one-hot encoding, not the op tuple the fit uses
    torch_encoding: ClassVar[str] = "onehot"
    differentiable: ClassVar[bool] = True
    min_samples: ClassVar[int] = 2

    def __init__(self, space: str = "nb201", random_state: int = 0):
        self.space = space
        self.random_state = random_state

    @classmethod
    def required_archs(cls, space: str = "nb201") -> list[Arch]:
        """The baseline(s) and one-edit neighbours the table must be fitted on (25 for NB201)."""
        try:
            name = get_space(space).name
        except SpaceError as exc:
            raise PredictorError(f"lut: {exc}") from None
        return lut_plan(name).archs

    # ---- fit / predict ------------------------------------------------------------------------
    def _fit(self, X, z: np.ndarray, archs: np.ndarray) -> None:
        sp = self._space()
        plan = lut_plan(sp.name)
        sums: dict[Arch, list[float]] = {}
        for a, v in zip(map(tuple, archs.tolist()), z):
            sums.setdefault(a, []).append(float(v))
        need = plan.archs
        missing = [a for a in need if a not in sums]
        if missing:
            raise PredictorError(
                f"lut: a lookup table is built from the {len(need)} architectures of "
                f"LookupTablePredictor.required_archs({sp.name!r}) (baseline + one-edit neighbours), "
                f"but {len(missing)} of them are missing from the training data, e.g. "
                f"{sp.to_string(missing[0])}; measure/look up those architectures and fit on them"
            )
        zval = {a: float(np.mean(sums[a])) for a in need}
        delta = np.zeros((sp.num_positions, sp.num_ops))
        covered = np.zeros((sp.num_positions, sp.num_ops), dtype=bool)
        b0 = plan.baselines[0]
        covered[np.arange(sp.num_positions), list(b0)] = True
        for b, i, v, a in plan.edits:
            base = plan.baselines[b]
            delta[i, v] = delta[i, base[i]] + zval[a] - zval[base]
            covered[i, v] = True
        self.baseline_ = b0
        self.base_z_ = zval[b0]
        self.delta_ = delta
        self.covered_ = covered
        self.n_used_ = len(need)
        self._torch_cache = None

    def _predict(self, X, archs: np.ndarray) -> np.ndarray:
        pos = np.arange(archs.shape[1])[None, :]
        if not np.all(self.covered_[pos, archs]):
            bad = archs[~np.all(self.covered_[pos, archs], axis=1)][0]
            raise PredictorError(
                f"lut: architecture {tuple(int(v) for v in bad)} uses a (position, op) pair "
                "the table has no entry for"
            )
        return self.base_z_ + self.delta_[pos, archs].sum(axis=1)

    def torch_forward(self, x):
        """Standardised prediction from the (batch, positions*ops) one-hot encoding: a linear map."""
        self._check_fitted()
        import torch

        cache = getattr(self, "_torch_cache", None)
        if cache is None or cache.dtype != x.dtype or cache.device != x.device:
            self._torch_cache = cache = torch.as_tensor(self.delta_.ravel(), dtype=x.dtype, device=x.device)
        if x.shape[-1] != cache.shape[0]:
            raise PredictorError(
                f"lut: torch_forward expects the {cache.shape[0]}-dim one-hot encoding, "
                f"got {x.shape[-1]} dims"
            )
        return x @ cache + self.base_z_

    def table(self) -> dict[str, object]:
        """The fitted table in the original unit: baseline value and per-(position, op) deltas."""
        self._check_fitted()
        return {
            "baseline": self._space().to_string(self.baseline_),
            "baseline_value": self.base_z_ * self.y_std_ + self.y_mean_,
            "delta": (self.delta_ * self.y_std_).tolist(),
        }

    # ---- persistence ----------------------------------------------------------------------------
    def _state(self, folder: Path) -> dict:
        doc = {
            "baseline": list(self.baseline_),
            "base_z": float(self.base_z_),
            "delta": self.delta_.tolist(),
            "covered": self.covered_.astype(int).tolist(),
            "n_used": int(self.n_used_),
        }
        (folder / TABLE_FILE).write_text(json.dumps(doc))
        return {"file": TABLE_FILE}

    def _load_state(self, folder: Path, state: dict) -> None:
        sp = self._space()
        doc = json.loads((folder / state.get("file", TABLE_FILE)).read_text())
        delta = np.asarray(doc["delta"], dtype=np.float64)
        covered = np.asarray(doc["covered"], dtype=bool)
        shape = (sp.num_positions, sp.num_ops)
        if delta.shape != shape or covered.shape != shape:
            raise PredictorError(
                f"{folder / TABLE_FILE}: table shape {delta.shape} does not match the {sp.name} space {shape}"
            )
        if not (np.all(np.isfinite(delta)) and np.isfinite(float(doc["base_z"]))):
            raise PredictorError(f"{folder / TABLE_FILE}: non-finite table entries (damaged file?)")
        self.baseline_ = sp.validate(doc["baseline"])
        self.base_z_ = float(doc["base_z"])
        self.delta_, self.covered_ = delta, covered
        self.n_used_ = int(doc["n_used"])
        self._torch_cache = None
