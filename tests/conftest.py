import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The real-data mirror; tests that need it skip with a reason when it is absent."""
    p = os.environ.get("HWPRED_DATA_MIRROR")
    if not p or not Path(p).is_dir():
        pytest.skip("HWPRED_DATA_MIRROR is not set to the data mirror folder: real-data test skipped")
    return Path(p)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Two test workers' worth of torch threads on a 2-core machine makes small fits 10x slower."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep caches and the local-table registry of tests out of the user's home."""
    home = tmp_path_factory.getbasetemp() / "hwpred-home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HWPRED_HOME", str(home))
