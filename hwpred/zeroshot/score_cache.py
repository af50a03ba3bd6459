"""The zero-shot score cache: per score, arch string -> (value, seconds), kept in a part store
owned by what the values depend on (space, data batch, seed, image size)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pandas as pd

from ..experiment import PartStore, config_hash
from .batches import Batch

COLUMNS = ("arch", "value", "seconds")
log = logging.getLogger(__name__)


class ScoreCache:
    """One score's values, arch string -> (value, seconds) (NaN allowed), in memory and, with a
    store, on disk: each checkpoint writes the newly scored architectures as one part."""

    def __init__(self, store: PartStore | None, score: str, owner: dict):
        self.store, self.score, self.owner = store, score, owner
        self.values: dict[str, tuple[float, float]] = {}
        self.new: list[str] = []
        self.seen: set[str] = set()  # part files already read
        self.on_flush = None  # called after each part is written (drops the claims of its archs)
        if store is not None:
            store.check_owner(owner["hash"])
            self.refresh(first=True)

    def refresh(self, first: bool = False) -> None:
        """Read the parts written since the last look (by this run or another one on the same cache).

        A damaged part is named, moved to ``damaged/``, and its architectures are scored again."""
        if self.store is None:
            return
        if first:
            from ..experiment.health import set_aside_damaged

            set_aside_damaged(self.store)
            self._read_single_file()
        for name in sorted(self.store.part_files() - self.seen):
            self.seen.add(name)
            table = self.store.read_part(name)
            if table is None or not set(COLUMNS) <= set(table.column_names):
                continue  # written by a run in progress and not yet complete, or damaged: next refresh
            df = table.to_pandas()
            for a, v, sec in zip(df["arch"], df["value"], df["seconds"]):
                self.values.setdefault(a, (float(v), float(sec)))

    def _read_single_file(self) -> None:
        """A cache kept as one file per score (``<score>.parquet``, an older layout) is read too."""
        single = self.store.root / f"{self.score}.parquet"
        if not single.is_file():
            return
        try:
            df = pd.read_parquet(single, columns=list(COLUMNS))
        except Exception as exc:  # a truncated or foreign file
            log.warning(
                "zero-shot cache %s is unreadable (%s); its architectures are scored again", single, exc
            )
            return
        for a, v, sec in zip(df["arch"], df["value"], df["seconds"]):
            self.values.setdefault(a, (float(v), float(sec)))

    def put(self, arch: str, value: float, seconds: float) -> None:
        self.values[arch] = (value, seconds)
        self.new.append(arch)

    def flush(self) -> None:
        if self.store is None or not self.new:
            return
        self.store.init(
            self.store.root.name, self.owner["hash"], "hwpred.zeroshot.score_archs", self.owner["config"]
        )
        digest = hashlib.sha1("\n".join(self.new).encode()).hexdigest()[:16]
        self.store.write_part(
            f"{len(self.new)}-archs-{digest}",
            pd.DataFrame(
                {
                    "arch": self.new,
                    "value": [self.values[a][0] for a in self.new],
                    "seconds": [self.values[a][1] for a in self.new],
                }
            ),
        )
        self.new = []
        if self.on_flush is not None:
            self.on_flush()


def cache_folder(root: Path, space: str, batch: Batch, image_size: int) -> Path:
    return root / space / f"{batch.name}-b{len(batch)}-s{batch.seed}-i{image_size}-c{batch.num_classes}"


def cache_owner(space: str, batch: Batch, image_size: int) -> dict:
    """What the cached values depend on (besides the score and the arch): the store's owner."""
    config = {
        "space": space,
        "data": batch.name,
        "batch_size": len(batch),
        "seed": int(batch.seed),
        "image_size": int(image_size),
        "num_classes": int(batch.num_classes),
    }
    return {"config": config, "hash": config_hash(config)}


def cache_store(folder: Path, score: str) -> PartStore:
    """The part store of one score's cached values in one cache folder."""
    return PartStore(folder, "zero-shot cache", "cache.json", parts=score)


def cache_stores(root: Path) -> list[PartStore]:
    """Every score's part store under a cache root (for ``hwpred zeroshot check``)."""
    from ..experiment.store import CLAIMS_DIR, DAMAGED_DIR

    out = []
    for meta in sorted(Path(root).rglob("cache.json")):
        for d in sorted(meta.parent.iterdir()):
            if d.is_dir() and d.name not in (CLAIMS_DIR, DAMAGED_DIR):
                out.append(cache_store(meta.parent, d.name))
    return out
