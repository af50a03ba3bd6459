"""Importers of the public formats: real files from the mirror, small files the tests write."""

from __future__ import annotations

import hashlib
import json
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from hwpred.data.sources import help as help_src
from hwpred.data.sources import hwnasbench, hwnb360, nats, transnas, zerocost
from hwpred.errors import DataError
from hwpred.spaces import NB201, TRANSNAS_MACRO

ARCH0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def some_nb201(n: int, seed: int = 0) -> list[tuple[int, ...]]:
    return NB201.random(n, seed)


# -- HELP -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def help_archs(mirror):
    return help_src.read_arch_index(mirror / "help-nb201" / "str_arch2idx.pt")


def test_help_arch_index_is_all_cells_once(help_archs):
    assert help_archs.shape == (15625, 6)
    assert len(np.unique(help_archs, axis=0)) == 15625
    assert tuple(help_archs[0]) == NB201.from_string(ARCH0)


def test_help_raspi4_real(mirror, help_archs):
    t = help_src.read_latency(mirror / "help-nb201/latency/raspi4.pt", help_archs, "raspi4")
    assert len(t) == 15625 and t.units["raspi4/latency_ms"] == "ms"
    assert t.lookup("raspi4/latency_ms", [NB201.from_string(ARCH0)])[0] == 10.481976820010459


def test_help_all_27_devices_exist_in_mirror(mirror):
    assert sorted(p.stem for p in (mirror / "help-nb201/latency").glob("*.pt")) == sorted(help_src.DEVICES)


def test_help_phone_table_has_ties(mirror, help_archs):
    t = help_src.read_latency(mirror / "help-nb201/latency/pixel2.pt", help_archs, "pixel2")
    y = t.column("pixel2/latency_ms")
    assert np.all(y == np.round(y)) and len(np.unique(y)) < 200


def test_help_rejects_nan_wrong_length_and_truncated(tmp_path):
    archs = np.asarray(some_nb201(5))
    good = tmp_path / "dev.pt"
    torch.save([1.0, 2.0, 3.0, 4.0, 5.0], good)
    assert len(help_src.read_latency(good, archs, "dev")) == 5
    nan = tmp_path / "nan.pt"
    torch.save([1.0, float("nan"), 3.0, 4.0, 5.0], nan)
    with pytest.raises(DataError, match="NaN"):
        help_src.read_latency(nan, archs, "dev")
    short = tmp_path / "short.pt"
    torch.save([1.0, 2.0], short)
    with pytest.raises(DataError, match="expected 5"):
        help_src.read_latency(short, archs, "dev")
    trunc = tmp_path / "trunc.pt"
    trunc.write_bytes(good.read_bytes()[:200])
    with pytest.raises(DataError, match="not a readable torch file"):
        help_src.read_latency(trunc, archs, "dev")
    with pytest.raises(DataError, match="does not exist"):
        help_src.read_latency(tmp_path / "missing.pt", archs, "dev")


def test_help_arch_index_rejects_gaps_and_bad_strings(tmp_path):
    strings = [NB201.to_string(a) for a in NB201.enumerate()]
    gap = tmp_path / "gap.pt"
    torch.save({s: i for i, s in enumerate(strings[:-1])}, gap)
    with pytest.raises(DataError, match="no architecture"):
        help_src.read_arch_index(gap)
    bad = tmp_path / "bad.pt"
    m = {s: i for i, s in enumerate(strings)}
    m.pop(strings[7])
    m["|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|"] = 7
    torch.save(m, bad)
    with pytest.raises(DataError, match="entry 7"):
        help_src.read_arch_index(bad)


# -- NATS -----------------------------------------------------------------------------------------
def test_nats_real(mirror):
    t = nats.read_nats(mirror / "nats-tss/nats_bench.csv")
    assert len(t) == 15625
    assert set(t.columns) == {"cifar10/test_acc", "cifar100/test_acc", "ImageNet16-120/test_acc"}
    assert t.lookup("cifar10/test_acc", [NB201.from_string(ARCH0)])[0] == pytest.approx(85.86333333333334)


def _nats_csv(path, archs, acc=None):
    acc = acc if acc is not None else [[90.0, 70.0, 40.0]] * len(archs)
    df = pd.DataFrame(
        {
            "CIFAR10TestAccuracy200Epochs": [a[0] for a in acc],
            "CIFAR100TestAccuracy200Epochs": [a[1] for a in acc],
            "ImageNetTestAccuracy200Epochs": [a[2] for a in acc],
            "ArchitectureString": [NB201.to_string(a) if not isinstance(a, str) else a for a in archs],
        }
    )
    df.to_csv(path, index=False)
    return path


def test_nats_small_file_keys_by_string_not_row_order(tmp_path):
    archs = some_nb201(4, 3)
    p = _nats_csv(tmp_path / "n.csv", archs, [[90.0 + i, 70.0, 40.0] for i in range(4)])
    t = nats.read_nats(p)
    assert [t.lookup("cifar10/test_acc", [a])[0] for a in archs] == [90.0, 91.0, 92.0, 93.0]


def test_nats_bad_inputs(tmp_path):
    archs = some_nb201(3, 4)
    with pytest.raises(DataError, match="NaN"):
        nats.read_nats(
            _nats_csv(tmp_path / "nan.csv", archs, [[90.0, 70.0, 40.0], [float("nan"), 1, 1], [1, 1, 1]])
        )
    with pytest.raises(DataError, match="duplicate"):
        nats.read_nats(_nats_csv(tmp_path / "dup.csv", [archs[0], archs[0], archs[1]]))
    with pytest.raises(DataError, match="bad edge"):
        nats.read_nats(
            _nats_csv(tmp_path / "inv.csv", [archs[0], "|foo~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
        )
    df = pd.read_csv(_nats_csv(tmp_path / "cols.csv", archs)).drop(columns=["CIFAR100TestAccuracy200Epochs"])
    df.to_csv(tmp_path / "cols.csv", index=False)
    with pytest.raises(DataError, match="lacks column"):
        nats.read_nats(tmp_path / "cols.csv")
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01garbage\xff" * 10)
    with pytest.raises(DataError):
        nats.read_nats(tmp_path / "bin.csv")
    with pytest.raises(DataError, match="does not exist"):
        nats.read_nats(tmp_path / "none.csv")


# -- HW-NAS-Bench-360 -----------------------------------------------------------------------------
def test_hwnb360_real(mirror):
    acc_table = nats.read_nats(mirror / "nats-tss/nats_bench.csv")  # rows in benchmark-index order
    assert np.array_equal(
        acc_table.archs[:50], nats.read_index_archs(mirror / "nats-tss/nats_bench.csv")[:50]
    )
    t = hwnb360.read_hwnb360(mirror / "hw-nas-bench-360/dataset.parquet", acc_table.archs)
    assert len(t) == 15625 and len(t.columns) == 33
    a0 = [NB201.from_string(ARCH0)]
    assert t.lookup("pi5-onnx/cifar100/latency_ms", a0)[0] == pytest.approx(1.830504, abs=1e-6)
    assert t.lookup("pi5-litert/darcy/energy_mj", a0)[0] == pytest.approx(20.345979, abs=1e-6)
    assert (
        "pixel-litert/cifar100/energy_mj" not in t.columns and "pixel-litert/cifar100/latency_ms" in t.columns
    )
    acc = acc_table.join(t.select(["cifar100/accuracy"]))
    from scipy.stats import spearmanr

    # keyed through the NATS index mapping: its CIFAR-100 accuracies agree with NATS'
    assert spearmanr(acc.column("cifar100/accuracy"), acc.column("cifar100/test_acc")).statistic > 0.99


def _hwnb360_long(path, n, drop=None, nan_at=None):
    rows = []
    for i in range(n):
        for (dev, rt), _ in hwnb360.DEVICE_RUNTIMES.items():
            for task in hwnb360.TASKS:
                rows.append(
                    {
                        "arch_idx": i,
                        "rep_arch_idx": i,
                        "device": dev,
                        "framework": rt,
                        "task": task,
                        "lat_ms_median": 1.0 + i,
                        "lat_ms_var": 0.01,
                        "energy_mj": 2.0 + i if dev == "pi5" else np.nan,
                        "accuracy": 50.0 + i,
                        "status": "ok",
                    }
                )
    df = pd.DataFrame(rows)
    if drop is not None:
        df = df.drop(index=drop)
    if nan_at is not None:
        df.loc[nan_at, "lat_ms_median"] = np.nan
    df.to_parquet(path)
    return path


def test_hwnb360_small_file_and_bad_inputs(tmp_path):
    archs = np.asarray(some_nb201(3, 5))
    t = hwnb360.read_hwnb360(_hwnb360_long(tmp_path / "ok.parquet", 3), archs)
    assert t.lookup("pi5-torchmobile/ninapro/energy_mj", [tuple(archs[2])])[0] == 4.0
    with pytest.raises(DataError, match="missing or non-finite"):
        hwnb360.read_hwnb360(_hwnb360_long(tmp_path / "gap.parquet", 3, drop=[0]), archs)
    with pytest.raises(DataError, match="missing or non-finite"):
        hwnb360.read_hwnb360(_hwnb360_long(tmp_path / "nan.parquet", 3, nan_at=5), archs)
    with pytest.raises(DataError, match="arch_idx outside"):
        hwnb360.read_hwnb360(_hwnb360_long(tmp_path / "big.parquet", 4), archs)
    raw = (tmp_path / "ok.parquet").read_bytes()
    (tmp_path / "trunc.parquet").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="not a readable Parquet"):
        hwnb360.read_hwnb360(tmp_path / "trunc.parquet", archs)


# -- NAS-Bench-Suite-Zero -------------------------------------------------------------------------
def test_zc_key_round_trip_over_whole_space():
    for a in NB201.enumerate()[::7]:
        assert zerocost.zc_key_to_arch(zerocost.arch_to_zc_key(a)) == a


def test_zc_nb201_real_matches_nats(mirror):
    from scipy.stats import spearmanr

    tables = zerocost.read_zc_nb201(mirror / "nas-bench-suite-zero/zc_nasbench201.json")
    acc = nats.read_nats(mirror / "nats-tss/nats_bench.csv")
    for ds in ("cifar100", "ImageNet16-120"):
        j = tables[ds].join(acc.select([f"{ds}/test_acc"]))
        assert len(j) == len(tables[ds]) >= 720
        assert spearmanr(j.column(f"{ds}/val_acc"), j.column(f"{ds}/test_acc")).statistic > 0.99
    # the published file's one -inf nwot score per dataset is dropped and recorded
    assert all(any("nwot" in d["missing_or_non_finite"] for d in t.meta["dropped"]) for t in tables.values())
    assert {"cifar10/synflow", "cifar10/nwot", "cifar10/params", "cifar10/flops_time_s"} <= set(
        tables["cifar10"].columns
    )


def test_zc_transnas_real(mirror):
    tables = zerocost.read_zc_transnas(mirror / "nas-bench-suite-zero/zc_transbench101_macro.json")
    assert set(tables) == set(zerocost.TRANSNAS_TASKS)
    t = tables["class_scene"]
    assert t.space == "transnas_macro" and len(t) >= 600
    assert TRANSNAS_MACRO.from_string("64-1242-basic") in set(t.arch_tuples)


def test_zc_bad_inputs(tmp_path):
    rec = {"val_accuracy": 80.0, "synflow": {"score": 1.0, "time": 0.1}}
    p = tmp_path / "z.json"
    p.write_text(json.dumps({"cifar10": {"(0, 2, 3, 2, 3, 1)": rec, "(1, 1, 1, 1, 1, 1)": rec}}))
    assert len(zerocost.read_zc_nb201(p)["cifar10"]) == 2
    p.write_text(json.dumps({"cifar10": {"(0, 2, 3, 2, 3, 1)": rec, "(0,2,3,2,3,1)": rec}}))
    with pytest.raises(DataError, match="same architecture"):
        zerocost.read_zc_nb201(p)
    p.write_text(json.dumps({"cifar10": {"(0, 2, 9, 2, 3, 1)": rec}}))
    with pytest.raises(DataError, match="op indices"):
        zerocost.read_zc_nb201(p)
    p.write_text(json.dumps({"cifar10": {"(0, 2, 3, 2, 3, 1)": rec}})[:-10])
    with pytest.raises(DataError, match="not valid JSON"):
        zerocost.read_zc_nb201(p)
    nan = dict(rec, synflow={"score": float("nan"), "time": 0.1})
    p.write_text(json.dumps({"cifar10": {"(0, 2, 3, 2, 3, 1)": rec, "(1, 1, 1, 1, 1, 1)": nan}}))
    t = zerocost.read_zc_nb201(p)["cifar10"]
    assert len(t) == 1 and t.meta["dropped"][0]["missing_or_non_finite"] == ["synflow"]


# -- HW-NAS-Bench pickle --------------------------------------------------------------------------
def write_hwnasbench_pickle(path, archs, nan: bool = False, dup: bool = False):
    part = {}
    for k, ds in enumerate(hwnasbench.DATASETS):
        entry = {
            m: [float(10 * k + i + j + 1) for i in range(len(archs))]
            for j, m in enumerate(hwnasbench.METRICS)
        }
        strings = [NB201.to_string(a) for a in archs]
        if dup:
            strings[-1] = strings[0]
        entry["config"] = [
            {"name": "infer.tiny", "C": 16, "N": 5, "arch_str": s, "num_classes": 10} for s in strings
        ]
        if nan:
            entry["fpga_energy"][1] = float("nan")
        part[ds] = entry
    with open(path, "wb") as f:
        pickle.dump({"nasbench201": part, "fbnet": {}}, f)
    return path


def test_hwnasbench_small_pickle(tmp_path):
    archs = some_nb201(6, 7)
    p = write_hwnasbench_pickle(tmp_path / "hw.pickle", archs)
    tables = hwnasbench.read_hwnasbench(p, sha(p))
    assert set(tables) == set(hwnasbench.DATASETS)
    t = tables["cifar100"]
    assert len(t) == 6 and t.units["edgegpu/energy_mj"] == "mJ"
    raspi = list(hwnasbench.METRICS).index("raspi4_latency")
    assert t.lookup("raspi4/latency_ms", [archs[3]])[0] == 10 * 1 + 3 + raspi + 1


def test_hwnasbench_checksum_is_required_before_unpickling(tmp_path):
    archs = some_nb201(4, 8)
    p = write_hwnasbench_pickle(tmp_path / "hw.pickle", archs)
    with pytest.raises(DataError, match="checksum mismatch"):
        hwnasbench.read_hwnasbench(p, "0" * 64)
    with pytest.raises(DataError, match="no sha256"):
        hwnasbench.read_hwnasbench(p, None)

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, ("echo should-not-run",))

    evil = tmp_path / "evil.pickle"
    with open(evil, "wb") as f:
        pickle.dump({"nasbench201": {"cifar10": Evil()}}, f)
    with pytest.raises(DataError, match="refusing"):
        hwnasbench.read_hwnasbench(evil, sha(evil))


def test_hwnasbench_bad_inputs(tmp_path):
    archs = some_nb201(4, 9)
    p = write_hwnasbench_pickle(tmp_path / "nan.pickle", archs, nan=True)
    with pytest.raises(DataError, match="NaN"):
        hwnasbench.read_hwnasbench(p, sha(p))
    p = write_hwnasbench_pickle(tmp_path / "dup.pickle", archs, dup=True)
    with pytest.raises(DataError, match="duplicate"):
        hwnasbench.read_hwnasbench(p, sha(p))
    good = write_hwnasbench_pickle(tmp_path / "good.pickle", archs)
    trunc = tmp_path / "trunc.pickle"
    trunc.write_bytes(good.read_bytes()[:100])
    with pytest.raises(DataError, match="could not be unpickled"):
        hwnasbench.read_hwnasbench(trunc, sha(trunc))
    with pytest.raises(DataError, match="does not exist"):
        hwnasbench.read_hwnasbench(tmp_path / "missing.pickle", "0" * 64)


# -- TransNAS-Bench-101 .pth ----------------------------------------------------------------------
def write_transnas_pth(path, codes, nan: bool = False, bad_key: bool = False):
    tasks = ["class_scene", "autoencoder"]
    data = {}
    for i, code in enumerate(codes):
        key = "64-99-basic" if (bad_key and i == 0) else code
        per_task = {}
        for k, task in enumerate(tasks):
            metrics = {"train_loss": [3.0, 2.0], "valid_loss": [2.5, 2.1], "test_loss": [2.4, 2.0 + i + k]}
            if task == "class_scene":
                metrics["test_top1"] = [30.0, 40.0 + i]
            if task == "autoencoder":
                metrics["test_ssim"] = [0.4, 0.5 + i / 100]
            per_task[task] = {
                "model_info": {
                    "inference_time": 0.01 * (i + 1) if not (nan and i == 1) else float("nan"),
                    "model_params": 1e6 + i,
                    "encoder_FLOPs": 2e9,
                },
                "metrics": metrics,
                "total_epochs": 2,
            }
        data[key] = per_task
    db = {
        "task_list": tasks,
        "metrics_dict": {t: ["train_loss", "valid_loss", "test_loss"] for t in tasks},
        "info_names": ["inference_time", "model_params", "encoder_FLOPs"],
        "data": {"macro": data, "micro": {"64-41414-3_33_333": {}}},
    }
    torch.save(db, path)
    return path


def test_transnas_small_pth(tmp_path):
    codes = ["64-41414-basic", "64-1242-basic", "64-2313-basic"]
    p = write_transnas_pth(tmp_path / "t.pth", codes)
    tables = transnas.read_transnas(p, sha(p))
    assert set(tables) == {"class_scene", "autoencoder"}
    cs = tables["class_scene"]
    assert cs.space == "transnas_macro" and len(cs) == 3
    a = TRANSNAS_MACRO.from_string("64-1242-basic")
    assert cs.lookup("class_scene/inference_time", [a])[0] == pytest.approx(0.02)
    assert cs.lookup("class_scene/test_loss", [a])[0] == 3.0  # final epoch, not best
    assert cs.lookup("class_scene/test_top1", [a])[0] == 41.0
    assert "class_scene/train_loss" not in cs.columns
    assert tables["autoencoder"].lookup("autoencoder/test_ssim", [a])[0] == pytest.approx(0.51)


def test_transnas_bad_inputs(tmp_path):
    codes = ["64-41414-basic", "64-1242-basic"]
    p = write_transnas_pth(tmp_path / "t.pth", codes)
    with pytest.raises(DataError, match="checksum mismatch"):
        transnas.read_transnas(p, "f" * 64)
    p = write_transnas_pth(tmp_path / "nan.pth", codes, nan=True)
    with pytest.raises(DataError, match="NaN"):
        transnas.read_transnas(p, sha(p))
    p = write_transnas_pth(tmp_path / "key.pth", codes, bad_key=True)
    with pytest.raises(DataError, match="not a TransNAS-Bench-101 macro string"):
        transnas.read_transnas(p, sha(p))
    good = write_transnas_pth(tmp_path / "good.pth", codes)
    trunc = tmp_path / "trunc.pth"
    trunc.write_bytes(good.read_bytes()[:300])
    with pytest.raises(DataError, match="not a readable torch file"):
        transnas.read_transnas(trunc, sha(trunc))
