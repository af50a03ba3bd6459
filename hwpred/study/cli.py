"""``hwpred study run|report|default|plan``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "study",
        help="run the large-scale predictor study and report it",
        description="Run a predictor study from a YAML config, resume it, and report it.",
    )
    sub = p.add_subparsers(dest="study_command", metavar="SUBCOMMAND")

    def exec_args(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--workers", type=int, default=None, help="worker processes (default: the config's, else 1)"
        )
        q.add_argument(
            "--executor",
            choices=["local", "dask"],
            default=None,
            help="local process pool or a Dask cluster (default: the config's)",
        )
        q.add_argument(
            "--scheduler",
            default=None,
            help="Dask scheduler address (tcp://host:8786); without it a LocalCluster is started",
        )
        q.add_argument("--output", default=None, help="override the config's output folder")
        q.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")

    r = sub.add_parser("run", help="run (or resume) a study; finished cells are skipped")
    r.add_argument("config", help="study YAML, e.g. studies/quick.yaml")
    exec_args(r)
    r.add_argument("--report", action="store_true", help="write the report when the run ends")
    r.add_argument("--dry-run", action="store_true", help="validate and print the grid size; run nothing")
    r.add_argument(
        "--retry-failed", action="store_true", help="run again the cells the store records as failed"
    )
    r.add_argument(
        "--storage", default=None, help="Optuna RDB URL for the tuning trials (overrides tuning.storage)"
    )
    r.add_argument(
        "--study-name",
        default=None,
        help="prefix of the Optuna study names, <name>/<cell> (overrides tuning.study_name)",
    )
    r.set_defaults(func=_run)

    d = sub.add_parser(
        "default",
        help="the embedded default study (shipped real tables, or --measure-here a table of this CPU)",
    )
    exec_args(d)
    d.add_argument(
        "--measure-here",
        action="store_true",
        help="measure a small two-pass latency table on this CPU first (minutes), study it, say how noisy it is",
    )
    d.set_defaults(func=_default)

    rep = sub.add_parser("report", help="figures, table and an HTML page from a study store")
    rep.add_argument("dir", help="the study store (<output>/<name>) or an output folder holding one")
    rep.add_argument("--out", default=None, help="where to write the report (default: DIR/report)")
    rep.set_defaults(func=_report)

    from ..experiment.check_cli import add_check_parser

    add_check_parser(
        sub,
        "a study store",
        _check,
        ("dir", {"help": "the study store (<output>/<name>) or an output folder holding one"}),
    )
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def _workers(args) -> int | None:
    if args.workers is not None and args.workers < 1:
        from ..errors import ConfigError

        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    return args.workers


def _start(cfg, args) -> int:
    from rich.console import Console

    from .cells import plan
    from .run import run_study

    console = Console(stderr=True)
    if args.output:
        cfg = cfg.with_overrides(output=Path(args.output).expanduser())
    if getattr(args, "dry_run", False):
        v, grid = plan(cfg)
        for note in grid.notes:
            console.print(f"[yellow]note:[/] {note}")
        console.print(
            f"study {cfg.name}: {len(grid.cells)} cells; store {cfg.store_dir} (config hash {cfg.config_hash})"
        )
        return 0
    run = run_study(
        cfg,
        executor=args.executor,
        workers=_workers(args),
        scheduler=args.scheduler,
        progress=not args.no_progress,
        console=console,
        retry_failed=getattr(args, "retry_failed", False),
    )
    print(run.store_dir)
    if getattr(args, "report", False) or args.func is _default:
        from .report import write_report

        rep = write_report(run.store_dir)
        for line in rep.headline:
            console.print(line, highlight=False)
        console.print(f"report: {rep.html}")
    if run.stats.failed:
        console.print(
            f"[red]{run.stats.failed} cell(s) failed[/]; fix the cause, then run again with --retry-failed"
        )
        return 1
    return 0


def _run(args) -> int:
    from .config import load_config

    cfg = load_config(args.config).with_tuning_storage(args.storage, args.study_name)
    return _start(cfg, args)


def _default(args) -> int:
    from .config import parse_config
    from .default import default_config_dict

    _workers(args)  # a bad flag fails before the default study measures or loads anything
    output = Path(args.output or "results/studies").expanduser()
    doc = default_config_dict(output, measure_here=args.measure_here)
    cfg = parse_config(doc, source="<embedded default study>")
    args.output = None
    code = _start(cfg, args)
    if args.measure_here:
        from rich.console import Console

        from .default import table_noise

        name = doc["datasets"][0]
        n = table_noise(name)
        Console(stderr=True).print(
            f"How noisy {name} is: its two measurement passes agree with Kendall tau {n['tau']:.3f} "
            f"(Spearman {n['spearman']:.3f}, median relative difference {100 * n['median_rel_diff']:.1f}%). "
            "Every test tau above is scored against one noisy pass, so read it against that "
            "agreement rather than against 1; the published tables of `hwpred study default` "
            "are far less noisy.",
            highlight=False,
        )
    return code


def _report(args) -> int:
    from .report import write_report

    rep = write_report(args.dir, out=args.out)
    for line in (*rep.headline, *rep.health.lines("cells")):
        print(line, file=sys.stderr)
    if rep.cost is not None and len(rep.cost):
        from .report import format_costs

        print("selection cost of each predictor's Kendall tau (candidates: expected loss):")
        print(format_costs(rep.cost))
    print(rep.html)
    return 0


def _check(args) -> int:
    from ..experiment.health import check_command
    from .store import cell_failed, open_store

    return check_command(open_store(args.dir), "cells", args.repair, failed=cell_failed)
