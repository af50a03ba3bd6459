"""``hwpred transfer``: a predictor for a new device from a few measurements and the known tables.

hwpred transfer choose --sources help-all --n 20 --out chosen.txt      # what to measure
hwpred measure nb201 --archs chosen.txt --out mine.parquet             # measure it
hwpred transfer fit transfer_ridge --sources help-all --table mine.parquet --out pred/
hwpred transfer predict pred/ --out space.parquet --check heldout.parquet
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...errors import HwpredError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "transfer", help="few-shot predictors for a new device from other devices' tables"
    )
    sub = p.add_subparsers(dest="transfer_command", metavar="SUBCOMMAND")
    c = sub.add_parser("choose", help="choose the architectures to measure on the new device")
    c.add_argument(
        "--sources", default="help-all", help="group (help-split, help-all) or comma-separated names"
    )
    c.add_argument("--n", type=int, required=True, help="how many architectures")
    c.add_argument("--strategy", default="kcenter", help="random, kcenter or doptimal")
    c.add_argument("--seed", type=int, default=0, help="seed of the random strategy")
    c.add_argument("--space", default="nb201", help="search space of the architectures to choose")
    c.add_argument("--out", required=True, help="text file, one architecture string per line")
    c.set_defaults(func=_choose)
    f = sub.add_parser("fit", help="fit a transfer family on a measured table and save it")
    f.add_argument("family", help="transfer_ridge, transfer_gp or transfer_net")
    f.add_argument(
        "--sources", default="help-all", help="group (help-split, help-all) or comma-separated names"
    )
    f.add_argument("--table", required=True, help="measured table: a .parquet file or a dataset name")
    f.add_argument("--column", default=None, help="target column (default: the table's first latency column)")
    f.add_argument("--seed", type=int, default=0, help="the predictor's random_state")
    f.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a family parameter, e.g. keep=auto or flops=true (repeatable; values read as YAML)",
    )
    f.add_argument("--out", required=True, help="folder for the saved predictor")
    f.set_defaults(func=_fit)
    q = sub.add_parser("predict", help="predict the whole space with a saved predictor, optionally check it")
    q.add_argument("predictor", help="folder written by 'hwpred transfer fit'")
    q.add_argument("--out", required=True, help="output .parquet: the whole space, predicted")
    q.add_argument(
        "--check", default=None, help="held-out measured table to score against (.parquet or name)"
    )
    q.add_argument("--column", default=None, help="column of the --check table")
    q.set_defaults(func=_predict)
    p.set_defaults(func=lambda args: p.print_help() or 1)


def _sources(text: str):
    from .sources import GROUPS

    return text if text in GROUPS else [s.strip() for s in text.split(",") if s.strip()]


def _dataset(spec: str, column: str | None):
    """A measured table given as a Parquet path (first ``*latency*`` column unless told) or a name."""
    from ...data import Dataset, MetricTable, load_dataset

    if not spec.endswith(".parquet"):
        return load_dataset(spec if column is None else f"{spec}#{column}")
    table = MetricTable.read_parquet(spec)
    if column is None:
        lat = [c for c in table.column_names if "latency" in c] or table.column_names
        if not lat:
            raise HwpredError(f"{spec} has no columns to fit on")
        column = lat[0]
    return Dataset.of(table, column, name=f"file:{spec}#{column}")


def _choose(args) -> int:
    from ...spaces import get_space
    from .selection import choose_archs

    archs = choose_archs(_sources(args.sources), args.n, args.strategy, args.seed, args.space)
    sp = get_space(args.space)
    Path(args.out).write_text("".join(sp.to_string(a) + "\n" for a in archs))
    print(f"{len(archs)} architectures ({args.strategy} on {args.sources}) -> {args.out}")
    return 0


def _params(items: list[str]) -> dict:
    """``KEY=VALUE`` options as a dict, each value read as a YAML scalar (``auto``, ``3``, ``true``)."""
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise HwpredError(f"--param {item!r}: write KEY=VALUE, e.g. keep=auto")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _fit(args) -> int:
    from .. import create

    params = _params(args.param)
    ds = _dataset(args.table, args.column)
    archs, y = ds.arrays()
    pred = create(
        args.family, sources=_sources(args.sources), space=ds.space, random_state=args.seed, **params
    )
    pred.fit(archs, y)
    pred.save(args.out, dataset=ds.name, metric=ds.column, unit=ds.unit, train_size=len(y))
    print(f"{args.family} fitted on {len(y)} measurements of {ds.name} -> {args.out}")
    return 0


def _predict(args) -> int:
    from ...data import MetricTable
    from ...metrics import kendall_tau, spearman
    from .. import load_predictor_folder

    pred = load_predictor_folder(args.predictor)
    archs, _ = pred.space_features()
    column = f"{pred.metric or 'target'}_predicted"
    MetricTable(pred.sources_.space, archs, {column: pred.predict(archs)}).to_parquet(args.out)
    print(f"predicted {len(archs)} architectures -> {args.out} (column {column})")
    if args.check:
        ds = _dataset(args.check, args.column)
        a, y = ds.arrays()
        trained = _trained_archs(pred)
        keep = np.array([tuple(r) not in trained for r in a.tolist()], dtype=bool)
        y_hat = pred.predict(a[keep])
        scores = {
            "n_checked": int(keep.sum()),
            "spearman": spearman(y[keep], y_hat),
            "kendall_tau": kendall_tau(y[keep], y_hat),
            "median_abs_rel_error": float(np.median(np.abs(y_hat - y[keep]) / y[keep])),
        }
        print(json.dumps(scores, indent=1))
    return 0


def _trained_archs(pred) -> set:
    """Architectures the saved predictor was fitted on: never scored as held out."""
    return {tuple(r) for r in np.asarray(pred.train_archs_).tolist()}
