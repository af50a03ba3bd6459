"""One progress convention: a rich bar on standard error, "<label> done/total <units>", elapsed
time, ETA and a failure count; ``enabled=False`` (the CLI's quiet mode) shows nothing."""
from __future__ import annotations

import contextlib
from typing import Iterator


class _Bar:
    def __init__(self, progress=None, task=None):
        self._progress, self._task, self.failed = progress, task, 0

    def advance(self, steps: int = 1, failed: bool = False) -> None:
        """Count ``steps`` more steps done (``failed``: the unit behind them failed)."""
        self.failed += bool(failed)
        if self._progress is not None:
            note = f"[red]{self.failed} failed[/]" if self.failed else ""
            self._progress.update(self._task, advance=steps, failed=note)

    def describe(self, text: str) -> None:
        """Replace the label shown before the bar."""
        if self._progress is not None:
            self._progress.update(self._task, description=text)


@contextlib.contextmanager
def progress_bar(label: str, total: int, done: int = 0, unit_name: str = "units", enabled: bool = True,
                 console=None) -> Iterator[_Bar]:
    """A progress bar over ``total`` steps, ``done`` of them finished before it starts."""
    if not enabled:
        yield _Bar()
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    columns = [TextColumn("[bold]{task.description}[/]"), BarColumn(), MofNCompleteColumn(),
               TextColumn(unit_name), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
               TextColumn("{task.fields[failed]}")]
    with Progress(*columns, console=console or Console(stderr=True)) as prog:
        task = prog.add_task(label, total=max(total, 1), completed=done, failed="")
        yield _Bar(prog, task)
