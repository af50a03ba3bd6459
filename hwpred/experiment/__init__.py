"""The experiment scaffold shared by the study, the simulation grid and the zero-shot selection.

An experiment is a typed config, a list of units of work, one executor that runs the units
(inline, in a local process pool or on a Dask cluster), a resumable part store that keeps one
file per finished unit, and report helpers. Each experiment keeps only its schema, its unit of
work and its figures; everything else lives here.
"""

from __future__ import annotations

from .._lazy import lazy_exports

# name -> submodule; imported on first use so that `hwpred --help` stays cheap
_EXPORTS = {
    "as_choice": "config",
    "as_float": "config",
    "as_int": "config",
    "as_name": "config",
    "canonical": "config",
    "check_keys": "config",
    "config_error": "config",
    "config_hash": "config",
    "float_list": "config",
    "int_list": "config",
    "load_yaml": "config",
    "named_entries": "config",
    "no_duplicates": "config",
    "output_dir": "config",
    "require_keys": "config",
    "seed_list": "config",
    "EXECUTORS": "executor",
    "Outcome": "executor",
    "RunStats": "executor",
    "execute": "executor",
    "one_thread_env": "executor",
    "progress_bar": "progress",
    "PartStore": "store",
    "locate_store": "store",
    "figure_html": "report",
    "html_page": "report",
    "lines_block": "report",
    "markdown_table": "report",
    "markdown_to_html": "report",
    "pyplot": "report",
    "save_figure": "report",
    "write_csv": "report",
    "write_text": "report",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
