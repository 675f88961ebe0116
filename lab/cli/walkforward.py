"""``python -m lab walkforward``: walk-forward validation from the command line.

Example::

    python -m lab walkforward --data BTCUSD_COINBASE --timeframe 1h \\
        --strategies sma_cross,rsi --windows 5 --train-fraction 0.7 \\
        --grid sma_cross.fast=5,10,20 --select grid --objective sharpe --min-trades 3 \\
        --sl none,0.02,0.04 --tp none,0.06 --leverage 1,2

Windows are ``--windows N --train-fraction F`` (N test windows ending at the last bar,
train = F of train + test) or ``--train-bars N --test-bars M`` (optionally with
``--windows`` to keep the last ones); ``--anchored`` starts every train window at the
first bar. ``--grid`` is as in ``lab sweep``, and so are ``--sl`` / ``--tp`` (fractions
of the entry price, ``none`` = off) and ``--leverage``: lists of levels chosen on each
train window with the parameter set (a single value fixes it; default off, off, 1).
The other execution options are those of ``lab backtest``. stdout gets the leaderboard
(OOS Sharpe, then consistency, then OOS return) and the per-window choices, or JSON
with ``--json``. The walk-forward is
recorded in MLflow (experiment ``<project>.walkforward``, a child run per strategy)
unless ``--no-track``; the run id is printed (``tracking`` in the JSON).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from lab.cli.dates import end_time, start_time


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``walkforward`` command to ``subparsers`` (of ``lab.cli.build_parser``)."""
    from lab.cli import _add_execution_args

    p = subparsers.add_parser(
        "walkforward", conflict_handler="resolve",
        help="walk-forward validation: optimize on train windows, test on the next",
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
    p.add_argument("--strategies", required=True, help="comma separated (see `strategies`)")
    p.add_argument("--grid", action="append", default=[], metavar="[STRATEGY.]NAME=VALUES",
                   help="v1,v2,... or start:stop:step; repeatable; default each "
                        "parameter's own range")
    p.add_argument("--windows", type=int, help="number of test windows")
    p.add_argument("--train-fraction", type=float,
                   help="train share of train + test, 0..1 (0.7 = 70 %%)")
    p.add_argument("--train-bars", type=int, help="train window length, bars")
    p.add_argument("--test-bars", type=int, help="test window length, bars")
    p.add_argument("--anchored", action="store_true",
                   help="train windows start at the first bar (expanding)")
    p.add_argument("--select", choices=["grid", "optuna"], default="grid",
                   help="score the whole grid (default) or Optuna TPE over its values")
    p.add_argument("--trials", type=int, help="Optuna trials per window (default "
                                              "min(50, grid size))")
    p.add_argument("--seed", type=int, default=0, help="Optuna seed (default 0)")
    p.add_argument("--objective", default="sharpe",
                   help="statistic to maximize on each train window (default sharpe)")
    p.add_argument("--min-trades", type=int, default=3,
                   help="fewest train trades for a set to be chosen (default 3)")
    p.add_argument("--compound", action="store_true",
                   help="each fold starts with the previous fold's equity")
    p.add_argument("--save", action="store_true",
                   help="store the result under <data>/walkforward/<id>")
    p.add_argument("--no-track", action="store_true",
                   help="do not record the walk-forward in MLflow (recorded by default)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_execution_args(p)
    p.add_argument("--sl", help="stop-loss levels to choose from, fractions of the entry "
                                "price, comma separated; 'none' = off (e.g. none,0.02,0.04)")
    p.add_argument("--tp", help="take-profit levels, as --sl")
    p.add_argument("--leverage", help="leverage levels, comma separated (1 = cash; e.g. 1,2)")
    return p


def _spec(args: argparse.Namespace, asset_class: str):
    """The ``WalkForwardSpec`` of the command line."""
    from lab.research.walk_forward import WalkForwardSpec

    return WalkForwardSpec.from_dict(_payload(args, asset_class))


def _payload(args: argparse.Namespace, asset_class: str) -> dict:
    from lab.cli import _end_ts, _ts, execution_config
    from lab.cli.sweep import _floats, parse_grids

    strategies = tuple(s.strip() for s in args.strategies.split(",") if s.strip())
    windows = {"n_windows": args.windows, "anchored": bool(args.anchored)}
    if args.train_bars is not None or args.test_bars is not None:
        windows.update(train_bars=args.train_bars, test_bars=args.test_bars)
        if args.train_fraction is not None:
            windows["train_fraction"] = args.train_fraction
    else:
        windows.update(n_windows=args.windows if args.windows is not None else 5,
                       train_fraction=(args.train_fraction if args.train_fraction is not None
                                       else 0.7))
    start, end = _ts(args.start), _end_ts(args.end)
    base = argparse.Namespace(**{**vars(args), "sl": None, "tp": None, "leverage": 1.0})
    return {"data": args.data, "timeframe": args.timeframe,
            "start": None if start is None else str(start),
            "end": None if end is None else str(end), "strategies": list(strategies),
            "grids": parse_grids(args.grid, strategies), "windows": windows,
            "select": args.select, "objective": args.objective,
            "min_trades": args.min_trades, "compound": args.compound,
            "n_trials": args.trials, "seed": args.seed,
            "sl": None if args.sl is None else list(_floats(args.sl, "sl", True)),
            "tp": None if args.tp is None else list(_floats(args.tp, "tp", True)),
            "leverage": None if args.leverage is None else
            list(_floats(args.leverage, "leverage")),
            "config": execution_config(base, asset_class, args.data).to_dict()}


#: Terminal columns (header with unit, kind; see ``lab.cli.tables``).
SUMMARY_SPECS = {
    "rank": ("rank", "int"), "strategy": ("strategy", "text"),
    "oos_sharpe": ("OOS Sharpe", "ratio"), "consistency": ("consist. %", "pct"),
    "oos_return": ("OOS ret %", "pct"), "is_sharpe": ("IS Sharpe", "ratio"),
    "sharpe_decay": ("decay %", "pct"), "wfe": ("WFE", "ratio"),
    "oos_max_drawdown": ("OOS DD %", "pct"), "oos_trades": ("trades", "int"),
    "oos_cagr": ("OOS CAGR %", "pct"), "is_cagr": ("IS CAGR %", "pct"),
    "windows": ("windows", "int"), "windows_traded": ("traded", "int")}
WINDOW_SPECS = {
    "strategy": ("strategy", "text"), "window": ("win", "int"),
    "test_start": ("test from", "date"), "test_end": ("test to", "date"),
    "params": ("params", "text"), "levels": ("SL/TP/lev", "text"),
    "is_sharpe": ("IS Sh", "ratio"), "oos_sharpe": ("OOS Sh", "ratio"),
    "oos_total_return": ("OOS ret %", "pct")}


def summary_table(summary) -> str:
    """Per-strategy walk-forward summary, fitted to 100 columns."""
    from lab.cli.tables import render

    cols = [c for c in ("rank", "strategy", "oos_sharpe", "consistency", "oos_return",
                        "is_sharpe", "sharpe_decay", "wfe", "oos_max_drawdown",
                        "oos_trades") if c in summary.columns]
    return render(summary, cols, SUMMARY_SPECS)


def windows_table(windows) -> str:
    """One line per strategy and window (from its test start to the next one's): the
    parameters and levels chosen in training, IS / OOS Sharpe, OOS return."""
    from lab.cli.tables import levels_text, params_text, render

    shown = windows.copy()
    shown["params"] = [params_text(p) for p in windows["params"]] \
        if "params" in windows else ""
    shown["levels"] = [levels_text({"sl": r.get("param_sl"), "tp": r.get("param_tp"),
                                    "leverage": r.get("param_leverage")})
                       for r in windows.to_dict("records")]
    cols = [c for c in ("strategy", "window", "test_start", "params", "levels",
                        "is_sharpe", "oos_sharpe", "oos_total_return") if c in shown.columns]
    return render(shown, cols, WINDOW_SPECS)


def _num(v):
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def main(args: argparse.Namespace) -> int:
    """Run ``lab walkforward``; returns the exit status."""
    from lab.api import open_catalog
    from lab.research.walk_forward import save_walk_forward, walk_forward_root
    from lab.research.walk_forward.service import new_wf_id, record, run_spec

    from lab.cli import data_symbol

    catalog = open_catalog(args.store)
    args.data = data_symbol(catalog, args.data, args.asset_class)
    spec = _spec(args, catalog.asset_class(args.data))

    def progress(done: int, total: int) -> None:
        if not args.json:
            print(f"\r{done}/{total} folds", end="" if done < total else "\n",
                  file=sys.stderr, flush=True)

    result, _ = run_spec(spec, args.store, progress=progress)
    wf_id = new_wf_id()
    folder = None
    if args.save:
        folder = save_walk_forward(result, walk_forward_root(args.store) / wf_id)
    errors: list[str] = []
    run_id = None
    if not args.no_track:
        run_id = record(result, spec, wf_id, args.store, "cli", errors.append)
    tracking = None if args.no_track else {"recorded": run_id is not None, "run_id": run_id,
                                           "error": "; ".join(errors) or None}
    if args.json:
        def records(df):
            return [{k: _num(v.isoformat() if hasattr(v, "isoformat") else
                             (v.item() if hasattr(v, "item") else v))
                     for k, v in r.items()} for r in df.to_dict(orient="records")]

        doc = {"summary": records(result.summary), "windows": records(result.windows),
               "meta": result.meta, "folder": None if folder is None else str(folder),
               "tracking": tracking}
        print(json.dumps(doc, indent=2, default=str))
        return 0
    m = result.meta
    print(f"walk-forward on {m['symbol']} {m['timeframe']}: {len(m['windows'])} windows, "
          f"select {m['select']} by {m['objective']} (min {m['min_trades']} trades)"
          f"{', compounded' if m['compound'] else ''}")
    print(summary_table(result.summary))
    print(windows_table(result.windows))
    if folder is not None:
        print(f"saved to {folder}")
    if tracking is not None:
        extra = f" ({tracking['error']})" if run_id and tracking["error"] else ""
        print(f"recorded in MLflow: run {run_id}{extra}" if run_id else
              f"NOT recorded in MLflow: {tracking['error']}")
    return 0


if __name__ == "__main__":
    from lab.cli import build_parser

    sys.exit(main(build_parser().parse_args(["walkforward", *sys.argv[1:]])))
