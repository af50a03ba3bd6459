"""The onnxruntime measurement runtime: same protocol as torch, provenance, cache, failures."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from hwpred.measure import MeasureConfig, MeasureError, RepeatPolicy, measure_space
from hwpred.measure.resume import same_protocol
from hwpred.spaces import onnx_export

pytest.importorskip("onnxruntime", reason="the 'onnx' extra (onnx, onnxruntime) is not installed")
import onnxruntime as ort  # noqa: E402

FAST = RepeatPolicy(repeats=3, warmup=1)


def ort_config(tmp_path, **kw) -> MeasureConfig:
    kw = {
        "space": "nb201",
        "policy": FAST,
        "energy": False,
        "runtime": "onnxruntime",
        "onnx_cache": str(tmp_path / "onnx"),
        "reference_every": 2,
        **kw,
    }
    return MeasureConfig(**kw)


def test_onnxruntime_runs_the_whole_protocol_and_records_its_settings(tmp_path):
    out = tmp_path / "ort.parquet"
    cfg = ort_config(tmp_path, two_pass=True, paired_reference=True, rounds=2, graph_opt="basic")
    res = measure_space(cfg, limit=3, out=out, progress=False)
    t = res.table
    assert res.complete and len(t) == 3 and res.measured_now == 3 * 2 * 2
    for col in ("latency_ms", "latency_pass2_ms", "rel_latency_q10", "rel_latency_q10_pass2", "cpu_time_ms"):
        v = t.column(f"ort-cpu-t1-b1/{col}")
        assert np.all(np.isfinite(v)) and np.all(v > 0)
    rt = t.meta["runtime"]
    assert rt["name"] == "onnxruntime" and rt["onnxruntime"] == ort.__version__
    assert rt["intra_op_threads"] == 1 and rt["batch_size"] == 1 and rt["graph_optimization"] == "basic"
    assert rt["provider"] == "CPUExecutionProvider" and rt["opset"] == 17
    prot = t.meta["measure"]["protocol"]
    assert prot["runtime"] == "onnxruntime" and prot["graph_opt"] == "basic" and prot["rounds"] == 2
    assert t.meta["reference"]["series"], "the reference is re-measured in onnxruntime too"
    # one export per architecture (and the reference), each checked, reused by every job
    files = sorted((tmp_path / "onnx").rglob("*.onnx"))
    assert len(files) == 4
    for f in files:
        onnx_export.check_file(f)

    # resume: a larger limit measures only the new architecture's jobs
    more = measure_space(cfg, limit=4, out=out, resume=True, progress=False)
    assert len(more.table) == 4 and more.measured_now == 4
    # another graph optimisation level is another protocol
    with pytest.raises(MeasureError, match="another protocol"):
        measure_space(ort_config(tmp_path, two_pass=True, paired_reference=True, rounds=2), limit=4, out=out,
                      resume=True, progress=False)  # fmt: skip


def test_onnxruntime_orders_the_cheapest_and_dearest_cells(tmp_path):
    """The all-none cell must run faster than the all-3x3-conv cell in onnxruntime as in torch."""
    archs = [(0,) * 6, (3,) * 6]
    ort_t = measure_space(ort_config(tmp_path, policy=RepeatPolicy(repeats=5, warmup=1)), archs=archs,
                          progress=False).table  # fmt: skip
    lat = ort_t.lookup("ort-cpu-t1-b1/latency_ms", archs)
    assert lat[0] < lat[1]


def test_a_failed_export_is_recorded_and_the_run_goes_on(tmp_path, monkeypatch):
    bad = (3, 3, 3, 3, 3, 3)
    real = onnx_export.export_arch

    def flaky(space, arch, path, **kw):
        if tuple(arch) == bad:
            raise RuntimeError("exporter cannot take this graph")
        return real(space, arch, path, **kw)

    monkeypatch.setattr(onnx_export, "export_arch", flaky)
    res = measure_space(ort_config(tmp_path), archs=[bad, (1, 2, 3, 4, 1, 2)], progress=False)
    assert len(res.table) == 1 and res.failed_now == 1
    [failed] = res.table.meta["failed"]
    assert "exporter cannot take this graph" in failed["error"]


def test_a_damaged_cached_export_is_exported_again(tmp_path):
    cfg = ort_config(tmp_path)
    measure_space(cfg, archs=[(1, 2, 3, 4, 1, 2)], progress=False)
    files = [f for f in (tmp_path / "onnx").rglob("*.onnx") if "123412" in f.name]
    files[0].write_bytes(b"truncated")
    res = measure_space(cfg, archs=[(1, 2, 3, 4, 1, 2)], progress=False)
    assert len(res.table) == 1
    onnx_export.check_file(files[0])


def test_missing_onnxruntime_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(MeasureError, match=r"pip install 'hwpred\[onnx\]'"):
        measure_space(ort_config(tmp_path), limit=1, progress=False)


@pytest.mark.parametrize(
    "kw, needle",
    [
        ({"runtime": "tensorrt"}, "unknown runtime"),
        ({"graph_opt": "max"}, "graph optimisation level"),
        ({"opset": 3}, "opset"),
    ],
)
def test_bad_runtime_options_one_clear_error(tmp_path, kw, needle):
    with pytest.raises(MeasureError, match=needle):
        ort_config(tmp_path, **kw).resolved()


def test_torch_protocols_from_before_runtimes_still_resume():
    new = MeasureConfig(space="nb201").protocol()
    old = {k: v for k, v in new.items() if k not in ("runtime", "graph_opt", "opset")}
    assert same_protocol(old, new)
    assert not same_protocol(old, MeasureConfig(space="nb201", runtime="onnxruntime").protocol())


@pytest.mark.skipif(
    "CUDAExecutionProvider" not in ort.get_available_providers(),
    reason="onnxruntime has no CUDA execution provider here (needs onnxruntime-gpu and a GPU)",
)
def test_onnxruntime_cuda_provider(tmp_path):
    res = measure_space(ort_config(tmp_path, device="cuda"), limit=2, progress=False)
    assert res.complete and res.table.meta["runtime"]["provider"] == "CUDAExecutionProvider"
    assert np.all(res.table.column("ort-cuda-b1/latency_ms") > 0)


@pytest.mark.skipif(
    "CUDAExecutionProvider" in ort.get_available_providers(), reason="this onnxruntime has the CUDA provider"
)
def test_onnxruntime_cuda_without_the_provider_is_one_error(tmp_path):
    with pytest.raises(MeasureError, match="onnxruntime-gpu"):
        measure_space(ort_config(tmp_path, device="cuda"), limit=1, progress=False)
