"""Lazy package exports, so that `hwpred --help` does not import torch or pymoo."""

from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str]):
    """Return a module ``__getattr__`` importing ``exports[name]`` (a submodule) on first use."""

    def __getattr__(name: str):
        try:
            module = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        return getattr(importlib.import_module(f".{module}", package), name)

    return __getattr__
