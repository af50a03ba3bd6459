"""CUDA timer and harness: run where a GPU is present, skipped with a reason elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwpred.measure import MeasureConfig, RepeatPolicy, make_timer, measure_space

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason="no CUDA GPU on this machine (torch.cuda.is_available() is False)",
    ),
]


def test_cuda_timer_events_and_stats():
    timer = make_timer("cuda", RepeatPolicy(repeats=10, warmup=2))
    model, x = timer.to_device(torch.nn.Conv2d(3, 64, 3, padding=1), torch.randn(8, 3, 64, 64))
    assert x.is_cuda and next(model.parameters()).is_cuda
    st = timer.measure(model, x)
    assert st.n == 10 and 0 < st.min_ms <= st.median_ms and np.isfinite(st.std_ms)
    big, xb = timer.to_device(torch.nn.Conv2d(3, 64, 3, padding=1), torch.randn(64, 3, 256, 256))
    assert timer.measure(big, xb).median_ms > st.median_ms  # 64x the work takes longer


def test_cuda_cudnn_benchmark_is_configurable():
    make_timer("cuda", cudnn_benchmark=False).prepare()
    assert torch.backends.cudnn.benchmark is False
    make_timer("cuda", cudnn_benchmark=True).prepare()
    assert torch.backends.cudnn.benchmark is True


def test_cuda_harness_records_oom_and_continues():
    def build(arch):
        if arch == (3, 3, 3, 3, 3, 3):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        from hwpred.spaces import NB201

        return NB201.build_model(arch)

    archs = [(0,) * 6, (3,) * 6, (1, 2, 3, 4, 1, 2)]
    cfg = MeasureConfig(device="cuda", batch_size=4, policy=RepeatPolicy(repeats=3, warmup=1), energy=False)
    res = measure_space(cfg, archs=archs, progress=False, build_fn=build)
    assert len(res.table) == 2 and "cuda-b4/latency_ms" in res.table.columns
    assert res.table.meta["failed"][0]["error"].startswith("OutOfMemoryError")
    assert res.table.meta["device"].get("gpu_name")
