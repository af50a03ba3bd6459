"""Search spaces: enumerate, string round trip, torch models, one-edit neighbours."""

from .base import Arch, SearchSpace, SpaceError, as_arch_array, available_spaces, get_space, register_space
from .nb201 import NB201
from .transnas_macro import TRANSNAS_MACRO

__all__ = [
    "Arch",
    "SearchSpace",
    "SpaceError",
    "as_arch_array",
    "available_spaces",
    "get_space",
    "register_space",
    "NB201",
    "TRANSNAS_MACRO",
]
