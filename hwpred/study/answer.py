"""The study's answer in words: what was studied, and which family ranks each device's architectures
how well with how many measurements.

A report opens with these lines (HTML page, ``summary.md``, and the console of ``hwpred study
default``), so the first thing a reader sees is the suite's question answered: "with N
measurements, family F reaches Kendall tau T on device D", and the smallest training set at
which some family reaches a target tau (:data:`TARGET_TAU`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

#: the Kendall tau a headline asks for: the smallest training set reaching it is reported
TARGET_TAU = 0.8


def dataset_label(name: str) -> str:
    """A short, readable name for a study dataset: ``file:`` paths become ``<file name>#<column>``."""
    if name.startswith("file:"):
        path, _, column = name[len("file:") :].partition("#")
        return f"{Path(path).name}#{column}" if column else Path(path).name
    return name


def _device_words(name: str) -> str:
    """What a dataset name measures, e.g. "Google Pixel 3 phone" for ``help:pixel3`` ("" if unknown)."""
    if name.startswith("file:"):
        return ""
    try:
        from ..data.names import describe

        info = describe(name)
    except Exception:  # noqa: BLE001 - an unreadable name only costs the description
        return ""
    text = str(info.get("description") or "")
    if name.startswith("help:"):  # "HELP NB201 latency, <device> (ms)"
        text = text.removeprefix("HELP NB201 latency, ").removesuffix(" (ms)")
    return text


@dataclass(frozen=True)
class DeviceAnswer:
    """One dataset's answer: the best learning family at the largest size, and the smallest size
    at which some family reaches ``target`` (None: none does within the study's sizes)."""

    dataset: str
    largest_size: int
    best_family: str
    best_tau: float
    target: float
    first_size: int | None
    first_family: str | None


def answers(
    summary: pd.DataFrame, target: float = TARGET_TAU, order: list[str] | None = None
) -> list[DeviceAnswer]:
    """Per dataset (in ``order`` when given, e.g. the config's), from a
    :func:`~hwpred.study.report.summarise` frame. Reference predictors, such as the lookup table
    with its fixed architectures, are not learning families and are left out."""
    out = []
    learn = summary[~summary["reference"].astype(bool)]
    names = list(dict.fromkeys([*(order or []), *learn["dataset"]]))
    for ds in names:
        sub = learn[learn["dataset"] == ds]
        if sub.empty:
            continue
        largest = int(sub["train_size"].max())
        top = sub[sub["train_size"] == largest].sort_values("kendall_tau_mean", ascending=False).iloc[0]
        reach = sub[sub["kendall_tau_mean"] >= target].sort_values(
            ["train_size", "kendall_tau_mean"], ascending=[True, False]
        )
        first = reach.iloc[0] if len(reach) else None
        out.append(
            DeviceAnswer(
                dataset=str(ds),
                largest_size=largest,
                best_family=str(top["predictor"]),
                best_tau=float(top["kendall_tau_mean"]),
                target=target,
                first_size=None if first is None else int(first["train_size"]),
                first_family=None if first is None else str(first["predictor"]),
            )
        )
    return out


#: how many candidates the cost of a tau is quoted for
COST_CANDIDATES = 1000


def cost_of_tau(tau: float, dataset: str, candidates: int = COST_CANDIDATES) -> str:
    """ "; that tau costs about X pp of MRA at N candidates" from the simulation lookup
    (``hwpred.simulation.expect``), for the dataset's own simulated pairs when the grid has them,
    else over all its pairs; "" when this build has no lookup or its summary cannot be read."""
    try:
        from ..simulation.expect import expected_cost
    except ImportError:
        return ""
    from ..errors import HwpredError

    tau = min(max(tau, 0.0), 1.0)
    for hardware, scope in ((dataset, f"{dataset}'s simulated pairs"), (None, "all simulated pairs")):
        try:
            mra = expected_cost(tau, candidates, hardware=hardware).metrics["mra_all"]
        except (HwpredError, KeyError):
            continue
        return f"; that tau costs about {mra.mean:.2f} pp of MRA at {candidates:,} candidates ({scope})"
    return ""


def _sentence(a: DeviceAnswer) -> str:
    words = _device_words(a.dataset)
    where = f"{dataset_label(a.dataset)}" + (f" ({words})" if words else "")
    head = (
        f"With {a.largest_size:,} measurements, {a.best_family} reaches Kendall tau {a.best_tau:.3f} "
        f"on {where}{cost_of_tau(a.best_tau, a.dataset)}"
    )
    if a.first_size is None:
        return f"{head}; no family reaches tau {a.target:g} with {a.largest_size:,} or fewer."
    return (
        f"{head}; tau {a.target:g} first needs {a.first_size:,} measurements "
        f"({a.first_family} reaches it there)."
    )


def headline(
    df: pd.DataFrame, summary: pd.DataFrame, target: float = TARGET_TAU, order: list[str] | None = None
) -> list[str]:
    """The report's opening lines: what was studied, then one answer per dataset.

    ``df`` is the store's cell records, ``summary`` its mean-over-seeds summary, ``order`` the
    datasets' order (the config's).
    """
    ok = df[df["status"] == "ok"]
    if "reference" in ok:
        ok = ok[~ok["reference"].astype(bool)]
    learn = summary[~summary["reference"].astype(bool)]
    families = list(dict.fromkeys(learn["predictor"]))
    refs = list(dict.fromkeys(summary[summary["reference"].astype(bool)]["predictor"]))
    present = set(summary["dataset"])
    names = [d for d in dict.fromkeys([*(order or []), *summary["dataset"]]) if d in present]
    datasets = [dataset_label(d) for d in names]
    sizes = sorted(int(s) for s in learn["train_size"].unique())
    n_test = sorted(int(n) for n in ok["n_test"].unique()) if "n_test" in ok else []
    size_text = ", ".join(f"{s:,}" for s in sizes)
    studied = (
        f"Studied: {len(families)} predictor families ({', '.join(families)})"
        + (f" and the reference {', '.join(refs)}" if refs else "")
        + f" on {len(datasets)} dataset(s) ({', '.join(datasets)}), training sets of {size_text} "
        f"architectures, {ok['seed'].nunique()} seed(s)"
        + (f", tested on {'/'.join(f'{n:,}' for n in n_test)} held-out architectures" if n_test else "")
        + "; Kendall tau is the mean over seeds."
    )
    return [studied, *(_sentence(a) for a in answers(summary, target, names))]
