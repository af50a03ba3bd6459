"""The study's results store: the experiment part store with one part per finished cell.

Layout of ``<output>/<name>/``::

    study.json            the config (and its hash) that owns this store
    cells/<cell>.parquet  one row: the record of one finished cell

Atomic parts, ownership by config hash and tolerant readers come from
:class:`~hwpred.experiment.store.PartStore`; this module adds the cell record's schema. Two runs
that race on the same cell both write the same deterministic numbers and the last rename wins.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import pandas as pd
import pyarrow as pa

from ..experiment.store import PartStore, locate_store

META_NAME = "study.json"

#: the columns of a cell record, in order (see cell.run_cell for their meaning)
SCHEMA = pa.schema(
    [
        ("cell_id", pa.string()),
        ("study", pa.string()),
        ("config_hash", pa.string()),
        ("dataset", pa.string()),
        ("space", pa.string()),
        ("predictor", pa.string()),
        ("family", pa.string()),
        ("reference", pa.bool_()),
        ("train_size", pa.int64()),
        ("seed", pa.int64()),
        ("n_test", pa.int64()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("kendall_tau", pa.float64()),
        ("spearman", pa.float64()),
        ("pearson", pa.float64()),
        ("rmse", pa.float64()),
        ("dev_std", pa.float64()),
        ("monotonicity", pa.float64()),
        ("spearman_unmeasured", pa.float64()),
        ("fit_time_s", pa.float64()),
        ("tuning_time_s", pa.float64()),
        ("query_time_s", pa.float64()),
        ("cell_time_s", pa.float64()),
        ("n_trials", pa.int64()),
        ("best_params", pa.string()),
        ("versions", pa.string()),
        ("host", pa.string()),
        ("pid", pa.int64()),
        ("finished_at", pa.string()),
    ]
)
#: columns that must be identical between two runs of the same config (timings, host... may differ)
RESULT_COLUMNS = [
    "cell_id",
    "dataset",
    "predictor",
    "train_size",
    "seed",
    "n_test",
    "status",
    "kendall_tau",
    "spearman",
    "pearson",
    "rmse",
    "dev_std",
    "monotonicity",
    "spearman_unmeasured",
    "best_params",
]


def conform(table: pa.Table) -> pa.Table:
    """A cell part as a row of :data:`SCHEMA`; a column added to the schema after the part was
    written (``spearman_unmeasured``) reads as null."""
    for name in SCHEMA.names:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, SCHEMA.field(name).type))
    return table.select(SCHEMA.names).cast(SCHEMA)


def cell_failed(table) -> bool:
    """Whether a cell part records a failure."""
    return table.num_rows > 0 and table.column("status")[0].as_py() != "ok"


class ResultStore(PartStore):
    """The folder of one study's finished cells, ``<output>/<name>``."""

    def __init__(self, root: str | os.PathLike):
        super().__init__(root, kind="study store", meta_name=META_NAME, parts="cells")

    @property
    def cells_dir(self):
        return self.parts_dir

    def check_config(self, cfg) -> None:
        """Refuse a store that holds the results of a different config under the same name."""
        self.check_owner(cfg.config_hash)

    def claim(self, cfg) -> None:
        """Claim the store for ``cfg`` (idempotent; safe when two runs start together)."""
        self.init(cfg.name, cfg.config_hash, cfg.source, cfg.result_fields())

    def write(self, record: Mapping):
        """Store one finished cell (one row of :data:`SCHEMA`) atomically."""
        row = {f.name: [record.get(f.name)] for f in SCHEMA}
        return self.write_part(str(record["cell_id"]), pa.Table.from_pydict(row, schema=SCHEMA))

    def failed_ids(self) -> list[str]:
        """Ids of the verified cells recorded as failed."""
        return [str(t["cell_id"][0]) for t in self.read_parts() if cell_failed(t)]

    def health(self, found=None):
        """The store's state (verified, failed, damaged, missing cells); ``found``: a scan already made."""
        from ..experiment.health import store_health

        return store_health(self, failed=cell_failed, found=found)

    def read(self, statuses: Iterable[str] | None = None, found=None) -> pd.DataFrame:
        """All finished cells as one DataFrame (empty, with the schema's columns, when none);
        ``found``: the result of :meth:`scan` when the caller has one (the parts are not read again)."""
        found = self.scan() if found is None else found
        tables = [conform(v.table) for v in found if v.ok]
        if not tables:
            return SCHEMA.empty_table().to_pandas()
        df = pa.concat_tables(tables).to_pandas()
        if statuses is not None:
            df = df[df["status"].isin(list(statuses))]
        return df.sort_values(["dataset", "predictor", "train_size", "seed"]).reset_index(drop=True)


def open_store(path: str | os.PathLike) -> ResultStore:
    """A study store folder, or an output folder holding exactly one."""
    return ResultStore(locate_store(path, META_NAME, "study store", "`hwpred study run`", plural="studies"))
