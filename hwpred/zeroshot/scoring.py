"""Score many architectures of a search space: cache, resume, progress, MetricTable output.

Each architecture's untrained network is built with a seed derived from (space, arch, seed),
so a score does not depend on which other architectures were scored, in which order, or
whether the run was resumed. Finished values go to a per-score part store every few
architectures; re-running the same request skips what is cached.

Missing values: a score that comes out NaN or +-inf is recorded as missing (one warning per
score with the count and examples). MetricTable holds finite values only, so
:meth:`ScoreResult.table` keeps the rows where every requested column is finite and lists the
dropped architectures per column in ``meta["missing"]``; :meth:`ScoreResult.column_table`
gives one column with only its own missing rows dropped.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import time
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from ..data.table import MetricTable
from ..errors import ConfigError, DataError
from ..experiment import execute
from ..spaces import as_arch_array, get_space
from .batches import Batch, load_batch
from .ensemble import ensemble_name, ensemble_rank
from .registry import ZeroShotError, get_score, parse_scores
from .score_cache import ScoreCache, cache_folder, cache_owner, cache_store

DEFAULT_IMAGE_SIZE = {"nb201": 32, "transnas_macro": 64}  # macro nets downsample up to 64x
log = logging.getLogger(__name__)


class MissingScoreWarning(UserWarning):
    """A score was NaN/inf for some architectures; they are recorded as missing, never ranked."""


def hwpred_home() -> Path:
    return Path(os.environ.get("HWPRED_HOME") or Path.home() / ".hwpred")


def default_cache_dir() -> Path:
    return hwpred_home() / "cache" / "zeroshot"


def model_seed(space: str, arch_string: str, seed: int) -> int:
    """Initialisation seed of one architecture's network: independent of run order."""
    return zlib.crc32(f"{space}:{arch_string}:{seed}".encode()) & 0x7FFFFFFF


def column_name(score: str, data: str) -> str:
    return f"{score}/{data}"


@dataclass
class ScoreResult:
    """Scores of ``archs`` (NaN where missing), seconds per score and provenance."""

    space: str
    data: str
    archs: np.ndarray
    values: dict[str, np.ndarray]  # column name -> values, NaN = missing
    seconds: dict[str, np.ndarray]  # score name -> seconds per architecture (NaN if from an old cache)
    meta: dict = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    def arch_strings(self) -> list[str]:
        sp = get_space(self.space)
        return [sp.to_string(a) for a in self.archs]

    def missing(self) -> dict[str, list[str]]:
        names = self.arch_strings()
        return {c: [names[i] for i in np.flatnonzero(~np.isfinite(v))] for c, v in self.values.items()}

    def add_ensemble(self, members: Sequence[str]) -> str:
        """Add the mean-rank column of ``members`` (score names); missing in any member -> missing."""
        cols = [column_name(m, self.data) for m in members]
        for c in cols:
            if c not in self.values:
                raise ConfigError(
                    f"ensemble member {c!r} was not scored; score it first (scored: {', '.join(self.values)})"
                )
        name = ensemble_name(list(members), self.data)
        self.values[name] = ensemble_rank([self.values[c] for c in cols])
        self.units[name] = "mean rank"
        return name

    def _table(self, keep: np.ndarray, columns: list[str]) -> MetricTable:
        dropped = {
            c: [s for s, bad in zip(self.arch_strings(), ~np.isfinite(self.values[c])) if bad]
            for c in columns
        }
        meta = {
            **self.meta,
            "missing": {c: v for c, v in dropped.items() if v},
            "missing_policy": "rows with a NaN/inf score are dropped; dropped archs listed per column",
        }
        if not keep.any():
            raise DataError(f"every architecture has a missing value in {columns}; nothing to tabulate")
        return MetricTable(
            self.space,
            self.archs[keep],
            {c: self.values[c][keep] for c in columns},
            meta,
            {c: u for c, u in self.units.items() if c in columns},
        )

    def table(self) -> MetricTable:
        """All columns, only the architectures where every column is finite."""
        cols = list(self.values)
        keep = np.all(np.column_stack([np.isfinite(self.values[c]) for c in cols]), axis=1)
        return self._table(keep, cols)

    def column_table(self, column: str) -> MetricTable:
        if column not in self.values:
            raise ConfigError(f"no column {column!r}; scored: {', '.join(self.values)}")
        return self._table(np.isfinite(self.values[column]), [column])

    def seconds_per_arch(self) -> dict[str, float]:
        return {
            s: float(np.nanmean(v)) if np.isfinite(v).any() else float("nan") for s, v in self.seconds.items()
        }


def _score_one(
    space: str,
    arch: tuple[int, ...],
    arch_string: str,
    names: Sequence[str],
    batch: Batch,
    seed: int,
    image_size: int,
) -> list[tuple[str, str, float, float]]:
    """Build one architecture's seeded network and compute ``names`` on it: (arch, score, value, s)."""
    sp = get_space(space)
    torch.manual_seed(model_seed(sp.name, arch_string, seed))
    model = sp.build_model(arch, num_classes=batch.num_classes, input_size=image_size)
    out = []
    for n in names:
        spec = get_score(n)  # its __call__ checks ReLUs / batch and raises ZeroShotError
        t0 = time.perf_counter()
        value = spec(model, batch)
        out.append((arch_string, n, value, time.perf_counter() - t0))
    return out


@dataclass(frozen=True)
class _ArchUnit:
    """One unit of work: the scores of one architecture that are not cached yet."""

    arch: tuple[int, ...]
    arch_string: str
    names: tuple[str, ...]


_WORKER: dict = {}


def set_threads(threads: int) -> None:
    """One scoring process's threads: torch's intra-op pool and numpy's BLAS (naswot's kernel
    products run there), so parallel workers do not oversubscribe the cores."""
    torch.set_num_threads(threads)
    threadpool_limits(threads)


def _init_worker(space: str, batch: Batch, seed: int, image_size: int, threads: int | None) -> None:
    if threads:
        set_threads(threads)
    _WORKER.update(space=space, batch=batch, seed=seed, image_size=image_size)


def _score_unit(unit: _ArchUnit) -> list[tuple[str, str, float, float]]:
    w = _WORKER
    return _score_one(
        w["space"], unit.arch, unit.arch_string, unit.names, w["batch"], w["seed"], w["image_size"]
    )


@contextlib.contextmanager
def _restored_threads():
    """An inline run may set this process's thread counts; put them back afterwards."""
    old, blas = torch.get_num_threads(), threadpool_limits()  # the second records BLAS's limits
    try:
        yield
    finally:
        torch.set_num_threads(old)
        blas.restore_original_limits()
        _WORKER.clear()


def _run_units(
    units: list[_ArchUnit],
    caches: dict[str, ScoreCache],
    space: str,
    batch: Batch,
    seed: int,
    image_size: int,
    workers: int,
    threads: int | None,
    checkpoint_every: int,
    progress: bool,
    label: str,
) -> None:
    """Score ``units`` in this process or in a pool of ``workers`` spawned processes (one torch
    thread each unless ``threads``), caching every ``checkpoint_every`` architectures."""
    pool = workers > 1 and len(units) > 1
    done = [0]
    store = next((c.store for c in caches.values() if c.store is not None), None)
    # runs sharing a cache split the architectures: each is claimed until its part is written
    claims = store.claims(lambda u: u.arch_string, deferred=True) if store is not None else None
    if claims is not None:
        for c in caches.values():
            c.on_flush = claims.commit

    def is_done(unit: _ArchUnit) -> bool:
        # asked again right after a claim is won: parts another run wrote since must be seen
        # (a directory listing; only new parts are read)
        if claims is not None and not all(unit.arch_string in caches[n].values for n in unit.names):
            for c in caches.values():
                c.refresh()
        return all(unit.arch_string in caches[n].values for n in unit.names)

    def on_result(_unit: _ArchUnit, results: list) -> None:
        for arch_string, n, value, secs in results:
            caches[n].put(arch_string, value, secs)
        done[0] += 1
        if done[0] % checkpoint_every == 0:
            for c in caches.values():
                c.flush()

    with _restored_threads():
        try:
            execute(
                units,
                _score_unit,
                on_result,
                is_done=is_done,
                claims=claims,
                on_idle=lambda: [c.flush() for c in caches.values()],
                workers=workers if pool else 1,
                progress=progress,
                label=label,
                unit_name="archs",
                initializer=_init_worker,
                initargs=(space, batch, seed, image_size, (threads or 1) if pool else threads),
            )
        finally:
            for c in caches.values():
                c.flush()
            if claims is not None:
                claims.commit()


def score_archs(
    space: str,
    archs=None,
    scores: str | Sequence[str] = ("naswot", "synflow"),
    data: str = "digits",
    batch_size: int = 128,
    seed: int = 0,
    image_size: int | None = None,
    limit: int | None = None,
    cache_dir: str | os.PathLike | None | bool = None,
    progress: bool = True,
    checkpoint_every: int = 20,
    data_root: str | None = None,
    batch: Batch | None = None,
    cached_only: bool = False,
    workers: int = 1,
    threads: int | None = None,
) -> ScoreResult:
    """Score ``archs`` (default: the whole space in enumeration order).

    ``limit``: score only that many of them, drawn at random with ``seed`` (kept in order).

    ``cache_dir``: a folder, None for ``$HWPRED_HOME/cache/zeroshot``, or False for no cache.
    The cache of one (space, batch, image size) is a part store with one folder per score;
    every ``checkpoint_every`` architectures the newly scored ones become one part.
    ``cached_only``: compute nothing; return the architectures whose scores are all cached
    (to report on a run that is still going or was interrupted).

    ``workers`` > 1 scores in that many processes (each with ``threads`` torch threads,
    default 1); the values do not depend on it, because every network's initialisation is
    seeded from its own architecture. ``threads`` with one worker sets this process's
    torch thread count for the run.
    """
    sp = get_space(space)
    names = parse_scores(scores)
    if image_size is None:
        image_size = DEFAULT_IMAGE_SIZE.get(sp.name, 32)
    if batch is None:
        batch = load_batch(data, batch_size, seed, image_size, data_root)
    image_size = batch.input_shape[-1]
    seed = batch.seed
    data = batch.name
    for n in names:  # batch-size problems are known before any network is built
        spec = get_score(n)
        if len(batch) < spec.min_batch:
            raise ZeroShotError(
                f"score {n!r} needs a batch of at least {spec.min_batch} samples, got "
                f"{len(batch)}; raise the batch size"
            )
    arr = as_arch_array(sp.enumerate() if archs is None else archs, sp)
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"limit must be at least 1, got {limit}")
        # a seeded random subset, not the first N: the first cells in enumeration order are
        # mostly disconnected ones. Permutation prefixes nest, so a larger limit reuses the cache.
        arr = arr[np.sort(np.random.default_rng(seed).permutation(len(arr))[:limit])]
    if len(arr) == 0:
        raise ConfigError("no architectures to score")
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    strings = [sp.to_string(a) for a in arr]
    folder = None
    if cache_dir is not False:
        root = Path(cache_dir) if cache_dir else default_cache_dir()
        folder = cache_folder(root, sp.name, batch, image_size)
    owner = cache_owner(sp.name, batch, image_size)
    caches = {n: ScoreCache(cache_store(folder, n) if folder else None, n, owner) for n in names}
    todo = [i for i, s in enumerate(strings) if any(s not in caches[n].values for n in names)]
    if cached_only:
        keep = np.setdiff1d(np.arange(len(strings)), todo)
        if len(keep) == 0:
            raise DataError(f"no architecture has all of {names} cached under {folder}")
        arr, strings, todo = arr[keep], [strings[i] for i in keep], []
    units = [
        _ArchUnit(
            tuple(int(v) for v in arr[i]),
            strings[i],
            tuple(n for n in names if strings[i] not in caches[n].values),
        )
        for i in todo
    ]
    if units:
        _run_units(
            units,
            caches,
            sp.name,
            batch,
            seed,
            image_size,
            workers,
            threads,
            checkpoint_every,
            progress,
            f"{sp.name} {','.join(names)}/{data}",
        )
    values, seconds, units_of = {}, {}, {}
    for n in names:
        got = [caches[n].values[s] for s in strings]
        col = column_name(n, data)
        values[col] = np.array([v for v, _ in got], dtype=np.float64)
        seconds[n] = np.array([t for _, t in got], dtype=np.float64)
        units_of[col] = get_score(n).unit
        bad = ~np.isfinite(values[col])
        if bad.any():
            ex = ", ".join(strings[j] for j in np.flatnonzero(bad)[:3])
            warnings.warn(
                f"{n}: {int(bad.sum())} of {len(bad)} architectures gave NaN/inf (e.g. {ex}); "
                "recorded as missing and never ranked",
                MissingScoreWarning,
                stacklevel=2,
            )
    meta = {
        "source": "hwpred.zeroshot",
        "data": data,
        "batch_size": len(batch),
        "seed": int(seed),
        "image_size": int(image_size),
        "num_classes": batch.num_classes,
        "scores": names,
        "model_init": "torch default init, seed = crc32('<space>:<arch string>:<seed>')",
        "torch": torch.__version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    return ScoreResult(sp.name, data, arr, values, seconds, meta, units_of)
