"""``hwpred nas``: train a predictor for NAS, search with it, verify what it selected."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import HwpredError


def add_parser(sub) -> None:
    p = sub.add_parser("nas", help="use a fitted predictor in a multi-objective NAS and verify the result")
    nsub = p.add_subparsers(dest="nas_command", metavar="ACTION")

    t = nsub.add_parser(
        "train-predictor", help="fit (and optionally tune) a predictor on a dataset and save it"
    )
    t.add_argument("--dataset", required=True, help="named dataset, e.g. help:raspi4")
    t.add_argument("--family", default="xgb", help="predictor short name (see hwpred.predictors.available())")
    t.add_argument("--train-size", type=int, default=1000, help="architectures to fit on (seeded sample)")
    t.add_argument("--trials", type=int, default=0, help="Optuna trials (0 = default hyper-parameters)")
    t.add_argument("--storage", default=None, help="Optuna RDB URL to keep (and share) the trials in")
    t.add_argument("--study-name", default=None, help="the Optuna study's name in --storage")
    t.add_argument("--seed", type=int, default=0, help="seed of the training sample and the predictor")
    t.add_argument("--out", required=True, type=Path, help="folder to save the fitted predictor in")
    t.set_defaults(func=_train)

    s = nsub.add_parser("search", help="NSGA-II (or random search) with fitted predictors as objectives")
    s.add_argument("--space", default="nb201", help="search space (nb201, transnas_macro)")
    s.add_argument(
        "--accuracy",
        required=True,
        help="accuracy source: a named dataset column (nats:cifar10, zero-shot table) or a saved predictor folder",
    )
    s.add_argument(
        "--predictor",
        required=True,
        action="append",
        type=Path,
        help="saved hardware predictor folder (repeat for several metrics)",
    )
    s.add_argument(
        "--max",
        action="append",
        default=[],
        metavar="INDEX=BOUND",
        help="constraint on hardware predictor INDEX (0-based), e.g. 0=12.5 (latency <= 12.5)",
    )
    s.add_argument("--generations", type=int, default=40, help="NSGA-II generations")
    s.add_argument("--population", type=int, default=50, help="population size (candidates per generation)")
    s.add_argument(
        "--algorithm",
        choices=["nsga2", "random"],
        default="nsga2",
        help="NSGA-II, or random search as a baseline",
    )
    s.add_argument("--seed", type=int, default=0, help="seed of the search")
    s.add_argument("--out", required=True, type=Path, help="folder for the selected candidates")
    s.set_defaults(func=_search)

    v = nsub.add_parser(
        "verify", help="measure or look up the selected candidates and keep their true Pareto subset"
    )
    v.add_argument("selection", type=Path, help="output folder of 'hwpred nas search'")
    src = v.add_mutually_exclusive_group(required=True)
    src.add_argument("--table", help="named dataset with the measured metric, e.g. help:raspi4")
    src.add_argument("--measure", metavar="DEVICE", help="measure now with the harness on DEVICE (cpu, cuda)")
    v.add_argument("--accuracy", help="ground-truth accuracy dataset (default: the one the search used)")
    v.add_argument("--repeats", type=int, default=20, help="with --measure: timed forwards per candidate")
    v.set_defaults(func=_verify)


def _dataset(name: str):
    from ..data import load_dataset

    return load_dataset(name)


def _train(args) -> int:
    from ..predictors import create
    from ..tuning import tune

    ds = _dataset(args.dataset)
    archs, y = ds.arrays()
    if not 2 <= args.train_size <= len(y):
        raise HwpredError(
            f"--train-size must be between 2 and {len(y)} for {args.dataset}, got {args.train_size}"
        )
    idx = np.random.default_rng(args.seed).choice(len(y), size=args.train_size, replace=False)
    space = ds.table.space
    if args.family == "lut":
        from ..predictors.lut import LookupTablePredictor

        need = np.asarray(LookupTablePredictor.required_archs(space))
        idx = np.array([ds.table.index_of(a) for a in need])
    if args.trials > 0:
        res = tune(
            args.family,
            archs[idx],
            y[idx],
            n_trials=args.trials,
            seed=args.seed,
            fixed_params={"space": space, "random_state": args.seed},
            storage=args.storage,
            study_name=args.study_name,
        )
        pred, best = res.predictor, res.best_params
    else:
        pred, best = create(args.family, space=space, random_state=args.seed).fit(archs[idx], y[idx]), {}
    pred.save(
        args.out,
        dataset=args.dataset,
        metric=ds.column,
        unit=ds.table.units.get(ds.column, ""),
        space=space,
        train_size=int(len(idx)),
        seed=args.seed,
        tuned_params=best,
        source=ds.table.meta.get("source", ""),
    )
    print(f"saved {args.family} trained on {len(idx)} architectures of {args.dataset} to {args.out}")
    return 0


def _constraint(item: str, hw_objs: list) -> tuple[str, float]:
    """``INDEX=BOUND`` of ``--max``: each part checked on its own, so the message names what is wrong."""
    k, sep, b = item.partition("=")
    if not sep:
        raise HwpredError(f"--max {item!r}: expected INDEX=BOUND, e.g. 0=12.5")
    if not k.strip().isdigit() or int(k) >= len(hw_objs):
        raise HwpredError(
            f"--max {item!r}: INDEX must be the 0-based position of a --predictor "
            f"(0 to {len(hw_objs) - 1}), got {k!r}"
        )
    try:
        bound = float(b)
    except ValueError:
        raise HwpredError(f"--max {item!r}: BOUND must be a number, got {b!r}") from None
    if not np.isfinite(bound):
        raise HwpredError(f"--max {item!r}: BOUND must be finite")
    return hw_objs[int(k)].name, bound


def _search(args) -> int:
    import hwpred

    from ..spaces import get_space
    from .objectives import PredictorObjective, TableObjective
    from .problem import ArchProblem
    from .search import nsga2_search, random_search

    space = get_space(args.space).name  # an unknown space fails here, before anything is loaded
    for flag in ("generations", "population"):
        if getattr(args, flag) < 1:
            raise HwpredError(f"--{flag} must be at least 1, got {getattr(args, flag)}")
    if Path(args.accuracy).is_dir():
        acc_pred = hwpred.load_predictor(args.accuracy)
        acc_obj = PredictorObjective("accuracy", True, space, acc_pred)
    else:
        ds = _dataset(args.accuracy)
        acc_obj = TableObjective(ds.column, True, space, ds)
    hw_objs = []
    for i, folder in enumerate(args.predictor):
        pred = hwpred.load_predictor(folder)
        metric = pred.provenance_.get("metric") or f"hw{i}"
        hw_objs.append(PredictorObjective(metric, False, space, pred))
    constraints = {}
    for item in args.max:
        constraints.update([_constraint(item, hw_objs)])
    problem = ArchProblem(space, [acc_obj, *hw_objs], constraints)
    budget = args.generations * args.population
    if args.algorithm == "nsga2":
        res = nsga2_search(problem, budget=budget, population=args.population, seed=args.seed)
    else:
        res = random_search(problem, budget=budget, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    sp = get_space(space)
    df = pd.DataFrame(res.values, columns=res.objective_names)
    df.insert(0, "arch", [sp.to_string(a) for a in res.archs])
    df.to_csv(args.out / "selection.csv", index=False)
    meta = {
        "space": space,
        "accuracy": args.accuracy,
        "predictors": [str(p) for p in args.predictor],
        "objectives": res.objective_names,
        "constraints": constraints,
        "algorithm": args.algorithm,
        "n_evaluations": res.n_evaluations,
        "seconds": res.seconds,
        "seed": args.seed,
        "feasible": res.feasible,
        "message": res.message,
    }
    (args.out / "search.json").write_text(json.dumps(meta, indent=1))
    if not res.feasible:
        print(f"no feasible architecture: {res.message}")
        return 0
    print(
        f"{args.algorithm}: {res.n_evaluations} predictor evaluations, {len(res.archs)} architectures on the "
        f"predicted front -> {args.out / 'selection.csv'}"
    )
    return 0


def _verify(args) -> int:
    from ..spaces import get_space
    from .report import plot_fronts
    from .verify import joined, verify_selection

    meta_file = args.selection / "search.json"
    if not meta_file.is_file():
        raise HwpredError(
            f"{args.selection} is not a search output (no search.json); run 'hwpred nas search' first"
        )
    meta = json.loads(meta_file.read_text())
    sel = pd.read_csv(args.selection / "selection.csv")
    if sel.empty:
        raise HwpredError(f"{args.selection}: the search selected nothing ({meta.get('message', '')})")
    sp = get_space(meta["space"])
    archs = np.array([sp.from_string(s) for s in sel["arch"]])
    acc_name = args.accuracy or meta["accuracy"]
    if Path(acc_name).is_dir():
        raise HwpredError(
            "verification needs a ground-truth accuracy dataset: pass --accuracy nats:cifar10 (or similar)"
        )
    acc = _dataset(acc_name)
    hw_col = meta["objectives"][1]
    if args.table:
        hw = _dataset(args.table)
        if hw.column != hw_col and not hw_col.startswith("hw"):
            raise HwpredError(
                f"the search optimised {hw_col!r} but --table {args.table} holds {hw.column!r}; "
                "verify against a table of the same metric"
            )
        ver = verify_selection(archs, sel[hw_col].to_numpy(), acc, hw)
        full = joined(acc, hw)
        background = (full.column(acc.column), full.column(hw.column))
    else:
        from .live import measure_latency

        ver = verify_selection(
            archs,
            sel[hw_col].to_numpy(),
            acc,
            measure=lambda a: measure_latency(a, sp, device=args.measure, repeats=args.repeats),
        )
        background = None
    ver.frame(sp).to_csv(args.selection / "verification.csv", index=False)
    (args.selection / "verification.json").write_text(json.dumps(ver.summary, indent=1))
    plot_fronts(ver, args.selection / "fronts", background=background, acc_label=acc.column, hw_label=hw_col)
    for k, v in ver.summary.items():
        print(f"{k:>22}: {v:.4g}" if isinstance(v, float) else f"{k:>22}: {v}")
    print(f"figure: {args.selection / 'fronts.png'}")
    return 0
