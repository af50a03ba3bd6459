"""NAS-Bench-Suite-Zero zero-cost proxy JSON (``zc_nasbench201.json``, ``zc_transbench101_macro.json``).

Format: ``{dataset_or_task: {key: {"val_accuracy": float, "<proxy>": {"score": float, "time": s}, ...}}}``.

Keys: for NAS-Bench-201 the key ``"(o1, ..., o6)"`` uses NASLib's op indices ``0 skip_connect,
1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3`` on the edges in the order
``(a, b, d, c, e, f)`` of our string ``|a~0|+|b~0|c~1|+|d~0|e~1|f~2|`` (edges 3 and 4 swapped);
:func:`zc_key_to_arch` converts them to our op tuple. TransNAS macro keys are already our
zero-padded layer codes.

One table per dataset/task (``<manifest>/<dataset>``) with columns ``<dataset>/val_acc`` (the
target), ``<dataset>/<proxy>`` and ``<dataset>/<proxy>_time_s``. A record whose value is missing
or non-finite (the published NB201 file has one ``-inf`` nwot score per dataset and one record
without synflow) is dropped as a whole and listed in the table's ``meta["dropped"]``, because a
MetricTable holds only finite values.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ...errors import DataError
from ...spaces import NB201, TRANSNAS_MACRO, SpaceError
from ..table import MetricTable
from . import Manifest, NamedSpec

# NASLib op index -> our op index (ours: 0 none, 1 skip, 2 conv1x1, 3 conv3x3, 4 avgpool)
ZC_OP_TO_OURS = (1, 0, 3, 2, 4)
OURS_OP_TO_ZC = tuple(ZC_OP_TO_OURS.index(i) for i in range(5))
# position j of our tuple comes from position ZC_EDGE_ORDER[j] of the NASLib key
ZC_EDGE_ORDER = (0, 1, 3, 2, 4, 5)

NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
TRANSNAS_TASKS = (
    "class_scene",
    "class_object",
    "autoencoder",
    "normal",
    "jigsaw",
    "room_layout",
    "segmentsemantic",
)
_KEY = re.compile(r"^\(\s*(\d+)\s*(?:,\s*(\d+)\s*)*\)$")


def _parse_key(key: str) -> tuple[int, ...]:
    text = str(key).strip()
    if not _KEY.match(text):
        raise DataError(f"zero-cost key {key!r} is not a tuple of op indices like '(0, 2, 3, 2, 3, 1)'")
    return tuple(int(v) for v in re.findall(r"\d+", text))


def zc_key_to_arch(key: str | Sequence[int]) -> tuple[int, ...]:
    """NAS-Bench-Suite-Zero NB201 key (string or tuple) -> our NB201 op tuple."""
    raw = _parse_key(key) if isinstance(key, str) else tuple(int(v) for v in key)
    if len(raw) != 6 or any(not 0 <= v <= 4 for v in raw):
        raise DataError(f"zero-cost key {key!r} is not six NASLib op indices in 0-4")
    return tuple(ZC_OP_TO_OURS[raw[ZC_EDGE_ORDER[j]]] for j in range(6))


def arch_to_zc_key(arch: Sequence[int]) -> str:
    """Our NB201 op tuple -> the NAS-Bench-Suite-Zero key string (inverse of :func:`zc_key_to_arch`)."""
    a = NB201.validate(arch)
    # the edge permutation is its own inverse
    raw = tuple(OURS_OP_TO_ZC[a[ZC_EDGE_ORDER[j]]] for j in range(6))
    return "(" + ", ".join(map(str, raw)) + ")"


def transnas_key_to_arch(key: str | Sequence[int]) -> tuple[int, ...]:
    raw = _parse_key(key) if isinstance(key, str) else tuple(int(v) for v in key)
    try:
        return TRANSNAS_MACRO.validate(raw)
    except SpaceError as exc:
        raise DataError(f"zero-cost key {key!r}: {exc}") from None


def read_zc_json(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"zero-cost JSON {path} does not exist; fetch it with `hwpred data fetch zc:*`")
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"zero-cost JSON {path} is not valid JSON ({str(exc)[:200]}); it may be truncated: "
            "delete it and fetch it again"
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise DataError(f"zero-cost JSON {path}: expected {{dataset: {{key: record}}}}")
    return data


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def records_to_table(
    records: Mapping[str, dict], dataset: str, space: str, what: str, meta: Mapping | None = None
) -> MetricTable:
    """One dataset's records -> MetricTable (incomplete/non-finite records dropped, listed in meta)."""
    to_arch = zc_key_to_arch if space == "nb201" else transnas_key_to_arch
    proxies: set[str] = set()
    for rec in records.values():
        if isinstance(rec, dict):
            proxies.update(k for k, v in rec.items() if isinstance(v, dict) and "score" in v)
    proxies_l = sorted(proxies)
    archs, rows, dropped, seen = [], [], [], {}
    for key, rec in records.items():
        arch = to_arch(key)
        if arch in seen:
            raise DataError(f"{what}: keys {seen[arch]!r} and {key!r} are the same architecture {arch}")
        seen[arch] = key
        if not isinstance(rec, dict):
            raise DataError(f"{what}: record {key!r} is {type(rec).__name__}, expected an object")
        vals = [rec.get("val_accuracy")]
        for p in proxies_l:
            entry = rec.get(p)
            vals += [entry.get("score"), entry.get("time")] if isinstance(entry, dict) else [None, None]
        bad = [
            n
            for n, v in zip(["val_accuracy"] + [f"{p}{s}" for p in proxies_l for s in ("", "_time")], vals)
            if not _finite(v)
        ]
        if bad:
            dropped.append({"key": key, "arch": list(arch), "missing_or_non_finite": bad})
            continue
        archs.append(arch)
        rows.append(vals)
    if not rows:
        raise DataError(f"{what}: no complete record")
    data = np.asarray(rows, dtype=np.float64)
    cols = {f"{dataset}/val_acc": data[:, 0]}
    units = {f"{dataset}/val_acc": "%" if space == "nb201" else "task metric"}
    for i, p in enumerate(proxies_l):
        cols[f"{dataset}/{p}"] = data[:, 1 + 2 * i]
        cols[f"{dataset}/{p}_time_s"] = data[:, 2 + 2 * i]
        units[f"{dataset}/{p}_time_s"] = "s"
    units[f"{dataset}/params"] = "M"
    info = dict(meta or {})
    info.update(
        {
            "dataset": dataset,
            "proxies": proxies_l,
            "dropped": dropped,
            "note": "val_acc is NAS-Bench-Suite-Zero's validation accuracy/metric for the task",
        }
    )
    return MetricTable(space, np.asarray(archs, dtype=np.int64), cols, info, units)


def read_zc_nb201(path: str | Path, meta: Mapping | None = None) -> dict[str, MetricTable]:
    data = read_zc_json(path)
    return {ds: records_to_table(recs, ds, "nb201", f"{path} [{ds}]", meta) for ds, recs in data.items()}


def read_zc_transnas(path: str | Path, meta: Mapping | None = None) -> dict[str, MetricTable]:
    data = read_zc_json(path)
    return {t: records_to_table(recs, t, "transnas_macro", f"{path} [{t}]", meta) for t, recs in data.items()}


# -- registry hooks -------------------------------------------------------------------------------
def _prefix(manifest: Manifest) -> tuple[str, tuple[str, ...]]:
    if manifest.space in ("nb201",):
        return "nb201", NB201_DATASETS
    if manifest.space in ("transnas_macro", "transnas"):
        return "transnas", TRANSNAS_TASKS
    raise DataError(
        f"manifest {manifest.source_path}: zero-cost tables exist for nb201 and transnas_macro, "
        f"not {manifest.space!r}"
    )


def datasets(manifest: Manifest) -> list[NamedSpec]:
    prefix, names = _prefix(manifest)
    rel = manifest.files[0].path
    return [
        NamedSpec(
            name=f"zc:{prefix}-{ds}",
            table_key=f"{manifest.id}/{ds}",
            column=f"{ds}/val_acc",
            description=f"NAS-Bench-Suite-Zero {prefix} {ds}: zero-cost proxies + validation "
            "accuracy (target)",
            files=(rel,),
            manifest=manifest.id,
        )
        for ds in names
    ]


def build(manifest: Manifest, files: Mapping[str, Path], table_keys: list[str]) -> dict[str, MetricTable]:
    prefix, _ = _prefix(manifest)
    path = files[manifest.files[0].path]
    reader = read_zc_nb201 if prefix == "nb201" else read_zc_transnas
    return {f"{manifest.id}/{ds}": t for ds, t in reader(path, manifest.provenance()).items()}
