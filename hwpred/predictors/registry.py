"""Registry of predictor families by short name."""
from __future__ import annotations

import importlib

from .base import Predictor, PredictorError

# short name -> "module:Class" (imported lazily, so optional heavy libraries load only when used)
FAMILIES: dict[str, str] = {
    "lin_reg": "hwpred.predictors.linear:LinearRegressionPredictor",
    "ridge_reg": "hwpred.predictors.linear:RidgePredictor",
    "bayes_lin_reg": "hwpred.predictors.linear:BayesianLinearPredictor",
    "svmr": "hwpred.predictors.svm:SVMRPredictor",
    "rf": "hwpred.predictors.forest:RandomForestPredictor",
    "xgb": "hwpred.predictors.boosting:XGBPredictor",
    "lgb": "hwpred.predictors.boosting:LGBPredictor",
    "ngb": "hwpred.predictors.boosting:NGBPredictor",
    "gp": "hwpred.predictors.gp:GPPredictor",
    "sparse_gp": "hwpred.predictors.gp:SparseGPPredictor",
    "mlp": "hwpred.predictors.mlp:MLPLargePredictor",
    "minimlp": "hwpred.predictors.mlp:MLPSmallPredictor",
    "bohamiann": "hwpred.predictors.bohamiann:BohamiannPredictor",
    "bananas": "hwpred.predictors.bananas:BananasPredictor",
    "gcn": "hwpred.predictors.gcn:GCNPredictor",
    "bonas": "hwpred.predictors.bonas:BonasPredictor",
    "nao": "hwpred.predictors.nao:NAOPredictor",
    "lut": "hwpred.predictors.lut:LookupTablePredictor",
}


def available() -> list[str]:
    return list(FAMILIES)


def get_class(name: str) -> type[Predictor]:
    try:
        target = FAMILIES[name]
    except KeyError:
        raise PredictorError(f"unknown predictor {name!r}; available: {', '.join(FAMILIES)}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def create(name: str, **params) -> Predictor:
    cls = get_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise PredictorError(f"{name}: bad hyper-parameters ({exc}); valid: {cls._param_names()}") from None
