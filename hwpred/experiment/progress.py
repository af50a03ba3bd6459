"""One progress convention for every long loop: on a terminal, a rich bar on standard error
("<label> done/total <units>", elapsed time, ETA, failures); when standard error is not a
terminal (piped, a log file, CI), no bar but an INFO log record on the ``hwpred.progress`` logger
every ``every_s`` seconds and at the end. ``enabled=False`` (``--no-progress``, ``hwpred -q``)
shows nothing."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator

log = logging.getLogger("hwpred.progress")


class _Bar:
    def __init__(
        self,
        label: str,
        total: int,
        done: int,
        unit_name: str,
        progress=None,
        task=None,
        plain: bool = False,
        every_s: float = 30.0,
    ):
        self.label, self.total, self.done, self.unit_name = label, total, done, unit_name
        self._progress, self._task, self._plain, self._every_s = progress, task, plain, every_s
        self.failed = 0
        self._start_done = done
        self._t0 = self._last = time.monotonic()

    def advance(self, steps: int = 1, failed: bool = False, note: str = "") -> None:
        """Count ``steps`` more steps done (``failed``: the unit behind them failed)."""
        self.failed += bool(failed)
        self.done += steps
        if self._progress is not None:
            fail_note = f"[red]{self.failed} failed[/]" if self.failed else ""
            self._progress.update(
                self._task, advance=steps, failed=" ".join(x for x in (fail_note, note) if x)
            )
        elif self._plain:
            now = time.monotonic()
            if now - self._last >= self._every_s or self.done >= self.total:
                self._last = now
                rate = (self.done - self._start_done) / max(now - self._t0, 1e-9) * 60
                fails = f", {self.failed} failed" if self.failed else ""
                line = (
                    f"{self.label}: {self.done}/{self.total} {self.unit_name}, {rate:.1f}/min{fails} {note}"
                )
                log.info("%s", line.rstrip())

    def describe(self, text: str) -> None:
        """Replace the label shown before the bar."""
        self.label = text
        if self._progress is not None:
            self._progress.update(self._task, description=text)


@contextlib.contextmanager
def progress_bar(
    label: str,
    total: int,
    done: int = 0,
    unit_name: str = "units",
    enabled: bool = True,
    console=None,
    every_s: float = 30.0,
) -> Iterator[_Bar]:
    """A progress display over ``total`` steps, ``done`` of them finished before it starts."""
    if not enabled:
        yield _Bar(label, total, done, unit_name)
        return
    if console is None and not sys.stderr.isatty():
        yield _Bar(label, total, done, unit_name, plain=True, every_s=every_s)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit_name),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[failed]}"),
    ]
    with Progress(*columns, console=console or Console(stderr=True)) as prog:
        task = prog.add_task(label, total=max(total, 1), completed=done, failed="")
        yield _Bar(label, total, done, unit_name, prog, task)
