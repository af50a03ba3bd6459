"""The search-space protocol every space implements, and the space registry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import HwpredError

Arch = tuple[int, ...]


class SpaceError(HwpredError, ValueError):
    """A user-facing error about an architecture or a search space."""


@runtime_checkable
class SearchSpace(Protocol):
    """What the rest of the library needs from a search space.

    Architectures are fixed-length tuples of small non-negative ints (``num_positions`` long),
    so that encoders, tables and predictors can treat every space alike.
    """

    name: str
    num_positions: int
    num_ops: int  # number of distinct values a position can take (including "absent"/"none")
    op_names: tuple[str, ...]

    def enumerate(self) -> list[Arch]: ...
    def to_string(self, arch: Sequence[int]) -> str: ...
    def from_string(self, text: str) -> Arch: ...
    def validate(self, arch: Sequence[int]) -> Arch: ...
    def is_valid(self, arch: Sequence[int]) -> bool: ...
    def valid_mask(self, archs: np.ndarray) -> np.ndarray: ...
    def neighbours(self, arch: Sequence[int]) -> list[Arch]: ...
    def build_model(self, arch: Sequence[int], **kwargs): ...


def as_arch_array(archs, space: SearchSpace) -> np.ndarray:
    """Validate architectures (tuples, strings or an int array) and stack them as (n, positions)."""
    if isinstance(archs, np.ndarray) and archs.ndim == 2 and archs.dtype.kind in "iu":
        if archs.shape[1] != space.num_positions:
            raise SpaceError(
                f"architectures have {archs.shape[1]} positions but the {space.name} space has "
                f"{space.num_positions}; are they from another search space?"
            )
        bad = ~space.valid_mask(archs)
        if bad.any():
            space.validate(tuple(int(v) for v in archs[np.flatnonzero(bad)[0]]))  # raises the precise error
        return archs.astype(np.int64, copy=False)
    rows = []
    for a in archs:
        if isinstance(a, str):
            rows.append(space.from_string(a))
        else:
            rows.append(space.validate(a))
    if not rows:
        return np.zeros((0, space.num_positions), dtype=np.int64)
    return np.asarray(rows, dtype=np.int64)


_SPACES: dict[str, SearchSpace] = {}


def register_space(space: SearchSpace, *aliases: str) -> SearchSpace:
    for key in (space.name, *aliases):
        _SPACES[key] = space
    return space


def get_space(name: str | SearchSpace) -> SearchSpace:
    if not isinstance(name, str):
        return name
    try:
        return _SPACES[name]
    except KeyError:
        known = ", ".join(sorted({s.name for s in _SPACES.values()}))
        raise SpaceError(f"unknown search space {name!r}; known spaces: {known}") from None


def available_spaces() -> list[str]:
    return sorted({s.name for s in _SPACES.values()})
