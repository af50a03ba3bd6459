"""The order of a run's jobs: shuffled sweeps over the architectures, and the reference's cadence.

Against drift and order effects, architectures are measured in a seeded shuffled order; an optional
second pass has its own order, interleaved with the first; with ``rounds`` R > 1 every pass of an
architecture is R jobs, in R sweeps with their own orders. A fixed reference model is re-measured
before a session's first job, every ``reference_every`` jobs and after its last.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

import numpy as np

from ..spaces import Arch

Job = tuple[Arch, int, int]  # (arch, pass, round)


def schedule_rounds(archs: Sequence[Arch], two_pass: bool, seed: int, rounds: int = 1) -> list[Job]:
    """Jobs (arch, pass, round): ``rounds`` sweeps over every arch and pass, each in its own shuffled order.

    Round 0 is the order of :func:`schedule`, so journals of one-round runs resume as before, and a
    run of several rounds that stops after its first sweep holds what a one-round run would. Each
    later sweep completes another job for every cell, so a long run gives a usable reading at
    every sweep's end, and the jobs of one cell lie a sweep apart, in different states of the machine.
    """
    return [(a, p, r) for r in range(rounds) for a, p in schedule(archs, two_pass, seed, sweep=r)]


def schedule(archs: Sequence[Arch], two_pass: bool, seed: int, sweep: int = 0) -> list[tuple[Arch, int]]:
    """Jobs (arch, pass) in a shuffled order; the second pass has its own order, interleaved.

    ``sweep`` > 0 draws another order (a later round of :func:`schedule_rounds`)."""
    rng = np.random.default_rng([seed, 2] if sweep == 0 else [seed, 2, sweep])
    first = [archs[i] for i in rng.permutation(len(archs))]
    if not two_pass:
        return [(a, 0) for a in first]
    second = [archs[i] for i in rng.permutation(len(archs))]
    jobs: list[tuple[Arch, int]] = []
    for a, b in zip(first, second):
        jobs.append((a, 0))
        jobs.append((b, 1))
    return jobs


def pending_jobs(
    archs: Sequence[Arch],
    two_pass: bool,
    seed: int,
    rounds: int,
    done: Container[Job],
    failed: Container[Arch],
) -> list[Job]:
    """The scheduled jobs still to measure: not done, and not of an architecture that failed."""
    return [j for j in schedule_rounds(archs, two_pass, seed, rounds) if j not in done and j[0] not in failed]


def reference_due(k: int, every: int) -> bool:
    """Whether the reference is re-measured after a session's job ``k`` (0-based): every ``every`` jobs."""
    return (k + 1) % every == 0


__all__ = ["Job", "pending_jobs", "reference_due", "schedule", "schedule_rounds"]
