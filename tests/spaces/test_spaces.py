import numpy as np
import pytest
import torch

from hwpred.spaces import NB201, TRANSNAS_MACRO, SpaceError, as_arch_array, get_space


def test_nb201_enumerates_all_cells_uniquely():
    archs = NB201.enumerate()
    assert len(archs) == 5**6 == len(set(archs))
    assert [NB201.index(a) for a in archs[:50]] == list(range(50))


def test_nb201_string_round_trip_every_cell():
    for a in NB201.enumerate():
        assert NB201.from_string(NB201.to_string(a)) == a


def test_nb201_string_matches_design_layout():
    s = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    assert NB201.from_string(s) == (4, 2, 1, 2, 1, 1)
    assert NB201.to_string((4, 2, 1, 2, 1, 1)) == s


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "|none~0|",
        "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
    ],
)
def test_nb201_bad_strings_raise(bad):
    with pytest.raises(SpaceError):
        NB201.from_string(bad)


@pytest.mark.parametrize("bad", [(0, 1, 2), (0, 1, 2, 3, 4, 5), ("a",) * 6, (-1, 0, 0, 0, 0, 0)])
def test_nb201_bad_tuples_raise(bad):
    with pytest.raises(SpaceError):
        NB201.validate(bad)


def test_nb201_neighbours_are_one_edit_away():
    a = (0, 1, 2, 3, 4, 0)
    nb = NB201.neighbours(a)
    assert len(nb) == 6 * 4 == len(set(nb))
    assert all(sum(x != y for x, y in zip(a, n)) == 1 for n in nb)


def test_nb201_model_shapes_and_zero_op():
    m = NB201.build_model((3, 3, 3, 3, 3, 3), num_classes=100).eval()
    with torch.no_grad():
        assert m(torch.randn(2, 3, 32, 32)).shape == (2, 100)
        assert m(torch.randn(1, 3, 16, 16)).shape == (1, 100)  # ImageNet16-120 input
    # all-none cell: the cells output zeros, so the prediction is the same for any input
    dead = NB201.build_model((0,) * 6).eval()
    with torch.no_grad():
        out = dead(torch.randn(4, 3, 32, 32))
    assert torch.allclose(out, out[:1].expand_as(out))


def test_nb201_param_counts_of_known_cells():
    # conv3x3 everywhere is the largest cell; skip/none/pool-only cells share the smallest count
    counts = {
        a: sum(p.numel() for p in NB201.build_model(a).parameters())
        for a in [(0,) * 6, (1,) * 6, (4,) * 6, (3,) * 6]
    }
    assert counts[(0,) * 6] == counts[(1,) * 6] == counts[(4,) * 6] < counts[(3,) * 6]
    assert counts[(3,) * 6] == 1_531_546  # published size of the all-conv3x3 CIFAR-10 network (1.53 M)


def test_transnas_macro_has_exactly_3256_valid_codes():
    archs = TRANSNAS_MACRO.enumerate()
    assert len(archs) == 3256 == len(set(archs))
    assert all(TRANSNAS_MACRO.is_valid(a) for a in archs)


def test_transnas_string_round_trip_and_padding():
    assert TRANSNAS_MACRO.from_string("64-1242-basic") == (1, 2, 4, 2, 0, 0)
    for a in TRANSNAS_MACRO.enumerate():
        assert TRANSNAS_MACRO.from_string(TRANSNAS_MACRO.to_string(a)) == a


@pytest.mark.parametrize(
    "bad",
    [
        "64-1111-basic",  # never doubles or downsamples
        "64-2222-basic",  # doubles 4 times
        "64-123-basic",
        "32-1234-basic",
        "64-1234-bottleneck",
    ],
)
def test_transnas_invalid_codes_raise(bad):
    with pytest.raises(SpaceError):
        TRANSNAS_MACRO.from_string(bad)


def test_transnas_neighbours_valid_and_distinct():
    a = TRANSNAS_MACRO.from_string("64-41414-basic")
    nb = TRANSNAS_MACRO.neighbours(a)
    assert nb and a not in nb and len(nb) == len(set(nb))
    assert all(TRANSNAS_MACRO.is_valid(n) for n in nb)


def test_transnas_model_resolution_and_channels():
    a = TRANSNAS_MACRO.from_string("64-41414-basic")
    m = TRANSNAS_MACRO.build_model(a).eval()
    assert m.out_channels == 64 * 2**3  # three code-4 layers double the channels
    feats = m.body(m.stem(torch.randn(1, 3, 224, 224)))
    # stem /4, then the three code-4 layers each halve the resolution
    assert feats.shape[-1] == 224 // 4 // 2**3
    assert m(torch.randn(1, 3, 64, 64)).shape == (1, 75)


def test_get_space_and_arch_array():
    assert get_space("nasbench201") is NB201
    with pytest.raises(SpaceError, match="unknown search space"):
        get_space("darts")
    arr = as_arch_array(
        ["|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|", (1, 1, 1, 1, 1, 1)], NB201
    )
    assert arr.tolist() == [[0, 0, 0, 0, 0, 3], [1] * 6]
    with pytest.raises(SpaceError, match="another search space"):
        as_arch_array(np.zeros((2, 4), dtype=int), NB201)
