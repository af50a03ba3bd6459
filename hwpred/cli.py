"""The ``hwpred`` command. Each command group lives beside its code (``hwpred/<room>/cli.py``)
and exposes ``add_parser(subparsers)``; this module only wires them and turns user errors
into one clear message with exit code 2."""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import HwpredError

# (module, group name): each module defines add_parser(subparsers) -> None
COMMAND_MODULES = [
    "hwpred.data.cli",
    "hwpred.study.cli",
    "hwpred.measure.cli",
    "hwpred.simulation.cli",
    "hwpred.zeroshot.cli",
    "hwpred.nas.cli",
    "hwpred.predictors.transfer.cli",
]


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="hwpred", description="Benchmark hardware-metric predictors for NAS."
    )
    parser.add_argument("--version", action="version", version=f"hwpred {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod_name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name == mod_name:  # that command group is not part of this build
                continue
            raise
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        result = args.func(args)
    except HwpredError as exc:
        print(f"hwpred: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "hwpred: interrupted; finished work is kept: re-run the same command to continue "
            "(add --resume for 'hwpred measure')",
            file=sys.stderr,
        )
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
