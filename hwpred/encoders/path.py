"""Path encoding.

NAS-Bench-201: the cell has four input-to-output routes (0-3, 0-1-3, 0-2-3, 0-1-2-3). A route
is live when none of its edges is ``none``; each (route, sequence of its non-none ops) gets one
binary feature: 4 + 16 + 16 + 64 = 100 dims. Two cells with the same live computation paths
get the same code, which is what makes it a good encoding for latency-like sums over paths.

TransNAS macro (a chain, so one path): per layer position, the layer's code and the feature-map
shape it produces (channel doublings and downsamplings so far), one-hot: 6 x (5 + 4 + 5) dims.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..spaces import SearchSpace, as_arch_array, get_space

# NB201 edges: 0:(1<-0) 1:(2<-0) 2:(2<-1) 3:(3<-0) 4:(3<-1) 5:(3<-2)
NB201_ROUTES = ((3,), (0, 4), (1, 5), (0, 2, 5))


def _nb201_features() -> dict[tuple[int, tuple[int, ...]], int]:
    index = {}
    for r, route in enumerate(NB201_ROUTES):
        for ops in itertools.product((1, 2, 3, 4), repeat=len(route)):
            index[(r, ops)] = len(index)
    return index


_NB201_INDEX = _nb201_features()


def path_dim(space: SearchSpace | str) -> int:
    sp = get_space(space)
    return len(_NB201_INDEX) if sp.name == "nb201" else sp.num_positions * (5 + 4 + 5)


def path(archs, space: SearchSpace | str) -> np.ndarray:
    sp = get_space(space)
    a = as_arch_array(archs, sp)
    out = np.zeros((len(a), path_dim(sp)), dtype=np.float32)
    if sp.name == "nb201":
        for i, row in enumerate(a):
            for r, route in enumerate(NB201_ROUTES):
                ops = tuple(int(row[e]) for e in route)
                if 0 not in ops:
                    out[i, _NB201_INDEX[(r, ops)]] = 1.0
        return out
    if sp.name == "transnas_macro":
        block = 5 + 4 + 5
        for i, row in enumerate(a):
            doubles = downs = 0
            for pos, code in enumerate(row):
                code = int(code)
                doubles += code in (2, 4)
                downs += code in (3, 4)
                base = pos * block
                out[i, base + code] = 1.0
                if code:
                    out[i, base + 5 + min(doubles, 3)] = 1.0
                    out[i, base + 9 + min(downs, 4)] = 1.0
        return out
    raise ValueError(f"no path encoding for space {sp.name}")
