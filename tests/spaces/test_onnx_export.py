"""ONNX export of search-space models: checked files whose outputs match the torch modules."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from hwpred.spaces import NB201, TRANSNAS_MACRO
from hwpred.spaces import onnx_export as ox

pytest.importorskip("onnxruntime", reason="the 'onnx' extra (onnx, onnxruntime) is not installed")
import onnxruntime as ort  # noqa: E402


def run_both(space, arch, path, hw, classes):
    model = space.build_model(arch, num_classes=classes).eval()
    ox.export_model(model, (2, 3, *hw), path)
    x = torch.randn(2, 3, *hw, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = model(x).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return want, sess.run(None, {ox.INPUT_NAME: x.numpy()})[0]


@pytest.mark.parametrize(
    "space, arch, hw, classes",
    [
        (NB201, (3, 1, 2, 4, 3, 0), (32, 32), 10),
        (TRANSNAS_MACRO, (4, 1, 4, 1, 4, 0), (45, 67), 75),  # odd sides: projection shortcuts
        (TRANSNAS_MACRO, (2, 3, 1, 1, 0, 0), (64, 64), 7),
    ],
)
def test_export_is_checked_and_matches_torch(tmp_path, space, arch, hw, classes):
    path = tmp_path / ox.model_filename(space.name, arch)
    want, got = run_both(space, arch, path, hw, classes)
    ox.check_file(path)
    assert got.shape == want.shape == (2, classes)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_file_names_are_unique_over_the_space():
    names = {ox.model_filename("nb201", a) for a in NB201.enumerate()}
    assert len(names) == 5**6 and all(n.replace("-", "").replace(".", "").isalnum() for n in names)


def test_cache_exports_once_per_shape(tmp_path):
    c1 = ox.ExportCache(tmp_path, "nb201", input_size=32, batch_size=1, num_classes=10)
    c2 = ox.ExportCache(tmp_path, "nb201", input_size=16, batch_size=1, num_classes=10)
    p = c1.path((1, 1, 1, 1, 1, 1))
    mtime = p.stat().st_mtime_ns
    assert ox.ExportCache(tmp_path, "nb201", input_size=32, batch_size=1, num_classes=10).path(
        (1, 1, 1, 1, 1, 1)
    ).stat().st_mtime_ns == mtime  # fmt: skip
    assert c2.path((1, 1, 1, 1, 1, 1)) != p


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ox.OnnxError, match=r"pip install 'hwpred\[onnx\]'"):
        ox.require("onnx")


def test_macro_backbone_takes_odd_resolutions():
    m = TRANSNAS_MACRO.build_model(TRANSNAS_MACRO.from_string("64-41414-basic")).eval()
    with torch.no_grad():
        assert m(torch.randn(1, 3, 45, 67)).shape == (1, 75)


@pytest.mark.mirror
def test_macro_backbones_have_the_published_parameter_counts(mirror):
    """The backbone layout is the benchmark's: NAS-Bench-Suite-Zero's parameter counts agree."""
    import ast
    import json

    path = mirror / "nas-bench-suite-zero" / "zc_transbench101_macro.json"
    if not path.is_file():
        pytest.skip(f"{path} is not in the mirror")
    published = json.loads(path.read_text())["class_object"]
    keys = sorted(published)[:60]
    ours = [
        sum(p.numel() for p in TRANSNAS_MACRO.build_model(ast.literal_eval(k), num_classes=75).parameters())
        / 1e6
        for k in keys
    ]
    theirs = [published[k]["params"]["score"] for k in keys]
    np.testing.assert_allclose(ours, theirs, rtol=0.01)
