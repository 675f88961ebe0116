"""Command line: ``python -m lab <command> ...``.

Commands: ``backtest``, ``sweep`` (``lab.cli.sweep``), ``walkforward``
(``lab.cli.walkforward``), ``bot`` (``lab.cli.bot``), ``ingest``, ``download`` and
``refresh`` (``lab.cli.download``), ``datasets``,
``strategies``. Rates are
fractions everywhere (``--commission 0.001`` is 0.1 %, ``--slippage 0.0005`` is
5 bps, ``--sl 0.02`` is 2 % of the entry price). Errors print one line that says
what to fix and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lab.cli.dates import end_time, start_time
from lab.core.errors import ConfigError, LabError


def _add_execution_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("execution")
    g.add_argument("--cash", type=float, default=10_000.0,
                   help="starting equity, account currency (default 10000)")
    g.add_argument("--commission-model", choices=["percent", "per_share", "per_contract"],
                   help="default by asset class: crypto/fx/index percent, equity per_share "
                        "(IB fixed), future per_contract")
    g.add_argument("--commission", type=float,
                   help="rate in the model's unit: percent = fraction of notional (0.001 = "
                        "0.1 %%); per_share = account currency per share (0.005); "
                        "per_contract = account currency per contract (0.85); 0 = none")
    g.add_argument("--commission-min", type=float,
                   help="minimum per order, account currency (default: the model's, e.g. "
                        "IB's 1.00 per share order, and only while the rate is above 0)")
    g.add_argument("--commission-max", type=float,
                   help="cap per order as a fraction of notional (0.01 = 1 %%)")
    g.add_argument("--slippage", type=float, default=0.0,
                   help="fraction of price on market fills (0.0005 = 5 bps)")
    g.add_argument("--direction", choices=["long", "short", "both"], default="long")
    g.add_argument("--size-type", choices=["equity_fraction", "quantity", "notional"],
                   default="equity_fraction")
    g.add_argument("--size", type=float, default=1.0,
                   help="fraction of equity (1 = all), units, or currency, per --size-type")
    g.add_argument("--whole-units", action="store_true", help="round quantities down")
    g.add_argument("--min-notional", type=float, default=0.0,
                   help="smallest entry order value, currency: a smaller entry is not "
                        "placed, exits always are (e.g. 10 as Binance MIN_NOTIONAL; "
                        "default 0 = off)")
    g.add_argument("--leverage", type=float, default=1.0,
                   help="multiple of equity, x (1 = cash account, up to 100)")
    g.add_argument("--maintenance-margin", type=float, default=0.005,
                   help="fraction of notional (0.005 = 0.5 %%)")
    g.add_argument("--sl", type=float, help="stop-loss, fraction of entry price (0.02 = 2 %%)")
    g.add_argument("--tp", type=float, help="take-profit, fraction of entry price")
    g.add_argument("--both-hit", choices=["stop_first", "target_first", "nearest_to_open"],
                   default="stop_first", help="which fills when a bar touches stop and target")
    g.add_argument("--multiplier", type=float, default=None,
                   help="contract multiplier (default 1, or the instrument's with --spec)")
    g.add_argument("--initial-margin", type=float, default=None,
                   help="futures initial margin per contract, currency: margin = contracts "
                        "x initial margin sizes the entry; the position is closed when "
                        "equity falls to contracts x maintenance margin (default 0 = off)")
    g.add_argument("--maintenance-per-contract", type=float, default=None,
                   help="futures maintenance margin per contract, currency (default "
                        "initial margin / 1.1)")
    g.add_argument("--tick-size", type=float, default=None,
                   help="round stop and target prices to this tick (default 0 = off)")
    g.add_argument("--exchange-fee", type=float, default=None,
                   help="exchange + regulatory fee per contract per fill, currency")
    g.add_argument("--sec-fee", type=float, default=None,
                   help="fee on sales, fraction of the sale notional (SEC: 2.78e-05)")
    g.add_argument("--spec", action="store_true",
                   help="fill multiplier, tick, margins, fees and whole units from the "
                        "instrument registry (lab.costs.instruments) for the symbol; "
                        "explicit options win")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m lab``."""
    from lab.cli.dates import OneLineParser

    parser = OneLineParser(prog="python -m lab", description="Trading research workstation CLI")
    parser.add_argument("--store", help="data folder (default $LAB_DATA_DIR or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)

    bt = sub.add_parser("backtest", help="backtest a strategy on stored or file data")
    bt.add_argument("--data", required=True,
                    help="a stored symbol (see `datasets`) or a path to a CSV / Parquet file")
    bt.add_argument("--timeframe", help="bar size (e.g. 1h, 4h, 1d); coarser than stored "
                                        "resamples; default: the finest stored")
    bt.add_argument("--start", type=start_time,
                    help="first bar, inclusive (YYYY-MM-DD or ISO time, UTC)")
    bt.add_argument("--end", type=end_time,
                    help="last bar, inclusive (a bare date includes that whole day)")
    bt.add_argument("--asset-class", choices=["equity", "index", "fx", "crypto", "future"],
                    help="for a file (stored symbols know theirs); default equity")
    bt.add_argument("--strategy", default="sma_cross", help="see `strategies`")
    bt.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="strategy parameter, repeatable")
    bt.add_argument("--engine", default="vectorized",
                    choices=["vectorized", "backtrader", "vectorbt"],
                    help="vectorized (numba, default), backtrader (event-driven; also native "
                         "bt.Strategy classes), vectorbt (no leverage)")
    bt.add_argument("--no-track", action="store_true",
                    help="do not record the run in MLflow (recorded by default, with tearsheet)")
    bt.add_argument("--json", action="store_true", help="print JSON (metrics, trades, fingerprint)")
    _add_execution_args(bt)

    ing = sub.add_parser("ingest", help="validate a CSV / Parquet / Databento DBN file and add "
                                        "it to the store")
    ing.add_argument("path")
    ing.add_argument("--symbol", required=True)
    ing.add_argument("--timeframe", help="bar size; inferred from the timestamps when omitted")
    ing.add_argument("--asset-class", choices=["equity", "index", "fx", "crypto", "future"],
                     help="default equity; a DBN file of a futures dataset (GLBX.MDP3 ...) "
                          "future")
    ing.add_argument("--description", default="")
    ing.add_argument("--json", action="store_true")

    from lab.cli import sweep as sweep_cli

    sweep_cli.add_parser(sub)

    from lab.cli import walkforward as walkforward_cli

    walkforward_cli.add_parser(sub)

    from lab.cli import optimize as optimize_cli

    optimize_cli.add_parser(sub)

    from lab.cli import bot as bot_cli

    bot_cli.add_parser(sub)

    from lab.cli import download as download_cli

    download_cli.add_parsers(sub)

    from lab.cli import continuous as continuous_cli

    continuous_cli.add_parser(sub)

    sub.add_parser("datasets", help="list stored symbols and timeframes")
    sub.add_parser("strategies", help="list strategies and their parameters")
    return parser


def _parse_params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise LabError(f"--param {pair!r} must look like key=value (e.g. fast=10)")
        out[key.strip()] = value.strip()
    return out


def _contract_fields(args: argparse.Namespace, asset_class: str, symbol: str | None) -> dict:
    """Multiplier, tick, futures margins and fees: explicit options, else the registry's
    spec of ``symbol`` with ``--spec``, else off."""
    from lab.costs import instrument

    names = ("multiplier", "initial_margin", "maintenance_per_contract", "tick_size",
             "exchange_fee", "sec_fee")
    fields = {"multiplier": 1.0, "initial_margin": 0.0, "maintenance_per_contract": 0.0,
              "tick_size": 0.0, "exchange_fee": 0.0, "sec_fee": 0.0}
    whole = getattr(args, "whole_units", False)
    if getattr(args, "spec", False):
        if not symbol:
            raise LabError("--spec needs a stored symbol or a file named after one")
        spec = instrument(symbol, asset_class)
        fields.update(multiplier=spec.multiplier, tick_size=spec.tick_size,
                      exchange_fee=spec.exchange_fee, sec_fee=spec.sec_fee_rate)
        if spec.is_future:
            fields.update(initial_margin=spec.initial_margin,
                          maintenance_per_contract=spec.maintenance_margin)
        whole = whole or spec.qty_step == 1.0
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            fields[name] = value
    fields["whole_units"] = whole
    return fields


def execution_config(args: argparse.Namespace, asset_class: str, symbol: str | None = None):
    """``ExecutionConfig`` from parsed CLI arguments (commission default by asset class;
    contract terms from ``--spec`` and the registry's spec of ``symbol``).

    A minimum per order applies only to a positive rate unless ``--commission-min`` is
    given: ``--commission 0`` means no commission on every model (the per-share
    default keeps IB's $1 minimum only while its rate is above 0).
    """
    from lab.api import default_commission
    from lab.core.config import Commission, ExecutionConfig

    base = default_commission(asset_class, args.commission_model)
    rate = base.rate if args.commission is None else args.commission
    if args.commission_min is not None:
        minimum = args.commission_min
    else:
        minimum = base.minimum if rate > 0 else 0.0
    commission = Commission(
        base.model, rate=rate, minimum=minimum,
        maximum_fraction=(base.maximum_fraction if args.commission_max is None
                          else args.commission_max))
    return ExecutionConfig(
        cash=args.cash, direction=args.direction, leverage=args.leverage,
        maintenance_margin=args.maintenance_margin, sl=args.sl, tp=args.tp,
        both_hit=args.both_hit, commission=commission, slippage=args.slippage,
        size_type=args.size_type, size=args.size, min_notional=args.min_notional,
        **_contract_fields(args, asset_class, symbol))


def _cmd_backtest(args: argparse.Namespace) -> int:
    from lab.api import open_catalog, run_backtest
    from lab.data import read_bars_file, resample

    path = Path(args.data)
    if path.suffix.lower() in (".csv", ".parquet", ".pq") or path.exists():
        if not path.exists():
            raise LabError(f"file {path} does not exist")
        bars, report = read_bars_file(path, timeframe=None)
        stored_tf = report.timeframe
        timeframe = args.timeframe or stored_tf
        if timeframe != stored_tf:
            bars = resample(bars, timeframe)
        asset_class = args.asset_class or "equity"
        symbol = path.stem
        bars = bars.loc[_ts(args.start):_end_ts(args.end)]
    else:
        catalog = open_catalog(args.store)
        symbol = args.data
        asset_class = catalog.asset_class(symbol)
        timeframe = args.timeframe or _finest_timeframe(catalog, symbol)
        bars = catalog.load(symbol, timeframe, start=_ts(args.start), end=_end_ts(args.end))
    config = execution_config(args, asset_class, symbol)
    result = run_backtest(bars, args.strategy, _parse_params(args.param), config,
                          asset_class=asset_class, timeframe=timeframe, symbol=symbol,
                          engine=args.engine)
    tracking = None
    if not args.no_track:
        tracking = _track(result, bars, asset_class)
    if args.json:
        doc = json.loads(result.to_json(trades=True))
        if tracking is not None:
            doc["tracking"] = {"recorded": tracking.recorded, "run_id": tracking.run_id,
                               "experiment": tracking.experiment, "error": tracking.error}
        print(json.dumps(doc, indent=2))
    else:
        print(_summary_text(result))
        if tracking is not None:
            print(_tracking_text(tracking))
    return 0


def _track(result, bars, asset_class):
    from lab.api import record_backtest
    from lab.ui.charts import candlestick_figure, equity_drawdown_figure

    figures = {"price_trades": candlestick_figure(bars, result.trades),
               "equity_drawdown": equity_drawdown_figure(result.equity, result.drawdown)}
    return record_backtest(result, asset_class=asset_class, bars=bars, source="cli",
                           figures=figures)


def _tracking_text(outcome) -> str:
    if outcome.recorded:
        extra = f" ({outcome.error})" if outcome.error else ""
        return f"  recorded in MLflow: run {outcome.run_id}, experiment {outcome.experiment}{extra}"
    return f"  NOT recorded in MLflow: {outcome.error}"


def _ts(value):
    """``--start`` as a UTC Timestamp (already parsed by ``lab.cli.dates``)."""
    from lab.cli.dates import parse_time

    return _checked(parse_time, value, "--start")


def _end_ts(value):
    """Inclusive end: a bare date (YYYY-MM-DD) means the whole of that day."""
    from lab.cli.dates import parse_time

    return _checked(parse_time, value, "--end", end=True)


def _checked(parse, value, what, **kw):
    import argparse as _argparse

    try:
        return parse(value, what, **kw)
    except _argparse.ArgumentTypeError as exc:
        raise ConfigError(str(exc)) from None


_FILE_SUFFIXES = (".csv", ".parquet", ".pq", ".tsv", ".txt", ".gz")


def is_data_path(value: str) -> bool:
    """True when ``--data`` names a file (a bars suffix, or an existing path)."""
    return Path(value).suffix.lower() in _FILE_SUFFIXES or Path(value).is_file()


def data_symbol(catalog, value: str, asset_class: str | None = None,
                timeframe: str | None = None) -> str:
    """The stored symbol a ``--data`` value stands for.

    A stored symbol is returned as given. A CSV / Parquet path is validated like
    ``ingest`` and stored as ``file_<name>`` (replacing an earlier file of that name),
    so that the background workers of ``sweep``, ``walkforward`` and ``optimize`` read it
    from the store; one line on stderr says so.

    Raises
    ------
    LabError
        A missing file, or a file that fails validation (nothing is stored).
    """
    if not is_data_path(value):
        return value
    from lab.data import ingest_file

    path = Path(value)
    if not path.is_file():
        raise LabError(f"--data file {path} does not exist (pass a CSV / Parquet path or "
                       "a stored symbol, see `datasets`)")
    stem = path.name.split(".")[0]
    symbol = "file_" + "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:50]
    report = ingest_file(catalog, path, symbol=symbol, timeframe=timeframe,
                         asset_class=asset_class or "equity", source=f"file:{path.name}",
                         description=f"from --data {path}")
    print(f"{path} validated and stored as {symbol} ({report.timeframe}, "
          f"{report.rows:,} bars)", file=sys.stderr)
    return symbol


def _finest_timeframe(catalog, symbol: str) -> str:
    from lab.core.errors import DataError
    from lab.core.types import TIMEFRAME_SECONDS

    ds = catalog.datasets()
    tfs = ds.loc[ds["symbol"] == symbol, "timeframe"].tolist()
    if not tfs:
        known = ", ".join(sorted(ds["symbol"].unique()))
        raise DataError(f"no stored data for {symbol!r}; stored symbols: {known}. "
                        "Pass a CSV / Parquet path or ingest it first")
    return min(tfs, key=lambda t: TIMEFRAME_SECONDS.get(t, 10**9))


def _summary_text(result) -> str:
    from lab.metrics import METRIC_LABELS, format_metric

    s = result.summary()
    lines = [f"{s['strategy']} {s['params']} on {s['symbol']} {s['timeframe']} "
             f"({s['start'][:10]} .. {s['end'][:10]}, {s['bars']} bars, "
             f"data {s['data_fingerprint']}, engine {s['engine']})"]
    for key, (label, _) in METRIC_LABELS.items():
        if key in result.metrics:
            lines.append(f"  {label:<30} {format_metric(key, result.metrics[key])}")
    if len(result.trades):
        reasons = result.trades["exit_reason"].value_counts().to_dict()
        lines.append("  exits: " + ", ".join(f"{k} {v}" for k, v in reasons.items()))
    return "\n".join(lines)


def _cmd_ingest(args: argparse.Namespace) -> int:
    from lab.api import open_catalog
    from lab.data import ingest_file

    catalog = open_catalog(args.store)
    report = ingest_file(catalog, args.path, symbol=args.symbol, timeframe=args.timeframe,
                         asset_class=args.asset_class, source=str(args.path),
                         description=args.description)
    print(json.dumps(report.to_dict(), indent=2, default=str) if args.json else report.summary())
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from lab.api import open_catalog

    from lab.cli.tables import render

    ds = open_catalog(args.store).datasets()
    specs = {"symbol": ("symbol", "text"), "timeframe": ("tf", "text"),
             "asset_class": ("class", "text"), "start": ("first bar", "date"),
             "end": ("last bar (UTC)", "date"), "rows": ("bars", "int"),
             "fingerprint": ("fingerprint", "text")}
    print(render(ds, list(specs), specs))
    return 0


def _plain(v: float) -> str:
    """A number without scientific notation: ``1000000000`` -> ``"1,000,000,000"``."""
    v = float(v)
    return f"{int(v):,d}" if v.is_integer() else f"{v:,.6f}".rstrip("0")


def _cmd_strategies(args: argparse.Namespace) -> int:
    from lab.core import registry

    import textwrap

    print("strategy        family          parameters: default (search range; any value "
          "that makes sense runs)")
    for spec in registry.all_strategies():
        params = ", ".join(f"{s.name}={_plain(s.default)} ({_plain(s.low)}-{_plain(s.high)})"
                           for s in spec.params_cls.specs())
        lines = textwrap.wrap(params, 100 - 32) or [""]
        print(f"{spec.name:<15} {spec.family:<15} {lines[0]}")
        for more in lines[1:]:
            print(f"{'':<32}{more}")
        for text in textwrap.wrap(spec.description or "", 100 - 16):
            print(f"{'':<16}{text}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from lab.cli import sweep as sweep_cli

    return sweep_cli.main(args)


def _cmd_optimize(args: argparse.Namespace) -> int:
    from lab.cli import optimize as optimize_cli

    return optimize_cli.main(args)


def _cmd_bot(args: argparse.Namespace) -> int:
    from lab.cli import bot as bot_cli

    return bot_cli.main(args)


def _cmd_download(args: argparse.Namespace) -> int:
    from lab.cli import download as download_cli

    return download_cli.cmd_download(args)


def _cmd_refresh(args: argparse.Namespace) -> int:
    from lab.cli import download as download_cli

    return download_cli.cmd_refresh(args)


def _cmd_walkforward(args: argparse.Namespace) -> int:
    from lab.cli import walkforward as walkforward_cli

    return walkforward_cli.main(args)


def _cmd_continuous(args: argparse.Namespace) -> int:
    from lab.cli import continuous as continuous_cli

    return continuous_cli.main(args)


COMMANDS = {"backtest": _cmd_backtest, "ingest": _cmd_ingest, "datasets": _cmd_datasets,
            "strategies": _cmd_strategies, "sweep": _cmd_sweep,
            "walkforward": _cmd_walkforward, "optimize": _cmd_optimize, "bot": _cmd_bot,
            "download": _cmd_download, "refresh": _cmd_refresh,
            "continuous": _cmd_continuous}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 on a user error)."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except LabError as exc:
        print(one_line(exc), file=sys.stderr)
        return 2


def one_line(exc: BaseException) -> str:
    """``error: <message>`` on one line (a refusal's rule lines joined with ``; ``)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    head, rest = (lines[0], lines[1:]) if lines else (type(exc).__name__, [])
    return "error: " + head + (" " + "; ".join(r.lstrip("- ") for r in rest) if rest else "")
