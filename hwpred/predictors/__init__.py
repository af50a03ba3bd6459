"""Hardware-metric predictors: 18 families behind one scikit-learn-style contract."""
from .base import NotDifferentiableError, Predictor, PredictorError, load_predictor_folder
from .registry import FAMILIES, available, create, get_class

__all__ = ["FAMILIES", "NotDifferentiableError", "Predictor", "PredictorError", "available", "create",
           "get_class", "load_predictor_folder"]
