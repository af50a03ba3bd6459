"""TransNAS-Bench-101 macro space: 3,256 ResNet-like backbones such as ``64-41414-basic``.

An architecture is the tuple of layer codes padded with zeros to six positions
(``(1, 2, 4, 2, 0, 0)`` is ``64-1242-basic``, as in NAS-Bench-Suite-Zero's keys). Code 1 keeps
the shape, 2 doubles the channels, 3 halves the resolution, 4 does both; 0 means "no layer".
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np

from .base import Arch, SpaceError, register_space

LAYER_OPS = ("absent", "keep", "double_channels", "downsample", "double_and_downsample")
_STRING = re.compile(r"^(\d+)-([1-4]{4,6})-basic$")


def _doubles(code: Sequence[int]) -> int:
    return sum(1 for c in code if c in (2, 4))


def _downs(code: Sequence[int]) -> int:
    return sum(1 for c in code if c in (3, 4))


class TransNASMacroSpace:
    name = "transnas_macro"
    num_positions = 6
    num_ops = 5
    op_names = LAYER_OPS
    base_channels = 64
    min_layers, max_layers = 4, 6

    def enumerate(self) -> list[Arch]:
        out = []
        for n in range(self.min_layers, self.max_layers + 1):
            for code in itertools.product((1, 2, 3, 4), repeat=n):
                if 1 <= _doubles(code) <= 3 and 1 <= _downs(code) <= 4:
                    out.append(tuple(code) + (0,) * (6 - n))
        return out

    def _problem(self, a: Arch) -> str | None:
        if len(a) != 6:
            return "expected six positions (layer codes padded with zeros)"
        n = 0
        while n < 6 and a[n] != 0:
            n += 1
        if any(v != 0 for v in a[n:]):
            return "a zero (absent layer) may only pad the end"
        if n < self.min_layers:
            return f"needs 4 to 6 layers, has {n}"
        if any(v not in (1, 2, 3, 4) for v in a[:n]):
            return "layer codes must be 1-4"
        if not 1 <= _doubles(a[:n]) <= 3:
            return "must double the channels 1-3 times (codes 2 or 4)"
        if not 1 <= _downs(a[:n]) <= 4:
            return "must downsample 1-4 times (codes 3 or 4)"
        return None

    def validate(self, arch: Sequence[int]) -> Arch:
        try:
            a = tuple(int(v) for v in arch)
        except (TypeError, ValueError):
            raise SpaceError(f"{arch!r} is not a TransNAS-Bench-101 macro code") from None
        why = self._problem(a)
        if why:
            raise SpaceError(f"{arch!r} is not a valid TransNAS-Bench-101 macro architecture: {why}")
        return a

    def valid_mask(self, archs: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`is_valid` over an (n, 6) int array."""
        a = np.asarray(archs)
        if a.ndim != 2 or a.shape[1] != 6:
            return np.zeros(len(a), dtype=bool)
        present = a != 0
        n_layers = present.sum(1)
        # zeros only as trailing padding: the present flags must be non-increasing along the row
        padded_ok = np.all(present[:, :-1] >= present[:, 1:], axis=1)
        in_range = np.all((a >= 0) & (a <= 4), axis=1)
        doubles = np.isin(a, (2, 4)).sum(1)
        downs = np.isin(a, (3, 4)).sum(1)
        return (
            padded_ok
            & in_range
            & (n_layers >= self.min_layers)
            & (doubles >= 1)
            & (doubles <= 3)
            & (downs >= 1)
            & (downs <= 4)
        )

    def is_valid(self, arch: Sequence[int]) -> bool:
        try:
            a = tuple(int(v) for v in arch)
        except (TypeError, ValueError):
            return False
        return self._problem(a) is None

    def layers(self, arch: Sequence[int]) -> tuple[int, ...]:
        return tuple(v for v in self.validate(arch) if v)

    def to_string(self, arch: Sequence[int]) -> str:
        return f"{self.base_channels}-{''.join(map(str, self.layers(arch)))}-basic"

    def from_string(self, text: str) -> Arch:
        m = _STRING.match(text.strip())
        if not m:
            raise SpaceError(f"{text!r} is not a TransNAS-Bench-101 macro string like '64-41414-basic'")
        if int(m.group(1)) != self.base_channels:
            raise SpaceError(f"{text!r}: only base channel {self.base_channels} is in the benchmark")
        code = tuple(int(c) for c in m.group(2))
        return self.validate(code + (0,) * (6 - len(code)))

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        """Valid architectures one edit away: change, delete or append/insert one layer code."""
        layers = list(self.layers(arch))
        cands: set[Arch] = set()
        for i in range(len(layers)):
            for v in (1, 2, 3, 4):
                if v != layers[i]:
                    cands.add(tuple(layers[:i] + [v] + layers[i + 1 :]))
            cands.add(tuple(layers[:i] + layers[i + 1 :]))
        for i in range(len(layers) + 1):
            for v in (1, 2, 3, 4):
                cands.add(tuple(layers[:i] + [v] + layers[i:]))
        out = []
        for c in sorted(cands):
            if len(c) <= 6:
                padded = c + (0,) * (6 - len(c))
                if self.is_valid(padded) and padded != self.validate(arch):
                    out.append(padded)
        return out

    def random(
        self, n: int, rng: np.random.Generator | int | None = None, replace: bool = False
    ) -> list[Arch]:
        rng = np.random.default_rng(rng)
        allx = self.enumerate()
        return [allx[i] for i in rng.choice(len(allx), size=n, replace=replace)]

    def build_model(self, arch: Sequence[int], num_classes: int = 75, input_size: int = 224, **_):
        from .transnas_model import MacroNetwork

        return MacroNetwork(self.layers(arch), num_classes=num_classes, base_channels=self.base_channels)


TRANSNAS_MACRO = register_space(TransNASMacroSpace(), "transnas", "transnas-macro", "trans_macro")
