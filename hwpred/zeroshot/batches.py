"""One batch of data for the zero-shot scores, deterministic for a seed.

``digits`` (the default) is scikit-learn's embedded 8x8 handwritten digits, upsampled to
32x32 and repeated over three channels, so that every score runs from a clean clone without
a download. ``noise`` is Gaussian noise with random labels. ``cifar10``/``cifar100`` read the
user's torchvision copy of the dataset (never downloaded here).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, DataError

DATA_NAMES = ("digits", "noise", "cifar10", "cifar100")
_NUM_CLASSES = {"digits": 10, "noise": 10, "cifar10": 10, "cifar100": 100}
# per-channel mean/std of the training sets, used to standardise like the benchmarks do
_CIFAR_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}


@dataclass
class Batch:
    """Inputs ``x`` (n, 3, size, size) float32, integer labels ``y`` and the number of classes."""

    x: torch.Tensor
    y: torch.Tensor
    num_classes: int
    name: str
    seed: int

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.x.shape[1:])


def available_data() -> list[str]:
    return list(DATA_NAMES)


def num_classes_of(name: str) -> int:
    _check_name(name)
    return _NUM_CLASSES[name]


def _check_name(name: str) -> None:
    if name not in DATA_NAMES:
        raise ConfigError(f"unknown zero-shot data {name!r}; choose one of {', '.join(DATA_NAMES)}")


def _check_size(batch_size: int, image_size: int) -> None:
    if int(batch_size) < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    if int(image_size) < 4:
        raise ConfigError(f"image size must be at least 4 pixels, got {image_size}")


def _pick(n_total: int, batch_size: int, rng: np.random.Generator, name: str) -> np.ndarray:
    if batch_size > n_total:
        raise ConfigError(f"batch size {batch_size} is larger than the {n_total} images of {name!r}")
    return np.sort(rng.choice(n_total, size=batch_size, replace=False))


def _standardise(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean()) / x.std().clamp_min(1e-8)


def digits_batch(batch_size: int = 128, seed: int = 0, image_size: int = 32) -> Batch:
    """scikit-learn digits (1,797 images, 10 classes), bilinear-upsampled, standardised."""
    from sklearn.datasets import load_digits

    _check_size(batch_size, image_size)
    ds = load_digits()
    rng = np.random.default_rng(seed)
    idx = _pick(len(ds.images), batch_size, rng, "digits")
    imgs = torch.as_tensor(ds.images[idx], dtype=torch.float32).unsqueeze(1) / 16.0
    imgs = torch.nn.functional.interpolate(
        imgs, size=(image_size, image_size), mode="bilinear", align_corners=False
    )
    x = _standardise(imgs.repeat(1, 3, 1, 1)).contiguous()
    y = torch.as_tensor(ds.target[idx], dtype=torch.long)
    return Batch(x, y, 10, "digits", int(seed))


def noise_batch(batch_size: int = 128, seed: int = 0, image_size: int = 32, num_classes: int = 10) -> Batch:
    """Standard Gaussian images with uniformly random labels (a data-free control)."""
    _check_size(batch_size, image_size)
    gen = torch.Generator().manual_seed(int(seed))
    x = torch.randn(batch_size, 3, image_size, image_size, generator=gen)
    y = torch.randint(0, num_classes, (batch_size,), generator=gen)
    return Batch(x, y, int(num_classes), "noise", int(seed))


def cifar_batch(
    name: str,
    batch_size: int = 128,
    seed: int = 0,
    image_size: int = 32,
    root: str | os.PathLike | None = None,
) -> Batch:
    """A random batch of the CIFAR training set from the user's torchvision copy."""
    _check_size(batch_size, image_size)
    try:
        import torchvision
    except ImportError:
        raise DataError(
            f"data {name!r} needs torchvision, which is not installed; install it "
            "(pip install torchvision) or use 'digits' (embedded, no download)"
        ) from None
    root = Path(root or os.environ.get("HWPRED_CIFAR_ROOT") or Path.home() / ".hwpred" / "data")
    cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
    try:
        ds = cls(root=str(root), train=True, download=False)
    except RuntimeError as exc:
        raise DataError(
            f"no {name} data under {root} ({exc}); download it with torchvision "
            f"(datasets.{cls.__name__}(root, download=True)) and point HWPRED_CIFAR_ROOT "
            "or the data root at that folder"
        ) from None
    rng = np.random.default_rng(seed)
    idx = _pick(len(ds.data), batch_size, rng, name)
    x = torch.as_tensor(ds.data[idx], dtype=torch.float32).permute(0, 3, 1, 2) / 255.0
    mean, std = _CIFAR_STATS[name]
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    if image_size != 32:
        x = torch.nn.functional.interpolate(
            x, size=(image_size, image_size), mode="bilinear", align_corners=False
        )
    y = torch.as_tensor(np.asarray(ds.targets)[idx], dtype=torch.long)
    return Batch(x.contiguous(), y, _NUM_CLASSES[name], name, int(seed))


def load_batch(
    name: str = "digits",
    batch_size: int = 128,
    seed: int = 0,
    image_size: int = 32,
    root: str | os.PathLike | None = None,
) -> Batch:
    """The batch called ``name``; the same (name, size, seed) always gives the same tensors."""
    _check_name(name)
    if name == "digits":
        return digits_batch(batch_size, seed, image_size)
    if name == "noise":
        return noise_batch(batch_size, seed, image_size)
    return cifar_batch(name, batch_size, seed, image_size, root)
