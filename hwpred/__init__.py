"""hwpred: benchmarking hardware-metric predictors for hardware-aware NAS."""

__version__ = "0.1.0"


def load_predictor(folder):
    """Load a saved predictor folder (see :meth:`hwpred.predictors.Predictor.save`)."""
    from .predictors import load_predictor_folder

    return load_predictor_folder(folder)
