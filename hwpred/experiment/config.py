"""Typed config loading: shared validators with one error style.

Every validator takes the value, the key it came from and the ``source`` (the config file's
path, or ``<dict>``), and either returns the typed value or raises one
:class:`~hwpred.errors.ConfigError` of the form ``"<source>: <key> must be ..., got <value>"``.
The study, the simulation and the zero-shot selection build their schemas from these, so a
mistake reads the same whichever config it is in.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SEED_RANGE = re.compile(r"\s*(\d+)\s*-\s*(\d+)\s*")


def config_error(source: str, message: str) -> ConfigError:
    """The one error style: ``<source>: <message>``."""
    return ConfigError(f"{source}: {message}")


def load_yaml(path: str | os.PathLike, what: str, example: str) -> Any:
    """Parse a YAML config file, with one clear error for a missing file or bad YAML."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"no {what} at {p}; pass a YAML file such as {example}")
    try:
        return yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p} is not valid YAML: {exc}") from None


def check_keys(doc: Any, allowed: set[str], source: str, where: str = "", what: str = "a mapping") -> Mapping:
    """``doc`` must be a mapping whose keys are all in ``allowed``."""
    prefix = f"{where} " if where else ""
    if not isinstance(doc, Mapping):
        raise config_error(source, f"{prefix or 'the config '}must be {what}, got {doc!r}")
    unknown = set(doc) - allowed
    if unknown:
        raise config_error(
            source, f"{prefix}has unknown key(s) {sorted(unknown)}; valid keys: {sorted(allowed)}"
        )
    return doc


def require_keys(doc: Mapping, required: Sequence[str], source: str) -> None:
    """Every key in ``required`` is present and not empty."""
    for key in required:
        if key not in doc or doc[key] in (None, "", []):
            raise config_error(source, f"missing required key {key!r} (required: {', '.join(required)})")


def as_int(value: Any, key: str, source: str, minimum: int | None = None) -> int:
    """An integer (a float with an integral value is accepted), at least ``minimum``."""
    try:
        import numpy as np

        integral = (np.integer,)
    except ImportError:  # pragma: no cover - numpy is a dependency
        integral = ()
    ok = not isinstance(value, bool) and (
        isinstance(value, (int, *integral)) or (isinstance(value, float) and value.is_integer())
    )
    if not ok or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise config_error(source, f"{key} must be an integer{bound}, got {value!r}")
    return int(value)


def as_float(
    value: Any, key: str, source: str, minimum: float | None = None, positive: bool = False
) -> float:
    """A number, at least ``minimum`` (or > 0 with ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise config_error(source, f"{key} must be a number, got {value!r}")
    if positive and value <= 0:
        raise config_error(source, f"{key} must be a positive number, got {value!r}")
    if minimum is not None and value < minimum:
        raise config_error(source, f"{key} must be a number >= {minimum}, got {value!r}")
    return float(value)


def as_name(value: Any, key: str, source: str) -> str:
    """A plain folder name: letters, digits, '.', '_' or '-' (it names a store folder)."""
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not _NAME.fullmatch(str(value)):
        raise config_error(
            source, f"{key} {value!r} must be letters, digits, '.', '_' or '-' (it names the store folder)"
        )
    return str(value)


def as_choice(value: Any, key: str, source: str, choices: Sequence[str]) -> str:
    """One of ``choices``."""
    if value not in choices:
        raise config_error(source, f"{key} {value!r} is unknown; use one of {', '.join(map(str, choices))}")
    return str(value)


def no_duplicates(values: Sequence, key: str, source: str) -> None:
    """Refuse a list that names a value twice."""
    seen, dupes = set(), []
    for v in values:
        if v in seen and v not in dupes:
            dupes.append(v)
        seen.add(v)
    if dupes:
        raise config_error(
            source, f"{key} lists {', '.join(map(str, dupes))} more than once; remove the duplicate(s)"
        )


def int_list(
    value: Any, key: str, source: str, minimum: int = 1, words: Sequence[str] = (), sort: bool = False
) -> tuple:
    """A non-empty list of integers >= ``minimum`` (a single integer is a list of one); the
    strings in ``words`` (e.g. ``"all"``) are accepted as they are."""
    if (isinstance(value, int) and not isinstance(value, bool)) or value in words:
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        extra = f" and/or {', '.join(map(repr, words))}" if words else ""
        raise config_error(
            source, f"{key} must be a non-empty list of integers >= {minimum}{extra}, got {value!r}"
        )
    out = [
        v if (isinstance(v, str) and v in words) else as_int(v, f"{key} entry", source, minimum)
        for v in value
    ]
    no_duplicates(out, key, source)
    if sort:
        out = sorted(out, key=lambda v: (isinstance(v, str), v))
    return tuple(out)


def seed_list(value: Any, key: str, source: str) -> tuple[int, ...]:
    """A list of non-negative integers, or a range string such as ``"0-49"`` (both ends included)."""
    if isinstance(value, str):
        m = _SEED_RANGE.fullmatch(value)
        if not m or int(m.group(1)) > int(m.group(2)):
            raise config_error(
                source, f"{key} {value!r} is not a seed range like '0-49'; or give a list of integers"
            )
        return tuple(range(int(m.group(1)), int(m.group(2)) + 1))
    return int_list(value, key, source, minimum=0)


def float_list(value: Any, key: str, source: str, minimum: float = 0.0) -> tuple[float, ...]:
    """A non-empty list of numbers >= ``minimum``, a single number, or a range mapping
    ``{start, stop, step}`` (``stop`` included when it lies on the grid)."""
    if isinstance(value, Mapping):
        extra = set(value) - {"start", "stop", "step"}
        if extra or "step" not in value or "stop" not in value:
            raise config_error(
                source, f"{key} as a range needs start, stop, step (e.g. {{start: 0, stop: 1, step: 0.1}})"
            )
        try:
            start, stop, step = float(value.get("start", 0.0)), float(value["stop"]), float(value["step"])
        except (TypeError, ValueError):
            raise config_error(source, f"{key} range values must be numbers, got {dict(value)}") from None
        if step <= 0 or stop < start:
            raise config_error(source, f"{key} range needs step > 0 and stop >= start, got {dict(value)}")
        import numpy as np

        k = int(np.floor((stop - start) / step + 1e-9))
        value = [round(start + i * step, 10) for i in range(k + 1)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise config_error(source, f"{key} must be a non-empty list of numbers >= {minimum:g}, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise config_error(source, f"{key} holds {v!r}, not a number")
        if not v >= minimum:  # also refuses NaN
            raise config_error(
                source,
                f"{key} holds {v!r}; it cannot be below {minimum:g} (a standard deviation cannot be negative)"
                if minimum == 0
                else f"{key} holds {v!r}; it must be >= {minimum:g}",
            )
        out.append(float(v))
    if len(set(out)) != len(out):
        raise config_error(source, f"{key} lists a value twice: {out}")
    return tuple(out)


def named_entries(value: Any, key: str, valid: set[str], source: str) -> Iterator[tuple[int, dict]]:
    """Yield ``(index, mapping)`` for a list whose items are names or mappings with a ``name`` key."""
    if not isinstance(value, list):
        raise config_error(source, f"{key} must be a list of names or mappings")
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, Mapping) or "name" not in item:
            raise config_error(source, f"{key}[{i}] must be a name or a mapping with a 'name' key")
        bad = set(item) - valid
        if bad:
            raise config_error(source, f"{key}[{i}] has unknown key(s) {sorted(bad)}; valid: {sorted(valid)}")
        yield i, dict(item)


def output_dir(value: Any) -> Path:
    """An output folder as written in a config (``~`` expanded, relative to the working directory)."""
    return Path(os.path.expanduser(str(value)))


def canonical(obj: Any) -> Any:
    """Mappings with sorted string keys and tuples as lists: a stable form to hash."""
    if isinstance(obj, Mapping):
        return {str(k): canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    return obj


def config_hash(fields: Mapping[str, Any]) -> str:
    """The 16-hex-digit hash of the fields that change a config's numbers; a store belongs to one."""
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
