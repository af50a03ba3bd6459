"""How the harness's pass-to-pass agreement grows with the sweeps done, read from its journal.

For a ``benchmarks/measure.py --rounds R`` run in ``--out-dir`` (finished or not): the journal's
jobs grouped by how many rounds every cell has done in both passes, and for each k the Kendall
tau (median |p1-p2|/mean) of the paired q10 ratio between the passes from round 0 alone, from
the median of the first k-1 rounds and of the first k, with the taus within each class of cell
pairs. Measures nothing; writes ``journal_reading.json`` next to the journal.

    python benchmarks/measure_sweeps.py --out-dir results/measure/paired500-r320x4
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _common import OURS_TABLE, pair_class_line

from hwpred.measure import carry_journal, journal_path, sweep_readings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default="results/measure/bench", help="measure.py's --out-dir")
    ap.add_argument("--journal-from", metavar="FILE", help="start the harness's journal from FILE (.gz too)")
    args = ap.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.journal_from and carry_journal(args.journal_from, out_dir / OURS_TABLE):
        print(f"journal started from {args.journal_from}")
    j = sweep_readings(journal_path(out_dir / OURS_TABLE))
    print(f"{j['jobs']} jobs in the journal, {j['rounds']} rounds per cell and pass; q10 ratio, passes:")
    for r in j["by_rounds_done"]:
        k, enough = r["rounds"], "tau_median" in r
        print(f"  rounds 0..{k - 1} done: {r['cells']} cells" + ("" if enough else ", too few"))
        if enough:
            prev = (
                f"median of {k - 1} tau {r['tau_previous']:.4f} ({r['rel_diff_previous']:.4f}), "
                if k > 1
                else ""
            )
            print(
                f"    round 0 alone tau {r['tau_round0']:.4f} ({r['rel_diff_round0']:.4f}), "
                + prev
                + f"median of {k} tau {r['tau_median']:.4f} "
                f"({r['rel_diff_median']:.4f})\n    within classes: {pair_class_line(r['pair_classes'])}"
            )
    (out_dir / "journal_reading.json").write_text(json.dumps(j, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
