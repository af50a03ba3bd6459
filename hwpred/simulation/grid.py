"""The simulation grid: config, resumable Parquet store, and the batched runner.

A grid is pairs x subset sizes x noise levels (hardware, optionally accuracy) x trials. The
unit of stored work is one (pair, subset size, block of trials) with every noise level: its
rows appear as one Parquet part file, written to a temporary name and renamed, so a killed
run leaves finished parts intact and a re-run computes only the missing ones. Every trial
and every noise draw has its own seed (from the config seed, the pair, the size, the trial
and the noise level), so the numbers do not depend on the block size, the worker count or
the order work is resumed in.

Layout of ``<output>/<name>/``::

    simulation.json   the config (and its hash) that owns this store
    pairs.json        the pairs as loaded (size of the shared space, metric mean/std, units)
    parts/*.parquet   one file per finished unit
    results.parquet   all rows, written when the grid is complete
    example.parquet   one selection in full, for the report's example picture
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, HwpredError
from .._io import atomic_write_bytes, check_writable, part_filename, read_store_meta, read_yaml
from ..metrics import kendall_tau
from .noise import NoiseModel, check_std, rng_for, std_key
from .pairs import ACCURACY_SCALES, SimPair, load_pair
from .selection import AccuracyOrder, TrueFront, pareto_mask, reference_metric

FORMAT_VERSION = 1
ALL = "all"
_TOP_KEYS = {"name", "description", "pairs", "subset_sizes", "noise_stds", "accuracy_noise_stds", "trials",
             "seed", "output", "trials_per_part", "accuracy_scale", "noise_model", "example", "workers",
             "missing_datasets"}
_PAIR_KEYS = {"accuracy", "hardware", "selection_accuracy"}
_NOISE_KEYS = {"weights", "shift_max", "wide_scale", "uniform_half_width", "repeat"}
_EXAMPLE_KEYS = {"pair", "subset_size", "noise_std", "trial"}
#: elements of a (trials x subset) batch array kept in memory at once
BATCH_ELEMENTS = 1 << 21

RESULT_COLUMNS = ["pair", "accuracy", "hardware", "selection_accuracy", "subset_size", "subset_all", "noise_std",
                  "acc_noise_std", "trial", "mra_all", "mra_pareto", "hw_gap_all", "hw_gap_pareto", "hv",
                  "hv_true", "hv_fraction", "kendall_tau", "kendall_tau_acc", "n_selected", "n_verified", "n_front"]


# ---------------------------------------------------------------------------------------------
# config
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairSpec:
    accuracy: str
    hardware: str
    selection_accuracy: str | None = None

    @property
    def key(self) -> str:
        base = f"{self.accuracy} x {self.hardware}"
        return base if self.selection_accuracy is None else f"{base} (select by {self.selection_accuracy})"


@dataclass(frozen=True)
class ExampleSpec:
    """Which single selection the report draws in full."""

    pair: int = 0
    subset_size: int | str = 1000
    noise_std: float = 0.5
    trial: int = 0


@dataclass(frozen=True)
class SimulationConfig:
    name: str
    pairs: tuple[PairSpec, ...]
    subset_sizes: tuple[int | str, ...]
    noise_stds: tuple[float, ...]
    trials: int
    seed: int
    output: Path
    accuracy_noise_stds: tuple[float, ...] = (0.0,)
    trials_per_part: int = 250
    accuracy_scale: str = "auto"
    noise_model: NoiseModel = field(default_factory=NoiseModel)
    example: ExampleSpec = field(default_factory=ExampleSpec)
    workers: int = 1
    missing_datasets: str = "error"
    description: str = ""
    source: str = "<dict>"

    @property
    def store_dir(self) -> Path:
        return self.output / self.name

    def result_fields(self) -> dict:
        """What changes the numbers (not where or how fast it runs)."""
        return {"name": self.name, "pairs": [asdict(p) for p in self.pairs], "subset_sizes": list(self.subset_sizes),
                "noise_stds": list(self.noise_stds), "accuracy_noise_stds": list(self.accuracy_noise_stds),
                "trials": self.trials, "seed": self.seed, "trials_per_part": self.trials_per_part,
                "accuracy_scale": self.accuracy_scale, "noise_model": asdict(self.noise_model),
                "example": asdict(self.example), "format": FORMAT_VERSION}

    @property
    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.result_fields(), sort_keys=True, default=str).encode()).hexdigest()[:16]


def _err(source: str, msg: str) -> ConfigError:
    return ConfigError(f"{source}: {msg}")


def _available() -> list[str]:
    """Names of the datasets that can be loaded now (from the cache or the mirror)."""
    try:
        from ..data import available_datasets
    except ImportError:
        return []
    return [entry[0] for entry in available_datasets() if entry[1]]


def _names(value, key: str, source: str) -> list[str]:
    vals = [value] if isinstance(value, str) else value
    if not isinstance(vals, (list, tuple)) or not vals or not all(isinstance(v, str) and v for v in vals):
        raise _err(source, f"pairs.{key} must be a dataset name or a non-empty list of names, got {value!r}")
    out: list[str] = []
    for v in vals:
        if any(c in v for c in "*?["):
            matches = sorted(n for n in _available() if fnmatch.fnmatchcase(n, v))
            if not matches:
                raise _err(source, f"pattern {v!r} in pairs.{key} matches no available dataset; "
                                   "list them with `hwpred data list`")
            out.extend(matches)
        else:
            out.append(v)
    return out


def _parse_pairs(raw, source: str) -> tuple[PairSpec, ...]:
    """A list of {accuracy, hardware} mappings, or one mapping of lists (their cross product)."""
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, (list, tuple)) or not raw:
        raise _err(source, "pairs must be a non-empty list like [{accuracy: nats:cifar10, hardware: help:raspi4}]")
    pairs: list[PairSpec] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise _err(source, f"pairs[{i}] must be a mapping with keys accuracy and hardware, got {item!r}")
        unknown = set(item) - _PAIR_KEYS
        if unknown:
            raise _err(source, f"pairs[{i}] has unknown key(s) {sorted(unknown)}; allowed: {sorted(_PAIR_KEYS)}")
        for k in ("accuracy", "hardware"):
            if k not in item:
                raise _err(source, f"pairs[{i}] lacks {k!r} (a dataset name such as "
                                   f"{'nats:cifar10' if k == 'accuracy' else 'help:raspi4'})")
        sel = item.get("selection_accuracy")
        if sel is not None and not (isinstance(sel, str) and sel):
            raise _err(source, f"pairs[{i}].selection_accuracy must be a dataset name, got {sel!r}")
        for acc in _names(item["accuracy"], "accuracy", source):
            for hw in _names(item["hardware"], "hardware", source):
                pairs.append(PairSpec(acc, hw, sel))
    keys = [p.key for p in pairs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise _err(source, f"pair(s) listed twice: {dup}")
    return tuple(pairs)


def _int(value, key: str, source: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise _err(source, f"{key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _stds(value, key: str, source: str) -> tuple[float, ...]:
    if isinstance(value, Mapping):
        extra = set(value) - {"start", "stop", "step"}
        if extra or "step" not in value:
            raise _err(source, f"{key} as a range needs start, stop, step (e.g. {{start: 0, stop: 1, step: 0.1}})")
        try:
            start, stop, step = float(value.get("start", 0.0)), float(value["stop"]), float(value["step"])
        except (TypeError, ValueError):
            raise _err(source, f"{key} range values must be numbers, got {dict(value)}") from None
        if step <= 0 or stop < start:
            raise _err(source, f"{key} range needs step > 0 and stop >= start, got {dict(value)}")
        k = int(np.floor((stop - start) / step + 1e-9))
        value = [round(start + i * step, 10) for i in range(k + 1)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise _err(source, f"{key} must be a non-empty list of numbers >= 0, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _err(source, f"{key} holds {v!r}, not a number")
        try:
            out.append(check_std(v, f"{key} entry"))
        except ConfigError as exc:
            raise _err(source, f"{exc}; a noise standard deviation cannot be negative") from None
    if len(set(out)) != len(out):
        raise _err(source, f"{key} lists a value twice: {out}")
    return tuple(out)


def _sizes(value, source: str) -> tuple[int | str, ...]:
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise _err(source, "subset_sizes must be a non-empty list of integers >= 1 and/or 'all'")
    out: list[int | str] = []
    for v in value:
        if v == ALL:
            out.append(ALL)
        elif isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise _err(source, f"subset_sizes holds {v!r}; use integers >= 1 or 'all'")
        else:
            out.append(int(v))
    if len(set(out)) != len(out):
        raise _err(source, f"subset_sizes lists a size twice: {out}")
    return tuple(out)


def parse_config(doc: Mapping[str, Any], source: str = "<dict>") -> SimulationConfig:
    """Validate a config mapping (everything that does not need the data)."""
    if not isinstance(doc, Mapping):
        raise _err(source, "a simulation config must be a YAML mapping")
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise _err(source, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
    for key in ("name", "pairs", "subset_sizes", "noise_stds", "trials", "output"):
        if key not in doc:
            raise _err(source, f"missing required key {key!r} (required: name, pairs, subset_sizes, noise_stds, "
                               "trials, output)")
    name = doc["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise _err(source, f"name must be a plain folder name (letters, digits, . _ -), got {name!r}")
    noise_doc = doc.get("noise_model") or {}
    if not isinstance(noise_doc, Mapping) or set(noise_doc) - _NOISE_KEYS:
        raise _err(source, f"noise_model must be a mapping with keys among {sorted(_NOISE_KEYS)}")
    try:
        nm = NoiseModel(**{k: (tuple(v) if k == "weights" else v) for k, v in noise_doc.items()})
    except (ConfigError, TypeError) as exc:
        raise _err(source, f"noise_model: {exc}") from None
    ex_doc = doc.get("example") or {}
    if not isinstance(ex_doc, Mapping) or set(ex_doc) - _EXAMPLE_KEYS:
        raise _err(source, f"example must be a mapping with keys among {sorted(_EXAMPLE_KEYS)}")
    scale = doc.get("accuracy_scale", "auto")
    if scale not in ACCURACY_SCALES:
        raise _err(source, f"accuracy_scale must be one of {ACCURACY_SCALES}, got {scale!r}")
    missing = doc.get("missing_datasets", "error")
    if missing not in ("error", "skip"):
        raise _err(source, f"missing_datasets must be 'error' or 'skip', got {missing!r}")
    pairs = _parse_pairs(doc["pairs"], source)
    sizes = _sizes(doc["subset_sizes"], source)
    stds = _stds(doc["noise_stds"], "noise_stds", source)
    acc_stds = _stds(doc.get("accuracy_noise_stds", [0.0]), "accuracy_noise_stds", source)
    seed = _int(doc.get("seed", 0), "seed", source, 0)
    ex_size = ex_doc.get("subset_size", 1000)
    if not (ex_size == ALL or (isinstance(ex_size, int) and not isinstance(ex_size, bool) and ex_size >= 1)):
        raise _err(source, f"example.subset_size must be an integer >= 1 or 'all', got {ex_size!r}")
    example = ExampleSpec(pair=_int(ex_doc.get("pair", 0), "example.pair", source, 0), subset_size=ex_size,
                          noise_std=check_std(ex_doc.get("noise_std", 0.5), "example.noise_std"),
                          trial=_int(ex_doc.get("trial", 0), "example.trial", source, 0))
    if example.pair >= len(pairs):
        raise _err(source, f"example.pair is {example.pair} but only {len(pairs)} pair(s) are listed")
    return SimulationConfig(
        name=name, pairs=pairs, subset_sizes=sizes, noise_stds=stds, accuracy_noise_stds=acc_stds,
        trials=_int(doc["trials"], "trials", source, 1), seed=seed,
        output=Path(os.path.expanduser(str(doc["output"]))),
        trials_per_part=_int(doc.get("trials_per_part", 250), "trials_per_part", source, 1),
        accuracy_scale=scale, noise_model=nm, example=example,
        workers=_int(doc.get("workers", 1), "workers", source, 1), missing_datasets=missing,
        description=str(doc.get("description", "")), source=source)


def load_config(path: str | os.PathLike) -> SimulationConfig:
    return parse_config(read_yaml(path, "simulation config", "simulation/small.yaml"), str(path))


def resolve_size(size: int | str, n: int, pair_key: str, source: str = "config") -> int:
    """A subset size against a pair's shared space; larger than the space is a config error."""
    if size == ALL:
        return n
    if size > n:
        raise ConfigError(f"{source}: subset size {size} is larger than the {n} architectures pair {pair_key} "
                          f"shares; use at most {n} or 'all'")
    return int(size)


def load_pairs(cfg: SimulationConfig, progress: bool = False) -> tuple[list[SimPair], list[str]]:
    """Load every pair (tables cached across pairs); with missing_datasets=skip, report absent ones."""
    cache: dict = {}
    pairs, skipped = [], []
    for spec in cfg.pairs:
        try:
            pair = load_pair(spec.accuracy, spec.hardware, selection_accuracy=spec.selection_accuracy,
                             accuracy_scale=cfg.accuracy_scale, cache=cache)
        except HwpredError as exc:
            if cfg.missing_datasets == "skip" and _looks_missing(exc):
                skipped.append(f"{spec.key}: {exc}")
                continue
            msg = str(exc) if spec.key in str(exc) else f"{cfg.source}, pair {spec.key}: {exc}"
            raise type(exc)(msg) from None
        for s in cfg.subset_sizes:
            resolve_size(s, len(pair), pair.key, cfg.source)
        pairs.append(pair)
    if not pairs:
        raise DataError(f"{cfg.source}: none of the pairs could be loaded: " + "; ".join(skipped))
    return pairs, skipped


def _looks_missing(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(w in text for w in ("no such", "not found", "missing", "mirror", "unknown dataset", "no dataset",
                                   "not available", "download"))


# ---------------------------------------------------------------------------------------------
# one unit of work
# ---------------------------------------------------------------------------------------------
@dataclass
class UnitTask:
    """Everything a worker needs for one (pair, size, block of trials): plain arrays only."""

    pair_key: str
    accuracy: str
    hardware: str
    selection_accuracy: str | None
    acc: np.ndarray
    select_acc: np.ndarray
    hw: np.ndarray
    hw_mean: float
    hw_std: float
    size: int
    size_all: bool
    t0: int
    t1: int
    noise_stds: tuple[float, ...]
    acc_noise_stds: tuple[float, ...]
    seed: int
    noise_model: NoiseModel

    @property
    def part_id(self) -> str:
        return f"{self.pair_key}|n={'all' if self.size_all else self.size}|t={self.t0}-{self.t1}"

    @property
    def seed_key(self) -> str:
        """Seeds depend on accuracy x hardware only: a run that selects by a proxy accuracy
        draws the same subsets and metric noise as the run that selects by the true one."""
        return f"{self.accuracy} x {self.hardware}"


def _subset(task: UnitTask, trial: int) -> np.ndarray:
    n_total = len(task.acc)
    if task.size >= n_total:
        return np.arange(n_total)
    rng = rng_for(task.seed, task.seed_key, "subset", task.size, trial)
    return rng.choice(n_total, task.size, replace=False)


def _noise(task: UnitTask, trial: int, std: float, side: str, n: int) -> np.ndarray:
    if std == 0.0:
        return np.zeros(n)
    rng = rng_for(task.seed, task.seed_key, side, task.size, trial, std_key(std))
    return task.noise_model.sample(n, std, rng)


def _ref_hw(task: UnitTask):
    """Reference metric in z units: 1.1 x the front's largest metric in the metric's own unit."""
    def ref(front_max_z: np.ndarray) -> np.ndarray:
        raw = front_max_z * task.hw_std + task.hw_mean
        return (reference_metric(raw) - task.hw_mean) / task.hw_std
    return ref


def _tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall tau-b, the same definition the predictor study scores real predictors with."""
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return kendall_tau(x, y)


def run_unit(task: UnitTask, on_progress=None) -> pd.DataFrame:
    """All noise levels for one block of trials, batched over trials.

    The accuracy order of each subset is sorted once and shared by every noise level; when
    the subset is the whole space it is the same for every trial and is sorted only once.
    ``on_progress(k)`` is called after every k finished (trial, noise level) evaluations.
    """
    n = task.size
    whole = n >= len(task.acc)
    batch = max(1, min(task.t1 - task.t0, BATCH_ELEMENTS // max(n, 1)))
    acc_sd = float(np.std(task.select_acc))
    out: dict[str, list] = {c: [] for c in RESULT_COLUMNS}
    ref = _ref_hw(task)
    proxy = task.selection_accuracy is not None
    whole_front = TrueFront(task.acc[None, :], task.hw[None, :], ref_from_front_max=ref) if whole else None
    for b0 in range(task.t0, task.t1, batch):
        trials = np.arange(b0, min(b0 + batch, task.t1))
        if whole:
            idx = np.arange(n)[None, :]
            front = whole_front
        else:
            idx = np.stack([_subset(task, int(t)) for t in trials])
            front = TrueFront(task.acc[idx], task.hw[idx], ref_from_front_max=ref)
        eval_acc, sel_acc0 = task.acc[idx], task.select_acc[idx]
        proxy_order = AccuracyOrder(sel_acc0) if proxy else None
        for s_hw in task.noise_stds:
            # the noise vector is exchangeable (its repeats are shuffled), so it is laid out in
            # the subset's accuracy order directly: no gather needed on the fast path
            noisy_s = front.hw_s + np.stack([_noise(task, int(t), s_hw, "hw", n) for t in trials])
            for s_acc in task.acc_noise_stds:
                if s_acc > 0 or proxy:
                    sel_hw = front.order.sweep.unsort(noisy_s)
                    if s_acc > 0:
                        sel_acc = sel_acc0 + acc_sd * np.stack([_noise(task, int(t), s_acc, "acc", n)
                                                                for t in trials])
                        order = AccuracyOrder(sel_acc)
                    else:
                        sel_acc, order = sel_acc0, proxy_order
                    met = front.evaluate(order.sweep.unsort(order.select(sel_hw)))
                else:
                    sel_acc = sel_acc0
                    met = front.evaluate_compact(front.select_sorted(noisy_s))
                rows = range(len(trials))
                if s_hw > 0:
                    tau = [_tau(front.hw_s[i if not whole else 0], noisy_s[i]) for i in rows]
                else:
                    tau = [1.0 if n > 1 else float("nan")] * len(trials)
                if s_acc > 0 or proxy:
                    sel_b = np.broadcast_to(sel_acc, noisy_s.shape)
                    tau_acc = [_tau(eval_acc[i if not whole else 0], sel_b[i]) for i in rows]
                else:
                    tau_acc = [1.0 if n > 1 else float("nan")] * len(trials)
                k = len(trials)
                out["pair"] += [task.pair_key] * k
                out["accuracy"] += [task.accuracy] * k
                out["hardware"] += [task.hardware] * k
                out["selection_accuracy"] += [task.selection_accuracy] * k
                out["subset_size"] += [n] * k
                out["subset_all"] += [task.size_all] * k
                out["noise_std"] += [s_hw] * k
                out["acc_noise_std"] += [s_acc] * k
                out["trial"] += trials.tolist()
                out["mra_all"] += (100.0 * met.mra_all).tolist()
                out["mra_pareto"] += (100.0 * met.mra_pareto).tolist()
                out["hw_gap_all"] += met.hw_gap_all.tolist()
                out["hw_gap_pareto"] += met.hw_gap_pareto.tolist()
                out["hv"] += met.hv.tolist()
                out["hv_true"] += met.hv_true.tolist()
                out["hv_fraction"] += met.hv_fraction.tolist()
                out["kendall_tau"] += tau
                out["kendall_tau_acc"] += tau_acc
                out["n_selected"] += met.n_selected.tolist()
                out["n_verified"] += met.n_verified.tolist()
                out["n_front"] += met.n_front.tolist()
                if on_progress is not None:
                    on_progress(k)
    df = pd.DataFrame(out, columns=RESULT_COLUMNS)
    for c in ("subset_size", "trial", "n_selected", "n_verified", "n_front"):
        df[c] = df[c].astype("int64")
    df["selection_accuracy"] = df["selection_accuracy"].astype("string")
    return df


def example_selection(pair: SimPair, cfg: SimulationConfig) -> tuple[pd.DataFrame, dict]:
    """One selection in full (the example picture), with the exact seeds the grid uses."""
    ex = cfg.example
    size = ex.subset_size
    if size != ALL:
        size = min(int(size), len(pair))
    n = resolve_size(size, len(pair), pair.key, cfg.source)
    task = _task(pair, cfg, size, ex.trial, ex.trial + 1)
    idx = _subset(task, ex.trial)
    acc, hw = pair.acc[idx], pair.hw[idx]
    front = TrueFront(acc, hw, ref_from_front_max=_ref_hw(task))
    # the same layout as the grid: noise listed in the subset's accuracy order
    noisy_s = front.hw_s + _noise(task, ex.trial, ex.noise_std, "hw", n)[None, :]
    noisy_hw = front.order.sweep.unsort(noisy_s)[0]
    sel = pareto_mask(pair.select_acc[idx], noisy_hw)
    met = front.evaluate(sel)
    verified = sel & pareto_mask(np.where(sel, acc, -np.inf), hw)
    from ..spaces import get_space

    sp = get_space(pair.space)
    df = pd.DataFrame({"arch": [sp.to_string(a) for a in pair.archs[idx]], "accuracy": 100.0 * acc,
                       "hardware": hw, "hardware_raw": pair.hw_raw[idx], "noisy_hardware": noisy_hw,
                       "true_front": front.front, "selected": sel, "verified": verified})
    info = {"pair": pair.key, "accuracy": pair.accuracy, "hardware": pair.hardware, "hw_unit": pair.hw_unit,
            "subset_size": n, "noise_std": ex.noise_std, "trial": ex.trial,
            "kendall_tau": _tau(hw, noisy_hw) if ex.noise_std > 0 else 1.0,
            "mra_all": float(100 * met.mra_all[0]), "mra_pareto": float(100 * met.mra_pareto[0]),
            "hv_fraction": float(met.hv_fraction[0]), "ref_hw": float(front.ref_hw[0])}
    return df, info


def _task(pair: SimPair, cfg: SimulationConfig, size: int | str, t0: int, t1: int,
          noise_stds: tuple[float, ...] | None = None) -> UnitTask:
    n = resolve_size(size, len(pair), pair.key, cfg.source)
    return UnitTask(pair_key=pair.key, accuracy=pair.accuracy, hardware=pair.hardware,
                    selection_accuracy=pair.selection_accuracy, acc=pair.acc, select_acc=pair.select_acc,
                    hw=pair.hw, hw_mean=pair.hw_mean, hw_std=pair.hw_std, size=n, size_all=(size == ALL),
                    t0=t0, t1=t1, noise_stds=noise_stds or cfg.noise_stds, acc_noise_stds=cfg.accuracy_noise_stds,
                    seed=cfg.seed, noise_model=cfg.noise_model)


# ---------------------------------------------------------------------------------------------
# store
# ---------------------------------------------------------------------------------------------
def _parquet_bytes(df: pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink, compression="zstd")
    return sink.getvalue().to_pybytes()


class SimulationStore:
    """A folder of Parquet part files owned by one config (see module docstring)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.parts_dir = self.root / "parts"
        self.meta_path = self.root / "simulation.json"
        self.results_path = self.root / "results.parquet"
        self.pairs_path = self.root / "pairs.json"
        self.example_path = self.root / "example.parquet"
        self.example_info_path = self.root / "example.json"

    @classmethod
    def open(cls, path: str | os.PathLike) -> "SimulationStore":
        """A store folder, or an output folder holding exactly one simulation store."""
        p = Path(path)
        if (p / "simulation.json").is_file():
            return cls(p)
        subs = sorted(d for d in p.iterdir() if (d / "simulation.json").is_file()) if p.is_dir() else []
        if len(subs) == 1:
            return cls(subs[0])
        if subs:
            raise DataError(f"{p} holds several simulations ({', '.join(d.name for d in subs)}); pass one of them")
        raise DataError(f"{p} is not a simulation store (no simulation.json); pass the folder "
                        "`hwpred simulate run` wrote, <output>/<name>")

    def read_meta(self) -> dict | None:
        return read_store_meta(self.meta_path, "simulation store")

    def init(self, cfg: SimulationConfig) -> None:
        meta = self.read_meta()
        if meta is not None and meta.get("config_hash") != cfg.config_hash:
            raise ConfigError(f"{self.root} already holds simulation {meta.get('name')!r} from a different config "
                              f"(hash {meta.get('config_hash')} from {meta.get('source')}, this one is "
                              f"{cfg.config_hash}); give the config another name or output, or delete that folder")
        if meta is None and self.parts_dir.is_dir() and any(self.parts_dir.glob("*.parquet")):
            raise ConfigError(f"{self.root} holds result parts but no simulation.json; choose another output")
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        if meta is None:
            from .. import __version__

            doc = {"format": FORMAT_VERSION, "name": cfg.name, "config_hash": cfg.config_hash, "source": cfg.source,
                   "config": cfg.result_fields(), "hwpred": __version__,
                   "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            atomic_write_bytes(self.meta_path, json.dumps(doc, indent=1, default=str).encode())

    def path_of(self, part_id: str) -> Path:
        return self.parts_dir / part_filename(part_id)

    def has(self, part_id: str) -> bool:
        return self.path_of(part_id).is_file()

    def write_part(self, part_id: str, df: pd.DataFrame) -> None:
        atomic_write_bytes(self.path_of(part_id), _parquet_bytes(df))

    def read(self) -> pd.DataFrame:
        """All rows: the consolidated file when complete, otherwise every finished part."""
        if self.results_path.is_file():
            return pd.read_parquet(self.results_path)
        return self._read_parts()

    def _read_parts(self) -> pd.DataFrame:
        files = sorted(self.parts_dir.glob("*.parquet")) if self.parts_dir.is_dir() else []
        frames = []
        for f in files:
            if f.name.startswith("."):
                continue
            try:
                frames.append(pd.read_parquet(f))
            except Exception:  # unreadable part (disk fault): skipped, a re-run redoes it
                continue
        if not frames:
            raise DataError(f"{self.root} holds no finished simulation results yet; run `hwpred simulate run` first")
        return pd.concat(frames, ignore_index=True)

    def consolidate(self) -> Path:
        df = self._read_parts()
        df = df.sort_values(["pair", "subset_size", "noise_std", "acc_noise_std", "trial"]).reset_index(drop=True)
        atomic_write_bytes(self.results_path, _parquet_bytes(df))
        return self.results_path


# ---------------------------------------------------------------------------------------------
# runner
# ---------------------------------------------------------------------------------------------
def plan(cfg: SimulationConfig, pairs: list[SimPair]) -> list[UnitTask]:
    tasks = []
    for pair in pairs:
        for size in cfg.subset_sizes:
            for t0 in range(0, cfg.trials, cfg.trials_per_part):
                tasks.append(_task(pair, cfg, size, t0, min(t0 + cfg.trials_per_part, cfg.trials)))
    return tasks


def _work(task: UnitTask) -> tuple[str, pd.DataFrame]:
    return task.part_id, run_unit(task)


def run_simulation(cfg: SimulationConfig, workers: int | None = None, progress: bool = True,
                   pairs: list[SimPair] | None = None, console=None) -> SimulationStore:
    """Run (or resume) the grid; returns the store. ``pairs`` may be given pre-loaded (tests)."""
    workers = int(workers or cfg.workers)
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    if pairs is None:
        pairs, skipped = load_pairs(cfg)
    else:
        skipped = []
        for pair in pairs:
            for s in cfg.subset_sizes:
                resolve_size(s, len(pair), pair.key, cfg.source)
    check_writable(cfg.output, cfg.source)
    store = SimulationStore(cfg.store_dir)
    store.init(cfg)
    atomic_write_bytes(store.pairs_path, json.dumps({"pairs": [p.info() for p in pairs], "skipped": skipped},
                                               indent=1).encode())
    todo = [t for t in plan(cfg, pairs) if not store.has(t.part_id)]
    combos = len(cfg.noise_stds) * len(cfg.accuracy_noise_stds)
    total = sum((t.t1 - t.t0) * combos for t in todo)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    cols = [TextColumn("[bold]simulate[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*cols, disable=not progress, console=console, transient=False) as bar:
        job = bar.add_task(f"{cfg.name}: {len(todo)} part(s) to run", total=max(total, 1))
        if workers == 1 or len(todo) <= 1:
            for t in todo:
                df = run_unit(t, on_progress=lambda k: bar.advance(job, k))
                store.write_part(t.part_id, df)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                pending = {pool.submit(_work, t): t for t in todo}
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        t = pending.pop(fut)
                        part_id, df = fut.result()
                        store.write_part(part_id, df)
                        bar.advance(job, (t.t1 - t.t0) * combos)
        if total == 0:
            bar.advance(job, 1)
    store.consolidate()
    ex_pair = pairs[min(cfg.example.pair, len(pairs) - 1)]
    ex_df, ex_info = example_selection(ex_pair, cfg)
    atomic_write_bytes(store.example_path, _parquet_bytes(ex_df))
    atomic_write_bytes(store.example_info_path, json.dumps(ex_info, indent=1).encode())
    return store
