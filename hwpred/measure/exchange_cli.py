"""``hwpred measure export``, ``import`` and ``merge``: the command-line side of the exchange with
external device tools (:mod:`.export`, :mod:`.importing`) and of tables measured in shards
(:mod:`.merging`)."""

from __future__ import annotations

from pathlib import Path

from ..spaces import SpaceError, get_space
from .timers import MeasureError


def run_export(args) -> int:
    from ..spaces import read_archs_file
    from .export import MANIFEST, export_space

    if not args.spec:
        raise MeasureError(
            "hwpred measure export needs the space, e.g. hwpred measure export nb201 --out DIR"
        )
    if not args.out:
        raise MeasureError("hwpred measure export needs --out DIR, the folder to write the models to")
    if args.archs and args.limit is not None:
        raise MeasureError("--archs and --limit both choose the architectures; pass one")
    try:
        space = get_space(args.spec)
    except SpaceError as exc:
        raise MeasureError(str(exc)) from None
    archs = read_archs_file(args.archs, space) if args.archs else None
    res = export_space(
        space.name,
        args.out,
        archs=archs,
        limit=args.limit,
        fmt=args.format,
        input_size=args.input_size,
        batch_size=args.batch_size,
        num_classes=args.classes,
        opset=args.opset,
        seed=args.seed,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    shape = "x".join(map(str, res.manifest["input"]["shape"]))
    print(
        f"wrote {res.exported} {args.format.upper()} models of {space.name} (input {shape}, opset "
        f"{args.opset}) to {res.folder}, listed in {res.folder / MANIFEST}; README.txt says what CSV "
        "to write back"
    )
    for f in res.failed[:5]:
        print(f"  failed {f['arch']}: {f['error']}")
    if res.failed:
        print(f"  {len(res.failed)} architecture(s) failed to export (listed in the manifest)")
    return 1 if res.failed else 0


def run_import(args) -> int:
    from .importing import import_results
    from .tables import register_table

    if not args.spec or len(args.results) != 1:
        raise MeasureError(
            "hwpred measure import needs the export folder and one CSV of the tool's timings: "
            "hwpred measure import DIR RESULTS.csv --device NAME --out TABLE.parquet"
        )
    if not args.device:
        raise MeasureError("hwpred measure import needs --device NAME, the device the timings come from")
    if not args.out:
        raise MeasureError("hwpred measure import needs --out TABLE.parquet")
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise MeasureError(f"{out} exists; pass --overwrite to replace it or choose another --out")
    res = import_results(args.spec, args.results[0], args.device, out=out, allow_missing=args.allow_missing)
    col = res.table.column_names[0]
    print(f"wrote {out}: {res.rows} architectures of {res.table.space}, column {col}")
    if res.missing:
        print(f"  {len(res.missing)} exported model(s) had no row (listed in the table's metadata)")
    if res.ignored_columns:
        print(f"  ignored columns: {', '.join(res.ignored_columns)}")
    if args.name:
        register_table(args.name, out, col)
        print(f"  registered as local:{args.name}")
    return 0


def run_merge(args) -> int:
    from .merging import merge_measured
    from .tables import register_table

    files = ([args.spec] if args.spec else []) + list(args.results)
    if len(files) < 2:
        raise MeasureError(
            "hwpred measure merge needs two or more measured tables: "
            "hwpred measure merge A.parquet B.parquet --out TABLE.parquet"
        )
    if not args.out:
        raise MeasureError("hwpred measure merge needs --out TABLE.parquet")
    out = Path(args.out)
    if out.suffix != ".parquet":
        raise MeasureError(f"--out {out} must be a .parquet file")
    if out.exists() and not args.overwrite:
        raise MeasureError(f"{out} exists; pass --overwrite to replace it or choose another --out")
    if any(Path(f).resolve() == out.resolve() for f in files):
        raise MeasureError(f"--out {out} is one of the tables to merge; write the merge elsewhere")
    table = merge_measured(files)
    table.to_parquet(out)
    print(f"wrote {out}: {len(table)} architectures of {table.space} from {len(files)} shards")
    if args.name:
        register_table(args.name, out, table.column_names[0])
        print(f"  registered as local:{args.name}")
    return 0
