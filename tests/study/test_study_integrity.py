"""A study store under damage, concurrency and failure: nothing lost, nothing silent."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from hwpred.cli import main
from hwpred.study import parse_config, run_study
from hwpred.study.store import RESULT_COLUMNS, ResultStore


def _doc(table_path: Path, out: Path, **over) -> dict:
    doc = {
        "name": "integ",
        "datasets": [f"file:{table_path}#cpu/latency_ms"],
        "predictors": ["lin_reg", "ridge_reg"],
        "train_sizes": [20, 40],
        "test_size": 200,
        "seeds": [0, 1],
        "tuning": {"n_trials": 0},
        "output": str(out),
    }
    doc.update(over)
    return doc


def _quiet(cfg, **kw):
    from rich.console import Console

    return run_study(cfg, progress=False, console=Console(quiet=True), **kw)


def test_damaged_cells_are_reported_and_recomputed(tmp_path, table_path, capsys):
    cfg = parse_config(_doc(table_path, tmp_path))
    first = _quiet(cfg)
    before = first.store.read()[RESULT_COLUMNS].sort_values("cell_id").reset_index(drop=True)
    names = sorted(first.store.part_files())
    cells = first.store.parts_dir
    (cells / names[0]).write_bytes((cells / names[0]).read_bytes()[:100])
    (cells / names[1]).write_bytes(np.random.default_rng(0).bytes(900))
    (cells / names[2]).write_bytes((cells / names[3]).read_bytes())  # a valid cell under another's name

    assert main(["study", "check", str(first.store_dir)]) == 1
    out = capsys.readouterr().out
    assert "5 of 8 cells stored and verified" in out and "3 damaged, 3 missing" in out
    for n in names[:3]:
        assert n in out

    from hwpred.study.report import write_report

    rep = write_report(first.store_dir)
    assert rep.health.summary("cells").endswith("3 damaged, 3 missing")

    again = _quiet(cfg)
    assert again.stats.ran == 3
    after = again.store.read()[RESULT_COLUMNS].sort_values("cell_id").reset_index(drop=True)
    assert after.equals(before)
    assert len(list((first.store_dir / "damaged").glob("*.why"))) == 3
    assert main(["study", "check", str(first.store_dir)]) == 0


def test_failed_cells_exit_nonzero_and_retry(tmp_path, table_path, capsys, monkeypatch):
    doc = _doc(table_path, tmp_path, predictors=[{"name": "ridge_reg", "params": {"alpha": "x"}}, "lin_reg"])
    cfg_path = tmp_path / "bad.yaml"
    cfg_path.write_text(yaml.safe_dump(doc))
    assert main(["study", "run", str(cfg_path), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "4 cell(s) failed" in err and "--retry-failed" in err
    store = ResultStore(tmp_path / "integ")
    assert len(store.failed_ids()) == 4
    # the plain re-run counts them as done; --retry-failed runs them again
    assert main(["study", "run", str(cfg_path), "--no-progress"]) == 0
    assert "ran 0 cell(s)" in capsys.readouterr().err
    assert main(["study", "run", str(cfg_path), "--no-progress", "--retry-failed"]) == 1
    assert "retrying 4 cell(s)" in capsys.readouterr().err
    assert main(["study", "check", str(store.root)]) == 1
    assert "4 of them recorded as failed" in capsys.readouterr().out


def test_two_concurrent_runs_split_the_cells(tmp_path, table_path):
    doc = _doc(table_path, tmp_path, train_sizes=[20, 40, 60, 80], seeds=[0, 1, 2])
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump(doc))
    cmd = [sys.executable, "-m", "hwpred.cli", "study", "run", str(cfg_path), "--no-progress"]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    import re

    ran = [int(re.search(r"ran (\d+) cell", err).group(1)) for _, err in outs]
    assert sum(ran) == 24, outs  # every cell computed once, by one of the two runs
    assert ResultStore(tmp_path / "integ").missing([]) == []
    assert len(ResultStore(tmp_path / "integ").read()) == 24


def test_report_on_an_unwritable_folder_is_one_clear_error(tmp_path, table_path, monkeypatch, capsys):
    cfg = parse_config(_doc(table_path, tmp_path, seeds=[0], train_sizes=[20]))
    run = _quiet(cfg)
    target = tmp_path / "ro"
    target.write_text("a file, not a folder")
    assert main(["study", "report", str(run.store_dir), "--out", str(target / "sub")]) == 2
    err = capsys.readouterr().err
    assert "cannot write the report" in err and "--out" in err and "Traceback" not in err
