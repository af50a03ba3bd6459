"""NAS-Bench-201 / HW-NAS-Bench cell space: 6 edges x 5 ops, 15,625 cells.

An architecture is the op tuple ``(a, b, c, d, e, f)`` of the string
``|a~0|+|b~0|c~1|+|d~0|e~1|f~2|`` with ops ``0 none, 1 skip_connect, 2 nor_conv_1x1,
3 nor_conv_3x3, 4 avg_pool_3x3``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np

from .base import Arch, SpaceError, register_space

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# (target node, source node) of every edge, in tuple order.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
_TOKEN = re.compile(r"^([a-z0-9_]+)~(\d)$")


class NB201Space:
    name = "nb201"
    num_positions = 6
    num_ops = 5
    op_names = OPS
    edges = EDGES

    def enumerate(self) -> list[Arch]:
        return [tuple(a) for a in itertools.product(range(5), repeat=6)]

    def index(self, arch: Sequence[int]) -> int:
        """Position of ``arch`` in :meth:`enumerate` (base-5 number, first edge most significant)."""
        a = self.validate(arch)
        return int(sum(v * 5 ** (5 - i) for i, v in enumerate(a)))

    def validate(self, arch: Sequence[int]) -> Arch:
        try:
            a = tuple(int(v) for v in arch)
        except (TypeError, ValueError):
            raise SpaceError(f"{arch!r} is not a NAS-Bench-201 op tuple (six ints in 0-4)") from None
        if len(a) != 6 or any(v < 0 or v > 4 for v in a):
            raise SpaceError(
                f"{arch!r} is not a NAS-Bench-201 op tuple: expected six ops in 0-4 "
                f"({', '.join(f'{i} {o}' for i, o in enumerate(OPS))})"
            )
        return a

    def valid_mask(self, archs: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`is_valid` over an (n, 6) int array."""
        a = np.asarray(archs)
        return (
            np.all((a >= 0) & (a <= 4), axis=1) if a.ndim == 2 and a.shape[1] == 6 else np.zeros(len(a), bool)
        )

    def is_valid(self, arch: Sequence[int]) -> bool:
        try:
            self.validate(arch)
            return True
        except SpaceError:
            return False

    def to_string(self, arch: Sequence[int]) -> str:
        a = self.validate(arch)
        nodes = []
        for target in (1, 2, 3):
            toks = [f"{OPS[a[i]]}~{src}" for i, (t, src) in enumerate(EDGES) if t == target]
            nodes.append("|" + "|".join(toks) + "|")
        return "+".join(nodes)

    def from_string(self, text: str) -> Arch:
        parts = text.strip().split("+")
        if len(parts) != 3:
            raise SpaceError(
                f"{text!r} is not a NAS-Bench-201 architecture string like "
                "'|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...~0|...~1|...~2|'"
            )
        ops = []
        for target, part in enumerate(parts, start=1):
            toks = [t for t in part.split("|") if t]
            if len(toks) != target:
                raise SpaceError(f"node {target} of {text!r} must have {target} input edge(s)")
            for src, tok in enumerate(toks):
                m = _TOKEN.match(tok)
                if not m or m.group(1) not in OPS or int(m.group(2)) != src:
                    raise SpaceError(f"bad edge {tok!r} in {text!r}: expected '<op>~{src}' with op in {OPS}")
                ops.append(OPS.index(m.group(1)))
        return tuple(ops)

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        a = self.validate(arch)
        out = []
        for pos in range(6):
            for op in range(5):
                if op != a[pos]:
                    out.append(a[:pos] + (op,) + a[pos + 1 :])
        return out

    def random(
        self, n: int, rng: np.random.Generator | int | None = None, replace: bool = False
    ) -> list[Arch]:
        rng = np.random.default_rng(rng)
        idx = rng.choice(5**6, size=n, replace=replace)
        return [tuple(int(d) for d in np.base_repr(int(i), 5).zfill(6)) for i in idx]

    def build_model(
        self,
        arch: Sequence[int],
        num_classes: int = 10,
        input_size: int = 32,
        channels: int = 16,
        cells_per_stage: int = 5,
    ):
        from .nb201_model import NB201Network

        return NB201Network(
            self.validate(arch), num_classes=num_classes, channels=channels, cells_per_stage=cells_per_stage
        )


NB201 = register_space(NB201Space(), "nasbench201", "nas-bench-201", "hw-nas-bench")
