"""Study configuration: YAML -> validated dataclasses.

Everything a user can get wrong in a config is caught here, before any cell runs, with one
:class:`~hwpred.errors.ConfigError` that names the key, the bad value and the fix. Checks that
need the data (dataset names, train sizes against the table size) or the file system (output
directory, an existing store) live in :func:`validate`, so that parsing stays cheap and pure.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .._io import check_writable
from ..errors import HwpredError
from ..experiment.config import (
    as_choice,
    as_float,
    as_int,
    as_name,
    canonical,
    check_keys,
    config_error,
    config_hash,
    int_list,
    load_yaml,
    named_entries,
    no_duplicates,
    output_dir,
    require_keys,
    seed_list,
)
from ..experiment.executor import EXECUTORS

SAMPLERS = ("tpe", "random")
MISSING_DATASETS = ("error", "skip")
_TOP_KEYS = {
    "name",
    "description",
    "datasets",
    "predictors",
    "train_sizes",
    "test_size",
    "seeds",
    "tuning",
    "executor",
    "workers",
    "scheduler",
    "output",
    "missing_datasets",
    "score_unmeasured",
}
_REQUIRED = ("name", "datasets", "predictors", "seeds", "output")
_DATASET_KEYS = {"name", "train_sizes", "test_size"}
_PREDICTOR_KEYS = {"name", "params", "tuning"}
_TUNING_KEYS = {"n_trials", "timeout", "sampler", "n_folds", "storage", "study_name"}
#: where trials are kept, not what they compute: left out of the config hash
_TUNING_PLACE = ("storage", "study_name")


@dataclass(frozen=True)
class TuningSpec:
    """Hyper-parameter search budget of one fit; ``n_trials == 0`` means defaults, no search.

    With ``storage`` (an Optuna RDB URL such as ``sqlite:///tune.db``) every tuned cell keeps its
    trials in the study ``<study_name>/<cell id>`` (``study_name`` defaults to the study's name),
    so optuna-dashboard shows them and an interrupted search resumes.
    """

    n_trials: int = 0
    timeout: float | None = None  # seconds per fit
    sampler: str = "random"
    n_folds: int = 3
    storage: str | None = None
    study_name: str | None = None

    def hashed(self) -> dict:
        """The fields that change the numbers (storage and study name do not)."""
        return {k: v for k, v in asdict(self).items() if k not in _TUNING_PLACE}


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
    #: also score Spearman over every architecture outside the training set (the few-shot measure)
    score_unmeasured: bool = False
    description: str = ""
    source: str = "<dict>"

    @property
    def store_dir(self) -> Path:
        """Where this study's results live: ``<output>/<name>``."""
        return self.output / self.name

    def result_fields(self) -> dict:
        """The parts of the config that change the numbers (not where or how it runs)."""
        fields = {
            "name": self.name,
            "datasets": [asdict(d) for d in self.datasets],
            "predictors": [
                {"name": p.name, "params": canonical(p.params), "tuning": p.tuning.hashed()}
                for p in self.predictors
            ],
            "seeds": list(self.seeds),
        }
        if self.score_unmeasured:  # only when set, so that earlier configs keep their hash
            fields["score_unmeasured"] = True
        return fields

    @property
    def config_hash(self) -> str:
        return config_hash(self.result_fields())

    def with_overrides(self, **kw) -> StudyConfig:
        return replace(self, **{k: v for k, v in kw.items() if v is not None})

    def with_tuning_storage(self, storage: str | None = None, study_name: str | None = None) -> StudyConfig:
        """Every predictor's trials kept in ``storage`` under ``study_name`` (``None``: as configured)."""
        place = {k: v for k, v in (("storage", storage), ("study_name", study_name)) if v is not None}
        if not place:
            return self
        preds = tuple(replace(p, tuning=replace(p.tuning, **place)) for p in self.predictors)
        return replace(self, predictors=preds)


# ---- parsing -----------------------------------------------------------------------------------
def load_config(path: str | os.PathLike) -> StudyConfig:
    """Read and parse a YAML study config (structure only; see :func:`validate` for the rest).

    ``path`` is a file, or the name of a shipped study config (``quick``, ``studies/quick.yaml``).
    """
    from .._resources import resolve_config

    found = resolve_config(path, "studies", "study config")
    return parse_config(load_yaml(found, "study config", "studies/quick.yaml"), source=str(path))


def parse_config(doc: Any, source: str = "<dict>") -> StudyConfig:
    """A study config from its YAML mapping; every structural mistake is one ConfigError."""
    check_keys(
        doc,
        _TOP_KEYS,
        source,
        where="the study config",
        what="a YAML mapping with keys name, datasets, predictors, train_sizes, test_size, seeds, output",
    )
    require_keys(doc, _REQUIRED, source)
    name = as_name(doc["name"], "name", source)

    default_sizes = _sizes(doc.get("train_sizes"), "train_sizes", source)
    default_test = doc.get("test_size")
    datasets = []
    for i, d in named_entries(doc["datasets"], "datasets", _DATASET_KEYS, source):
        ds_name = str(d["name"])
        sizes = (
            _sizes(d.get("train_sizes"), f"datasets[{i}] ({ds_name}) train_sizes", source) or default_sizes
        )
        if not sizes:
            raise config_error(
                source,
                f"no train_sizes for dataset {ds_name!r}; set train_sizes at the top "
                "level or for that dataset",
            )
        test = d.get("test_size", default_test)
        if test is None:
            raise config_error(
                source,
                f"no test_size for dataset {ds_name!r}; set test_size at the top level or for that dataset",
            )
        test = as_int(test, f"test_size of {ds_name}", source)
        if test < 2:
            raise config_error(
                source,
                f"test_size of {ds_name} is {test}; it needs at least 2 architectures "
                "to compute a rank correlation",
            )
        datasets.append(DatasetSpec(ds_name, sizes, test))
    no_duplicates([d.name for d in datasets], "datasets", source)

    default_tuning = _tuning(doc.get("tuning"), "tuning", source, TuningSpec())
    predictors = []
    for i, p in named_entries(doc["predictors"], "predictors", _PREDICTOR_KEYS, source):
        where = f"predictors[{i}] ({p['name']})"
        params = p.get("params") or {}
        if not isinstance(params, Mapping):
            raise config_error(source, f"{where} params must be a mapping")
        tuning = _tuning(p.get("tuning"), f"{where} tuning", source, default_tuning)
        predictors.append(PredictorSpec(str(p["name"]), dict(params), tuning))
    no_duplicates([p.name for p in predictors], "predictors", source)

    scheduler = doc.get("scheduler")
    return StudyConfig(
        name=name,
        datasets=tuple(datasets),
        predictors=tuple(predictors),
        seeds=seed_list(doc["seeds"], "seeds", source),
        output=output_dir(doc["output"]),
        executor=as_choice(str(doc.get("executor", "local")), "executor", source, EXECUTORS),
        workers=as_int(doc.get("workers", 1), "workers", source, minimum=1),
        scheduler=str(scheduler) if scheduler else None,
        missing_datasets=as_choice(
            str(doc.get("missing_datasets", "error")), "missing_datasets", source, MISSING_DATASETS
        ),
        score_unmeasured=_flag(doc.get("score_unmeasured", False), "score_unmeasured", source),
        description=str(doc.get("description", "")),
        source=source,
    )


def _flag(value: Any, key: str, source: str) -> bool:
    if not isinstance(value, bool):
        raise config_error(source, f"{key} must be true or false, got {value!r}")
    return value


def _sizes(value: Any, key: str, source: str) -> tuple[int, ...]:
    """Training-set sizes in increasing order; () when the key is absent. 0 is allowed: families
    that predict from their sources alone run it, the others skip it (see the grid's notes)."""
    return () if value is None else int_list(value, key, source, minimum=0, sort=True)


def _tuning(value: Any, key: str, source: str, base: TuningSpec) -> TuningSpec:
    if value is None:
        return base
    check_keys(value, _TUNING_KEYS, source, where=key, what="a mapping like {n_trials: 0}")
    n_trials = as_int(value.get("n_trials", base.n_trials), f"{key}.n_trials", source)
    if n_trials < 0:
        raise config_error(
            source, f"{key}.n_trials must be >= 0 (0 = default hyper-parameters), got {n_trials}"
        )
    timeout = value.get("timeout", base.timeout)
    if timeout is not None:
        timeout = as_float(timeout, f"{key}.timeout (seconds)", source, positive=True)
    sampler = as_choice(str(value.get("sampler", base.sampler)).lower(), f"{key}.sampler", source, SAMPLERS)
    n_folds = as_int(value.get("n_folds", base.n_folds), f"{key}.n_folds", source, minimum=2)
    place = {}
    for k in _TUNING_PLACE:
        v = value.get(k, getattr(base, k))
        if v is not None and (not isinstance(v, str) or not v.strip()):
            raise config_error(source, f"{key}.{k} must be a non-empty string, got {v!r}")
        place[k] = v
    return TuningSpec(n_trials, timeout, sampler, n_folds, **place)


# ---- validation against the registry, the data and the file system -------------------------------
@dataclass
class Validated:
    """A config checked against this machine: the datasets that can run, and those skipped."""

    config: StudyConfig
    sizes: dict[str, int] = field(default_factory=dict)  # dataset name -> number of architectures
    spaces: dict[str, str] = field(default_factory=dict)  # dataset name -> search space
    skipped: dict[str, str] = field(default_factory=dict)  # dataset name -> why it was skipped

    @property
    def datasets(self) -> tuple[DatasetSpec, ...]:
        return tuple(d for d in self.config.datasets if d.name not in self.skipped)


def validate(cfg: StudyConfig, check_store: bool = True) -> Validated:
    """Every check that needs the registry, the data or the disk; raises one ConfigError.

    Parameters
    ----------
    cfg : StudyConfig
        A parsed config.
    check_store : bool
        Also refuse an existing store at ``<output>/<name>`` written by a different config.

    Returns
    -------
    Validated
        The config with the size and search space of every dataset that can run here, and the
        datasets skipped (``missing_datasets: skip``) with the reason.
    """
    from ..predictors import available, available_transfer
    from ..predictors.registry import get_class
    from .cells import DatasetMissing, study_dataset

    src = cfg.source
    names = available() + available_transfer()
    for p in cfg.predictors:
        if p.name not in names:
            raise config_error(src, f"unknown predictor {p.name!r}; available: {', '.join(names)}")
        try:
            cls = get_class(p.name)
        except ImportError as exc:
            raise config_error(
                src, f"predictor {p.name!r} cannot be imported ({exc}); is its family module installed?"
            ) from None
        valid = set(cls.param_names())
        bad = set(p.params) - valid
        if bad:
            raise config_error(
                src, f"predictor {p.name!r} has no hyper-parameter(s) {sorted(bad)}; valid: {sorted(valid)}"
            )

    out = Validated(cfg)
    for d in cfg.datasets:
        try:
            ds = study_dataset(d.name)
        except DatasetMissing as exc:
            if cfg.missing_datasets == "skip":
                out.skipped[d.name] = str(exc)
                continue
            raise config_error(
                src,
                f"dataset {d.name!r} is not available here: {exc} "
                "(set missing_datasets: skip to run without it)",
            ) from None
        except HwpredError as exc:
            raise config_error(src, f"dataset {d.name!r}: {exc}") from None
        n = len(ds)
        room = n - d.test_size
        if room < 1:
            raise config_error(
                src,
                f"dataset {d.name!r} has {n} architectures, not more than its "
                f"test_size {d.test_size}; lower test_size",
            )
        too_big = [s for s in d.train_sizes if s > room]
        if too_big:
            raise config_error(
                src,
                f"train size(s) {too_big} of dataset {d.name!r} exceed its {n} "
                f"architectures minus the {d.test_size}-architecture test set "
                f"({room}); lower them or the test_size",
            )
        out.sizes[d.name] = n
        out.spaces[d.name] = ds.space
        _check_transfer_sources(cfg, d.name)
    if not out.datasets:
        raise config_error(
            src,
            "none of the datasets is available here "
            f"({'; '.join(f'{k}: {v}' for k, v in out.skipped.items())})",
        )

    check_writable(cfg.output, src)
    _open_tuning_storages(cfg)
    if check_store:
        from .store import ResultStore

        ResultStore(cfg.store_dir).check_config(cfg)
    return out


def _open_tuning_storages(cfg: StudyConfig) -> None:
    """Open (and create the schema of) each tuning storage once, here, before workers race for it."""
    urls = {p.tuning.storage for p in cfg.predictors if p.tuning.storage and p.tuning.n_trials > 0}
    if not urls:
        return
    import optuna

    for url in sorted(urls):
        try:
            optuna.storages.RDBStorage(url)
        except Exception as exc:  # a bad URL, a missing driver, an unreachable server
            raise config_error(
                cfg.source,
                f"tuning.storage {url!r} cannot be opened ({type(exc).__name__}: {str(exc)[:200]}); "
                "give an Optuna RDB URL such as sqlite:///tune.db",
            ) from None


def _check_transfer_sources(cfg: StudyConfig, dataset: str) -> None:
    """A transfer entry's sources against one dataset: the target among them is refused, another
    batch size of the target's hardware is logged as a warning (its figures are not a fair result)."""
    import logging

    from ..predictors.registry import get_class
    from ..predictors.transfer.sources import check_leakage, source_names

    for p in cfg.predictors:
        if "sources" not in get_class(p.name).param_names():
            continue
        sources = p.params.get("sources", get_class(p.name)().sources)
        try:
            names = [n for n in source_names(sources, dataset) if not n.startswith("table:")]
            for warning in check_leakage(dataset, names):
                logging.getLogger(__name__).warning("%s: %s", p.name, warning)
        except HwpredError as exc:
            raise config_error(cfg.source, f"predictor {p.name!r} on dataset {dataset!r}: {exc}") from None
