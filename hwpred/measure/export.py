"""``hwpred measure export``: hand architectures to an external device tool as ONNX files.

Phones and boards are benchmarked with the vendor's own tool, so hwpred writes one model per
architecture plus a manifest (architecture, file, input shape, sha256, hwpred and opset
versions); ``hwpred measure import`` (:mod:`.importing`) reads the tool's timings back against
that manifest. An architecture whose export fails is recorded in the manifest as failed and the
export goes on.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from .._io import atomic_write_bytes
from ..experiment.progress import progress_bar
from ..spaces import get_space
from ..spaces.onnx_export import (
    DEFAULT_OPSET,
    INPUT_NAME,
    OUTPUT_NAME,
    OnnxError,
    export_arch,
    input_hw,
    model_filename,
    require,
)
from ._jobs import error_text
from .config import SPACE_DEFAULTS, resolve_input_size, select_archs
from .timers import MeasureError

MANIFEST = "manifest.json"
FORMAT = "hwpred-export"
FORMAT_VERSION = 1
FORMATS = ("onnx",)
MODELS_DIR = "models"

#: what a device tool writes back; also written beside the models as README.txt
CSV_HELP = """\
Timings for hwpred (hwpred measure import DIR RESULTS.csv --device NAME --out TABLE.parquet)

One header line, then one row per model, comma-separated:
  file        the model's path as in manifest.json (e.g. models/nb201-312431.onnx) or its
              file name; or instead
  arch        the architecture string (or its op digits) from manifest.json
  latency_ms  latency per forward in milliseconds (or latency_us / latency_s / latency_ns)
  energy_mj   optional: energy per forward in millijoules (or energy_j)
  repeats     optional: how many timed forwards the latency summarises
  sha256      optional: the sha256 of the file the tool ran (checked against the manifest)
Other columns are ignored (and named in the import report). Every model must appear once;
unknown files, duplicates, bad units and non-positive or non-numeric times are errors.
The input is float32 NCHW, named "{input}", of shape {shape}.
"""


@dataclass
class ExportResult:
    """What an export wrote: its folder and manifest, and how many models were exported or failed."""

    folder: Path
    manifest: dict
    exported: int
    failed: list[dict] = field(default_factory=list)


def sha256_of(path: str | os.PathLike) -> str:
    from ..data.sources import sha256_file

    return sha256_file(path)


def _prepare_folder(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise MeasureError(f"--out {out} is a file; an export is written to a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise MeasureError(
                f"export folder {out} is not empty; choose another `out` or pass `overwrite=True` "
                "to replace its models and manifest"
            )
        if not (out / MANIFEST).is_file():
            raise MeasureError(
                f"export folder {out} is not empty and holds no {MANIFEST}; it is not an hwpred "
                "export, so it is not replaced: choose another `out`"
            )
        (out / MANIFEST).unlink()
        shutil.rmtree(out / MODELS_DIR, ignore_errors=True)
    (out / MODELS_DIR).mkdir(parents=True, exist_ok=True)


def export_space(
    space: str,
    out: str | os.PathLike,
    archs: Iterable[Sequence[int] | str] | None = None,
    limit: int | None = None,
    *,
    fmt: str = "onnx",
    input_size: int | Sequence[int] | str | None = None,
    batch_size: int = 1,
    num_classes: int | None = None,
    opset: int = DEFAULT_OPSET,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = True,
) -> ExportResult:
    """Export architectures of ``space`` (the whole space, ``archs``, or a seeded ``limit`` subset)
    as one ONNX file each into ``out/models``, with ``out/manifest.json`` and ``out/README.txt``.

    Examples
    --------
    >>> import tempfile
    >>> from hwpred.measure.export import export_space
    >>> res = export_space("nb201", tempfile.mkdtemp(), limit=2, progress=False)
    >>> res.exported, res.manifest["input"]["shape"]
    (2, [1, 3, 32, 32])
    """
    if fmt not in FORMATS:
        raise MeasureError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    try:
        onnx = require("onnx")
    except OnnxError as exc:
        raise MeasureError(str(exc)) from None
    import torch

    sp = get_space(space)
    if batch_size < 1:
        raise MeasureError(f"batch size must be >= 1, got {batch_size}")
    size, classes, _ = SPACE_DEFAULTS.get(sp.name, (32, 10, None))
    h, w = input_hw(resolve_input_size(input_size or size))
    classes = num_classes or classes
    pool = select_archs(sp, archs, limit, seed)
    folder = Path(out)
    _prepare_folder(folder, overwrite)
    models, failed = [], []
    with progress_bar(f"export {sp.name} to ONNX", len(pool), unit_name="models", enabled=progress) as bar:
        for arch in pool:
            rel = f"{MODELS_DIR}/{model_filename(sp.name, arch)}"
            try:
                export_arch(
                    sp.name, arch, folder / rel, input_size=(h, w), batch_size=batch_size,
                    num_classes=classes, opset=opset,
                )  # fmt: skip
            except OnnxError as exc:
                raise MeasureError(str(exc)) from None
            except Exception as exc:  # an architecture the exporter cannot take: record, go on
                failed.append({"arch": sp.to_string(arch), "ops": list(arch), "error": error_text(exc)})
                bar.advance(failed=True)
                continue
            models.append(
                {
                    "arch": sp.to_string(arch),
                    "ops": list(arch),
                    "file": rel,
                    "sha256": sha256_of(folder / rel),
                }
            )
            bar.advance()
    shape = [batch_size, 3, h, w]
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "space": sp.name,
        "model_format": fmt,
        "opset": opset,
        "input": {"name": INPUT_NAME, "shape": shape, "dtype": "float32", "layout": "NCHW"},
        "output": {"name": OUTPUT_NAME, "shape": [batch_size, classes]},
        "num_classes": classes,
        "versions": {"hwpred": __version__, "torch": torch.__version__, "onnx": onnx.__version__},
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "models": models,
        "failed": failed,
    }
    atomic_write_bytes(folder / MANIFEST, json.dumps(manifest, indent=1).encode())
    (folder / "README.txt").write_text(CSV_HELP.format(input=INPUT_NAME, shape=shape))
    return ExportResult(folder, manifest, len(models), failed)


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of an export folder, checked for the fields the import relies on."""
    p = Path(folder)
    path = p / MANIFEST if p.is_dir() else p
    if not path.is_file():
        raise MeasureError(f"{p} holds no {MANIFEST}; give the folder `hwpred measure export` wrote")
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MeasureError(f"{path} is not a readable JSON manifest ({exc})") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise MeasureError(f"{path} is not an hwpred export manifest (format {FORMAT!r})")
    if m.get("format_version") != FORMAT_VERSION:
        raise MeasureError(
            f"{path} is export format version {m.get('format_version')}; this hwpred reads {FORMAT_VERSION}"
        )
    for key in ("space", "models", "input"):
        if key not in m:
            raise MeasureError(f"{path} lacks the manifest field {key!r}; re-export the models")
    return m


__all__ = ["CSV_HELP", "ExportResult", "MANIFEST", "export_space", "read_manifest", "sha256_of"]
