"""Fault injection on the three stores: kill -9, a damaged part, two concurrent runs, then a resume.

For a small real-data study, a small simulation grid and a zero-shot score run, each repeat:
starts a run and kills its whole process group (parent and workers) at a random moment; runs two
processes concurrently on what it left; damages a random finished part (truncated, random bytes,
or another unit's valid part copied over it); then runs once more (the resume). It counts units
lost, units computed twice and silent wrong results against an uninterrupted reference run.

    HWPRED_DATA_MIRROR=../shared/datasets python benchmarks/fault_injection.py --repeats 20
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import yaml

from hwpred.experiment import PartStore, markdown_table
from hwpred.simulation.store import SimulationStore
from hwpred.study.store import RESULT_COLUMNS, ResultStore
from hwpred.zeroshot.score_cache import cache_stores

HW = [sys.executable, "-m", "hwpred.cli"]
STUDY = {
    "name": "faults",
    "datasets": ["help:raspi4", "help:pixel3"],
    "predictors": ["lin_reg", "ridge_reg", "bayes_lin_reg"],
    "train_sizes": [20, 50, 100],
    "test_size": 625,
    "seeds": [0, 1],
    "tuning": {"n_trials": 0},
}
SIM = {
    "name": "faults",
    "pairs": [
        {"accuracy": "nats:cifar10", "hardware": h} for h in ("help:raspi4", "help:pixel3", "help:eyeriss")
    ],
    "subset_sizes": [100, 500, 1000],
    "noise_stds": [0.0, 0.5, 1.0],
    "trials": 5,
    "seed": 0,
    "example": {"pair": 0, "subset_size": 100, "noise_std": 0.25, "trial": 0},
}


class Kind:
    """How to run one store kind, where its store is, and what its results are."""

    def __init__(self, name: str, work: Path):
        self.name, self.work = name, work

    def command(self, root: Path) -> list[str]:
        if self.name == "study":
            cfg = root / "study.yaml"
            cfg.write_text(yaml.safe_dump({**STUDY, "output": str(root)}))
            return HW + ["study", "run", str(cfg), "--workers", "2", "--no-progress"]
        if self.name == "simulation":
            cfg = root / "sim.yaml"
            cfg.write_text(yaml.safe_dump({**SIM, "output": str(root)}))
            return HW + ["simulate", "run", str(cfg), "--workers", "2", "--no-progress"]
        return HW + ["zeroshot", "score", "--space", "nb201", "--scores", "naswot,params", "--limit", "40",
                     "--batch-size", "16", "--cache", str(root / "cache"), "--out", str(root / "scores.parquet"),
                     "--quiet"]  # fmt: skip

    def stores(self, root: Path) -> list[PartStore]:
        if self.name == "study":
            return [ResultStore(root / "faults")] if (root / "faults").is_dir() else []
        if self.name == "simulation":
            return [SimulationStore(root / "faults")] if (root / "faults").is_dir() else []
        return cache_stores(root / "cache") if (root / "cache").is_dir() else []

    def results(self, root: Path) -> pd.DataFrame:
        tables = [t for s in self.stores(root) for t in s.read_parts()]
        if self.name == "zeroshot":
            parts = [
                t.to_pandas().assign(score=s.parts_dir.name)
                for s in self.stores(root)
                for t in s.read_parts()
            ]
            df = pd.concat(parts, ignore_index=True)
            return df[["score", "arch", "value"]].sort_values(["score", "arch"]).reset_index(drop=True)
        df = pa.concat_tables(tables).to_pandas()
        if self.name == "study":
            return df[RESULT_COLUMNS].sort_values("cell_id").reset_index(drop=True)
        return df.sort_values(["pair", "subset_size", "noise_std", "acc_noise_std", "trial"]).reset_index(
            drop=True
        )

    def unit_count(self, root: Path) -> int:
        """Units stored: parts (study, simulation) or scored (score, arch) pairs (zero-shot)."""
        if self.name == "zeroshot":
            return sum(t.num_rows for s in self.stores(root) for t in s.read_parts())
        return sum(len([v for v in s.scan() if v.ok]) for s in self.stores(root))


def ran(output: str, kind: str) -> int:
    if kind == "zeroshot":
        return 0  # counted from the parts: a unit scored twice appears in two parts
    m = re.search(r"ran (\d+) (cell|part)", output)
    return int(m.group(1)) if m else 0


def damage(store: PartStore, rng: random.Random) -> str:
    names = sorted(store.part_files())
    if not names:
        return "none"
    victim = store.parts_dir / rng.choice(names)
    how = rng.choice(["truncate", "random", "swap"] if len(names) > 1 else ["truncate", "random"])
    data = victim.read_bytes()
    if how == "truncate":
        victim.write_bytes(data[: rng.randrange(1, len(data))])
    elif how == "random":
        victim.write_bytes(os.urandom(len(data)))
    else:
        shutil.copyfile(store.parts_dir / rng.choice([n for n in names if n != victim.name]), victim)
    return how


def repeat(kind: Kind, ref: pd.DataFrame, planned: int, seed: int, kill_max_s: float) -> dict:
    """kill -9 mid-run, two runs at once on what it left, damage a finished part, resume."""
    rng = random.Random(seed)
    root = Path(tempfile.mkdtemp(dir=kind.work))
    cmd = kind.command(root)
    a = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(rng.uniform(0.3 * kill_max_s, kill_max_s))
    os.killpg(a.pid, signal.SIGKILL)
    a.wait()
    left = kind.unit_count(root)  # units the killed run finished
    pair = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)
    ]
    outs = [p.communicate()[0] for p in pair]
    stores = kind.stores(root)
    how = damage(rng.choice(stores), rng)
    last = subprocess.run(cmd, capture_output=True, text=True)
    resumed = last.stdout + last.stderr
    codes = [p.returncode for p in pair] + [last.returncode]
    for code, text in zip(codes, [*outs, resumed]):
        if code:  # kept for a look: the tail of every run that did not exit 0
            with open(kind.work / f"nonzero-{kind.name}.log", "a") as fh:
                fh.write(f"--- repeat {seed}, exit {code}\n{text[-3000:]}\n")
    final = kind.results(root)
    stored = kind.unit_count(root)
    if kind.name == "zeroshot":
        twice = stored - len(final.drop_duplicates(["score", "arch"]))
        final = final.drop_duplicates(["score", "arch"]).reset_index(drop=True)
        detected = "damaged:" in resumed
    else:
        twice = left + sum(ran(o, kind.name) for o in outs) - planned + max(ran(resumed, kind.name) - 1, 0)
        detected = "damaged:" in resumed and ran(resumed, kind.name) == 1
    same = len(final) == len(ref) and final.equals(ref)
    wrong = 0 if same else int((final.merge(ref, how="outer", indicator=True)["_merge"] != "both").sum() // 2)
    shutil.rmtree(root, ignore_errors=True)
    lost = planned - (len(final) if kind.name == "zeroshot" else stored)
    return {"damage": how, "detected": detected, "killed_after": left, "lost": lost, "twice": max(twice, 0),
            "wrong": wrong, "equal": same, "exit_ok": all(c == 0 for c in codes)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--kinds", default="study,simulation,zeroshot")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hwpred-faults-"))
    rows = []
    for name in args.kinds.split(","):
        kind = Kind(name, work)
        root = work / f"ref-{name}"
        root.mkdir()
        t0 = time.perf_counter()
        subprocess.run(kind.command(root), check=True, capture_output=True)
        ref_s = time.perf_counter() - t0
        ref = kind.results(root)
        planned = len(ref) if name == "zeroshot" else kind.unit_count(root)
        if name == "zeroshot":
            ref = ref.drop_duplicates(["score", "arch"]).reset_index(drop=True)
        reps = [repeat(kind, ref, planned, seed, max(ref_s, 1.0)) for seed in range(args.repeats)]
        df = pd.DataFrame(reps)
        print(
            f"{name}: {planned} units, reference run {ref_s:.1f} s; damage kinds {df['damage'].value_counts().to_dict()}"
        )
        rows.append({"store": name, "repeats": len(df), "faults injected": 2 * len(df) + int((df["damage"] != "none").sum()),
                     "damage named and recomputed": f"{int(df['detected'].sum())}/{int((df['damage'] != 'none').sum())}",
                     "units lost": int(df["lost"].sum()), "units computed twice": int(df["twice"].sum()),
                     "silent wrong results": int(df["wrong"].sum()), "final = uninterrupted": f"{int(df['equal'].sum())}/{len(df)}",
                     "all runs exit 0": f"{int(df['exit_ok'].sum())}/{len(df)}"})  # fmt: skip
        print(markdown_table(pd.DataFrame(rows[-1:])), flush=True)
    print(markdown_table(pd.DataFrame(rows)))
    for log in work.glob("nonzero-*.log"):
        print(f"runs that did not exit 0 ({log.name}):\n{log.read_text()}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
