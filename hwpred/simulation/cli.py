"""``hwpred simulate run CONFIG`` / ``report DIR`` / ``map DIR STUDY`` / ``expect --tau T --candidates N``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="simulate predictor-guided Pareto selection (MRA, hypervolume)",
        description="Simulate what a noisy hardware-metric predictor costs a multi-objective "
        "architecture selection.",
    )
    sub = p.add_subparsers(dest="simulate_command", metavar="SUBCOMMAND")

    r = sub.add_parser("run", help="run (or resume) a simulation grid from a YAML config")
    r.add_argument("config", type=Path, help="YAML config, e.g. simulation/small.yaml")
    r.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: the config's, else 1)"
    )
    r.add_argument(
        "--executor",
        choices=["local", "dask"],
        default="local",
        help="local process pool (inline with one worker) or a Dask cluster",
    )
    r.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address (tcp://host:8786); without it a LocalCluster is started",
    )
    r.add_argument("--output", type=Path, default=None, help="override the config's output folder")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument("--report", action="store_true", help="write the report when the grid is done")
    r.set_defaults(func=_run)

    rep = sub.add_parser("report", help="figures + summary.md/html of a simulation store")
    rep.add_argument(
        "dir",
        type=Path,
        help="the store folder (<output>/<name>) or its output folder; or a cells.parquet summary "
        "(then only the pooled grid figures)",
    )
    rep.add_argument("--out", type=Path, default=None, help="where to write (default: DIR/report)")
    rep.add_argument(
        "--predictors",
        type=Path,
        default=None,
        help="study results (Parquet/CSV with dataset, predictor, train_size, seed, kendall_tau, dev_std) "
        "to place on the curves",
    )
    rep.add_argument("--per-pair", action="store_true", help="also one set of figures per pair")
    rep.add_argument(
        "--summary-only",
        action="store_true",
        help="only the per-cell summary of the complete pairs and the pooled grid figures, "
        "one part at a time (for a large grid, finished or not)",
    )
    rep.add_argument(
        "--equivalence-trials",
        type=int,
        default=0,
        metavar="N",
        help="with --summary-only: N random subsets per size for 'perfectly measured candidates worth "
        "a predictor on all' (loads the pairs)",
    )
    rep.add_argument(
        "--train-size",
        type=int,
        default=None,
        help="training-set size of the real predictors drawn on each pair's curve (default: the largest)",
    )
    rep.add_argument(
        "--subset-sizes",
        nargs="+",
        default=None,
        metavar="N",
        help="only these subset sizes in figures and tables (integers and/or 'all')",
    )
    rep.set_defaults(func=_report)

    m = sub.add_parser("map", help="place real predictors from study results on the simulated curves")
    m.add_argument("dir", type=Path, help="the simulation store folder")
    m.add_argument("study", type=Path, help="study results (Parquet/CSV or a study store folder)")
    m.add_argument("--subset-size", type=int, action="append", default=None, help="only these subset sizes")
    m.add_argument("--out", type=Path, default=None, help="write the table as CSV here")
    m.set_defaults(func=_map)
    e = sub.add_parser(
        "expect",
        help="expected MRA and hypervolume of a predictor's Kendall tau (lookup in the published grid)",
        description="Expected MRA_all, MRA_pareto and hypervolume fraction of a Pareto selection among "
        "N candidates with a hardware predictor of a given Kendall tau, interpolated from the published "
        "simulation summary (or --summary).",
    )
    e.add_argument("--tau", type=float, required=True, help="the predictor's Kendall tau, in [0, 1]")
    e.add_argument("--candidates", type=int, required=True, help="architectures the selection chooses from")
    e.add_argument(
        "--hardware", default=None, help="hardware dataset (or pattern, e.g. 'help:*'); default: all"
    )
    e.add_argument("--accuracy", default=None, help="accuracy dataset (or pattern); default: all")
    e.add_argument("--summary", type=Path, default=None, help="a cells.parquet from `hwpred simulate report`")
    e.set_defaults(func=_expect)

    from ..experiment.check_cli import add_check_parser

    add_check_parser(
        sub,
        "a simulation store",
        _check,
        ("dir", {"type": Path, "help": "the store folder (<output>/<name>) or its output folder"}),
    )
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def _expect(args: argparse.Namespace) -> int:
    from .expect import expected_cost, format_expectation

    res = expected_cost(
        args.tau, args.candidates, hardware=args.hardware, accuracy=args.accuracy, summary=args.summary
    )
    print(format_expectation(res))
    return 0


def _run(args: argparse.Namespace) -> int:
    from .grid import load_config
    from .run import run_simulation

    cfg = load_config(args.config)
    if args.output is not None:
        cfg = dataclasses.replace(cfg, output=args.output)
    if args.workers is not None and args.workers < 1:
        from ..errors import ConfigError

        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    store = run_simulation(
        cfg,
        workers=args.workers,
        progress=not args.no_progress,
        executor=args.executor,
        scheduler=args.scheduler,
    )
    st = store.last_run
    print(
        f"ran {st.ran} part(s) in {st.wall_s:.1f} s ({st.already_done} already stored"
        + (f", {st.done_elsewhere} computed by another run" if st.done_elsewhere else "")
        + ")",
        file=sys.stderr,
    )
    print(f"results: {store.results_path}")
    if args.report:
        from .report import make_report

        rep = make_report(store.root)
        print(f"report: {rep.summary_md}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report import make_report

    if args.dir.suffix == ".parquet":
        from .figures import write_grid_report
        from .summary import read_summary

        cells, meta = read_summary(args.dir)
        for name, path in write_grid_report(cells, meta, args.out or args.dir.parent / "report").items():
            print(f"{name}: {path}")
        return 0
    if args.summary_only:
        from .summary import summary_report

        for name, path in summary_report(args.dir, args.out, args.equivalence_trials).items():
            print(f"{name}: {path}")
        return 0

    study = None
    if args.predictors is not None:
        from .mapping import load_study_results

        study = load_study_results(args.predictors)
    from ..experiment.health import store_health
    from .store import SimulationStore

    for line in store_health(SimulationStore.open(args.dir)).lines("parts"):
        print(line, file=sys.stderr)
    rep = make_report(
        args.dir,
        args.out,
        predictors=study,
        per_pair=args.per_pair,
        subset_sizes=args.subset_sizes,
        train_size=args.train_size,
    )
    for name, path in rep.figures.items():
        print(f"{name}: {path} (+ .svg)")
    print(f"summary: {rep.summary_md} and {rep.summary_html}")
    return 0


def _map(args: argparse.Namespace) -> int:
    from .mapping import load_study_results, place_predictors
    from .store import SimulationStore

    store = SimulationStore.open(args.dir)
    placed = place_predictors(store.read(), load_study_results(args.study), subset_sizes=args.subset_size)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        placed.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 200):
        print(placed.round(4).to_string(index=False))
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..experiment.health import check_command
    from .store import SimulationStore

    return check_command(SimulationStore.open(args.dir), "parts", args.repair)
