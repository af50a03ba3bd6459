"""CLI conventions: every group, subcommand and option has help text; one quiet flag name;
``hwpred --help`` imports no command group; global ``-v``/``-q`` set the log level."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys

import pytest

from hwpred.cli import COMMANDS, build_parser, configure_logging, main


@pytest.fixture(autouse=True)
def _restore_hwpred_logger():
    """main() installs the CLI's log handler; leave the logger as other tests expect it."""
    logger = logging.getLogger("hwpred")
    before = (list(logger.handlers), logger.level)
    yield
    logger.handlers[:] = before[0]
    logger.setLevel(before[1])


#: hidden spellings kept for old scripts (help=SUPPRESS on purpose): (command path, option)
HIDDEN_ALIASES = {("zeroshot", "score", "--quiet"), ("zeroshot", "select", "--quiet")}


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser, action) for every action of every parser in the tree."""
    for action in parser._actions:
        yield path, parser, action
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                yield (*path, name), child, helps.get(name)
                yield from _walk(child, (*path, name))


def test_every_group_subcommand_and_option_has_help():
    missing = []
    for path, _, action in _walk(build_parser()):
        if action is None or isinstance(action, str):  # a subcommand's help line
            if not action:
                missing.append(" ".join(path) + " (subcommand)")
            continue
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
            continue
        flag = action.option_strings[-1] if action.option_strings else action.dest
        if action.help == argparse.SUPPRESS:
            if (*path, action.option_strings[0] if action.option_strings else flag) not in HIDDEN_ALIASES:
                missing.append(f"{' '.join(path)} {flag} (hidden)")
            continue
        if not (action.help and action.help.strip()):
            missing.append(f"{' '.join(path)} {flag}")
    assert missing == [], f"{len(missing)} without help text: {missing}"


def test_the_walk_sees_the_whole_tree():
    seen = {" ".join(path) for path, _, _ in _walk(build_parser())}
    assert {"study run", "measure", "simulate run", "zeroshot score", "nas verify", "data list"} <= seen


def test_one_quiet_flag_name():
    """``--no-progress`` wherever a command shows progress; ``--quiet`` below the top only hidden."""
    with_progress = []
    for path, _parser, action in _walk(build_parser()):
        if not path or not isinstance(action, argparse.Action):
            continue
        if "--quiet" in action.option_strings:
            assert action.help == argparse.SUPPRESS and action.dest == "no_progress", path
        elif action.dest == "no_progress":
            assert action.option_strings == ["--no-progress"], path
            with_progress.append(" ".join(path))
    assert {
        "study run",
        "study default",
        "measure",
        "simulate run",
        "zeroshot score",
        "zeroshot select",
    } <= set(with_progress)


def test_top_level_help_lines_match_the_groups():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    real = {a.dest: a.help for a in sub._choices_actions}
    assert real == {name: help_line for name, (_, help_line) in COMMANDS.items()}


def test_help_imports_no_command_group_nor_heavy_library():
    code = (
        "import sys\n"
        "from hwpred.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('numpy', 'pandas', 'pyarrow', 'scipy', 'sklearn', 'torch', 'rich', 'yaml')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.endswith('.cli') "
        "and m != 'hwpred.cli'), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "[]"
    assert "study" in out.stdout and "-q, --quiet" in out.stdout


def test_import_predictors_and_metrics_skip_scipy_stats_and_pandas():
    code = (
        "import sys, hwpred.predictors, hwpred.metrics\n"
        "print(sorted(m for m in ('scipy.stats', 'pandas', 'pyarrow', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("flags", "level"),
    [([], logging.INFO), (["-v"], logging.DEBUG), (["-q"], logging.WARNING), (["-qq"], logging.ERROR)],
)
def test_global_verbosity_sets_the_hwpred_log_level(flags, level):
    parser = build_parser(load=[])
    args = parser.parse_args(flags)
    configure_logging(args.verbose - args.quiet)
    try:
        logger = logging.getLogger("hwpred")
        assert logger.level == level
        assert sum(getattr(h, "_hwpred_cli", False) for h in logger.handlers) == 1
    finally:
        configure_logging(0)


def test_quiet_turns_progress_off_for_the_command(monkeypatch):
    seen = {}

    def fake_run(args):
        seen["no_progress"] = args.no_progress
        return 0

    import hwpred.simulation.cli as sim_cli

    real_add = sim_cli.add_parser

    def add_parser(sub):
        real_add(sub)
        sub.choices["simulate"]._subparsers._group_actions[0].choices["run"].set_defaults(func=fake_run)

    monkeypatch.setattr(sim_cli, "add_parser", add_parser)
    assert main(["-q", "simulate", "run", "x.yaml"]) == 0 and seen["no_progress"] is True
    assert main(["simulate", "run", "x.yaml"]) == 0 and seen["no_progress"] is False
    configure_logging(0)
