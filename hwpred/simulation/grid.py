"""The grid schema: what a simulation config may say, validated before any data is loaded.

A grid is pairs x subset sizes x noise levels (hardware, optionally accuracy) x trials. The
config is built from the experiment scaffold's validators, so a mistake reads the same as in
the study's or the zero-shot selection's config. :meth:`SimulationConfig.result_fields` are
the fields that change the numbers; their hash names the store that holds them.
"""

from __future__ import annotations

import fnmatch
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..experiment.config import (
    as_choice,
    as_float,
    as_int,
    as_name,
    check_keys,
    config_error,
    config_hash,
    float_list,
    int_list,
    load_yaml,
    no_duplicates,
    output_dir,
    require_keys,
)
from .noise import NoiseModel
from .pairs import ACCURACY_SCALES

#: 2: a trial's noise levels share one draw of its simulated predictor (1: a draw per level)
FORMAT_VERSION = 2
ALL = "all"
_TOP_KEYS = {
    "name",
    "description",
    "pairs",
    "subset_sizes",
    "noise_stds",
    "accuracy_noise_stds",
    "trials",
    "seed",
    "output",
    "trials_per_part",
    "accuracy_scale",
    "noise_model",
    "example",
    "workers",
    "missing_datasets",
    "hv_reference",
}
_REQUIRED = ("name", "pairs", "subset_sizes", "noise_stds", "trials", "output")
_PAIR_KEYS = {"accuracy", "hardware", "selection_accuracy"}
_NOISE_KEYS = {"weights", "shift_max", "wide_scale", "uniform_half_width", "repeat", "variant"}
#: hypervolume reference metric: 1.1 x the largest metric on the subset's true front (hwpred's
#: default: dominated outliers do not move it) or in the whole subset (the seed study's code)
HV_REFERENCES = ("front-max", "subset-max")
_EXAMPLE_KEYS = {"pair", "subset_size", "noise_std", "trial"}
_EXAMPLE_NAME = {"accuracy": "nats:cifar10", "hardware": "help:raspi4"}


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
    hv_reference: str = "front-max"
    description: str = ""
    source: str = "<dict>"

    @property
    def store_dir(self) -> Path:
        return self.output / self.name

    def result_fields(self) -> dict:
        """What changes the numbers (not where or how fast it runs).

        Options added after the format was fixed enter only when they differ from their
        default, so the stores of existing configs keep their hash.
        """
        noise = asdict(self.noise_model)
        if noise["variant"] == "fixed-shape":
            del noise["variant"]
        fields = {
            "name": self.name,
            "pairs": [asdict(p) for p in self.pairs],
            "subset_sizes": list(self.subset_sizes),
            "noise_stds": list(self.noise_stds),
            "accuracy_noise_stds": list(self.accuracy_noise_stds),
            "trials": self.trials,
            "seed": self.seed,
            "trials_per_part": self.trials_per_part,
            "accuracy_scale": self.accuracy_scale,
            "noise_model": noise,
            "example": asdict(self.example),
            "format": FORMAT_VERSION,
        }
        if self.hv_reference != "front-max":
            fields["hv_reference"] = self.hv_reference
        return fields

    @property
    def config_hash(self) -> str:
        return config_hash(self.result_fields())


def _available() -> list[str]:
    """Names of the datasets that can be loaded now (from the cache or the mirror)."""
    from ..data import available_datasets

    return [entry[0] for entry in available_datasets() if entry[1]]


def _names(value, key: str, source: str) -> list[str]:
    """One dataset name, a list of them, or shell patterns matched against the available ones."""
    vals = [value] if isinstance(value, str) else value
    if not isinstance(vals, (list, tuple)) or not vals or not all(isinstance(v, str) and v for v in vals):
        raise config_error(
            source, f"pairs.{key} must be a dataset name or a non-empty list of names, got {value!r}"
        )
    out: list[str] = []
    for v in vals:
        if any(c in v for c in "*?["):
            matches = sorted(n for n in _available() if fnmatch.fnmatchcase(n, v))
            if not matches:
                raise config_error(
                    source,
                    f"pattern {v!r} in pairs.{key} matches no available dataset; "
                    "list them with `hwpred data list`",
                )
            out.extend(matches)
        else:
            out.append(v)
    return out


def _parse_pairs(raw, source: str) -> tuple[PairSpec, ...]:
    """A list of {accuracy, hardware} mappings, or one mapping of lists (their cross product)."""
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, (list, tuple)) or not raw:
        raise config_error(
            source, "pairs must be a non-empty list like [{accuracy: nats:cifar10, hardware: help:raspi4}]"
        )
    pairs: list[PairSpec] = []
    for i, item in enumerate(raw):
        check_keys(
            item, _PAIR_KEYS, source, where=f"pairs[{i}]", what="a mapping with keys accuracy and hardware"
        )
        for k in ("accuracy", "hardware"):
            if k not in item:
                raise config_error(
                    source, f"pairs[{i}] lacks {k!r} (a dataset name such as {_EXAMPLE_NAME[k]})"
                )
        sel = item.get("selection_accuracy")
        if sel is not None and not (isinstance(sel, str) and sel):
            raise config_error(source, f"pairs[{i}].selection_accuracy must be a dataset name, got {sel!r}")
        for acc in _names(item["accuracy"], "accuracy", source):
            for hw in _names(item["hardware"], "hardware", source):
                pairs.append(PairSpec(acc, hw, sel))
    no_duplicates([p.key for p in pairs], "pairs", source)
    return tuple(pairs)


def _finite(values: tuple[float, ...], key: str, source: str) -> tuple[float, ...]:
    """Noise levels are finite: an infinite standard deviation has no meaning."""
    for v in values:
        if not math.isfinite(v):
            raise config_error(source, f"{key} holds {v!r}; a noise standard deviation must be finite")
    return values


def _noise_model(doc, source: str) -> NoiseModel:
    check_keys(doc, _NOISE_KEYS, source, where="noise_model")
    try:
        return NoiseModel(**{k: (tuple(v) if k == "weights" else v) for k, v in doc.items()})
    except (ConfigError, TypeError) as exc:
        raise config_error(source, f"noise_model: {exc}") from None


def _example(doc, n_pairs: int, source: str) -> ExampleSpec:
    check_keys(doc, _EXAMPLE_KEYS, source, where="example")
    size = doc.get("subset_size", 1000)
    if isinstance(size, str) and size != ALL:
        raise config_error(source, f"example.subset_size must be an integer >= 1 or 'all', got {size!r}")
    if size != ALL:
        size = as_int(size, "example.subset_size", source, 1)
    std = as_float(doc.get("noise_std", 0.5), "example.noise_std", source, minimum=0.0)
    example = ExampleSpec(
        pair=as_int(doc.get("pair", 0), "example.pair", source, 0),
        subset_size=size,
        noise_std=_finite((std,), "example.noise_std", source)[0],
        trial=as_int(doc.get("trial", 0), "example.trial", source, 0),
    )
    if example.pair >= n_pairs:
        raise config_error(source, f"example.pair is {example.pair} but only {n_pairs} pair(s) are listed")
    return example


def parse_config(doc: Mapping[str, Any], source: str = "<dict>") -> SimulationConfig:
    """Validate a config mapping (everything that does not need the data).

    Parameters
    ----------
    doc : mapping
        The config as parsed from YAML (keys as in ``simulation/small.yaml``).
    source : str
        Where ``doc`` came from; every error message starts with it.

    Returns
    -------
    SimulationConfig
    """
    check_keys(doc, _TOP_KEYS, source, what="a YAML mapping (a simulation config)")
    require_keys(doc, _REQUIRED, source)
    pairs = _parse_pairs(doc["pairs"], source)
    return SimulationConfig(
        name=as_name(doc["name"], "name", source),
        pairs=pairs,
        subset_sizes=int_list(doc["subset_sizes"], "subset_sizes", source, minimum=1, words=(ALL,)),
        noise_stds=_finite(float_list(doc["noise_stds"], "noise_stds", source), "noise_stds", source),
        accuracy_noise_stds=_finite(
            float_list(doc.get("accuracy_noise_stds", [0.0]), "accuracy_noise_stds", source),
            "accuracy_noise_stds",
            source,
        ),
        trials=as_int(doc["trials"], "trials", source, 1),
        seed=as_int(doc.get("seed", 0), "seed", source, 0),
        output=output_dir(doc["output"]),
        trials_per_part=as_int(doc.get("trials_per_part", 250), "trials_per_part", source, 1),
        accuracy_scale=as_choice(
            doc.get("accuracy_scale", "auto"), "accuracy_scale", source, ACCURACY_SCALES
        ),
        noise_model=_noise_model(doc.get("noise_model") or {}, source),
        example=_example(doc.get("example") or {}, len(pairs), source),
        workers=as_int(doc.get("workers", 1), "workers", source, 1),
        missing_datasets=as_choice(
            doc.get("missing_datasets", "error"), "missing_datasets", source, ("error", "skip")
        ),
        hv_reference=as_choice(doc.get("hv_reference", "front-max"), "hv_reference", source, HV_REFERENCES),
        description=str(doc.get("description", "")),
        source=source,
    )


def load_config(path: str | os.PathLike) -> SimulationConfig:
    """Read and validate a simulation config: a file, or a shipped one's name (``small``)."""
    from .._resources import resolve_config

    found = resolve_config(path, "simulation", "simulation config")
    return parse_config(load_yaml(found, "simulation config", "simulation/small.yaml"), str(path))


def resolve_size(size: int | str, n: int, pair_key: str, source: str = "config") -> int:
    """A subset size against a pair's shared space; larger than the space is a config error."""
    if size == ALL:
        return n
    if size > n:
        raise config_error(
            source,
            f"subset size {size} is larger than the {n} architectures pair {pair_key} "
            f"shares; use at most {n} or 'all'",
        )
    return int(size)
