"""Gradient-boosted trees: XGBoost, LightGBM and NGBoost.

XGBoost and LightGBM save in their own formats (XGBoost JSON, LightGBM text model) and predict
through the booster both before and after loading, so loaded predictions are identical.
NGBoost has no non-pickle format; its base learners are scikit-learn trees, which we pack into
node arrays (:class:`~hwpred.predictors.forest.PackedTrees`) and evaluate ourselves.

All three run single-threaded (``n_jobs=1`` / ``num_threads=1`` / deterministic flags): the
fits are small, the study runs many of them side by side, and one thread keeps results
reproducible for a given ``random_state``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .base import Predictor, PredictorError
from .forest import PackedTrees

#: XGBoost requires column-sampling ratios in (0, 1]; the table's range starts at 0
_MIN_COLSAMPLE = 1e-3


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _verified(folder: Path, state: dict, default: str) -> Path:
    """The native model file, checked against the checksum written at save time.

    The boosting libraries parse their files in C++; a truncated LightGBM text model aborts the
    whole process rather than raising, so a damaged file must be caught before it gets there.
    """
    path = folder / state.get("file", default)
    if not path.is_file():
        raise PredictorError(f"{path} is missing; save the predictor again")
    expected = state.get("sha256")
    if expected is not None and _sha256(path) != expected:
        raise PredictorError(
            f"{path} does not match the checksum in predictor.json (damaged or edited file); "
            "save the predictor again"
        )
    return path


class _BoostBase(Predictor):
    default_encoding: ClassVar[str] = "onehot"
    differentiable: ClassVar[bool] = False
    min_samples: ClassVar[int] = 2


class XGBPredictor(_BoostBase):
    name: ClassVar[str] = "xgb"
    family: ClassVar[str] = "XGBoost"
    MODEL_FILE: ClassVar[str] = "model.json"

    def __init__(
        self,
        max_depth: int = 6,
        min_child_weight: float = 1.0,
        colsample_bytree: float = 1.0,
        learning_rate: float = 0.3,
        colsample_bylevel: float = 1.0,
        n_estimators: int = 100,
        space: str = "nb201",
        random_state: int = 0,
    ):
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.colsample_bytree = colsample_bytree
        self.learning_rate = learning_rate
        self.colsample_bylevel = colsample_bylevel
        self.n_estimators = n_estimators
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict[str, Any]:
        return {
            "max_depth": trial.suggest_int("max_depth", 1, 15),
            "min_child_weight": trial.suggest_int("min_child_weight", 1, 10),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.0, 1.0),
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.5, log=True),
            "colsample_bylevel": trial.suggest_float("colsample_bylevel", 0.0, 1.0),
        }

    def _fit(self, X, z: np.ndarray, archs: np.ndarray) -> None:
        import xgboost as xgb

        params = {
            "objective": "reg:squarederror",
            "tree_method": "hist",
            "nthread": 1,
            "seed": int(self.random_state),
            "max_depth": int(self.max_depth),
            "min_child_weight": float(self.min_child_weight),
            "eta": float(self.learning_rate),
            "colsample_bytree": min(1.0, max(_MIN_COLSAMPLE, float(self.colsample_bytree))),
            "colsample_bylevel": min(1.0, max(_MIN_COLSAMPLE, float(self.colsample_bylevel))),
            "verbosity": 0,
        }
        dtrain = xgb.DMatrix(np.asarray(X, dtype=np.float32), label=z, nthread=1)
        self.booster_ = xgb.train(params, dtrain, num_boost_round=int(self.n_estimators))
        self.n_features_ = int(np.shape(X)[1])

    def _predict(self, X, archs: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.shape[1] != self.n_features_:
            raise PredictorError(
                f"xgb: encoding has {X.shape[1]} dims, the model was fitted on {self.n_features_}"
            )
        return np.asarray(self.booster_.inplace_predict(X), dtype=np.float64)

    def _state(self, folder: Path) -> dict:
        self.booster_.save_model(str(folder / self.MODEL_FILE))
        return {
            "file": self.MODEL_FILE,
            "n_features": self.n_features_,
            "sha256": _sha256(folder / self.MODEL_FILE),
        }

    def _load_state(self, folder: Path, state: dict) -> None:
        import xgboost as xgb

        path = _verified(folder, state, self.MODEL_FILE)
        booster = xgb.Booster(params={"nthread": 1})
        booster.load_model(str(path))
        self.booster_ = booster
        self.n_features_ = int(state["n_features"])
        if booster.num_features() != self.n_features_:
            raise PredictorError(
                f"{path}: model has {booster.num_features()} features, expected {self.n_features_}"
            )


class LGBPredictor(_BoostBase):
    """LightGBM. ``min_child_samples`` is not in the seed study's table; LightGBM's default of 20
    would forbid almost every split on a 25-sample training set, so we default to 5."""

    name: ClassVar[str] = "lgb"
    family: ClassVar[str] = "LightGBM"
    MODEL_FILE: ClassVar[str] = "model.txt"

    def __init__(
        self,
        num_leaves: int = 31,
        learning_rate: float = 0.05,
        feature_fraction: float = 0.9,
        n_estimators: int = 100,
        min_child_samples: int = 5,
        space: str = "nb201",
        random_state: int = 0,
    ):
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.feature_fraction = feature_fraction
        self.n_estimators = n_estimators
        self.min_child_samples = min_child_samples
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict[str, Any]:
        return {
            "num_leaves": trial.suggest_int("num_leaves", 10, 100),
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 1e-1, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.1, 1.0),
        }

    def _fit(self, X, z: np.ndarray, archs: np.ndarray) -> None:
        import lightgbm as lgb

        params = {
            "objective": "regression",
            "num_leaves": int(self.num_leaves),
            "learning_rate": float(self.learning_rate),
            "feature_fraction": float(self.feature_fraction),
            "min_data_in_leaf": int(self.min_child_samples),
            "min_data_in_bin": 1,
            "seed": int(self.random_state),
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": 1,
            "verbose": -1,
        }
        data = lgb.Dataset(np.asarray(X, dtype=np.float64), label=z, params={"verbose": -1})
        self.booster_ = lgb.train(params, data, num_boost_round=int(self.n_estimators))
        self.n_features_ = int(np.shape(X)[1])

    def _predict(self, X, archs: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != self.n_features_:
            raise PredictorError(
                f"lgb: encoding has {X.shape[1]} dims, the model was fitted on {self.n_features_}"
            )
        return np.asarray(self.booster_.predict(X, num_threads=1), dtype=np.float64)

    def _state(self, folder: Path) -> dict:
        self.booster_.save_model(str(folder / self.MODEL_FILE))
        return {
            "file": self.MODEL_FILE,
            "n_features": self.n_features_,
            "sha256": _sha256(folder / self.MODEL_FILE),
        }

    def _load_state(self, folder: Path, state: dict) -> None:
        import lightgbm as lgb

        path = _verified(folder, state, self.MODEL_FILE)
        self.booster_ = lgb.Booster(model_file=str(path))
        self.n_features_ = int(state["n_features"])
        if self.booster_.num_feature() != self.n_features_:
            raise PredictorError(
                f"{path}: model has {self.booster_.num_feature()} features, expected {self.n_features_}"
            )


@functools.lru_cache(maxsize=1)
def _fast_normal():
    """NGBoost's Normal without a frozen scipy distribution per boosting step.

    Stock ``Normal.__init__`` builds ``scipy.stats.norm(loc, scale)`` every time NGBoost makes a
    distribution (several times per stage in the line search), and its log score goes through
    scipy's docstring-formatting machinery; that was about half of the fit time. This subclass
    (NGBoost's documented extension point: a distribution with its own score implementation)
    computes the same closed-form Normal log score and builds the scipy object only if asked.
    The tests check the fitted parameters match stock ``Normal`` to 1e-9.
    """
    import scipy.stats
    from ngboost.distns import Normal
    from ngboost.distns.normal import NormalLogScore
    from ngboost.scores import LogScore

    class FastNormalLogScore(NormalLogScore, LogScore):
        def score(self, Y):
            return 0.5 * np.log(2 * np.pi) + np.log(self.scale) + 0.5 * ((Y - self.loc) / self.scale) ** 2

    class FastNormal(Normal):
        scores = [FastNormalLogScore]

        def __init__(self, params):
            self._params = params
            self.loc = params[0]
            self.scale = np.exp(params[1])
            self.var = self.scale**2

        @property
        def dist(self):
            return scipy.stats.norm(loc=self.loc, scale=self.scale)

    return FastNormal


class NGBPredictor(_BoostBase):
    """NGBoost with a Normal likelihood and scikit-learn regression trees as base learners.

    The point prediction is the Normal's mean; :meth:`predict_dist` also returns its standard
    deviation (in the target's unit), which NGBoost learns jointly.
    """

    name: ClassVar[str] = "ngb"
    family: ClassVar[str] = "NGBoost"
    TREES_FILE: ClassVar[str] = "trees.npz"
    BOOST_FILE: ClassVar[str] = "boosting.json"

    def __init__(
        self,
        n_estimators: int = 128,
        learning_rate: float = 0.081,
        max_depth: int = 6,
        max_features: float = 0.79,
        space: str = "nb201",
        random_state: int = 0,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.max_features = max_features
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int("n_estimators", 128, 512, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 1e-1, log=True),
            "max_depth": trial.suggest_int("max_depth", 1, 25),
            "max_features": trial.suggest_float("max_features", 0.1, 1.0),
        }

    def _fit(self, X, z: np.ndarray, archs: np.ndarray) -> None:
        from ngboost import NGBRegressor
        from sklearn.tree import DecisionTreeRegressor

        X = np.asarray(X, dtype=np.float32)
        base = DecisionTreeRegressor(
            criterion="squared_error",
            max_depth=int(self.max_depth),
            max_features=float(self.max_features),
            random_state=int(self.random_state),
        )
        model = NGBRegressor(
            Dist=_fast_normal(),
            Base=base,
            n_estimators=int(self.n_estimators),
            learning_rate=float(self.learning_rate),
            natural_gradient=True,
            verbose=False,
            random_state=int(self.random_state),
        )
        with np.errstate(all="ignore"):
            model.fit(X, z)
        full = np.arange(X.shape[1])
        if any(len(c) != len(full) or np.any(np.asarray(c) != full) for c in model.col_idxs):
            raise PredictorError("ngb: column subsampling is not supported by the packed format")
        self.trees_ = PackedTrees.from_sklearn(
            [t for models in model.base_models for t in models], X.shape[1]
        )
        self.scalings_ = np.asarray(model.scalings, dtype=np.float64)
        self.init_params_ = np.asarray(model.init_params, dtype=np.float64).ravel()
        self.n_params_ = len(self.init_params_)

    def _params(self, X, which: slice = slice(None)) -> np.ndarray:
        """Distribution parameters (loc, log scale) per row, as NGBoost's ``pred_param`` computes them.

        Trees are stored stage by stage, one per parameter; ``which`` picks parameters, so the
        point prediction evaluates only the location trees (half the work).
        """
        params = np.arange(self.n_params_)[which]
        stages = len(self.scalings_)
        idx = (np.arange(stages)[:, None] * self.n_params_ + params[None, :]).ravel()
        vals = self.trees_.leaf_values(X, idx).reshape(len(X), stages, len(params))
        step = np.einsum("nip,i->np", vals, self.scalings_)
        return self.init_params_[None, params] - float(self.learning_rate) * step

    def _predict(self, X, archs: np.ndarray) -> np.ndarray:
        return self._params(X, slice(0, 1))[:, 0]

    def predict_dist(self, archs) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard deviation) of the predicted Normal, in the target's unit."""
        self._check_fitted()
        a = self._archs(archs)
        p = self._params(self._encode(a))
        return p[:, 0] * self.y_std_ + self.y_mean_, np.exp(p[:, 1]) * self.y_std_

    def _state(self, folder: Path) -> dict:
        self.trees_.save(folder / self.TREES_FILE)
        doc = {
            "scalings": [float(v) for v in self.scalings_],
            "init_params": [float(v) for v in self.init_params_],
        }
        (folder / self.BOOST_FILE).write_text(json.dumps(doc))
        return {"trees": self.TREES_FILE, "boosting": self.BOOST_FILE, "n_stages": len(self.scalings_)}

    def _load_state(self, folder: Path, state: dict) -> None:
        trees = PackedTrees.load(folder / state.get("trees", self.TREES_FILE))
        doc = json.loads((folder / state.get("boosting", self.BOOST_FILE)).read_text())
        scalings = np.asarray(doc["scalings"], dtype=np.float64)
        init = np.asarray(doc["init_params"], dtype=np.float64)
        if len(scalings) != int(state["n_stages"]) or len(trees.roots) != len(scalings) * len(init):
            raise PredictorError(
                f"{folder}: {len(trees.roots)} trees do not match {len(scalings)} boosting stages "
                f"x {len(init)} parameters"
            )
        self.trees_, self.scalings_, self.init_params_, self.n_params_ = trees, scalings, init, len(init)
