"""Load times of the named datasets: first use (copy from the mirror, verify, import, cache as
Parquet) against later loads from the Parquet cache, side by side in one run.

    HWPRED_DATA_MIRROR=/path/to/mirror python benchmarks/bench_data_load.py

Uses a fresh temporary HWPRED_HOME so the first pass really starts cold.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time


def main() -> int:
    if not os.environ.get("HWPRED_DATA_MIRROR"):
        print("set HWPRED_DATA_MIRROR to the data mirror folder", file=sys.stderr)
        return 2
    os.environ["HWPRED_HOME"] = tempfile.mkdtemp(prefix="hwpred-bench-")
    import torch

    torch.set_num_threads(1)
    from hwpred.data import available_datasets, load_dataset, load_table

    names = [n for n, _, _ in available_datasets()]
    groups = {}
    for prefix in ("help", "nats", "hwnb360", "zc"):
        members = [n for n in names if n.startswith(prefix + ":")]
        groups[f"{prefix} ({len(members)} names)"] = members
    print(f"{'group':<22} {'first use (s)':>14} {'cached (s)':>11} {'ratio':>7}")
    for label, members in groups.items():
        t0 = time.perf_counter()
        for n in members:
            load_dataset(n).arrays()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        for n in members:
            load_dataset(n).arrays()
        cached = time.perf_counter() - t0
        print(f"{label:<22} {first:>14.2f} {cached:>11.3f} {first / cached:>7.0f}")
    t0 = time.perf_counter()
    joined = load_table("help:raspi4").join(load_table("nats:cifar10"))
    print(f"join help:raspi4 x nats:cifar10 ({len(joined)} rows), cached: {time.perf_counter() - t0:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
