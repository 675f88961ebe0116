"""``python -m lab optimize``: run or resume an Optuna study from the command line.

Example::

    python -m lab optimize --data BTCUSD_COINBASE --timeframe 1h --strategy sma_cross \\
        --study-name sma-btc --n-trials 200 --objective sharpe,max_drawdown \\
        --sl 0.01:0.05 --leverage 1:5 --commission 0.001 --workers 2

``--sl``, ``--tp`` and ``--leverage`` take ``low:high`` (searched) or one value (fixed, as
in ``lab backtest``); stop-loss and take-profit are fractions of the entry price. The
study lives in ``--storage`` (default ``sqlite:///<data>/optuna/optuna.db``): running the
command again with the same ``--study-name`` continues it. Other execution options are
those of ``lab backtest``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from lab.cli.dates import end_time, start_time
from lab.core.errors import ConfigError, LabError
from lab.core.urls import redact
from lab.ui.inputs import parse_value_or_range


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``optimize`` command to ``subparsers`` (of ``lab.cli.build_parser``)."""
    from lab.cli import _add_execution_args

    p = subparsers.add_parser("optimize", conflict_handler="resolve",
                              help="Optuna search of a strategy's parameters (resumable)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True,
                   help="a stored symbol (see `datasets`) or a path to a CSV / Parquet file")
    p.add_argument("--asset-class", choices=["equity", "index", "fx", "crypto", "future"],
                   help="for a file in --data (stored symbols know theirs); default equity")
    p.add_argument("--timeframe", help="bar size (default: the finest stored)")
    p.add_argument("--start", type=start_time,
                   help="first bar, inclusive (YYYY-MM-DD or ISO time, UTC)")
    p.add_argument("--end", type=end_time,
                   help="last bar, inclusive (a bare date includes that whole day)")
    p.add_argument("--strategy", required=True, help="see `strategies`")
    p.add_argument("--study-name", required=True, help="name in the storage; reused = resume")
    p.add_argument("--storage", help="sqlite:///file.db, postgresql://..., a journal file "
                                     "path ending in .log, or $LAB_OPTUNA_STORAGE (quoted) "
                                     "to read the URL from that variable; a password is "
                                     "never printed or recorded")
    p.add_argument("--n-trials", type=int, default=100, help="trials in this run (default 100)")
    p.add_argument("--timeout", type=float, help="seconds after which no trial starts")
    p.add_argument("--objective", default="sharpe",
                   help="one or two (comma separated) of sharpe, sortino, calmar, "
                        "total_return, profit_factor, max_drawdown, cagr, win_rate")
    p.add_argument("--sampler", default="tpe", choices=["tpe", "cmaes", "random", "grid",
                                                        "nsga2"])
    p.add_argument("--seed", type=int, help="sampler seed (same seed = same trials)")
    p.add_argument("--workers", type=int, default=1, help="processes sharing the study")
    p.add_argument("--param-space", metavar="FILE.json",
                   help='range overrides: {"fast": {"low": 5, "high": 50}, "slow": [100, 200]}')
    p.add_argument("--min-trades", type=int, default=3,
                   help="trials with fewer trades are infeasible (default 3)")
    p.add_argument("--no-pruning", action="store_true", help="do not prune trials early")
    p.add_argument("--no-track", action="store_true",
                   help="do not record the study in MLflow (parent run + a child per trial)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_execution_args(p)
    p.add_argument("--sl", help="stop-loss: low:high (searched) or a fraction (fixed)")
    p.add_argument("--tp", help="take-profit: low:high or a fraction")
    p.add_argument("--leverage", default="1", help="low:high or a value (default 1)")
    return p


def _range(text: str | None, name: str):
    """(fixed value or None, (low, high) or None) from ``a:b`` / ``a`` / None: the
    forms' grammar (``lab.ui.inputs``) in fractions."""
    return parse_value_or_range(text, f"--{name}", percent=False)


def main(args: argparse.Namespace) -> int:
    """Run the ``optimize`` command; 0 ok, 2 user error, 130 interrupted."""
    from lab.api import data_root, open_catalog
    from lab.cli import data_symbol, execution_config
    from lab.research.optimize import StudySpec
    from lab.research.optimize.service import run_study

    try:
        root = getattr(args, "store", None)
        catalog = open_catalog(root or data_root())
        args.data = data_symbol(catalog, args.data, args.asset_class)
        timeframe = args.timeframe or _finest(catalog, args.data)
        ac = catalog.asset_class(args.data)
        ac = str(getattr(ac, "value", ac))
        sl, sl_r = _range(args.sl, "sl")
        tp, tp_r = _range(args.tp, "tp")
        lev, lev_r = _range(args.leverage, "leverage")
        ns = argparse.Namespace(**{**vars(args), "sl": sl, "tp": tp,
                                   "leverage": lev if lev is not None else 1.0})
        storage = args.storage
        if storage:
            from lab.core.credentials import resolve

            storage = resolve(storage, root)
        spec = StudySpec(symbol=args.data, timeframe=timeframe, strategy=args.strategy,
                         study_name=args.study_name, start=args.start, end=args.end,
                         config=execution_config(ns, ac, args.data), storage=storage,
                         n_trials=args.n_trials, timeout=args.timeout,
                         objectives=tuple(o.strip() for o in args.objective.split(",")),
                         sampler=args.sampler, seed=args.seed, search_sl=sl_r,
                         search_tp=tp_r, search_leverage=lev_r,
                         param_space=args.param_space, min_trades=args.min_trades,
                         pruning=not args.no_pruning, workers=args.workers)
        try:
            res = run_study(spec, root, catalog=catalog,
                            progress=_progress if not args.json else None)
        except KeyboardInterrupt:
            print(f"\ninterrupted; finished trials are stored: rerun with --study-name "
                  f"{args.study_name} to continue", file=sys.stderr)
            return 130
    except LabError as exc:
        from lab.cli import one_line

        print(one_line(exc), file=sys.stderr)
        return 2
    tracking = None if args.no_track else _track(res, getattr(args, "store", None))
    rc = _report(res, args, tracking)
    if tracking is not None and not args.json:
        print(f"MLflow: run {tracking['run_id']} with {tracking['children']} trial runs"
              if tracking["recorded"] else f"MLflow: not recorded ({tracking['error']})")
    return rc


def _track(res, root) -> dict:
    """Record the study in MLflow (never raises); what happened, for the report."""
    from lab.tracking import tracking_uri
    from lab.tracking.studies import track_study

    out = track_study(res, tracking_uri=tracking_uri(root), source="cli")
    return {"recorded": out.recorded, "run_id": out.run_id, "children": len(out.children),
            "error": out.error}


def _finest(catalog, symbol: str) -> str:
    ds = catalog.datasets()
    rows = ds[ds["symbol"] == symbol]
    if rows.empty:
        raise ConfigError(f"no stored data for {symbol!r}; see `datasets`")
    return str(rows.iloc[0]["timeframe"])


_LAST = [None]


def _progress(done: int, total: int) -> None:
    if _LAST[0] == (done, total):        # workers > 1 report on a timer: print changes
        return
    _LAST[0] = (done, total)
    print(f"\rtrial {done}/{total}", end="" if done < total else "\n", file=sys.stderr,
          flush=True)


def _json_value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            return None
    return v


def _report(res, args, tracking: dict | None = None) -> int:
    t = res.trials
    counts = t["state"].value_counts().to_dict() if len(t) else {}
    cols = ["number"] + [f"value_{o}" for o in res.objectives] + \
        [c for c in t.columns if c.startswith("param_")] + \
        [c for c in ("trades", "total_return", "max_drawdown") if c in t.columns]
    best = res.best[[c for c in cols if c in res.best.columns]]
    from lab.research.optimize.store import orphan_note, orphaned_trials

    orphans = orphaned_trials(res.study) if res.study is not None else []
    if args.json:
        doc = {"study_name": res.study_name, "storage": redact(res.storage),
               "objectives": list(res.objectives), "directions": list(res.directions),
               "trials": int(len(t)), "states": {k: int(v) for k, v in counts.items()},
               "best": [{k: _json_value(v) for k, v in row.items()}
                        for row in res.best.drop(columns=["params"], errors="ignore")
                        .to_dict("records")]}
        for row, params in zip(doc["best"], res.best.get("params", [])):
            row["params"] = json.loads(params)
        doc["tracking"] = tracking
        doc["orphaned_trials"] = [orphan_note(o) for o in orphans]
        print(json.dumps(doc, indent=2, allow_nan=False))
        return 0

    print(f"study {res.study_name} ({redact(res.storage)}): {len(t)} trials "
          f"{', '.join(f'{k.lower()} {v}' for k, v in counts.items())}")
    for o in orphans:
        print(f"  note: {orphan_note(o)}")
    if best.empty:
        print("no feasible trial yet (too few trades?); lower --min-trades or widen ranges")
        return 0
    label = "best trial" if len(res.objectives) == 1 else "Pareto front"
    print(f"{label} ({', '.join(f'{o} {d}' for o, d in zip(res.objectives, res.directions))}):")
    print(best_table(best, res.objectives))
    return 0


#: Kind of each objective's value in the table (``lab.cli.tables``).
OBJECTIVE_KINDS = {"sharpe": "ratio", "sortino": "ratio", "calmar": "ratio",
                   "profit_factor": "ratio", "total_return": "pct", "cagr": "pct",
                   "max_drawdown": "pct", "win_rate": "pct"}


def best_table(best, objectives) -> str:
    """The best trials as a terminal table: trial number, objective values (fractions
    as percentages, the unit in the header), parameters as ``k=v``, trades, return and
    maximum drawdown; fits 100 columns."""
    from lab.cli.tables import params_text, render

    shown = best.copy()
    pcols = [c for c in best.columns if c.startswith("param_")]
    shown["params"] = [params_text({c[len("param_"):]: r[c] for c in pcols})
                       for r in best.to_dict("records")]
    specs = {"number": ("trial", "int"), "params": ("params", "text"),
             "trades": ("trades", "int"), "total_return": ("return %", "pct"),
             "max_drawdown": ("max DD %", "pct")}
    for o in objectives:
        kind = OBJECTIVE_KINDS.get(o, "ratio")
        specs[f"value_{o}"] = (f"{o} %" if kind == "pct" else o, kind)
    columns = ["number", *[f"value_{o}" for o in objectives], "params",
               *[c for c in ("trades", "total_return", "max_drawdown")
                 if c in shown and c not in objectives]]
    return render(shown, columns, specs)


if __name__ == "__main__":  # pragma: no cover
    from lab.cli import build_parser

    raise SystemExit(main(build_parser().parse_args(["optimize", *sys.argv[1:]])))
