"""Predictor families by short name: create one, or load a saved one."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

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

# transfer families: fitted on a few target samples, with other devices' complete tables of the
# same space as a ``sources`` hyper-parameter (kept apart: the classic contract tests and the
# 18-family study grids iterate over FAMILIES)
TRANSFER_FAMILIES: dict[str, str] = {
    "transfer_ridge": "hwpred.predictors.transfer.refreg:TransferRidgePredictor",
    "transfer_gp": "hwpred.predictors.transfer.gp:TransferGPPredictor",
    "transfer_net": "hwpred.predictors.transfer.embedding:DeviceEmbeddingPredictor",
}


def available() -> list[str]:
    return list(FAMILIES)


def available_transfer() -> list[str]:
    """The transfer families (``create(name, sources=[...])``)."""
    return list(TRANSFER_FAMILIES)


def get_class(name: str) -> type[Predictor]:
    target = FAMILIES.get(name) or TRANSFER_FAMILIES.get(name)
    if target is None:
        raise PredictorError(
            f"unknown predictor {name!r}; available: {', '.join(FAMILIES)}; "
            f"transfer: {', '.join(TRANSFER_FAMILIES)}"
        )
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def create(name: str, **params) -> Predictor:
    """A new, unfitted predictor of the family ``name``.

    Parameters
    ----------
    name : str
        The family's short name, one of :func:`available` (``"xgb"``, ``"gp"``, ``"lut"`` ...).
    **params
        Hyper-parameters, stored unchanged (scikit-learn's contract); a family's defaults fill
        the rest. ``Predictor.get_params()`` lists them.

    Returns
    -------
    Predictor
        The estimator: ``fit(archs, y)`` returns it, ``predict(archs)`` gives values in y's unit.

    Raises
    ------
    PredictorError
        An unknown family (the message lists the known ones) or a hyper-parameter the family
        does not take (the message lists the valid ones).

    Examples
    --------
    >>> import numpy as np
    >>> from hwpred.predictors import create
    >>> from hwpred.spaces import NB201
    >>> archs = np.array(NB201.enumerate()[:200])
    >>> latency = 1.0 + archs.sum(axis=1) + 0.5 * (archs == 3).sum(axis=1)  # additive per op
    >>> pred = create("lin_reg").fit(archs[:150], latency[:150])
    >>> pred.predict(archs[150:153]).round(6).tolist()
    [3.0, 4.0, 5.0]
    >>> create("ridge_reg", alpha=0.1).get_params()
    {'alpha': 0.1, 'space': 'nb201', 'random_state': 0}
    """
    cls = get_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise PredictorError(f"{name}: bad hyper-parameters ({exc}); valid: {cls.param_names()}") from None


def _paths_stay_inside(folder: Path, state, where: str = "state") -> None:
    """Every string in a saved predictor's state that could name a file must name one inside ``folder``.

    A ``predictor.json`` is data: it may have been edited or crafted, and ``../../x.json``,
    an absolute path or a symbolic link out of the folder would make loading read any file.
    """
    if isinstance(state, dict):
        for k, v in state.items():
            _paths_stay_inside(folder, v, f"{where}.{k}")
    elif isinstance(state, list):
        for i, v in enumerate(state):
            _paths_stay_inside(folder, v, f"{where}[{i}]")
    elif isinstance(state, str) and state:
        root = folder.resolve()
        target = (folder / state).resolve()
        if Path(state).is_absolute() or not target.is_relative_to(root):
            raise PredictorError(
                f"{folder / 'predictor.json'}: {where} = {state!r} points outside the predictor's folder; "
                "refusing to follow it (a saved predictor only reads files inside its folder)"
            )


def load_predictor_folder(folder: str | os.PathLike) -> Predictor:
    """Rebuild a saved predictor; identical predictions to the one saved."""
    folder = Path(folder)
    meta = folder / "predictor.json"
    if not meta.is_file():
        raise PredictorError(
            f"{folder} is not a saved predictor (no predictor.json); save one with predictor.save(dir)"
        )
    try:
        doc = json.loads(meta.read_text())
        pred = create(doc["name"], **doc["params"])
        pred.y_mean_, pred.y_std_ = float(doc["y_mean"]), float(doc["y_std"])
        pred.n_train_ = int(doc["n_train"])
        _paths_stay_inside(folder, doc.get("state", {}))
        _paths_stay_inside(
            folder, [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_symlink()], "file"
        )
        pred.n_features_in_ = pred._space().num_positions
        pred._load_state(folder, doc.get("state", {}))
    except PredictorError:
        raise
    except Exception as exc:
        raise PredictorError(
            f"saved predictor at {folder} is corrupt or incomplete "
            f"({type(exc).__name__}: {exc}); save it again"
        ) from None
    pred.fitted_ = True
    pred.provenance_ = doc.get("provenance", {})
    return pred
