"""Architecture encoders: adjacency one-hot, path and graph."""

from __future__ import annotations

from .graph import GraphBatch, graph, graph_dims, to_pyg
from .onehot import onehot
from .path import path, path_dim

ENCODINGS = ("onehot", "path", "graph")


def encode(archs, space, encoding: str):
    """Dispatch by name: flat arrays for ``onehot``/``path``, a :class:`GraphBatch` for ``graph``."""
    if encoding == "onehot":
        return onehot(archs, space)
    if encoding == "path":
        return path(archs, space)
    if encoding == "graph":
        return graph(archs, space)
    raise ValueError(f"unknown encoding {encoding!r}; choose one of {ENCODINGS}")


__all__ = ["ENCODINGS", "GraphBatch", "encode", "graph", "graph_dims", "onehot", "path", "path_dim", "to_pyg"]
