"""No data file runs code: every importer of a pickle-based format refuses a planted payload,
even when the payload's sha256 is the one the manifest expects."""

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from hwpred.data.sources import help as help_src
from hwpred.data.sources import hwnasbench, transnas
from hwpred.errors import DataError


class Payload:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _torch_file(path: Path, obj) -> Path:
    torch.save(obj, path)
    return path


@pytest.mark.parametrize(
    "importer",
    [
        "transnas",
        "hwnasbench",
        "help-latency",
        "help-index",
    ],
)
def test_planted_payload_does_not_run(tmp_path, importer):
    marker = tmp_path / "code-ran"
    evil = Payload(marker)
    if importer == "transnas":
        p = _torch_file(tmp_path / "t.pth", {"data": {"macro": {"64-1234-basic": evil}}})
        call = lambda: transnas.read_transnas(p, _sha(p))  # noqa: E731
    elif importer == "hwnasbench":
        p = tmp_path / "hw.pickle"
        p.write_bytes(pickle.dumps({"nasbench201": {"cifar10": evil}}))
        call = lambda: hwnasbench.read_hwnasbench(p, _sha(p))  # noqa: E731
    elif importer == "help-latency":
        p = _torch_file(tmp_path / "raspi4.pt", [1.0, evil])
        call = lambda: help_src.read_latency(p, np.zeros((2, 6), dtype=np.int64), "raspi4")  # noqa: E731
    else:
        p = _torch_file(tmp_path / "str_arch2idx.pt", {"|none~0|": evil})
        call = lambda: help_src.read_arch_index(p)  # noqa: E731
    with pytest.raises(DataError, match="refus"):
        call()
    assert not marker.exists()


def test_transnas_database_with_numpy_values_still_loads(tmp_path):
    """The narrow allow-list admits numpy arrays and scalars, which older databases hold."""
    info = {"inference_time": np.float64(0.5), "model_params": np.array([1e6])[0]}
    task = {"model_info": info, "metrics": {"test_loss": np.array([2.0, 1.5])}}
    db = {"data": {"macro": {"64-1234-basic": {"class_scene": task}, "64-4123-basic": {"class_scene": task}}}}
    p = _torch_file(tmp_path / "np.pth", db)
    tables = transnas.read_transnas(p, _sha(p))
    t = tables["class_scene"]
    assert len(t) == 2 and t.columns["class_scene/test_loss"].tolist() == [1.5, 1.5]
