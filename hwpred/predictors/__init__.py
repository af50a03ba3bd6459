"""Hardware-metric predictors: 18 families behind one scikit-learn-style contract."""

from __future__ import annotations

from .._lazy import lazy_exports

# name -> submodule; imported on first use so that `import hwpred.predictors` does not pay for numpy
# and the encoders until a predictor is needed
_EXPORTS = {
    "NotDifferentiableError": "base",
    "Predictor": "base",
    "PredictorError": "base",
    "PredictorNotFittedError": "base",
    "FAMILIES": "registry",
    "available": "registry",
    "available_transfer": "registry",
    "TRANSFER_FAMILIES": "registry",
    "create": "registry",
    "get_class": "registry",
    "load_predictor_folder": "registry",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
