"""``python -m lab sweep``: run or resume a parameter sweep from the command line.

Example::

    python -m lab sweep --data BTCUSD_COINBASE --timeframe 1h \\
        --strategies sma_cross,ema_cross --grid fast=5:50:5 --grid sma_cross.slow=100,200 \\
        --sl none,0.02 --leverage 1,3 --commission 0.001 --top 10

``--grid`` takes ``name=v1,v2,...`` or ``name=start:stop:step`` (stop inclusive); a bare
name applies to every swept strategy that has it, ``strategy.name=`` to one. ``--sl`` and
``--tp`` take fractions of the entry price (0.02 = 2 %) and ``none`` for off. The
execution options are those of ``lab backtest``. A progress bar goes to stderr; stdout
gets the top rows (Sharpe, then profit factor, then total return, among rows with at
least ``--min-trades`` trades) and where the full results are. Also runnable as
``python -m lab.cli.sweep``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from lab.cli.dates import OneLineParser, end_time, start_time
from lab.core.errors import ConfigError, LabError
from lab.ui.inputs import parse_levels


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``sweep`` command to ``subparsers`` (of ``lab.cli.build_parser``)."""
    from lab.cli import _add_execution_args

    p = subparsers.add_parser(
        "sweep", conflict_handler="resolve",
        help="sweep strategies x parameter grids x SL/TP x leverage x symbols",
        description=__doc__.split("\n\n")[0])
    _fill(p, _add_execution_args)
    return p


def _fill(p: argparse.ArgumentParser, add_execution_args) -> None:
    p.add_argument("--data", help="stored symbol(s) or CSV / Parquet path(s), comma "
                                  "separated (SYMBOL or SYMBOL@tf)")
    p.add_argument("--asset-class", choices=["equity", "index", "fx", "crypto", "future"],
                   help="for a file in --data (stored symbols know theirs); default equity")
    p.add_argument("--timeframe", help="bar size for every symbol (default: each one's "
                                       "finest stored)")
    p.add_argument("--start", type=start_time,
                   help="first bar, inclusive (YYYY-MM-DD or ISO time, UTC)")
    p.add_argument("--end", type=end_time,
                   help="last bar, inclusive (a bare date includes that whole day)")
    p.add_argument("--strategies", help="comma separated (see `strategies`)")
    p.add_argument("--grid", action="append", default=[], metavar="[STRATEGY.]NAME=VALUES",
                   help="v1,v2,... or start:stop:step (stop inclusive); repeatable; default "
                        "each parameter's own range")
    p.add_argument("--min-trades", type=int, default=3,
                   help="fewest trades for a row to be ranked (default 3)")
    p.add_argument("--top", type=int, default=10, help="rows to print (default 10)")
    p.add_argument("--workers", type=int,
                   help="local Dask worker processes; default (or 0): this process, the kernel on "
                        "every core, memory bounded by two chunks")
    p.add_argument("--scheduler", help="Dask scheduler address (default $LAB_DASK_ADDRESS)")
    p.add_argument("--chunk-size", type=int, help="rows per chunk (default by work)")
    p.add_argument("--yes", action="store_true",
                   help="start a large sweep without asking (above 500,000 sets, an "
                        "estimated 10 minutes or 1 GB of results it asks first)")
    p.add_argument("--resume", metavar="SWEEP_ID",
                   help="continue a stored sweep with its own spec")
    p.add_argument("--id", dest="sweep_id", help="id of a new sweep (default time + hash)")
    p.add_argument("--engine", choices=["vectorized", "vectorbt"], default="vectorized")
    p.add_argument("--no-track", action="store_true",
                   help="do not record the sweep in MLflow (parent run with the spec and "
                        "leaderboard, the --track-top best rows as child runs)")
    p.add_argument("--track-top", type=int, default=5, metavar="N",
                   help="leaderboard rows recorded as child runs (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--columns", metavar="A,B,...",
                   help="leaderboard columns to print (default rank, strategy, params, "
                        "levels, sharpe, dsr, total_return, max_drawdown, trades, "
                        "stability; others: symbol, timeframe, sl, tp, leverage, cagr, "
                        "win_rate, profit_factor, psr, exposure, sortino, fees ...)")
    add_execution_args(p)
    p.add_argument("--sl", default="none",
                   help="stop-loss levels, fractions of the entry price, comma separated; "
                        "'none' = off (e.g. none,0.02,0.04)")
    p.add_argument("--tp", default="none", help="take-profit levels, as --sl")
    p.add_argument("--leverage", default="1", help="leverage levels, comma separated (1 = cash)")


def _floats(text: str, what: str, allow_none: bool = False) -> tuple:
    """Comma-separated numbers as typed (fractions), ``none`` / ``off`` / ``-`` = None
    where allowed: the forms' grammar (``lab.ui.inputs.parse_levels``)."""
    return parse_levels(text, f"--{what}", percent=False, allow_off=allow_none)


def parse_grid_values(text: str) -> tuple[float, ...]:
    """``"v1,v2"`` or ``"start:stop:step"`` (stop inclusive) -> values.

    Raises
    ------
    ConfigError
        For a malformed range or a non-positive step.
    """
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ConfigError(f"grid range {text!r} must be start:stop:step (e.g. 5:50:5)")
        try:
            start, stop, step = (float(x) for x in parts)
        except ValueError:
            raise ConfigError(f"grid range {text!r} must hold three numbers") from None
        if not step > 0 or stop < start:
            raise ConfigError(f"grid range {text!r} needs step > 0 and stop >= start")
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        return tuple(round(start + step * k, 10) for k in range(count))
    return _floats(text, "grid")


def parse_grids(items: list[str], strategies: tuple[str, ...]) -> dict[str, dict]:
    """``--grid`` items -> ``SweepSpec.grids``.

    Raises
    ------
    ConfigError
        For a malformed item, or a name that no swept strategy has.
    """
    from lab.core import registry

    grids: dict[str, dict] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--grid {item!r} must look like name=v1,v2 or "
                              "name=start:stop:step (optionally strategy.name=...)")
        vals = parse_grid_values(values.strip())
        if "." in key:
            strategy, name = key.split(".", 1)
            if strategy not in strategies:
                raise ConfigError(f"--grid {item!r}: {strategy} is not among --strategies")
            targets = [strategy]
        else:
            name = key
            targets = [s for s in strategies
                       if any(ps.name == name for ps in registry.get(s).params_cls.specs())]
            if not targets:
                raise ConfigError(f"--grid {item!r}: no swept strategy has a parameter "
                                  f"{name!r}")
        for strategy in targets:
            grids.setdefault(strategy, {})[name] = vals
    return grids


def _symbols(args, catalog) -> tuple[tuple[str, str], ...]:
    from lab.cli import _finest_timeframe, data_symbol

    out = []
    for item in (args.data or "").split(","):
        item = item.strip()
        if not item:
            continue
        symbol, _, tf = item.partition("@")
        symbol = data_symbol(catalog, symbol, getattr(args, "asset_class", None))
        tf = tf or args.timeframe or _finest_timeframe(catalog, symbol)
        out.append((symbol, tf))
    if not out:
        raise ConfigError("--data needs at least one stored symbol (see `datasets`) or a "
                          "CSV / Parquet path")
    return tuple(out)


def build_spec(args: argparse.Namespace, catalog):
    """``SweepSpec`` from parsed arguments (the base execution config from the
    ``lab backtest`` options, the commission default of the symbols' asset class)."""
    from lab.cli import _end_ts, _ts, execution_config
    from lab.research.sweep import SweepSpec

    if not args.strategies:
        raise ConfigError("--strategies is required (comma separated, see `strategies`), "
                          "unless --resume is given")
    strategies = tuple(s.strip() for s in args.strategies.split(",") if s.strip())
    symbols = _symbols(args, catalog)
    classes = {catalog.asset_class(s) for s, _ in symbols}
    if len(classes) > 1 and args.commission is None and args.commission_model is None:
        raise ConfigError(f"the symbols are of several asset classes ({sorted(classes)}), "
                          "whose default commissions differ; give --commission-model and "
                          "--commission")
    base = argparse.Namespace(**{**vars(args), "sl": None, "tp": None, "leverage": 1.0})
    config = execution_config(base, catalog.asset_class(symbols[0][0]), symbols[0][0])
    start = _ts(args.start)
    end = _end_ts(args.end)
    return SweepSpec(
        strategies=strategies, symbols=symbols, grids=parse_grids(args.grid, strategies),
        sl=_floats(args.sl, "sl", True), tp=_floats(args.tp, "tp", True),
        leverage=_floats(args.leverage, "leverage"),
        start=None if start is None else start.isoformat(),
        end=None if end is None else end.isoformat(),
        config=config, engine=args.engine, min_trades=args.min_trades)


class ProgressBar:
    """A one-line progress bar on a stream (stderr), redrawn at most 10 times a second."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.t0 = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        frac = done / total if total else 1.0
        fill = int(round(frac * self.width))
        self.stream.write(f"\r[{'#' * fill}{'.' * (self.width - fill)}] {done}/{total} sets "
                          f"{frac:6.1%}  {now - self.t0:6.1f} s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def top_rows(results, min_trades: int, n: int):
    """Rows with at least ``min_trades`` trades, by Sharpe, then profit factor, then
    total return (descending; NaN last)."""
    ok = results[results["trades"] >= min_trades]
    return ok.sort_values(["sharpe", "profit_factor", "total_return"], ascending=False,
                          na_position="last", kind="stable").head(max(0, n))


def _json_value(v):
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    if hasattr(v, "item"):
        return _json_value(v.item())
    return v


def _size_and_confirm(spec, catalog, args) -> None:
    """Say the sweep's size, estimated time and memory and what is dropped as invalid
    (stderr); refuse a sweep with no valid row; above a threshold ask (or need --yes)."""
    import os

    from lab.research.sweep.plan import estimate
    from lab.research.sweep.run import load_data

    count = spec.check_runnable()
    data = load_data(spec, catalog)
    workers = args.workers if args.workers else (os.cpu_count() or 1)
    est = estimate(spec, {k: len(d["bars"]) for k, d in data.items()}, workers)
    print(f"sweep: {est['text']}", file=sys.stderr)
    if count["dropped_invalid"]:
        print(f"sweep: {count['dropped_invalid']:,} rows dropped as invalid: "
              + "; ".join(spec.invalid_reasons()), file=sys.stderr)
    if not est["confirm"] or args.yes:
        return
    if sys.stdin is not None and sys.stdin.isatty():
        answer = input(f"Start this sweep ({est['sets']:,} sets)? [y/N] ").strip().lower()
        if answer in ("y", "yes"):
            return
    raise ConfigError(f"not started: {est['text']}; add --yes to start it, or narrow the "
                      "grids or levels")


def main(args: argparse.Namespace) -> int:
    """Run the ``sweep`` command; returns the exit status (0 ok, 2 user error,
    130 interrupted)."""
    from lab.research.sweep import load_sweep, run_sweep
    from lab.api import open_catalog
    from lab.research.sweep.spec import SweepSpec  # noqa: F401  (documentation link)

    root = getattr(args, "store", None)
    try:
        from lab.core.paths import data_root

        catalog = open_catalog(data_root(root))
        if args.resume:
            spec = load_sweep(args.resume, root).spec
            sweep_id = args.resume
        else:
            spec = build_spec(args, catalog)
            sweep_id = args.sweep_id
            _size_and_confirm(spec, catalog, args)
        bar = ProgressBar()
        try:
            res = run_sweep(spec, sweep_id=sweep_id, root=root, scheduler=args.scheduler,
                            workers=args.workers, chunk_size=args.chunk_size,
                            progress=bar, catalog=catalog)
        except KeyboardInterrupt:
            print("\ninterrupted; finished chunks are kept: rerun with --resume "
                  f"{sweep_id or '<id printed in list_sweeps()>'}", file=sys.stderr)
            return 130
    except LabError as exc:
        from lab.cli import one_line

        print(one_line(exc), file=sys.stderr)
        return 2
    tracking = None if args.no_track else _track(res, args, catalog, root)
    rc = _report(res, args, tracking)
    if tracking is not None and not args.json:
        print(f"MLflow: run {tracking['run_id']} with {tracking['children']} child runs"
              if tracking["recorded"] else f"MLflow: not recorded ({tracking['error']})")
    return rc


def _track(res, args, catalog, root) -> dict:
    """Record the sweep in MLflow as the Sweep page's button does (never raises)."""
    from lab.research.sweep import recompute, streamed
    from lab.tracking import tracking_uri
    from lab.tracking.sweeps import track_sweep

    board = streamed.leaderboard(res, top=max(1, args.track_top))
    classes = {s: str(getattr(catalog.asset_class(s), "value", catalog.asset_class(s)))
               for s, _ in res.spec.symbols}
    out = track_sweep(res, board, top_n=max(0, args.track_top),
                      recompute=lambda r, row: recompute(r, row, catalog=catalog),
                      asset_classes=classes, trials=streamed.trials_summary(res),
                      write_tables=lambda folder: streamed.write_artifacts(res, folder),
                      tracking_uri=tracking_uri(root), source="cli")
    return {"recorded": out.recorded, "run_id": out.run_id,
            "children": sum(1 for ch in out.children if ch.recorded), "error": out.error}


#: Leaderboard columns: header (with unit) and kind (see ``lab.cli.tables``).
BOARD_SPECS = {
    "rank": ("rank", "int"), "strategy": ("strategy", "text"), "symbol": ("symbol", "text"),
    "timeframe": ("tf", "text"), "params": ("params", "text"), "levels": ("SL/TP/lev", "text"),
    "sl": ("SL", "level"), "tp": ("TP", "level"), "leverage": ("lev x", "ratio"),
    "sharpe": ("Sharpe", "ratio"), "dsr": ("DSR", "prob"), "psr": ("PSR", "prob"),
    "total_return": ("return %", "pct"), "cagr": ("CAGR %", "pct"),
    "max_drawdown": ("max DD %", "pct"), "win_rate": ("win %", "pct"),
    "exposure": ("exposure %", "pct"), "volatility": ("vol %", "pct"),
    "trades": ("trades", "int"), "stability": ("stability", "prob"),
    "profit_factor": ("PF", "ratio"), "sortino": ("Sortino", "ratio"),
    "calmar": ("Calmar", "ratio"), "fees": ("fees", "money"),
    "final_equity": ("final equity", "money"), "min_trl": ("MinTRL bars", "int")}
DEFAULT_COLUMNS = ("rank", "strategy", "params", "levels", "sharpe", "dsr", "total_return",
                   "max_drawdown", "trades", "stability")


def board_table(board, columns=None, width: int = 100) -> str:
    """The leaderboard as a terminal table (``DEFAULT_COLUMNS`` fit 100 columns)."""
    from lab.cli.tables import levels_text, params_text, render

    shown = board.copy()
    shown["levels"] = [levels_text(r) for r in board.to_dict("records")]
    shown["params"] = [params_text(p) for p in board["params"]]
    if columns is None:
        columns = list(DEFAULT_COLUMNS)
        if board["symbol"].nunique() > 1:
            columns.insert(2, "symbol")
    return render(shown, columns, BOARD_SPECS, width=width)


def _report(res, args, tracking: dict | None = None) -> int:
    from lab.research.sweep import streamed

    top = streamed.leaderboard(res, top=max(0, args.top))   # from the chunks, bounded
    csv_path = res.path / "leaderboard.csv"
    streamed.write_board(res, csv_path=csv_path)
    counts = res.spec.count()
    if args.json:
        doc = {"sweep_id": res.id, "path": str(res.path), "status": res.manifest["status"],
               "total_sets": counts["total"], "dropped_invalid": counts["dropped_invalid"],
               "min_trades": res.spec.min_trades,
               "ranked_sets": int(top.attrs["trials"] - top.attrs["excluded_min_trades"]),
               "leaderboard_csv": str(csv_path),
               "top": [{k: _json_value(v) for k, v in row.items()}
                       for row in top.to_dict(orient="records")]}
        for row in doc["top"]:
            row["params"] = json.loads(row["params"])
        doc["tracking"] = tracking
        print(json.dumps(doc, indent=2, allow_nan=False))
        return 0
    print(f"sweep {res.id}: {counts['total']:,} sets ({counts['dropped_invalid']:,} invalid "
          f"combinations dropped), {res.spec.engine} engine")
    print(f"top {len(top)} by Sharpe, then profit factor, then total return (at least "
          f"{res.spec.min_trades} trades);\nDSR = deflated Sharpe ratio over the "
          f"{top.attrs['trials']:,} trials, stability = Sharpe kept by the grid neighbours:")
    if len(top):
        columns = None
        if getattr(args, "columns", None):
            columns = [c.strip() for c in args.columns.split(",") if c.strip()]
        try:
            print(board_table(top, columns))
        except KeyError as exc:
            raise ConfigError(f"--columns: {exc.args[0]}; known: "
                              f"{', '.join(BOARD_SPECS)}") from None
    else:
        print("  (no set has enough trades; lower --min-trades)")
    print(f"full leaderboard (every column, every ranked set):\n  {csv_path}")
    print(f"all results (manifest.json, chunks/*.parquet; lab.research.sweep.load_sweep):"
          f"\n  {res.path}")
    return 0


def _standalone_parser() -> argparse.ArgumentParser:
    from lab.cli import _add_execution_args

    parser = OneLineParser(prog="python -m lab.cli.sweep",
                                     conflict_handler="resolve",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", help="data folder (default $LAB_DATA_DIR or ./data)")
    _fill(parser, _add_execution_args)
    return parser


if __name__ == "__main__":
    sys.exit(main(_standalone_parser().parse_args()))
