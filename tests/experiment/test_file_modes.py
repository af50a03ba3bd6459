"""Files hwpred writes atomically get the mode the umask gives a plain open(), not mkstemp's 0600."""

import os
import stat

import pandas as pd
import pytest

from hwpred._io import atomic_folder, atomic_write_bytes, write_new
from hwpred.experiment import PartStore


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_atomic_files_and_folders_follow_the_umask(tmp_path, umask_022):
    atomic_write_bytes(tmp_path / "a.bin", b"x")
    assert write_new(tmp_path / "b.bin", b"y")
    with atomic_folder(tmp_path / "pred") as d:
        (d / "f.json").write_text("{}")
    assert _mode(tmp_path / "a.bin") == 0o644
    assert _mode(tmp_path / "b.bin") == 0o644
    assert _mode(tmp_path / "pred") == 0o755


def test_store_parts_are_readable_by_the_group(tmp_path, umask_022):
    s = PartStore(tmp_path / "st", "test store", "meta.json", "parts")
    s.init("t", "h", "test", {})
    s.write_part("u1", pd.DataFrame({"x": [1.0]}))
    assert _mode(s.path_of("u1")) == 0o644 and _mode(s.meta_path) == 0o644
