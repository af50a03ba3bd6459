"""Progress of a long measurement loop: a rich bar on a terminal, a plain line now and then in logs."""
from __future__ import annotations

import datetime as _dt
import sys
import time


class Progress:
    """rich progress bar on a terminal; a plain line every ``every_s`` seconds otherwise (logs)."""

    def __init__(self, total: int, description: str, enabled: bool = True, every_s: float = 30.0):
        self.total, self.description, self.enabled, self.every_s = total, description, enabled, every_s
        self.done = 0
        self._rich = None
        self._t0 = self._last = time.monotonic()

    def __enter__(self):
        if self.enabled and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._rich = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeRemainingColumn(), transient=False)
            self._rich.__enter__()
            self._task = self._rich.add_task(self.description, total=self.total)
        return self

    def advance(self, note: str = "") -> None:
        self.done += 1
        if self._rich is not None:
            self._rich.update(self._task, advance=1)
        elif self.enabled:
            now = time.monotonic()
            if now - self._last >= self.every_s or self.done == self.total:
                self._last = now
                rate = self.done / max(now - self._t0, 1e-9) * 60
                print(f"[{_dt.datetime.now(_dt.timezone.utc):%H:%M:%S}] {self.description}: "
                      f"{self.done}/{self.total} jobs, {rate:.1f}/min {note}", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self._rich is not None:
            self._rich.__exit__(*exc)


__all__ = ["Progress"]
