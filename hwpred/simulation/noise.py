"""The seed study's model of a hardware-metric predictor's mistakes.

Real predictors do not err like white noise: most errors sit in a slightly shifted bulk, a
quarter in a wider bulk shifted the other way, a few are wild, and neighbouring
architectures share the same mistake. The model reproduces that as a three-part mixture
(N(c, v) 72.5%, N(-c, 3v) 26.5%, U(-15v, 15v) 1%, shift c ~ U(0, 2v) once per simulated
predictor), drawn 15 times fewer than needed with each draw repeated 15 times, then
standardised and scaled to the requested standard deviation. ``v`` is a standard deviation;
its value does not matter after standardisation, only the shape does. One draw of the random
parts serves every noise level of a simulated predictor (:meth:`NoiseModel.draw`).

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

    def draw(self, n: int, rng: np.random.Generator) -> NoiseDraw:
        """One simulated predictor's mistakes on ``n`` architectures, at every noise level.

        The random parts (the shift's fraction of its range, the component of each draw, the
        component values at unit scale and the shuffled layout of the repeats) are drawn once;
        :meth:`NoiseDraw.at` then gives the noise at any std. A trial's noise levels therefore
        share one error pattern (common random numbers): each level's noise has exactly the
        model's distribution, and levels differ only by what the std changes.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        k = -(-n // self.repeat)
        shift = rng.random()  # c = shift x its range (shift_max x v, or x std for seed-code)
        comp = np.searchsorted(self._bounds, rng.random(k), side="right")
        counts = np.bincount(comp, minlength=3)
        unit = np.empty(k)
        masks = (comp == 0, comp == 1, comp == 2)
        unit[masks[0]] = rng.standard_normal(counts[0])
        unit[masks[1]] = self.wide_scale * rng.standard_normal(counts[1])
        unit[masks[2]] = rng.uniform(-self.uniform_half_width, self.uniform_half_width, counts[2])
        # every value used for `repeat` architectures, the repeats shuffled over the vector (the
        # clusters land on unrelated architectures, not on neighbours in memory)
        slot = rng.permutation(k * self.repeat)[:n] // self.repeat
        sign = np.where(masks[0], 1.0, np.where(masks[1], -1.0, 0.0))
        return NoiseDraw(self, unit, sign, shift, slot)

    def raw(self, n: int, rng: np.random.Generator, std: float = 1.0) -> np.ndarray:
        """Unstandardised draws: ceil(n / repeat) mixture values, each repeated, shuffled, cut to n.

        ``std`` (the level the draws will be scaled to) only sets the shift of ``seed-code``.
        """
        return self.draw(n, rng).raw(std)

    def sample(self, n: int, std: float, rng: np.random.Generator) -> np.ndarray:
        """Noise of exactly standard deviation ``std`` (population std) and mean 0.

        When the draws are constant (n <= repeat, or n < 2) the noise is a constant shift,
        which cannot change a ranking, so zeros are returned.
        """
        check_std(std)
        return self.draw(n, rng).at(std)


class NoiseDraw:
    """The random parts of one simulated predictor's mistakes (:meth:`NoiseModel.draw`)."""

    def __init__(self, model: NoiseModel, unit, sign, shift: float, slot):
        self.model, self.n = model, len(slot)
        self._unit, self._sign, self._shift, self._slot = unit, sign, shift, slot
        self._fixed: np.ndarray | None = None  # fixed-shape: the standardised noise, cached

    def raw(self, std: float = 1.0) -> np.ndarray:
        m = self.model
        c = self._shift * m.shift_max * (std if m.variant == "seed-code" else 1.0)
        # the components at scale v: N(c, v), N(-c, wide_scale v), U(-h v, h v)
        vals = (self._unit + c * self._sign) * m.v
        return vals[self._slot]

    def at(self, std: float) -> np.ndarray:
        """The noise at std ``std``: mean 0, population std exactly ``std`` (zeros if constant)."""
        if std == 0.0 or self.n == 0:
            return np.zeros(self.n)
        if self.model.variant != "seed-code":
            if self._fixed is None:
                self._fixed = _standardise(self.raw())
            return std * self._fixed
        return std * _standardise(self.raw(std))


def _standardise(x: np.ndarray) -> np.ndarray:
    """Mean 0 and population std 1; zeros when the values are constant (to rounding)."""
    x = x - x.mean()
    s = np.sqrt(np.dot(x, x) / len(x))
    if not np.isfinite(s) or s <= 1e-12 * max(1.0, float(np.abs(x).max(initial=0.0))):
        return np.zeros(len(x))
    return x / s


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
