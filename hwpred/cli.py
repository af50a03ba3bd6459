"""The ``hwpred`` command. Each command group lives beside its code (``hwpred/<room>/cli.py``)
and exposes ``add_parser(subparsers)``; this module only wires them, sets up logging from the
global ``-v``/``-q``, and turns user errors into one clear message with exit code 2.

Only the group named on the command line is imported: ``hwpred --help`` lists the groups from
:data:`COMMANDS` without importing any of them (no numpy, pandas or pyarrow to print help).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence

from .errors import HwpredError

#: group name -> (module defining add_parser(subparsers), the one-line help ``hwpred --help`` shows);
#: tests/test_cli_conventions.py checks each line equals the one the module itself registers
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("hwpred.data.cli", "list, fetch and inspect the named benchmark datasets"),
    "study": ("hwpred.study.cli", "run the large-scale predictor study and report it"),
    "measure": (
        "hwpred.measure.cli",
        "measure device latency (and energy) tables on CPU or CUDA, in torch or ONNX Runtime",
    ),
    "simulate": ("hwpred.simulation.cli", "simulate predictor-guided Pareto selection (MRA, hypervolume)"),
    "zeroshot": ("hwpred.zeroshot.cli", "training-free (zero-shot) accuracy proxies"),
    "nas": ("hwpred.nas.cli", "use a fitted predictor in a multi-objective NAS and verify the result"),
    "transfer": (
        "hwpred.predictors.transfer.cli",
        "few-shot predictors for a new device from other devices' tables",
    ),
}
#: the modules, in the order the groups are listed (kept for callers of the former name)
COMMAND_MODULES = [module for module, _ in COMMANDS.values()]

#: verbosity (-v count minus -q count, clipped) -> logging level (ERROR, WARNING, INFO, DEBUG)
_LEVELS = {-2: 40, -1: 30, 0: 20, 1: 10}


def build_parser(load: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``load`` names the groups whose modules are imported (None: all).

    A group not loaded is listed with its help line only, which is all ``hwpred --help`` needs.
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="hwpred",
        description="Benchmark hardware-metric predictors for NAS.",
        epilog="Global options go before the command, e.g. 'hwpred -v study default'.",
    )
    parser.add_argument("--version", action="version", version=f"hwpred {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more log output on standard error (-v: debug messages)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=0,
        help="less output: warnings and errors only, no progress bars (-qq: errors only)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    wanted = set(COMMANDS) if load is None else set(load)
    for name, (module, help_line) in COMMANDS.items():
        if name in wanted:
            import importlib

            importlib.import_module(module).add_parser(sub)
        else:
            sub.add_parser(name, help=help_line, add_help=False)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The group named on the command line: the first word that is not a global option."""
    for token in argv:
        if token == "--":
            return None
        if not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def configure_logging(verbosity: int) -> None:
    """Send the ``hwpred`` loggers to standard error at the level ``-v``/``-q`` ask for.

    Library code only logs; this handler is the CLI's. Calling it again replaces the handler.
    (``logging`` is imported here, not at the top, so that ``hwpred --help`` skips it.)
    """
    import logging

    class CurrentStderr(logging.StreamHandler):
        """Writes to whatever ``sys.stderr`` is when a record comes (tests and notebooks swap it)."""

        @property
        def stream(self):
            return sys.stderr

        @stream.setter
        def stream(self, _value) -> None:
            pass

    logger = logging.getLogger("hwpred")
    for handler in [h for h in logger.handlers if getattr(h, "_hwpred_cli", False)]:
        logger.removeHandler(handler)
    level = _LEVELS[max(-2, min(1, verbosity))]
    handler = CurrentStderr()
    fmt = "hwpred: %(message)s" if level > logging.DEBUG else "hwpred [%(name)s] %(levelname)s: %(message)s"
    if not sys.stderr.isatty():  # a log file: time-stamp the lines
        fmt = "[%(asctime)s] " + fmt
    handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
    handler._hwpred_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command_in(argv)
    parser = build_parser(load=[command] if command else [])
    args = parser.parse_args(argv)
    verbosity = args.verbose - args.quiet
    configure_logging(verbosity)
    if verbosity < 0 and hasattr(args, "no_progress"):
        args.no_progress = True  # -q also silences progress bars, whatever the command
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        result = args.func(args)
    except HwpredError as exc:
        print(f"hwpred: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # permissions, a full disk, a vanished folder: the environment, not hwpred
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"hwpred: error: {exc.strerror or exc}{where}", file=sys.stderr)
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
