"""``hwpred zeroshot``: score architectures with training-free proxies, list scores and data."""

from __future__ import annotations

import argparse
import importlib.util
import sys
import warnings
from pathlib import Path

from ..errors import ConfigError, DataError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("zeroshot", help="training-free (zero-shot) accuracy proxies")
    sub = p.add_subparsers(dest="zeroshot_command", metavar="SUBCOMMAND")

    s = sub.add_parser("score", help="score architectures of a search space into a MetricTable")
    s.add_argument("--space", default="nb201", help="search space (nb201, transnas_macro)")
    s.add_argument(
        "--scores", default="naswot,synflow", help="comma-separated score names (see 'zeroshot list')"
    )
    s.add_argument(
        "--data", default="digits", help="batch: digits (default, embedded), noise, cifar10, cifar100"
    )
    s.add_argument("--data-root", default=None, help="torchvision CIFAR folder (or HWPRED_CIFAR_ROOT)")
    s.add_argument("--batch-size", type=int, default=128, help="images in the scoring batch")
    s.add_argument(
        "--image-size", type=int, default=None, help="input side (default 32 for nb201, 64 for macro)"
    )
    s.add_argument("--seed", type=int, default=0, help="seed of the batch and of every network's init")
    s.add_argument(
        "--limit",
        type=int,
        default=None,
        help="score N architectures drawn at random (with --seed) from the space or --archs",
    )
    s.add_argument("--archs", default=None, help="file with one architecture string per line (default: all)")
    s.add_argument(
        "--ensemble",
        default=None,
        help="also add the mean-rank ensemble of these scored names, e.g. naswot,synflow",
    )
    s.add_argument("--out", required=True, help="output MetricTable (.parquet)")
    s.add_argument("--cache", default=None, help="cache folder (default $HWPRED_HOME/cache/zeroshot)")
    s.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    s.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (per worker; default 1 with --workers)"
    )
    s.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes scoring in parallel (e.g. the number of cores); values do not change",
    )
    s.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI; also: hwpred -q)")
    s.add_argument("--quiet", dest="no_progress", action="store_true", help=argparse.SUPPRESS)  # old spelling
    s.set_defaults(func=_score)

    se = sub.add_parser("select", help="simulate Pareto selection with a zero-shot score as the accuracy")
    se.add_argument("--scores-table", required=True, help="MetricTable written by 'zeroshot score'")
    se.add_argument(
        "--sources",
        required=True,
        help="score columns used as the selection-side accuracy, e.g. naswot/digits,synflow/digits",
    )
    se.add_argument("--accuracy", default="nats:cifar10", help="true accuracy dataset (evaluation)")
    se.add_argument("--hardware", default="help:raspi4", help="comma-separated hardware datasets")
    se.add_argument("--sizes", default="50,100,all", help="subset sizes (candidates per trial)")
    se.add_argument("--noise", default="0,0.1,0.2,0.3,0.5,0.7,1.0", help="hardware noise standard deviations")
    se.add_argument("--trials", type=int, default=200, help="random candidate subsets per grid point")
    se.add_argument("--seed", type=int, default=0, help="seed of the subsets and of the hardware noise")
    se.add_argument("--name", default="zeroshot-selection", help="study name (its folder under --out)")
    se.add_argument("--out", default=None, help="output folder (default results/zeroshot-selection)")
    se.add_argument("--workers", type=int, default=1, help="worker processes (values do not change)")
    se.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI; also: hwpred -q)")
    se.add_argument(
        "--quiet", dest="no_progress", action="store_true", help=argparse.SUPPRESS
    )  # old spelling
    se.set_defaults(func=_select)

    ls = sub.add_parser("list", help="list the scores and data batches")
    ls.set_defaults(func=_list)

    from ..experiment.check_cli import add_check_parser

    add_check_parser(
        sub,
        "the zero-shot score cache",
        _check,
        ("--cache", {"default": None, "help": "cache folder (default $HWPRED_HOME/cache/zeroshot)"}),
    )
    p.set_defaults(func=lambda _a: (p.print_help(), 1)[1])


def _read_archs(path: str, space: str) -> list[str]:
    from ..spaces import get_space, read_archs_file

    sp = get_space(space)
    return [sp.to_string(a) for a in read_archs_file(path, sp)]


def _check_score_args(args: argparse.Namespace, names: list[str]) -> None:
    """The library's limits, checked here so that a message can name the flag to change."""
    from .registry import get_score

    for n in names:
        need = get_score(n).min_batch
        if args.batch_size < need:
            raise ConfigError(
                f"score {n!r} needs a batch of at least {need} samples, got --batch-size "
                f"{args.batch_size}; raise --batch-size"
            )
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {args.limit}")


def _score(args: argparse.Namespace) -> int:
    from .registry import parse_scores
    from .scoring import score_archs

    out = Path(args.out)
    if out.suffix != ".parquet":
        raise ConfigError(f"--out {out} must end in .parquet (a MetricTable file)")
    if not args.scores.replace(",", "").strip():
        raise ConfigError(
            "--scores names no score; e.g. --scores naswot,synflow (see 'hwpred zeroshot list')"
        )
    from ..spaces import get_space

    get_space(args.space)  # an unknown space fails before anything is loaded
    names = parse_scores(args.scores)
    members = parse_scores(args.ensemble) if args.ensemble else []
    missing = [m for m in members if m not in names]
    if missing:
        raise ConfigError(f"--ensemble member(s) {missing} are not in --scores {','.join(names)}")
    _check_score_args(args, names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = score_archs(
                args.space,
                _read_archs(args.archs, args.space) if args.archs else None,
                names,
                args.data,
                batch_size=args.batch_size,
                seed=args.seed,
                image_size=args.image_size,
                limit=args.limit,
                cache_dir=False if args.no_cache else args.cache,
                progress=not args.no_progress,
                data_root=args.data_root,
                workers=args.workers,
                threads=args.threads,
            )
        except DataError as exc:  # no CIFAR copy where it was looked for: name the flag that moves it
            if args.data.startswith("cifar") and importlib.util.find_spec("torchvision") is not None:
                raise DataError(f"{exc} (on the command line: --data-root FOLDER)") from None
            raise
    for w in caught:
        print(f"hwpred: warning: {w.message}", file=sys.stderr)
    if members:
        res.add_ensemble(members)
    table = res.table()
    table.to_parquet(out)
    dropped = len(res.archs) - len(table)
    print(
        f"wrote {out}: {len(table)} architectures x {len(table.columns)} columns "
        f"({', '.join(table.columns)})"
        + (f"; {dropped} dropped for missing scores (listed in the table's metadata)" if dropped else "")
    )
    for name, sec in res.seconds_per_arch().items():
        print(f"  {name}: {sec:.3f} s/arch")
    return 0


def _select(args: argparse.Namespace) -> int:
    from .selection_study import (
        SelectionStudy,
        default_output,
        format_report,
        parse_floats,
        parse_sizes,
        run_selection_study,
    )

    study = SelectionStudy(
        scores_table=Path(args.scores_table),
        sources=tuple(s.strip() for s in args.sources.split(",") if s.strip()),
        accuracy=args.accuracy,
        hardware=tuple(h.strip() for h in args.hardware.split(",") if h.strip()),
        subset_sizes=parse_sizes(args.sizes, "--sizes", "hwpred zeroshot select"),
        noise_stds=parse_floats(args.noise, "--noise", "hwpred zeroshot select"),
        trials=args.trials,
        seed=args.seed,
        output=Path(args.out) if args.out else default_output(),
        name=args.name,
    )
    rep = run_selection_study(study, progress=not args.no_progress, workers=args.workers)
    print(format_report(rep))
    print("\nwrote " + ", ".join(str(f) for f in rep.files))
    return 0


def _list(_args: argparse.Namespace) -> int:
    from .batches import available_data
    from .registry import available_scores, get_score

    print("scores:")
    for n in available_scores():
        spec = get_score(n)
        doc = (spec.fn.__doc__ or "").strip().splitlines()[0]
        flags = ("data" if spec.needs_data else "data-free") + (", ReLU" if spec.needs_relu else "")
        print(f"  {n:11s} [{flags}] {doc}")
    print("data: " + ", ".join(available_data()))
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..experiment.health import check_command
    from .score_cache import cache_stores
    from .scoring import default_cache_dir

    root = Path(args.cache) if args.cache else default_cache_dir()
    if not root.is_dir():
        raise DataError(f"{root} is not a zero-shot cache folder (it does not exist); pass --cache FOLDER")
    stores = cache_stores(root)
    if not stores:
        print(f"{root}: no cached scores")
        return 0
    return max(check_command(s, "cache parts", args.repair) for s in stores)
