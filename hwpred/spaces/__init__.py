"""Search spaces: enumerate, string round trip, torch models, one-edit neighbours."""

from .archfile import read_archs_file
from .base import Arch, SearchSpace, SpaceError, as_arch_array, available_spaces, get_space, register_space
from .nb201 import NB201
from .transnas_macro import TRANSNAS_MACRO

__all__ = [
    "read_archs_file",
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
