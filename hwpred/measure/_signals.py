"""``kill PID`` of a background run stops it like Ctrl-C, so its partial table is written."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def sigterm_as_interrupt() -> Callable[[], None]:
    """Treat SIGTERM like Ctrl-C (KeyboardInterrupt) until the returned function restores the handler."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)
