"""The ``check`` subcommand shared by the study, simulation and zero-shot command groups
(argparse only: building the parser must not import the stores)."""


def add_check_parser(sub, what: str, func, where: tuple[str, dict]) -> None:
    """The ``check`` subcommand of a store kind: ``where`` is the argument naming the store."""
    chk = sub.add_parser("check", help=f"verify every file of {what}; name damaged, missing and failed units")
    chk.add_argument(where[0], **where[1])
    chk.add_argument(
        "--repair",
        action="store_true",
        help="move damaged files to damaged/ and drop stale claims (the next run recomputes them)",
    )
    chk.set_defaults(func=func)
