import numpy as np
import pytest

from hwpred.encoders import encode, graph, graph_dims, onehot, path, to_pyg
from hwpred.spaces import NB201, TRANSNAS_MACRO, SpaceError


def test_onehot_nb201_is_30_dims_and_invertible():
    archs = np.array(NB201.enumerate())
    x = onehot(archs, "nb201")
    assert x.shape == (15625, 30)
    assert np.all(x.sum(1) == 6)
    np.testing.assert_array_equal(x.reshape(-1, 6, 5).argmax(-1), archs)


def test_onehot_transnas_has_absent_slot():
    x = onehot([(1, 2, 4, 2, 0, 0)], "transnas_macro").reshape(6, 5)
    assert x[4, 0] == 1 and x[5, 0] == 1 and x[2, 4] == 1


def test_path_encoding_nb201_counts_live_paths():
    # all conv3x3: every one of the 4 routes is live
    assert path([(3,) * 6], "nb201").sum() == 4
    # only the direct 0->3 edge is non-none: one live route of length 1
    x = path([(0, 0, 0, 2, 0, 0)], "nb201")
    assert x.sum() == 1
    # a 'none' on edge 0 kills routes 0-1-3 and 0-1-2-3
    assert path([(0, 3, 3, 3, 3, 3)], "nb201").sum() == 2
    # cells differing only on dead edges share a path code
    a, b = path([(0, 0, 1, 0, 0, 0), (0, 0, 4, 0, 0, 0)], "nb201")
    np.testing.assert_array_equal(a, b)


def test_path_encoding_transnas_is_injective():
    archs = TRANSNAS_MACRO.enumerate()
    x = path(archs, "transnas_macro")
    assert len(np.unique(x, axis=0)) == len(archs)


def test_graph_encoding_nb201_structure():
    g = graph([(3, 3, 3, 3, 3, 3)], "nb201")
    n, f = graph_dims("nb201")
    assert g.adjacency.shape == (1, n, n) and g.features.shape == (1, n, f)
    adj = g.adjacency[0]
    assert adj[0, 1] == 1 and adj[0, 4] == 1  # input feeds edges 0 (1<-0) and 3 (3<-0)
    assert adj[1, 3] == 1 and adj[1, 5] == 1  # edge 0 ends at node 1, feeding edges 2 and 4
    assert adj[4, 7] == 1 and adj[6, 7] == 1  # edges into node 3 feed the output
    assert np.all(np.triu(adj) == adj)  # a DAG in topological order
    assert g.features[0, 1:7, 2 + 3].sum() == 6


def test_graph_transnas_skips_absent_layers():
    g = graph([(1, 2, 4, 2, 0, 0)], "transnas_macro")
    adj = g.adjacency[0]
    assert adj[4, 7] == 1 and adj[4, 5] == 0 and adj.sum() == 5


def test_to_pyg_matches_dense():
    data = to_pyg([(1, 2, 3, 4, 0, 1)], "nb201", y=[2.5])
    g = graph([(1, 2, 3, 4, 0, 1)], "nb201")
    assert data[0].edge_index.shape[1] == int(g.adjacency[0].sum())
    assert float(data[0].y) == 2.5


def test_encode_dispatch_and_errors():
    assert encode([(0,) * 6], "nb201", "onehot").shape == (1, 30)
    with pytest.raises(ValueError, match="unknown encoding"):
        encode([(0,) * 6], "nb201", "bag")
    with pytest.raises(SpaceError):
        onehot([(5, 0, 0, 0, 0, 0)], "nb201")
