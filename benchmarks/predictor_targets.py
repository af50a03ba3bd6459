"""The predictor benchmark's targets, checked on a finished `predictors-default` study store.

Prints test Kendall tau (mean ± sd over seeds) per family, dataset and training-set size, the
fit times (mean) and query times (median, max) at 1,000, and three checks:

- every learning family beats the Lookup Table on help:raspi4 at 1,000 training architectures
  (the LUT is fitted from its own 25 reference architectures, so it has one cell per dataset and seed);
- the best family reaches tau >= 0.90 on help:raspi4 and on help:pixel3 at 1,000;
- every family predicts the 625 test architectures in under 50 ms at every training-set size:
  the median over that size's cells of the study's one timed ``predict`` call (wall clock; on a
  shared machine single calls stray, so the median rather than the mean;
  benchmarks/predictor_query.py times 7 calls of saved predictors on a quiet machine).

    HWPRED_DATA_MIRROR=/path/to/mirror hwpred study run studies/predictors-default.yaml
    python benchmarks/predictor_targets.py results/studies/predictors-default
"""

from __future__ import annotations

import argparse

import pandas as pd

from hwpred.study import open_store

LUT = "lut"
SIZE = 1000
TAU_TARGET = 0.90
QUERY_MS_TARGET = 50.0


def tau_table(ok: pd.DataFrame, n_seeds: int) -> pd.DataFrame:
    """family x (dataset, train size) -> 'mean ± sd' of Kendall tau over seeds ('(k/n)': k seeds so far)."""
    g = ok.groupby(["predictor", "dataset", "train_size"])["kendall_tau"]
    done = g.size().map(lambda k: "" if k >= n_seeds else f" ({k}/{n_seeds})")
    cells = g.mean().map("{:.3f}".format) + " ± " + g.std().fillna(0).map("{:.3f}".format) + done
    table = cells.unstack(["dataset", "train_size"]).sort_index(axis=1).fillna("–")
    order = ok[ok["train_size"] == ok["train_size"].max()].groupby("predictor")["kendall_tau"].mean()
    return table.reindex(order.sort_values(ascending=False).index.union(table.index, sort=False))


def timing_table(ok: pd.DataFrame, size: int) -> pd.DataFrame:
    """Mean fit seconds, median and max query milliseconds per family at one size (the LUT at its own)."""
    rows = ok[(ok["train_size"] == size) | (ok["predictor"] == LUT)]
    t = rows.groupby("predictor").agg(
        fit_s=("fit_time_s", "mean"),
        query_ms_median=("query_time_s", "median"),
        query_ms_max=("query_time_s", "max"),
        n_test=("n_test", "max"),
        cells=("seed", "size"),
    )
    t[["query_ms_median", "query_ms_max"]] *= 1000
    return t.sort_values("fit_s")


def markdown(table: pd.DataFrame, fmt: str = "{:.3f}") -> str:
    """A DataFrame as a markdown table (column tuples joined with ' @')."""
    cols = [" @".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in table.columns]

    def cell(v) -> str:
        return fmt.format(v) if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join([str(table.index.name or "")] + cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in table.itertuples()]
    return "\n".join(lines)


def check_targets(ok: pd.DataFrame) -> list[str]:
    lines = []
    raspi = ok[ok["dataset"] == "help:raspi4"]
    lut = raspi[raspi["predictor"] == LUT]["kendall_tau"]
    learners = raspi[(raspi["predictor"] != LUT) & (raspi["train_size"] == SIZE)]
    if lut.empty or learners.empty:
        lines.append(f"NOT MEASURED: every learning family beats the LUT on help:raspi4 at {SIZE}")
    else:
        means = learners.groupby("predictor")["kendall_tau"].mean()
        losers = means[means <= lut.mean()]
        detail = ", ".join(f"{f} {t:.3f}" for f, t in losers.items()) or "none"
        lines.append(
            f"{'PASS' if losers.empty else 'FAIL'}: every learning family beats the LUT "
            f"(tau {lut.mean():.3f}) on help:raspi4 at {SIZE} ({len(means)} families; "
            f"at or below the LUT: {detail})"
        )
    for ds in ("help:raspi4", "help:pixel3"):
        part = ok[(ok["dataset"] == ds) & (ok["train_size"] == SIZE)]
        if part.empty:
            lines.append(f"NOT MEASURED: best tau >= {TAU_TARGET} on {ds} at {SIZE}")
            continue
        means = part.groupby("predictor")["kendall_tau"].mean()
        lines.append(
            f"{'PASS' if means.max() >= TAU_TARGET else 'FAIL'}: best tau on {ds} at {SIZE} = "
            f"{means.max():.3f} ({means.idxmax()})"
        )
    q = ok.groupby(["predictor", "train_size"])["query_time_s"].median().groupby("predictor").max() * 1000
    if q.empty:
        lines.append(f"NOT MEASURED: query < {QUERY_MS_TARGET:g} ms")
    else:
        slow = sorted(q[q >= QUERY_MS_TARGET].index)
        lines.append(
            f"{'PASS' if not slow else 'FAIL'}: query < {QUERY_MS_TARGET:g} ms for the test set, median "
            f"over a size's cells, slowest size (slowest: {q.idxmax()} {q.max():.1f} ms"
            + (f"; at or over: {slow}" if slow else "")
            + ")"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "store", help="the study store (<output>/predictors-default) or the output folder holding it"
    )
    args = ap.parse_args(argv)

    store = open_store(args.store)
    df, n_seeds = store.read(), len((store.read_meta() or {}).get("config", {}).get("seeds", [0]))
    ok = df[df["status"] == "ok"]
    failed = df[df["status"] != "ok"]
    print(f"{len(df)} cells in the store, {len(ok)} ok, {len(failed)} failed")
    for _, r in failed.head(5).iterrows():
        print(f"  failed: {r['cell_id']}: {r['error']}")
    if ok.empty:
        return 1
    print("\nKendall tau (mean ± sd over seeds); LUT: fitted from its reference architectures\n")
    print(markdown(tau_table(ok, n_seeds)))
    size = SIZE if (ok["train_size"] == SIZE).any() else int(ok["train_size"].max())
    print(f"\nFit seconds (mean) and query milliseconds (median, max) at {size} training architectures\n")
    print(markdown(timing_table(ok, size)))
    print(f"\nTargets, on the {len(ok)} finished cells:")
    for line in check_targets(ok):
        print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
