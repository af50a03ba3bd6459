"""Progress off a terminal: no bar, INFO records on the ``hwpred.progress`` logger; none when disabled."""

from __future__ import annotations

import logging

from hwpred.experiment.progress import progress_bar


def test_piped_progress_logs_instead_of_drawing(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="hwpred.progress"):
        with progress_bar("cells", total=3, unit_name="cells", every_s=0.0) as bar:
            for _ in range(3):
                bar.advance(failed=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "hwpred.progress"]
    assert lines[-1].startswith("cells: 3/3 cells") and len(lines) == 3
    err = capsys.readouterr().err  # pytest's stderr is not a terminal: no rich bar drawn there
    assert "━" not in err and "\r" not in err


def test_disabled_progress_says_nothing(caplog):
    with caplog.at_level(logging.DEBUG, logger="hwpred"):
        with progress_bar("cells", total=2, enabled=False) as bar:
            bar.advance()
            bar.advance(failed=True)
    assert caplog.records == [] and bar.failed == 1
