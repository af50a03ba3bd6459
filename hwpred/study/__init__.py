"""The large-scale predictor study: config, grid of cells, executors, results store, report."""
from .config import ConfigError, StudyConfig, load_config, parse_config, validate
from .store import ResultStore, open_store

__all__ = ["ConfigError", "StudyConfig", "load_config", "parse_config", "validate", "ResultStore", "open_store",
           "run_study"]


def run_study(*args, **kwargs):
    """See :func:`hwpred.study.runner.run_study` (imported lazily: it pulls in rich and the executors)."""
    from .runner import run_study as _run

    return _run(*args, **kwargs)
