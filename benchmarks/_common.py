"""What benchmarks/measure.py, measure_sweeps.py and measure_timer_budget.py share: the layout of a
measurement directory and the line that reports the pass-to-pass taus by pair class."""

from __future__ import annotations

from pathlib import Path

from hwpred.measure import Journal
from hwpred.measure.repeatability import PAIR_CLASSES

OURS_TABLE = "ours.parquet"  # the harness's table in --out-dir (its journal lies beside it)
TIMER_JOURNAL = "timer.journal.jsonl"  # torch.utils.benchmark.Timer's medians, one record per job


def timer_results(out_dir: Path) -> dict[tuple, dict[int, float]]:
    """Timer medians (ms) journalled in ``out_dir``, by cell and pass."""
    res: dict[tuple, dict[int, float]] = {}
    for r in Journal(Path(out_dir) / TIMER_JOURNAL).load():
        if r.get("kind") == "result":
            res.setdefault(tuple(r["arch"]), {})[int(r["pass"])] = r["median_ms"]
    return res


def pair_class_line(pc: dict) -> str:
    """``hwpred.measure.pair_classes`` output as one line: pairs, share, tau and share of the discordant."""
    return "; ".join(
        f"{c} {pc[c]['pairs']} pairs ({pc[c]['fraction']:.4f}), tau {pc[c]['tau']:.3f}, "
        f"{pc[c]['share_of_discordant']:.0%} of the discordant"
        for c in PAIR_CLASSES
    )
