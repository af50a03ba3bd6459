"""Regenerate the shipped tables (``hwpred/resources/tables``) from the data mirror, or add a measured one.

Run from a source checkout with the mirror at hand::

    HWPRED_DATA_MIRROR=/path/to/datasets python -m hwpred.data.ship

or, to ship a table hwpred measured as ``hwpred:NAME`` (:mod:`.ship_measured`; no mirror needed)::

    python -m hwpred.data.ship --measured TABLE.parquet --name NAME [--column COLUMN] [--overwrite] [--compact]

Each upstream file is read from the mirror only after its sha256 matches the manifest, converted
by the same importer the registry uses, and written (zstd-compressed Parquet, no timestamps, so
regenerating from the same files gives the same bytes) with a record of its sha256 and of the
upstream files it came from. The manifest's licence file (``LICENSE`` beside the upstream files in
the mirror) and a ``CITATION.txt`` are written next to the tables. Raw upstream files are never
copied into the package. Measured tables are hwpred's own files: they ship as written, and are
added one by one, never regenerated.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from ..errors import DataError
from .cache import stamp, write_record
from .locations import mirror_dir
from .manifests import catalog, file_entry
from .shipped import SHIPPED_MANIFESTS, shipped_dir, ships_verbatim
from .sources import importer, require_sha256

log = logging.getLogger(__name__)


def _mirror() -> Path:
    mirror = mirror_dir()
    if mirror is None or not mirror.is_dir():
        raise DataError("regenerating the shipped tables needs the data mirror: set HWPRED_DATA_MIRROR")
    return mirror


def _licence_file(mirror: Path, rels: list[str]) -> Path:
    folders = {Path(r).parts[0] for r in rels}
    for folder in sorted(folders):
        p = mirror / folder / "LICENSE"
        if p.is_file():
            return p
    raise DataError(f"no LICENSE file beside {', '.join(sorted(folders))} in the mirror {mirror}")


def ship_manifest(manifest_id: str, out: Path | None = None) -> list[Path]:
    """Convert one manifest's upstream files from the mirror into shipped tables; the paths written."""
    mirror = _mirror()
    out = out or shipped_dir()
    ms, specs = catalog()
    m = ms[manifest_id]
    own = [s for s in specs.values() if s.manifest == manifest_id]
    rels = sorted({r for s in own for r in s.files})
    files = {}
    for rel in rels:
        require_sha256(mirror / rel, file_entry(rel, manifest_id).sha256, f"{manifest_id}: {rel}")
        files[rel] = mirror / rel
    tables = importer(m.format).build(m, files, sorted({s.table_key for s in own}))
    written = []
    for spec in own:
        table = tables[spec.table_key]
        table.meta["hwpred_cache"] = stamp(spec)
        table.meta["shipped"] = (
            f"converted from the upstream files (sha256 in hwpred_cache) by hwpred's {m.format} importer"
        )
        path = out / f"{spec.table_key}.parquet"
        table.to_parquet(path, compression="zstd")
        write_record(path, table, table.meta["hwpred_cache"])
        written.append(path)
    folder = out / manifest_id
    shutil.copyfile(_licence_file(mirror, rels), folder / "LICENSE")
    (folder / "CITATION.txt").write_text(
        f"{m.title} ({m.license}); upstream {m.upstream}\n\n{m.citation.strip()}\n"
    )
    return written


def ship_all(out: Path | None = None) -> list[Path]:
    """Every converted table; measured tables (shipped as written) are left as they are."""
    return [p for mid in SHIPPED_MANIFESTS if not ships_verbatim(mid) for p in ship_manifest(mid, out)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hwpred.data.ship", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="folder to write (default: the package's)")
    ap.add_argument(
        "--measured",
        type=Path,
        metavar="TABLE",
        help="ship this table written by hwpred measure as hwpred:NAME (instead of regenerating)",
    )
    ap.add_argument("--name", help="with --measured: the dataset's name, hwpred:NAME")
    ap.add_argument(
        "--column", help="with --measured: the default column (default: the first pass's latency_ms)"
    )
    ap.add_argument("--overwrite", action="store_true", help="with --measured: replace a shipped NAME")
    ap.add_argument(
        "--compact",
        action="store_true",
        help="with --measured: ship only the ranked columns (no spread or repeat-count bookkeeping)",
    )
    args = ap.parse_args(argv)
    if args.measured is None:
        if args.name or args.column or args.overwrite or args.compact:
            ap.error("--name, --column, --overwrite and --compact go with --measured TABLE")
        return _regenerate(args.out)
    if not args.name:
        ap.error("--measured needs --name NAME (the dataset becomes hwpred:NAME)")
    if args.out is not None:
        ap.error("--out is for regenerating; a measured table goes into the package's folder")
    from ..errors import HwpredError
    from .ship_measured import add_measured_table, manifest_path, tables_dir

    try:
        entry = add_measured_table(
            args.measured, args.name, args.column, overwrite=args.overwrite, compact=args.compact
        )
    except HwpredError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    prov = entry["provenance"]
    tau = prov["test_retest_tau"]
    print(
        f"shipped hwpred:{args.name.removeprefix('hwpred:')}: {prov['rows']} {entry['space']} architectures, "
        f"default column {entry['column']}, test-retest tau "
        f"{'n/a (one pass)' if tau is None else f'{tau:.4f}'}; {tables_dir()}, {manifest_path()}"
    )
    return 0


def _regenerate(out: Path | None) -> int:
    paths = ship_all(out)
    total = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} tables, {total / 1e6:.2f} MB, in {out or shipped_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
