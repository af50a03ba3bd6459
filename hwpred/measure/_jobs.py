"""One session of a run: its jobs and reference checks, each measured on a fresh build and journalled."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable

from ..spaces import Arch
from ..spaces.onnx_export import input_hw
from .config import MeasureConfig
from .journal import Journal
from .timers import parse_device


def error_text(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg[:400]}"


def start_session(journal: Journal, n_jobs: int) -> tuple[int, float]:
    """Journal the start of a session of ``n_jobs`` jobs: (its number, its start time)."""
    session = 1 + max((r["session"] for r in journal.records if r.get("kind") == "session"), default=0)
    t_start = time.time()
    journal.append(
        {
            "kind": "session",
            "session": session,
            "t": t_start,
            "jobs": n_jobs,
            "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
    )
    return session, t_start


class JobRunner:
    """Measures jobs and the reference of one session with ``timer``; a model that fails is journalled as
    a failure (OOM, runtime errors in a model) and the run goes on."""

    def __init__(
        self,
        cfg: MeasureConfig,
        timer,
        journal: Journal,
        session: int,
        build: Callable[[Arch], object],
        energy=None,
    ):
        import torch

        self.cfg, self.timer, self.journal, self.session, self.build, self.energy = (
            cfg,
            timer,
            journal,
            session,
            build,
            energy,
        )
        gen = torch.Generator().manual_seed(cfg.seed)
        h, w = input_hw(cfg.input_size)
        self.x_cpu = torch.randn(cfg.batch_size, 3, h, w, generator=gen)
        _, self.x = timer.to_device(torch.nn.Identity(), self.x_cpu)
        self.ref_model = None
        self.cuda = parse_device(cfg.device)[0] == "cuda"

    def reference(self, done_count: int) -> None:
        """Re-measure the reference (built once); its failing is worth a note, not the run."""
        try:
            if self.ref_model is None:
                self.ref_model, _ = self.timer.to_device(self.build(self.cfg.reference), self.x_cpu)
            st = self.timer.measure(self.ref_model, self.x)
        except Exception as exc:
            self.journal.append(
                {
                    "kind": "reference_failure",
                    "error": error_text(exc),
                    "t": time.time(),
                    "session": self.session,
                }
            )
            return
        self.journal.append(
            {
                "kind": "reference",
                "t": time.time(),
                "done": done_count,
                "median_ms": st.median_ms,
                "session": self.session,
            }
        )

    def job(self, arch: Arch, p: int, rnd: int) -> bool:
        """Measure pass ``p``, round ``rnd`` of ``arch`` on a fresh build; whether it succeeded."""
        model = None
        ok = False
        try:
            model, _ = self.timer.to_device(self.build(arch), self.x_cpu)
            st = (
                self.timer.measure(model, self.x, self.energy, reference=self.ref_model)
                if self.cfg.paired_reference
                else self.timer.measure(model, self.x, self.energy)
            )
            rec = {
                "kind": "result",
                "arch": list(arch),
                "pass": p,
                "stats": st.to_dict(),
                "t": time.time(),
                "session": self.session,
            }
            if self.cfg.rounds > 1:
                rec["round"] = rnd
            self.journal.append(rec)
            ok = True
        except Exception as exc:  # OOM, runtime errors in a model: record and go on
            self.journal.append(
                {
                    "kind": "failure",
                    "arch": list(arch),
                    "pass": p,
                    "error": error_text(exc),
                    "t": time.time(),
                    "session": self.session,
                }
            )
        finally:
            del model
        if self.cuda and not ok:
            import torch

            torch.cuda.empty_cache()  # after the model is gone, so an OOM does not poison the next job
        return ok
