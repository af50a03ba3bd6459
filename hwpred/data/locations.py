"""Where hwpred keeps data on disk: ``$HWPRED_HOME`` (default ``~/.hwpred``) and the mirror.

The home holds the cache (``cache/files``: verified copies of upstream files; ``cache/tables``:
their converted Parquet tables), the user's manifests and the ``local:`` index. The mirror,
``$HWPRED_DATA_MIRROR``, is a read-only folder of upstream files laid out as the manifests say.
"""

from __future__ import annotations

import os
from pathlib import Path


def hwpred_home() -> Path:
    return Path(os.environ.get("HWPRED_HOME") or "~/.hwpred").expanduser()


def cache_dir() -> Path:
    return hwpred_home() / "cache"


def mirror_dir() -> Path | None:
    p = os.environ.get("HWPRED_DATA_MIRROR")
    return Path(p).expanduser() if p else None
