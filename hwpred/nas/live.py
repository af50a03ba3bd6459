"""Measure candidate architectures on this machine, for live verification of a search."""

from __future__ import annotations

import numpy as np

from ..spaces import get_space


def measure_latency(
    archs,
    space="nb201",
    device: str = "cpu",
    repeats: int = 20,
    threads: int = 1,
    input_size: int | None = None,
    num_classes: int | None = None,
) -> np.ndarray:
    """Median forward latency (ms, batch 1) of each architecture, with the harness's timers."""
    import torch
    from rich.progress import track

    from ..measure.timers import RepeatPolicy, make_timer

    sp = get_space(space)
    size = input_size or (32 if sp.name == "nb201" else 224)
    kwargs = {"num_classes": num_classes} if num_classes else {}
    timer = make_timer(device, RepeatPolicy(repeats=repeats, warmup=3), threads=threads)
    out = []
    for arch in track(np.asarray(archs).tolist(), description=f"measuring on {device}", transient=True):
        model = sp.build_model(tuple(arch), **kwargs)
        model, x = timer.to_device(model, torch.randn(1, 3, size, size))
        out.append(timer.measure(model, x).median_ms)
    return np.asarray(out)
