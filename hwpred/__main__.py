"""``python -m hwpred``: the same command as ``hwpred``."""

import sys

from .cli import main

sys.exit(main())
