"""Report helpers: figures as PNG + SVG, markdown and CSV tables, one self-contained HTML shell."""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from .._io import atomic_write_bytes

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1400px;color:#222;padding:0 1em}
img{max-width:100%;border:1px solid #ddd} figure{margin:1.5em 0}
table{border-collapse:collapse;font-size:12px} td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}
th{background:#f4f4f4} td:first-child{text-align:left} pre{background:#f7f7f7;padding:1em;font-size:11px}"""


def pyplot():
    """matplotlib's pyplot on the non-interactive Agg back end (reports run headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, stem: str | Path, dpi: int = 130, tight: bool = False) -> tuple[list[Path], str]:
    """Save ``fig`` as ``<stem>.png`` and ``<stem>.svg`` atomically and close it.

    Returns the two paths and the PNG as base64 text, for embedding in an HTML page.
    """
    stem = Path(stem)
    kw = {"bbox_inches": "tight"} if tight else {}
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=dpi, **kw)
    fig.savefig(svg, format="svg", **kw)
    pyplot().close(fig)
    paths = [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")]
    atomic_write_bytes(paths[0], png.getvalue())
    atomic_write_bytes(paths[1], svg.getvalue())
    return paths, base64.b64encode(png.getvalue()).decode()


#: qualitative colours, every one a different hue or lightness class: tab10, then Dark2, then Set1's
#: ones not close to either (18 distinct colours before any repeats, one per predictor family)
_DISTINCT = [
    f"tab:{c}" for c in ("blue", "orange", "green", "red", "purple", "brown", "pink", "gray", "olive", "cyan")
] + ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#000080"]


#: column-name endings -> (quantity, unit), for labels of tables that carry no unit metadata
_QUANTITIES = {
    "latency_ms": ("latency", "ms"),
    "energy_mj": ("energy", "mJ"),
    "test_acc": ("test accuracy", "%"),
    "valid_acc": ("validation accuracy", "%"),
    "accuracy": ("accuracy", "%"),
}


def column_quantity(column: str) -> tuple[str, str] | None:
    """(quantity, unit) named by a MetricTable column ``<source>/<metric>``, if its ending says."""
    metric = column.rpartition("/")[2]
    for suffix, qu in _QUANTITIES.items():
        if metric == suffix or metric.endswith("_" + suffix):
            return qu
    return None


def readable_label(column: str) -> str:
    """An axis label in words with its unit: ``raspi4/latency_ms`` -> "raspi4 latency (ms)"."""
    qu = column_quantity(column)
    if qu is None:
        return column
    return f"{column.rpartition('/')[0]} {qu[0]} ({qu[1]})".strip()


def distinct_colours(keys) -> dict:
    """One colour per key, in order, none two shades of one hue (tab20's pairs are)."""
    return {k: _DISTINCT[i % len(_DISTINCT)] for i, k in enumerate(keys)}


def plain_log_axis(axis, values=None) -> None:
    """A log axis without minor tick labels; with ``values``, ticks exactly at them, as integers."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    if values is not None:
        axis.set_major_locator(FixedLocator(list(values)))
        axis.set_ticklabels([f"{int(v)}" for v in values])
        axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def write_text(path: str | Path, text: str) -> Path:
    path = Path(path)
    atomic_write_bytes(path, text.encode())
    return path


def write_csv(df, path: str | Path) -> Path:
    """A DataFrame as CSV (no index), written atomically."""
    return write_text(path, df.to_csv(index=False))


def markdown_table(df, floatfmt: str = "{:.3f}") -> str:
    """A GitHub-style markdown table; floats formatted with ``floatfmt``, non-finite ones as ``-``."""
    import math

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float) or type(v).__name__.startswith("float"):
                cells.append(floatfmt.format(v) if math.isfinite(float(v)) else "-")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def html_page(title: str, body: str) -> str:
    """The one HTML shell of every report: ``body`` is trusted HTML, ``title`` is escaped."""
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>\n'
        f"<style>\n{_STYLE}\n</style></head><body>\n{body}\n</body></html>\n"
    )


def figure_html(images: Mapping[str, str]) -> str:
    """``<figure>`` blocks for base64 PNGs keyed by caption."""
    esc = html.escape
    return "".join(
        f'<figure><img alt="{esc(k)}" src="data:image/png;base64,{v}"/>'
        f"<figcaption>{esc(k)}</figcaption></figure>"
        for k, v in images.items()
    )


def markdown_to_html(md: str, title: str, images: Mapping[str, str] | None = None) -> str:
    """Render the small markdown subset reports write (headings, tables, images, paragraphs).

    ``images`` maps an image path used in ``md`` to its base64 PNG, making the page
    self-contained; other images stay links.
    """
    images = images or {}
    out: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if not table:
            return
        rows = [r.strip().strip("|").split("|") for r in table if not set(r.strip()) <= set("|-")]
        head, body = rows[0], rows[1:]
        cell = lambda tag, c: f"<{tag}>{html.escape(c.strip())}</{tag}>"  # noqa: E731
        out.append(
            "<table><thead><tr>"
            + "".join(cell("th", c) for c in head)
            + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(cell("td", c) for c in r) + "</tr>" for r in body)
            + "</tbody></table>"
        )
        table.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        image = re.match(r"!\[(.*)\]\((.*)\)", line)
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line.lstrip('#').strip())}</h{level}>")
        elif image:
            alt, src = image.group(1), image.group(2)
            src = f"data:image/png;base64,{images[src]}" if src in images else html.escape(src)
            out.append(f'<p><img src="{src}" alt="{html.escape(alt)}"></p>')
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    flush()
    return html_page(title, "".join(out))


def lines_block(title: str, lines: Iterable[str]) -> str:
    """A heading and a preformatted block, escaped (versions, configs)."""
    return f"<h2>{html.escape(title)}</h2><pre>{html.escape(chr(10).join(lines))}</pre>"


def writable_folder(out: Path, option: str) -> Path:
    """Create ``out`` for a report, or fail with one clear line when it cannot be written."""
    from .._io import unwritable_reason
    from ..errors import DataError

    why = unwritable_reason(out)
    if why is not None:
        raise DataError(f"cannot write the report to {out} ({why}); pass {option} to write it elsewhere")
    return out
