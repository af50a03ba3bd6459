"""The results store: a directory of Parquet part files, one per finished cell.

Layout of ``<output>/<name>/``::

    study.json            the config (and its hash) that owns this store
    cells/<cell>.parquet  one row: the record of one finished cell

Why one file per cell: a part file appears with ``os.replace`` of a complete temporary file, so
a reader sees a cell either finished or absent — never half written — whatever kills the writer
(SIGKILL included). The file name is a function of the cell id, so a cell can never be stored
twice; two runs that race on the same cell both write the same deterministic numbers and the
last rename wins. Resuming is "run every cell whose file does not exist".
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ConfigError, DataError

from .._io import TMP_PREFIX, atomic_write_bytes, part_filename, read_store_meta

FORMAT_VERSION = 1

#: the columns of a cell record, in order (see grid.run_cell for their meaning)
SCHEMA = pa.schema([
    ("cell_id", pa.string()), ("study", pa.string()), ("config_hash", pa.string()),
    ("dataset", pa.string()), ("space", pa.string()), ("predictor", pa.string()), ("family", pa.string()),
    ("reference", pa.bool_()), ("train_size", pa.int64()), ("seed", pa.int64()), ("n_test", pa.int64()),
    ("status", pa.string()), ("error", pa.string()),
    ("kendall_tau", pa.float64()), ("spearman", pa.float64()), ("pearson", pa.float64()),
    ("rmse", pa.float64()), ("dev_std", pa.float64()), ("monotonicity", pa.float64()),
    ("fit_time_s", pa.float64()), ("tuning_time_s", pa.float64()), ("query_time_s", pa.float64()),
    ("cell_time_s", pa.float64()), ("n_trials", pa.int64()), ("best_params", pa.string()),
    ("versions", pa.string()), ("host", pa.string()), ("pid", pa.int64()), ("finished_at", pa.string()),
])
#: columns that must be identical between two runs of the same config (timings, host... may differ)
RESULT_COLUMNS = ["cell_id", "dataset", "predictor", "train_size", "seed", "n_test", "status",
                  "kendall_tau", "spearman", "pearson", "rmse", "dev_std", "monotonicity", "best_params"]



class ResultStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.cells_dir = self.root / "cells"
        self.meta_path = self.root / "study.json"

    # ---- ownership ---------------------------------------------------------------------------
    def read_meta(self) -> dict | None:
        return read_store_meta(self.meta_path, "study store")

    def check_config(self, cfg) -> None:
        """A store belongs to one config: refuse to mix results of a different one under the same name."""
        meta = self.read_meta()
        if meta is None:
            if self.cells_dir.is_dir() and any(self.cells_dir.glob("*.parquet")):
                raise ConfigError(f"{self.root} holds cell results but no study.json; it was not written by "
                                  "this tool or is damaged; choose another output or name")
            return
        if meta.get("config_hash") != cfg.config_hash:
            raise ConfigError(
                f"{self.root} already holds study {meta.get('name')!r} written by a different config "
                f"(hash {meta.get('config_hash')} from {meta.get('source')}, this one is {cfg.config_hash}); "
                "give this config another name or output, or delete that folder to start over")

    def init(self, cfg) -> None:
        """Claim the store for ``cfg`` (idempotent; safe when two runs start together)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.cells_dir.mkdir(exist_ok=True)
        self.check_config(cfg)
        if self.meta_path.is_file():
            return
        from .. import __version__

        doc = {"format": FORMAT_VERSION, "name": cfg.name, "config_hash": cfg.config_hash,
               "source": cfg.source, "config": cfg.result_fields(), "hwpred": __version__,
               "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        # publish with link(): it fails if the file exists, so of two runs starting together exactly
        # one claims the store and the other is checked against that claim
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=TMP_PREFIX, suffix=".json")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(json.dumps(doc, indent=1, default=str).encode())
            try:
                os.link(tmp, self.meta_path)
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links: rename (last writer wins), then re-check
                os.replace(tmp, self.meta_path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.check_config(cfg)

    # ---- cells -------------------------------------------------------------------------------
    def path_of(self, cell_id: str) -> Path:
        return self.cells_dir / part_filename(cell_id)

    def has(self, cell_id: str) -> bool:
        return self.path_of(cell_id).is_file()

    def finished_files(self) -> set[str]:
        if not self.cells_dir.is_dir():
            return set()
        return {e.name for e in os.scandir(self.cells_dir)
                if e.name.endswith(".parquet") and not e.name.startswith(".")}

    def write(self, record: Mapping) -> Path:
        """Store one finished cell atomically (temp file in the same folder, then rename)."""
        row = {f.name: [record.get(f.name)] for f in SCHEMA}
        table = pa.Table.from_pydict(row, schema=SCHEMA)
        path = self.path_of(str(record["cell_id"]))
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        atomic_write_bytes(path, sink.getvalue().to_pybytes())
        return path

    def read(self, statuses: Iterable[str] | None = None) -> pd.DataFrame:
        """All finished cells as one DataFrame (empty, with the schema's columns, when none)."""
        files = sorted(self.finished_files())
        tables = []
        for name in files:
            try:
                tables.append(pq.read_table(self.cells_dir / name, schema=SCHEMA))
            except Exception:  # not our file, or a disk fault: skip it, a re-run redoes that cell
                continue
        if not tables:
            return SCHEMA.empty_table().to_pandas()
        df = pa.concat_tables(tables).to_pandas()
        if statuses is not None:
            df = df[df["status"].isin(list(statuses))]
        return df.sort_values(["dataset", "predictor", "train_size", "seed"]).reset_index(drop=True)

    def clean_temp(self, older_than_s: float = 3600.0) -> int:
        """Remove temp files a killed writer left behind (old ones only: a live run may own new ones)."""
        n = 0
        if not self.cells_dir.is_dir():
            return 0
        now = time.time()
        for e in os.scandir(self.cells_dir):
            if e.name.startswith(TMP_PREFIX):
                try:
                    if now - e.stat().st_mtime > older_than_s:
                        os.unlink(e.path)
                        n += 1
                except FileNotFoundError:
                    pass
        return n


def open_store(path: str | os.PathLike) -> ResultStore:
    """A store folder, or an output folder holding exactly one store."""
    p = Path(path)
    if (p / "study.json").is_file():
        return ResultStore(p)
    subs = [d for d in p.iterdir() if (d / "study.json").is_file()] if p.is_dir() else []
    if len(subs) == 1:
        return ResultStore(subs[0])
    if subs:
        raise DataError(f"{p} holds several studies ({', '.join(d.name for d in subs)}); pass one of them")
    raise DataError(f"{p} is not a study store (no study.json); pass the folder `hwpred study run` wrote, "
                    "<output>/<name>")
