"""Non-square inputs (``--input-size HEIGHTxWIDTH``), e.g. the 720x1080 frames TransNAS-Bench-101 timed."""

from __future__ import annotations

import pytest

from hwpred.cli import main
from hwpred.data.table import MetricTable
from hwpred.measure import MeasureConfig, MeasureError

TINY = ["--repeats", "2", "--warmup", "0", "--no-progress", "--no-energy"]


@pytest.mark.parametrize("runtime", ["torch", "onnxruntime"])
def test_macro_backbone_at_a_non_square_input(tmp_path, runtime):
    if runtime == "onnxruntime":
        pytest.importorskip("onnxruntime", reason="the 'onnx' extra is not installed")
    out = tmp_path / "m.parquet"
    argv = ["measure", "transnas_macro", "--limit", "1", "--input-size", "40x60", "--runtime", runtime]
    assert main([*argv, "--onnx-cache", str(tmp_path / "c"), "--out", str(out), *TINY]) == 0
    t = MetricTable.read_parquet(out)
    assert len(t) == 1 and t.meta["measure"]["protocol"]["input_size"] == [40, 60]
    assert t.meta["device"]["input_size"] == [40, 60]


def test_input_size_forms():
    assert MeasureConfig(space="transnas_macro").resolved().input_size == 256
    assert MeasureConfig(space="nb201", input_size="16x16").resolved().input_size == 16
    assert MeasureConfig(space="nb201", input_size=(24, 40)).resolved().input_size == (24, 40)
    for bad in ("wide", "4x100", (0, 10)):
        with pytest.raises(MeasureError, match="input size"):
            MeasureConfig(space="nb201", input_size=bad).resolved()
