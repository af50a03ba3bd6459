"""A saved predictor reads only files inside its folder, whatever its predictor.json says."""

import json
import os
import shutil

import numpy as np
import pytest

from hwpred.predictors import create
from hwpred.predictors.base import PredictorError
from hwpred.predictors.registry import load_predictor_folder
from hwpred.spaces import NB201


def _saved_ridge(tmp_path):
    archs = np.array(NB201.enumerate()[:80])
    y = archs.sum(1).astype(float)
    folder = tmp_path / "pred"
    create("ridge_reg", random_state=0).fit(archs, y).save(folder)
    return folder, archs


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_state_paths_outside_the_folder_are_refused(tmp_path, how):
    folder, archs = _saved_ridge(tmp_path)
    doc = json.loads((folder / "predictor.json").read_text())
    name = doc["state"]["file"]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copyfile(folder / name, outside / name)  # a valid file, but not the predictor's own
    if how == "dotdot":
        doc["state"]["file"] = f"../elsewhere/{name}"
    elif how == "absolute":
        doc["state"]["file"] = str(outside / name)
    else:
        (folder / name).unlink()
        os.symlink(outside / name, folder / name)
    (folder / "predictor.json").write_text(json.dumps(doc))
    with pytest.raises(PredictorError, match="outside the predictor's folder"):
        load_predictor_folder(folder)


def test_plain_saved_predictor_still_loads(tmp_path):
    folder, archs = _saved_ridge(tmp_path)
    again = load_predictor_folder(folder)
    np.testing.assert_array_equal(
        again.predict(archs[:5]),
        create("ridge_reg", random_state=0).fit(archs, archs.sum(1).astype(float)).predict(archs[:5]),
    )
