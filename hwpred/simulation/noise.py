"""The seed study's model of a hardware-metric predictor's mistakes.

Real predictors do not err like white noise: most errors sit in a slightly shifted bulk, a
quarter in a wider bulk shifted the other way, a few are wild, and neighbouring
architectures share the same mistake. The model reproduces that as a three-part mixture
(N(c, v) 72.5%, N(-c, 3v) 26.5%, U(-15v, 15v) 1%, shift c ~ U(0, 2v) once per simulated
predictor), drawn 15 times fewer than needed with each draw repeated 15 times, then
standardised and scaled to the requested standard deviation. ``v`` is a standard deviation;
its value does not matter after standardisation, only the shape does.

Two variants, by name (``variant``):

- ``fixed-shape`` (the default): c ~ U(0, 2v), so the mixture has one shape at every noise
  level and the requested std is a pure scale. A curve against the noise std (or Kendall tau)
  then shows the effect of the error's size alone, and a real predictor's deviation std can be
  read on the same axis whatever its size.
- ``seed-code``: the seed study's code, c ~ U(0, 2 std) on components of unit sd (v = 1)
  before the rescaling to std. The shift grows with the requested std, so at small std the
  mixture is nearly one centred bulk and at std 1 it matches ``fixed-shape``; its shape, not
  only its size, changes along a curve.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

#: the named noise variants (see the module docstring)
VARIANTS = ("fixed-shape", "seed-code")


@dataclass(frozen=True)
class NoiseModel:
    """Mixture noise of one simulated predictor (see module docstring)."""

    weights: tuple[float, float, float] = (0.725, 0.265, 0.01)
    shift_max: float = 2.0  # c ~ U(0, shift_max * v)
    wide_scale: float = 3.0  # second component N(-c, wide_scale * v)
    uniform_half_width: float = 15.0  # third component U(-h v, h v)
    repeat: int = 15  # each draw is used for this many architectures
    v: float = 1.0
    variant: str = "fixed-shape"  # or "seed-code": shift c ~ U(0, shift_max * std) (see module docstring)

    def __post_init__(self):
        w = np.asarray(self.weights, dtype=np.float64)
        if w.shape != (3,) or np.any(w < 0) or not np.isclose(w.sum(), 1.0):
            raise ConfigError(
                f"noise mixture weights must be three non-negative numbers summing to 1, got {self.weights}"
            )
        if int(self.repeat) != self.repeat or self.repeat < 1:
            raise ConfigError(f"noise repeat must be a positive integer, got {self.repeat}")
        if self.variant not in VARIANTS:
            raise ConfigError(f"noise variant {self.variant!r} is unknown; use one of {', '.join(VARIANTS)}")
        if self.v <= 0 or self.shift_max < 0 or self.wide_scale <= 0 or self.uniform_half_width <= 0:
            raise ConfigError("noise model scales must be positive (shift_max may be 0)")
        # the component boundaries, cumulative weights (a frozen dataclass: set once, here)
        object.__setattr__(self, "_bounds", np.cumsum(w)[:2])

    def raw(self, n: int, rng: np.random.Generator, std: float = 1.0) -> np.ndarray:
        """Unstandardised draws: ceil(n / repeat) mixture values, each repeated, shuffled, cut to n.

        ``std`` (the level the draws will be scaled to) only sets the shift of ``seed-code``.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        k = -(-n // self.repeat)
        c = rng.uniform(0.0, self.shift_max * (std if self.variant == "seed-code" else self.v))
        comp = np.searchsorted(self._bounds, rng.random(k), side="right")
        counts = np.bincount(comp, minlength=3)
        vals = np.empty(k)
        m0, m1, m2 = comp == 0, comp == 1, comp == 2
        vals[m0] = rng.normal(c, self.v, counts[0])
        vals[m1] = rng.normal(-c, self.wide_scale * self.v, counts[1])
        h = self.uniform_half_width * self.v
        vals[m2] = rng.uniform(-h, h, counts[2])
        out = np.repeat(vals, self.repeat)
        rng.shuffle(out)  # the clusters land on unrelated architectures, not neighbours in memory
        return out[:n]

    def sample(self, n: int, std: float, rng: np.random.Generator) -> np.ndarray:
        """Noise of exactly standard deviation ``std`` (population std) and mean 0.

        When the draws are constant (n <= repeat, or n < 2) the noise is a constant shift,
        which cannot change a ranking, so zeros are returned.
        """
        check_std(std)
        if std == 0.0 or n == 0:
            return np.zeros(n)
        x = self.raw(n, rng, std)
        x = x - x.mean()
        s = x.std()
        if not np.isfinite(s) or s <= 1e-12 * max(1.0, float(np.abs(x).max(initial=0.0))):
            return np.zeros(n)
        return x * (std / s)


def check_std(std: float, what: str = "noise std") -> float:
    s = float(std)
    if not np.isfinite(s) or s < 0:
        raise ConfigError(f"{what} must be a finite number >= 0, got {std!r}")
    return s


def stable_key(text: str) -> int:
    """A process-independent integer for a name (Python's hash() is salted per process)."""
    return zlib.crc32(text.encode())


def rng_for(seed: int, *parts: int | str) -> np.random.Generator:
    """One generator per unit of simulated randomness, so results do not depend on chunking,
    worker count or the order in which resumed work is done."""
    ints = [int(seed)] + [stable_key(p) if isinstance(p, str) else int(p) for p in parts]
    if all(0 <= i < _WORD for i in ints):
        # one 32-bit word each, as SeedSequence splits them: the same entropy, without its
        # per-integer conversion (the simulation makes one generator per trial and noise level)
        return np.random.default_rng(np.random.SeedSequence(np.array(ints, dtype=np.uint32)))
    return np.random.default_rng(np.random.SeedSequence(ints))


_WORD = 1 << 32


def std_key(std: float) -> int:
    """Seed component for a noise level: keyed by value, so adding levels leaves others unchanged."""
    return int(round(float(std) * 1_000_000))
