"""NB201.build_model's parameter count equals NAS-Bench-Suite-Zero's `params` for every architecture.

This checks the network builder and the zero-cost key convention (hwpred.data.sources.zerocost)
at once: a wrong op or edge mapping would pair keys with the wrong cells and break the equality.
"""

from __future__ import annotations

from unittest import mock

import pytest
import torch

from hwpred.data.sources.zerocost import NB201_DATASETS, read_zc_json, zc_key_to_arch
from hwpred.spaces import NB201

NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}


def _no_init(self):  # parameter counts do not depend on initial values; skipping init saves ~half the time
    return None


@pytest.mark.slow
@pytest.mark.mirror
def test_param_count_matches_zc_nasbench201_for_every_architecture(mirror):
    data = read_zc_json(mirror / "nas-bench-suite-zero" / "zc_nasbench201.json")
    assert set(data) == set(NB201_DATASETS)
    keys_by_arch: dict[tuple, list[tuple[str, str]]] = {}
    for ds, records in data.items():
        for key in records:
            keys_by_arch.setdefault(zc_key_to_arch(key), []).append((ds, key))
    assert len(keys_by_arch) >= 700
    torch.set_num_threads(1)
    checked, mismatches = 0, []
    with (
        mock.patch.object(torch.nn.Conv2d, "reset_parameters", _no_init),
        mock.patch.object(torch.nn.Linear, "reset_parameters", _no_init),
    ):
        for arch, entries in keys_by_arch.items():
            model = NB201.build_model(arch, num_classes=10)
            total = sum(p.numel() for p in model.parameters())
            head_in = model.classifier.in_features
            body = total - sum(p.numel() for p in model.classifier.parameters())
            for ds, key in entries:
                k = NUM_CLASSES[ds]
                expected_m = (body + head_in * k + k) / 1e6
                got = data[ds][key]["params"]["score"]
                checked += 1
                if abs(expected_m - got) > 5e-7:
                    mismatches.append((ds, key, arch, expected_m, got))
    assert checked == sum(len(v) for v in data.values())
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:3]}"


def test_head_shortcut_equals_a_real_model_with_that_head():
    """The cheap classifier arithmetic above equals building the model with k classes."""
    arch = (3, 1, 2, 0, 4, 3)
    base = NB201.build_model(arch, num_classes=10)
    body = sum(p.numel() for p in base.parameters()) - sum(p.numel() for p in base.classifier.parameters())
    for k in (100, 120):
        real = sum(p.numel() for p in NB201.build_model(arch, num_classes=k).parameters())
        assert real == body + base.classifier.in_features * k + k


@pytest.mark.parametrize(
    "key,arch",
    [
        ("(0, 2, 3, 2, 3, 1)", (1, 3, 3, 2, 2, 0)),
        ("(1, 1, 1, 1, 1, 1)", (0, 0, 0, 0, 0, 0)),
        ("(4, 0, 2, 3, 1, 2)", (4, 1, 2, 3, 0, 3)),
    ],
)
def test_zc_key_mapping_examples(key, arch):
    assert zc_key_to_arch(key) == arch
