"""What a wheel ships: manifests and configs inside the package, found by name from anywhere."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import hwpred
from hwpred._resources import resolve_config, resource_dir, shipped_configs
from hwpred.errors import ConfigError

PACKAGE = Path(hwpred.__file__).resolve().parent
REPO = PACKAGE.parent


def test_resources_live_in_the_package():
    for kind in ("datasets", "studies", "simulation"):
        folder = resource_dir(kind)
        assert folder.resolve().is_relative_to(PACKAGE) and any(folder.glob("*.yaml")), kind


@pytest.mark.skipif(not (REPO / "pyproject.toml").is_file(), reason="not a source checkout")
def test_top_level_folders_are_the_package_folders():
    """One copy of each file: the documented top-level folders lead into hwpred/resources/."""
    for kind in ("datasets", "studies", "simulation"):
        assert (REPO / kind).resolve() == (PACKAGE / "resources" / kind).resolve(), kind
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "resources/**/*" in meta["tool"]["setuptools"]["package-data"]["hwpred"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "hwpred.__version__"}
    assert "version" not in meta["project"] and (REPO / "LICENSE").is_file()
    assert (REPO / "CITATION.cff").is_file()


def test_measured_tables_folder_ships_with_its_manifest_licence_and_citation():
    """hwpred's own measured tables: the manifest, and beside the tables hwpred's licence and citation."""
    import yaml

    manifest = resource_dir("datasets") / "hwpred-measured.yaml"
    folder = resource_dir("tables") / "hwpred-measured"
    doc = yaml.safe_load(manifest.read_text())
    assert (doc["id"], doc["format"], doc["prefix"], doc["license"]) == (
        "hwpred-measured",
        "metric-table",
        "hwpred",
        "MIT",
    )
    assert folder.resolve().is_relative_to(PACKAGE)  # under resources/: covered by the package-data glob
    assert (folder / "LICENSE").read_text().startswith("MIT License")
    assert "CITATION.cff" in (folder / "CITATION.txt").read_text()
    if (REPO / "LICENSE").is_file():
        assert (folder / "LICENSE").read_bytes() == (REPO / "LICENSE").read_bytes()
    for name, entry in (doc["tables"] or {}).items():  # every listed table is in the folder, with its record
        assert (folder / f"{name}.parquet").stat().st_size == entry["size"], name
        assert (folder / f"{name}.json").is_file(), name


def test_configs_resolve_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    quick = resource_dir("studies") / "quick.yaml"
    for arg in ("quick", "quick.yaml", "studies/quick.yaml"):
        assert resolve_config(arg, "studies") == quick
    assert resolve_config("simulation/small.yaml", "simulation") == resource_dir("simulation") / "small.yaml"
    # a file of the user's own wins over the shipped one of the same name
    (tmp_path / "studies").mkdir()
    (tmp_path / "studies" / "quick.yaml").write_text("name: mine\n")
    assert resolve_config("studies/quick.yaml", "studies") == Path("studies/quick.yaml")
    with pytest.raises(ConfigError, match="shipped one: .*quick"):
        resolve_config("nosuch", "studies", "study config")
    with pytest.raises(ConfigError, match="no study config"):
        resolve_config("elsewhere/quick.yaml", "studies", "study config")


def test_every_shipped_config_parses_by_name(tmp_path, monkeypatch):
    from hwpred.simulation.grid import load_config as load_simulation
    from hwpred.study.config import load_config as load_study

    monkeypatch.chdir(tmp_path)
    studies, sims = shipped_configs("studies"), shipped_configs("simulation")
    assert {"tiny", "quick", "paper2022"} <= set(studies) and {"small", "paper2022"} <= set(sims)
    for name in studies:
        assert load_study(name).name
    for name in sims:
        assert load_simulation(name).name


def test_python_dash_m_hwpred():
    out = subprocess.run(
        [sys.executable, "-m", "hwpred", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"hwpred {hwpred.__version__}"
