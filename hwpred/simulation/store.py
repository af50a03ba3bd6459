"""The simulation store: a :class:`~hwpred.experiment.PartStore` plus the grid's other files.

Layout of ``<output>/<name>/``::

    simulation.json   the config (and its hash) that owns this store
    pairs.json        the pairs as loaded (size of the shared space, metric mean/std, units)
    parts/*.parquet   one file per finished unit
    results.parquet   all rows, written when the grid is complete
    example.parquet   one selection in full, for the report's example picture (example.json: its numbers)
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..experiment.store import PartStore, locate_store

META_NAME = "simulation.json"
KIND = "simulation store"
#: the order of the consolidated results
RESULT_ORDER = ["pair", "subset_size", "noise_std", "acc_noise_std", "trial"]


class SimulationStore(PartStore):
    """A folder of Parquet part files owned by one simulation config (see module docstring)."""

    def __init__(self, root: str | os.PathLike):
        super().__init__(root, kind=KIND, meta_name=META_NAME, parts="parts")
        self.results_path = self.root / "results.parquet"
        self.pairs_path = self.root / "pairs.json"
        self.example_path = self.root / "example.parquet"
        self.example_info_path = self.root / "example.json"
        self.last_run = None  # the RunStats of the run that returned this store, if any

    @classmethod
    def open(cls, path: str | os.PathLike) -> SimulationStore:
        """A store folder, or an output folder holding exactly one simulation store."""
        return cls(locate_store(path, META_NAME, KIND, "`hwpred simulate run`"))

    def read(self) -> pd.DataFrame:
        """All rows: the consolidated file when complete, otherwise every finished part."""
        whole = self.read_frame(self.results_path.name)
        return whole if whole is not None else self._read_parts()

    def _read_parts(self) -> pd.DataFrame:
        frames = [t.to_pandas() for t in self.read_parts()]
        if not frames:
            raise DataError(
                f"{self.root} holds no finished simulation results yet; run `hwpred simulate run` first"
            )
        return pd.concat(frames, ignore_index=True)

    def consolidate(self) -> Path:
        """Write every part's rows, in grid order, to ``results.parquet`` (sorted in Arrow, so
        the 9.5 M rows of a full grid do not pass through Python string objects)."""
        import pyarrow as pa

        tables = self.read_parts()
        if not tables:
            raise DataError(f"{self.root} holds no finished simulation results to consolidate")
        whole = pa.concat_tables(tables, promote_options="permissive")
        del tables
        whole = whole.sort_by([(c, "ascending") for c in RESULT_ORDER])
        return self.write_frame(self.results_path.name, whole)
