"""Architecture list files (``--archs FILE``): one architecture per line, read the same way by
``hwpred measure`` and ``hwpred zeroshot score``."""

from __future__ import annotations

import os
from pathlib import Path

from .base import Arch, SpaceError, get_space


def read_archs_file(path: str | os.PathLike, space) -> list[Arch]:
    """One architecture per line: its string, or its ops as ints ('3,1,2,4,3,1', '(3, 1, ...)').

    Blank lines and '#' comments are ignored. A line that is not an architecture of ``space``,
    or that repeats an earlier one, is an error naming the line: a silently shortened list would
    measure or score fewer architectures than the file promises.
    """
    sp = get_space(space) if isinstance(space, str) else space
    p = Path(path)
    if not p.is_file():
        raise SpaceError(f"architecture file {p} does not exist")
    out: list[Arch] = []
    first: dict[Arch, int] = {}
    for lineno, raw in enumerate(p.read_text(errors="replace").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("|") else raw.strip()
        if not line:
            continue
        try:
            cleaned = line.strip("()[] ")
            if cleaned and all(ch.isdigit() or ch in ", \t" for ch in cleaned):
                arch = sp.validate(tuple(int(t) for t in cleaned.replace(",", " ").split()))
            else:
                arch = sp.from_string(line)
        except SpaceError as exc:
            raise SpaceError(f"{p}:{lineno}: {exc}") from None
        if arch in first:
            raise SpaceError(
                f"{p}:{lineno}: repeats the architecture of line {first[arch]}; list each architecture once"
            )
        first[arch] = lineno
        out.append(arch)
    if not out:
        raise SpaceError(f"architecture file {p} lists no architecture")
    return out
