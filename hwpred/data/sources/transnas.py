"""TransNAS-Bench-101's official database (``transnas-bench_v10141024.pth``, Duan et al., CVPR 2021).

Format (what the official API reads): a ``torch.save``d dict with ``task_list``,
``metrics_dict`` ({task: [metric names]}), ``info_names`` and ``data`` = {search space ("macro",
"micro"): {arch string: {task: {"model_info": {"inference_time", "model_params", ...},
"metrics": {metric: [value per epoch]}, ...}}}}. We import the macro space (keys like
``64-41414-basic``, parsed to our zero-padded layer codes).

The file is opened only after its sha256 matches the manifest, with
``torch.load(weights_only=True)`` plus numpy arrays and scalars; a file that needs any other
Python object is refused, never fully unpickled (a checksum in a user-written manifest proves
nothing about what the file does).

One table per task (``transnas-bench-101/<task>``), columns ``<task>/<info>`` for each
``model_info`` number (``inference_time`` as published) and ``<task>/<metric>`` for the
final-epoch value of every ``test_*`` metric (``test_loss``, ``test_top1``, ``test_ssim``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError
from ...spaces import TRANSNAS_MACRO, SpaceError
from ..table import MetricTable
from . import Manifest, NamedSpec, require_sha256, torch_load_checked

TASKS = ("class_scene", "class_object", "room_layout", "jigsaw", "segmentsemantic", "normal", "autoencoder")
LISTED_METRICS = ("inference_time", "test_loss")  # named datasets per task; other columns via NAME#column
SPACE_KEY = "macro"


def load_database(path: str | Path, sha256: str | None) -> Any:
    require_sha256(path, sha256, "TransNAS-Bench-101 database")
    return torch_load_checked(path, "TransNAS-Bench-101 database", numpy_ok=True)


def _final(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return value[-1] if value else None
    if isinstance(value, np.ndarray):
        return value.reshape(-1)[-1] if value.size else None
    if hasattr(value, "tolist"):  # torch tensors
        return _final(value.tolist())
    return value


def tables_from_database(db: Any, what: str, meta: Mapping | None = None) -> dict[str, MetricTable]:
    if not isinstance(db, Mapping) or "data" not in db or not isinstance(db["data"], Mapping):
        raise DataError(f"{what}: expected a dict with 'data' = {{search space: {{arch: {{task: ...}}}}}}")
    space = db["data"].get(SPACE_KEY)
    if not isinstance(space, Mapping) or not space:
        raise DataError(f"{what}: no {SPACE_KEY!r} search space in 'data' (found {list(db['data'])})")
    archs, seen = [], {}
    for s in space:
        try:
            a = TRANSNAS_MACRO.from_string(str(s))
        except SpaceError as exc:
            raise DataError(f"{what}: {exc}") from None
        if a in seen:
            raise DataError(f"{what}: {seen[a]!r} and {s!r} are the same architecture")
        seen[a] = s
        archs.append(a)
    keys = list(space)
    tasks = list(
        db.get("task_list") or sorted({t for rec in space.values() if isinstance(rec, Mapping) for t in rec})
    )
    out = {}
    for task in tasks:
        values: dict[str, list] = {}
        for key in keys:
            rec = space[key].get(task) if isinstance(space[key], Mapping) else None
            if not isinstance(rec, Mapping):
                raise DataError(f"{what}: architecture {key!r} has no results for task {task!r}")
            for name, v in (rec.get("model_info") or {}).items():
                values.setdefault(name, []).append(_final(v))
            for name, v in (rec.get("metrics") or {}).items():
                if str(name).startswith("test_"):
                    values.setdefault(name, []).append(_final(v))
        cols, units, skipped = {}, {}, []
        for name, vals in values.items():
            if len(vals) != len(keys):
                skipped.append(name)  # not recorded for every architecture
                continue
            try:
                arr = np.asarray(vals, dtype=np.float64)
            except (TypeError, ValueError):
                skipped.append(name)
                continue
            bad = ~np.isfinite(arr)
            if bad.any():
                raise DataError(
                    f"{what}: task {task}, {name}: {int(bad.sum())} NaN/non-finite value(s), first for "
                    f"{keys[int(np.flatnonzero(bad)[0])]!r}; the file is corrupt"
                )
            cols[f"{task}/{name}"] = arr
            units[f"{task}/{name}"] = "as published" if name == "inference_time" else ""
        if "inference_time" not in values:
            raise DataError(f"{what}: task {task} has no model_info inference_time")
        info = dict(meta or {})
        info.update(
            {
                "task": task,
                "skipped_columns": skipped,
                "note": "test_* columns are final-epoch values; inference_time as published upstream",
            }
        )
        out[task] = MetricTable("transnas_macro", np.asarray(archs, dtype=np.int64), cols, info, units)
    return out


def read_transnas(
    path: str | Path, sha256: str | None, meta: Mapping | None = None
) -> dict[str, MetricTable]:
    """Verify, load and convert the TransNAS-Bench-101 database (``sha256`` is required)."""
    return tables_from_database(load_database(path, sha256), f"TransNAS-Bench-101 database {path}", meta)


# -- registry hooks -------------------------------------------------------------------------------
def datasets(manifest: Manifest) -> list[NamedSpec]:
    rel = manifest.files[0].path
    out = []
    for task in TASKS:
        for m in LISTED_METRICS:
            c = f"{task}/{m}"
            out.append(
                NamedSpec(
                    name=f"transnas:{task}-{m}",
                    table_key=f"{manifest.id}/{task}",
                    column=c,
                    description=f"TransNAS-Bench-101 macro {task}: {m.replace('_', ' ')}",
                    files=(rel,),
                    manifest=manifest.id,
                    columns=(c,),
                )
            )
    return out


def build(manifest: Manifest, files: Mapping[str, Path], table_keys: list[str]) -> dict[str, MetricTable]:
    entry = manifest.files[0]
    tables = read_transnas(files[entry.path], entry.sha256, manifest.provenance())
    return {f"{manifest.id}/{t}": tab for t, tab in tables.items()}
