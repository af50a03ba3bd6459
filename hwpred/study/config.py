"""Study configuration: YAML -> validated dataclasses.

Everything a user can get wrong in a config is caught here, before any cell runs, with one
:class:`~hwpred.errors.ConfigError` that names the key, the bad value and the fix. Checks that
need the data (dataset names, train sizes against the table size) or the file system (output
directory, an existing store) live in :func:`validate`, so that parsing stays cheap and pure.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError, HwpredError
from .._io import check_writable, read_yaml

EXECUTORS = ("local", "dask")
SAMPLERS = ("tpe", "random")
_TOP_KEYS = {"name", "description", "datasets", "predictors", "train_sizes", "test_size", "seeds",
             "tuning", "executor", "workers", "scheduler", "output", "missing_datasets"}
_DATASET_KEYS = {"name", "train_sizes", "test_size"}
_PREDICTOR_KEYS = {"name", "params", "tuning"}


def _named_entries(doc: Mapping, key: str, valid: set[str], where: str):
    """Yield (index, mapping) for a list whose items are names or mappings with a 'name' key."""
    if not isinstance(doc[key], list):
        raise ConfigError(f"{where}: {key} must be a list of names or mappings")
    for i, item in enumerate(doc[key]):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, Mapping) or "name" not in item:
            raise ConfigError(f"{where}: {key}[{i}] must be a name or a mapping with a 'name' key")
        bad = set(item) - valid
        if bad:
            raise ConfigError(f"{where}: {key}[{i}] has unknown key(s) {sorted(bad)}; valid: {sorted(valid)}")
        yield i, item
_TUNING_KEYS = {"n_trials", "timeout", "sampler", "n_folds"}


@dataclass(frozen=True)
class TuningSpec:
    """Hyper-parameter search budget of one fit; ``n_trials == 0`` means defaults, no search."""

    n_trials: int = 0
    timeout: float | None = None  # seconds per fit
    sampler: str = "random"
    n_folds: int = 3


@dataclass(frozen=True)
class DatasetSpec:
    """A study dataset: a registry name (``help:raspi4``) or ``file:<path.parquet>#<column>``."""

    name: str
    train_sizes: tuple[int, ...]
    test_size: int


@dataclass(frozen=True)
class PredictorSpec:
    name: str
    params: Mapping[str, Any]
    tuning: TuningSpec


@dataclass(frozen=True)
class StudyConfig:
    name: str
    datasets: tuple[DatasetSpec, ...]
    predictors: tuple[PredictorSpec, ...]
    seeds: tuple[int, ...]
    output: Path
    executor: str = "local"
    workers: int = 1
    scheduler: str | None = None
    missing_datasets: str = "error"  # or "skip": report absent datasets and go on (cluster configs)
    description: str = ""
    source: str = "<dict>"

    @property
    def store_dir(self) -> Path:
        """Where this study's results live: ``<output>/<name>``."""
        return self.output / self.name

    def result_fields(self) -> dict:
        """The parts of the config that change the numbers (not where or how it runs)."""
        return {
            "name": self.name,
            "datasets": [asdict(d) for d in self.datasets],
            "predictors": [{"name": p.name, "params": _canon(p.params), "tuning": asdict(p.tuning)}
                           for p in self.predictors],
            "seeds": list(self.seeds),
        }

    @property
    def config_hash(self) -> str:
        text = json.dumps(self.result_fields(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def with_overrides(self, **kw) -> "StudyConfig":
        from dataclasses import replace

        return replace(self, **{k: v for k, v in kw.items() if v is not None})


def _canon(obj):
    if isinstance(obj, Mapping):
        return {str(k): _canon(v) for k, v in sorted(obj.items())}
    if isinstance(obj, (list, tuple)):
        return [_canon(v) for v in obj]
    return obj


# ---- parsing -----------------------------------------------------------------------------------
def load_config(path: str | os.PathLike) -> StudyConfig:
    """Read and parse a YAML study config (structure only; see :func:`validate` for the rest)."""
    return parse_config(read_yaml(path, "study config", "studies/quick.yaml"), source=str(path))


def parse_config(doc: Any, source: str = "<dict>") -> StudyConfig:
    where = source
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{where}: a study config is a YAML mapping with keys name, datasets, predictors, "
                          "train_sizes, test_size, seeds, output")
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; valid keys: {sorted(_TOP_KEYS)}")
    for key in ("name", "datasets", "predictors", "seeds", "output"):
        if key not in doc or doc[key] in (None, "", []):
            raise ConfigError(f"{where}: missing required key {key!r}")

    name = str(doc["name"])
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ConfigError(f"{where}: name {name!r} must be letters, digits, '.', '_' or '-' (it names the store folder)")

    default_sizes = _sizes(doc.get("train_sizes"), f"{where}: train_sizes", required=False)
    default_test = doc.get("test_size")
    datasets = []
    for i, d in _named_entries(doc, "datasets", _DATASET_KEYS, where):
        sizes = _sizes(d.get("train_sizes"), f"{where}: datasets[{i}] ({d['name']}) train_sizes", required=False) \
            or default_sizes
        if not sizes:
            raise ConfigError(f"{where}: no train_sizes for dataset {d['name']!r}; set train_sizes at the top "
                              "level or for that dataset")
        test = d.get("test_size", default_test)
        if test is None:
            raise ConfigError(f"{where}: no test_size for dataset {d['name']!r}; set test_size at the top level "
                              "or for that dataset")
        test = _int(test, f"{where}: test_size of {d['name']}")
        if test < 2:
            raise ConfigError(f"{where}: test_size of {d['name']} is {test}; it needs at least 2 architectures "
                              "to compute a rank correlation")
        datasets.append(DatasetSpec(str(d["name"]), sizes, test))
    _no_dupes([d.name for d in datasets], f"{where}: datasets")

    default_tuning = _tuning(doc.get("tuning"), f"{where}: tuning", TuningSpec())
    predictors = []
    for i, p in _named_entries(doc, "predictors", _PREDICTOR_KEYS, where):
        params = p.get("params") or {}
        if not isinstance(params, Mapping):
            raise ConfigError(f"{where}: predictors[{i}] ({p['name']}) params must be a mapping")
        tuning = _tuning(p.get("tuning"), f"{where}: predictors[{i}] ({p['name']}) tuning", default_tuning)
        predictors.append(PredictorSpec(str(p["name"]), dict(params), tuning))
    _no_dupes([p.name for p in predictors], f"{where}: predictors")

    seeds = _seeds(doc["seeds"], f"{where}: seeds")
    executor = str(doc.get("executor", "local"))
    if executor not in EXECUTORS:
        raise ConfigError(f"{where}: executor {executor!r} is unknown; use one of {', '.join(EXECUTORS)}")
    workers = _int(doc.get("workers", 1), f"{where}: workers")
    if workers < 1:
        raise ConfigError(f"{where}: workers must be >= 1, got {workers}")
    missing = str(doc.get("missing_datasets", "error"))
    if missing not in ("error", "skip"):
        raise ConfigError(f"{where}: missing_datasets must be 'error' or 'skip', got {missing!r}")
    scheduler = doc.get("scheduler")
    return StudyConfig(name=name, datasets=tuple(datasets), predictors=tuple(predictors), seeds=seeds,
                       output=Path(os.path.expanduser(str(doc["output"]))), executor=executor, workers=workers,
                       scheduler=str(scheduler) if scheduler else None, missing_datasets=missing,
                       description=str(doc.get("description", "")), source=source)


def _int(v, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v:
        raise ConfigError(f"{where} must be an integer, got {v!r}")
    return int(v)


def _sizes(v, where: str, required: bool) -> tuple[int, ...]:
    if v is None:
        if required:
            raise ConfigError(f"{where} is missing")
        return ()
    if not isinstance(v, list) or not v:
        raise ConfigError(f"{where} must be a non-empty list of integers, got {v!r}")
    sizes = tuple(_int(x, where) for x in v)
    if any(s < 1 for s in sizes):
        raise ConfigError(f"{where} must be positive, got {list(sizes)}")
    _no_dupes(sizes, where)
    return tuple(sorted(sizes))


def _seeds(v, where: str) -> tuple[int, ...]:
    """A list of ints, or a range string such as ``"0-49"`` (both ends included)."""
    if isinstance(v, str):
        m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", v)
        if not m or int(m.group(1)) > int(m.group(2)):
            raise ConfigError(f"{where}: {v!r} is not a seed range like '0-49'; or give a list of integers")
        return tuple(range(int(m.group(1)), int(m.group(2)) + 1))
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not v:
        raise ConfigError(f"{where} must be a non-empty list of integers or a range like '0-49', got {v!r}")
    seeds = tuple(_int(x, where) for x in v)
    if any(s < 0 for s in seeds):
        raise ConfigError(f"{where} must be non-negative, got {list(seeds)}")
    _no_dupes(seeds, where)
    return seeds


def _no_dupes(values, where: str) -> None:
    seen, dupes = set(), []
    for v in values:
        if v in seen and v not in dupes:
            dupes.append(v)
        seen.add(v)
    if dupes:
        raise ConfigError(f"{where} lists {', '.join(map(str, dupes))} more than once; remove the duplicate(s)")


def _tuning(v, where: str, base: TuningSpec) -> TuningSpec:
    if v is None:
        return base
    if not isinstance(v, Mapping):
        raise ConfigError(f"{where} must be a mapping like {{n_trials: 0}}")
    bad = set(v) - _TUNING_KEYS
    if bad:
        raise ConfigError(f"{where} has unknown key(s) {sorted(bad)}; valid: {sorted(_TUNING_KEYS)}")
    n_trials = _int(v.get("n_trials", base.n_trials), f"{where}.n_trials")
    if n_trials < 0:
        raise ConfigError(f"{where}.n_trials must be >= 0 (0 = default hyper-parameters), got {n_trials}")
    timeout = v.get("timeout", base.timeout)
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ConfigError(f"{where}.timeout must be a positive number of seconds, got {timeout!r}")
        timeout = float(timeout)
    sampler = str(v.get("sampler", base.sampler)).lower()
    if sampler not in SAMPLERS:
        raise ConfigError(f"{where}.sampler {sampler!r} is unknown; use one of {', '.join(SAMPLERS)}")
    n_folds = _int(v.get("n_folds", base.n_folds), f"{where}.n_folds")
    if n_folds < 2:
        raise ConfigError(f"{where}.n_folds must be >= 2, got {n_folds}")
    return TuningSpec(n_trials, timeout, sampler, n_folds)


# ---- validation against the registry, the data and the file system -------------------------------
@dataclass
class Validated:
    """A config checked against this machine: the datasets that can run, and those skipped."""

    config: StudyConfig
    sizes: dict[str, int] = field(default_factory=dict)      # dataset name -> number of architectures
    spaces: dict[str, str] = field(default_factory=dict)     # dataset name -> search space
    skipped: dict[str, str] = field(default_factory=dict)    # dataset name -> why it was skipped

    @property
    def datasets(self) -> tuple[DatasetSpec, ...]:
        return tuple(d for d in self.config.datasets if d.name not in self.skipped)


def validate(cfg: StudyConfig, check_store: bool = True) -> Validated:
    """Every check that needs the registry, the data or the disk; raises one ConfigError."""
    from ..predictors import available
    from ..predictors.registry import get_class
    from .data import DatasetMissing, load_study_dataset

    names = available()
    for p in cfg.predictors:
        if p.name not in names:
            raise ConfigError(f"{cfg.source}: unknown predictor {p.name!r}; available: {', '.join(names)}")
        try:
            cls = get_class(p.name)
        except ImportError as exc:
            raise ConfigError(f"{cfg.source}: predictor {p.name!r} cannot be imported ({exc}); is its family "
                              "module installed?") from None
        valid = set(cls._param_names())
        bad = set(p.params) - valid
        if bad:
            raise ConfigError(f"{cfg.source}: predictor {p.name!r} has no hyper-parameter(s) {sorted(bad)}; "
                              f"valid: {sorted(valid)}")

    out = Validated(cfg)
    for d in cfg.datasets:
        try:
            ds = load_study_dataset(d.name)
        except DatasetMissing as exc:
            if cfg.missing_datasets == "skip":
                out.skipped[d.name] = str(exc)
                continue
            raise ConfigError(f"{cfg.source}: dataset {d.name!r} is not available here: {exc} "
                              "(set missing_datasets: skip to run without it)") from None
        except HwpredError as exc:
            raise ConfigError(f"{cfg.source}: dataset {d.name!r}: {exc}") from None
        n = len(ds.y)
        room = n - d.test_size
        if room < 1:
            raise ConfigError(f"{cfg.source}: dataset {d.name!r} has {n} architectures, not more than its "
                              f"test_size {d.test_size}; lower test_size")
        too_big = [s for s in d.train_sizes if s > room]
        if too_big:
            raise ConfigError(f"{cfg.source}: train size(s) {too_big} of dataset {d.name!r} exceed its "
                              f"{n} architectures minus the {d.test_size}-architecture test set ({room}); "
                              "lower them or the test_size")
        out.sizes[d.name] = n
        out.spaces[d.name] = ds.space
    if not out.datasets:
        raise ConfigError(f"{cfg.source}: none of the datasets is available here "
                          f"({'; '.join(f'{k}: {v}' for k, v in out.skipped.items())})")

    check_writable(cfg.output, cfg.source)
    if check_store:
        from .store import ResultStore

        ResultStore(cfg.store_dir).check_config(cfg)
    return out
