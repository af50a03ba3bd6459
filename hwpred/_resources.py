"""Files shipped inside the package (``hwpred/resources/``): dataset manifests, study and
simulation configs, published summaries.

They live in the package so that a wheel install knows every dataset and config by name; the
repository's top-level ``datasets/``, ``studies/`` and ``simulation/`` are links to these
folders, so there is one copy of each file. A config argument is a path, or the name of a
shipped config (``quick``, ``quick.yaml`` or ``studies/quick.yaml``), so the same command works
from the repository root and from anywhere else.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from .errors import ConfigError

#: the shipped config folders, by kind
CONFIG_KINDS = ("studies", "simulation")


def resource_dir(kind: str) -> Path:
    """The folder ``hwpred/resources/<kind>`` of the installed package (it may not exist)."""
    return Path(str(files("hwpred").joinpath("resources", kind)))


def shipped_configs(kind: str) -> dict[str, Path]:
    """Shipped configs of one kind (``studies`` or ``simulation``): name -> file."""
    folder = resource_dir(kind)
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def resolve_config(arg: str | os.PathLike, kind: str, what: str = "config") -> Path:
    """``arg`` as an existing file, else as the name of a shipped config of ``kind``.

    ``quick``, ``quick.yaml`` and ``studies/quick.yaml`` all name the shipped
    ``hwpred/resources/studies/quick.yaml`` when no such file exists where the command runs;
    an existing file always wins, so a user's own ``studies/quick.yaml`` is read instead.
    """
    path = Path(arg).expanduser()
    if path.is_file():
        return path
    parts = Path(arg).parts
    if len(parts) == 1 or (len(parts) == 2 and parts[0] == kind):
        name = parts[-1].removesuffix(".yaml").removesuffix(".yml")
        found = shipped_configs(kind).get(name)
        if found is not None:
            return found
    known = ", ".join(shipped_configs(kind)) or "none"
    raise ConfigError(f"no {what} at {str(arg)!r}; pass a YAML file, or the name of a shipped one: {known}")
