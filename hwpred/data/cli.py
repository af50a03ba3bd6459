"""``hwpred data list | fetch NAME... | show NAME``: the named datasets from the command line."""

from __future__ import annotations

import argparse
import contextlib
import os

from ..errors import DataError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "data",
        help="list, fetch and inspect the named benchmark datasets",
        description="Named datasets (help:raspi4, nats:cifar10, hwnb360:pi5-onnx-cifar100, "
        "zc:nb201-cifar10, hwpred:NAME, local:NAME, file:PATH#COLUMN...). Files come from "
        "HWPRED_DATA_MIRROR or upstream and are cached under $HWPRED_HOME/cache.",
    )
    sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    ls = sub.add_parser("list", help="every named dataset and whether it is available (cache or mirror)")
    ls.add_argument("prefix", nargs="?", default="", help="only names starting with this, e.g. 'help:'")
    ls.add_argument("--available", action="store_true", help="only datasets available now")
    ls.add_argument(
        "--json", action="store_true", help="one JSON list of records (name, status, description...)"
    )
    ls.set_defaults(func=_cmd_list)

    fe = sub.add_parser("fetch", help="copy from the mirror (or download), verify sha256, cache and import")
    fe.add_argument(
        "names",
        nargs="+",
        metavar="NAME",
        help="dataset name, manifest id (help-nb201), prefix (help:*) or 'all'",
    )
    fe.add_argument(
        "--upstream",
        action="store_true",
        help="allow a download from the manifest's pinned upstream URL when the mirror has no good copy",
    )
    fe.add_argument("--force", action="store_true", help="fetch and import again even if cached")
    fe.set_defaults(func=_cmd_fetch)

    sh = sub.add_parser("show", help="size, columns and summary statistics of a dataset")
    sh.add_argument("name", metavar="NAME", help="dataset name, e.g. help:raspi4 (see 'hwpred data list')")
    sh.add_argument("--all-columns", action="store_true", help="show every column of the underlying table")
    sh.add_argument("--head", type=int, default=0, metavar="N", help="also print the first N rows")
    sh.set_defaults(func=_cmd_show)

    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def _console():
    from rich.console import Console

    return Console()


@contextlib.contextmanager
def _command_line_hints(name: str):
    """Word a missing-file error with this command's own way to download it."""
    from .fetching import FileUnavailable

    try:
        yield
    except FileUnavailable as exc:
        raise DataError(exc.message(f"`hwpred data fetch --upstream {name}`")) from None


_STATUS_STYLE = {
    "shipped": "green",
    "cached": "green",
    "mirror": "green",
    "local": "green",
    "download": "yellow",
}


def _cmd_list(args: argparse.Namespace) -> int:
    import json
    import sys

    from .locations import mirror_dir
    from .names import list_datasets

    rows = [
        r
        for r in list_datasets()
        if r["name"].startswith(args.prefix) and (r["available"] or not args.available)
    ]
    if not rows:
        raise DataError(f"no dataset name starts with {args.prefix!r}; run `hwpred data list` for all names")
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    mirror = mirror_dir()
    n_ok = sum(1 for r in rows if r["available"])
    footer = f"{n_ok} of {len(rows)} available; mirror: {mirror if mirror else 'HWPRED_DATA_MIRROR not set'}"
    if not sys.stdout.isatty():  # piped: whole names, one line per dataset, nothing wrapped or cut
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['status']:<8}  {r['description']}")
        print(footer)
        return 0
    from rich.table import Table

    table = Table(title="hwpred named datasets", show_lines=False)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("description")
    for r in rows:
        table.add_row(
            r["name"], f"[{_STATUS_STYLE.get(r['status'], 'red')}]{r['status']}[/]", r["description"]
        )
    con = _console()
    con.print(table)
    con.print(footer)
    con.print(
        "status: shipped = inside the package (loads anywhere); cached = imported here; mirror = copied on first use; download = "
        "`hwpred data fetch --upstream NAME`; manual = no URL or checksum known (see the manifest)"
    )
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from .names import fetch

    con = _console()
    total = 0
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=con, transient=True) as prog:
        task = prog.add_task("fetching", total=None)
        for name in args.names:
            with _command_line_hints(name):
                paths = fetch(
                    name,
                    upstream=args.upstream,
                    force=args.force,
                    progress=lambda rel: prog.update(task, description=f"fetching {rel}"),
                )
            total += len(paths)
            if not paths:  # every table it names ships in the package, and no raw file is at hand
                con.print(f"[green]ok[/green] {name}: shipped in the package, nothing to fetch")
                continue
            con.print(f"[green]ok[/green] {name}: {len(paths)} file(s) verified and cached, tables imported")
    con.print(f"{total} file(s) in {os.environ.get('HWPRED_HOME') or '~/.hwpred'}/cache")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from rich.table import Table

    from .names import describe, load_dataset, load_table

    if args.head < 0:
        raise DataError(f"--head must be 0 or more rows, got {args.head}")
    with _command_line_hints(args.name):
        ds = load_dataset(args.name)
        table = load_table(args.name, all_columns=True) if args.all_columns else ds.table
    con = _console()
    info = {}
    if not args.name.startswith("file:"):
        info = describe(args.name)
    con.print(
        f"[bold]{args.name}[/bold]: {len(table):,} architectures x {len(table.columns)} column(s), "
        f"space {table.space}; target column [bold]{ds.column}[/bold]" + (f" ({ds.unit})" if ds.unit else "")
    )
    for key in ("source", "license", "upstream"):
        if info.get(key):
            con.print(f"  {key}: {info[key]}")
    summ = table.summary()
    st = Table(title="summary statistics")
    for c in ("column", "unit", "n", "min", "median", "mean", "max"):
        st.add_column(c, justify="left" if c in ("column", "unit") else "right")
    for _, r in summ.iterrows():
        st.add_row(
            str(r["column"]) + (" *" if r["column"] == ds.column else ""),
            str(r["unit"]),
            f"{int(r['n']):,}",
            *(f"{float(r[k]):.6g}" for k in ("min", "median", "mean", "max")),
        )
    con.print(st)
    if args.head > 0:
        frame = table.to_frame().head(args.head)
        ht = Table(title=f"first {len(frame)} rows")
        for c in frame.columns:
            ht.add_column(str(c))
        for _, r in frame.iterrows():
            ht.add_row(*(str(v) if isinstance(v, str) else f"{v:.6g}" for v in r.tolist()))
        con.print(ht)
    return 0
