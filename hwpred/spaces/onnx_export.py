"""ONNX export of search-space models: one checked file per architecture, cached by what shapes it.

Deployment runtimes (ONNX Runtime here, a vendor's tool on a phone or board) run the exported
graph, not the torch module, so the file is the unit both the ``onnxruntime`` measurement runtime
and ``hwpred measure export`` hand on. Every file is checked with ``onnx.checker`` before it is
used; an export is written atomically, so a killed run leaves no half file in the cache.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from ..errors import HwpredError
from .base import get_space

#: the optional dependency group that brings onnx and onnxruntime
EXTRA = "onnx"
DEFAULT_OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "output"


class OnnxError(HwpredError):
    """An ONNX export or runtime request the user can fix (a package missing, a bad option)."""


def require(module: str):
    """Import ``module`` (onnx, onnxruntime) or raise one message naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise OnnxError(
            f"{module} is not installed; ONNX export and the onnxruntime runtime need the "
            f"'{EXTRA}' extra: pip install 'hwpred[{EXTRA}]' (or pip install onnx onnxruntime)"
        ) from None


def input_hw(input_size: int | Sequence[int]) -> tuple[int, int]:
    """An image side (square) or (height, width) -> (height, width)."""
    if isinstance(input_size, int):
        return input_size, input_size
    h, w = (int(v) for v in input_size)
    return h, w


def model_filename(space: str, arch: Sequence[int]) -> str:
    """A file name that is unique in the space and safe on every file system: its op digits."""
    return f"{get_space(space).name}-{''.join(str(int(v)) for v in arch)}.onnx"


def export_model(
    model, input_shape: Sequence[int], path: str | os.PathLike, opset: int = DEFAULT_OPSET
) -> Path:
    """Export ``model`` (eval mode) for one input of ``input_shape`` (batch included) and check it.

    The TorchScript-based exporter is used: it needs no package beyond onnx, and the search
    spaces' models are plain static graphs.
    """
    import torch

    onnx = require("onnx")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    x = torch.zeros(*map(int, input_shape))
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's deprecation notices, once per file
            torch.onnx.export(
                model.eval(),
                (x,),
                str(tmp),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                opset_version=opset,
                dynamo=False,
            )
        onnx.checker.check_model(onnx.load(str(tmp)), full_check=True)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def check_file(path: str | os.PathLike) -> None:
    """``onnx.checker`` on a file; raises what the checker raises."""
    onnx = require("onnx")
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


def export_arch(
    space: str,
    arch: Sequence[int],
    path: str | os.PathLike,
    *,
    input_size: int | Sequence[int],
    batch_size: int = 1,
    num_classes: int = 10,
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Build ``arch`` of ``space`` and export it for a batch of ``batch_size`` images."""
    sp = get_space(space)
    h, w = input_hw(input_size)
    model = sp.build_model(sp.validate(arch), num_classes=num_classes, input_size=h)
    return export_model(model, (batch_size, 3, h, w), path, opset=opset)


class ExportCache:
    """Exported files of one shape (space, input, batch, classes, opset, torch version) in one folder.

    A cached file is re-checked when it is first used by this process; one that fails the check
    (truncated, edited) is exported again.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        space: str,
        *,
        input_size: int | Sequence[int],
        batch_size: int,
        num_classes: int,
        opset: int = DEFAULT_OPSET,
    ):
        import torch

        self.space = get_space(space).name
        self.input_size, self.batch_size, self.num_classes, self.opset = (
            input_size,
            batch_size,
            num_classes,
            opset,
        )
        h, w = input_hw(input_size)
        key = f"{self.space}-{h}x{w}-b{batch_size}-c{num_classes}-op{opset}-torch{torch.__version__}"
        self.folder = Path(root).expanduser() / key.replace("+", "_")
        self._checked: set[Path] = set()

    def path(self, arch: Sequence[int]) -> Path:
        """The exported file of ``arch``, exporting (or re-exporting a damaged one) when needed."""
        p = self.folder / model_filename(self.space, arch)
        if p in self._checked:
            return p
        if p.exists():
            try:
                check_file(p)
            except OnnxError:
                raise
            except Exception:  # damaged: export it again
                p.unlink()
        if not p.exists():
            export_arch(
                self.space,
                arch,
                p,
                input_size=self.input_size,
                batch_size=self.batch_size,
                num_classes=self.num_classes,
                opset=self.opset,
            )
        self._checked.add(p)
        return p


__all__ = [
    "DEFAULT_OPSET",
    "EXTRA",
    "ExportCache",
    "INPUT_NAME",
    "OUTPUT_NAME",
    "OnnxError",
    "check_file",
    "export_arch",
    "export_model",
    "input_hw",
    "model_filename",
    "require",
]
