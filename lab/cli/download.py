"""``python -m lab download <source> ...`` and ``python -m lab refresh SYMBOL``.

::

    python -m lab download ccxt --exchange binance --symbol BTC/USDT --timeframe 1h \\
        --start 2021-01-01 [--end 2021-06-30] [--as BTCUSDT_BINANCE]
    python -m lab download yfinance --symbol SPY --timeframe 1d --start 2000-01-01 \\
        [--adjust raw|splits|all]
    python -m lab download databento --dataset GLBX.MDP3 --symbol MCL.c.0 \\
        --schema ohlcv-1m --start 2024-01-02 [--end ...] [--yes]
    python -m lab refresh BTCUSDT_BINANCE [--timeframe 1h] [--yes]

A download fetches only what the store lacks, validates and stores window by window
(progress on stderr), and resumes where it stopped when run again (after an error,
Ctrl-C or a kill). ``--end`` is inclusive: a bare date includes that whole day.
Databento charges: its cost is printed and must be accepted (``--yes``, or y at the
prompt) before anything is fetched.
"""

from __future__ import annotations

import argparse
import sys

from lab.core.errors import LabError
from lab.data.sources.base import register_source

register_source("ib", "lab.live.ib.history")     # IB history lives in lab.live.ib

SCHEMAS = {"ohlcv-1s": "1s", "ohlcv-1m": "1m", "ohlcv-1h": "1h", "ohlcv-1d": "1d"}
ASSET_CLASSES = ["equity", "index", "fx", "crypto", "future"]


def add_parsers(sub) -> None:
    """Add ``download`` and ``refresh`` to the ``python -m lab`` subparsers."""
    dl = sub.add_parser("download", help="download bars from ccxt, yfinance, Databento or IB "
                                         "into the store (incremental, resumable)")
    kinds = dl.add_subparsers(dest="source", required=True)

    def common(p: argparse.ArgumentParser, timeframe: bool = True) -> None:
        p.add_argument("--symbol", required=True, help="the source's own symbol")
        if timeframe:
            p.add_argument("--timeframe", required=True, help="bar size (1m, 5m, 1h, 1d ...)")
        p.add_argument("--start", required=True,
                       help="first bar (YYYY-MM-DD or ISO time, UTC)")
        p.add_argument("--end", help="last bar, inclusive (a bare date includes that day); "
                                     "default: up to the last closed bar")
        p.add_argument("--as", dest="store_as",
                       help="symbol to store under (default: see the source)")
        p.add_argument("--asset-class", choices=ASSET_CLASSES,
                       help="default: crypto (ccxt), equity or index (yfinance), future "
                            "(Databento GLBX)")
        p.add_argument("--json", action="store_true", help="print the result as JSON")

    cc = kinds.add_parser("ccxt", help="public OHLCV of a ccxt exchange (no key)")
    cc.add_argument("--exchange", default="binance", help="ccxt exchange id (default binance)")
    common(cc)
    yf = kinds.add_parser("yfinance", help="Yahoo Finance stocks, ETFs and indices")
    yf.add_argument("--adjust", choices=["raw", "splits", "all"], default="all",
                    help="raw = as traded; splits = split-adjusted; all = split and "
                         "dividend adjusted (default)")
    common(yf)
    dbn = kinds.add_parser("databento", help="Databento OHLCV (needs DATABENTO_API_KEY; "
                                              "charged: shows the cost first)")
    dbn.add_argument("--dataset", default="GLBX.MDP3")
    dbn.add_argument("--schema", required=True, choices=list(SCHEMAS))
    dbn.add_argument("--yes", action="store_true", help="accept the cost without asking")
    common(dbn, timeframe=False)

    from lab.cli.ib import add_download_parser

    add_download_parser(kinds, common)

    rf = sub.add_parser("refresh", help="append the bars closed since a downloaded "
                                        "dataset's last bar")
    rf.add_argument("symbol", help="stored symbol (see `datasets`)")
    rf.add_argument("--timeframe", help="one stored timeframe (default: all downloaded)")
    rf.add_argument("--yes", action="store_true", help="accept a Databento cost")
    rf.add_argument("--json", action="store_true")


def _spec(args: argparse.Namespace):
    from lab.cli import _end_ts, _ts
    from lab.data.download import DownloadSpec

    start, end = _ts(args.start), _end_ts(args.end) if args.end else None
    if end is not None:
        import pandas as pd

        end = end + pd.Timedelta(1, "ns")          # inclusive last bar -> exclusive end
    if args.source == "ib":
        from lab.cli.ib import download_options

        options, timeframe = download_options(args), args.timeframe
    elif args.source == "ccxt":
        options, timeframe = {"exchange": args.exchange}, args.timeframe
    elif args.source == "yfinance":
        options, timeframe = {"adjust": args.adjust}, args.timeframe
    else:
        options, timeframe = {"dataset": args.dataset}, SCHEMAS[args.schema]
    return DownloadSpec(args.source, args.symbol.strip(), timeframe, start.isoformat(),
                        end.isoformat() if end is not None else None,
                        store_as=args.store_as or "", asset_class=args.asset_class or "",
                        options=options)


def _printer():
    def show(p) -> None:
        print(f"  {p.done}/{p.total} windows, {p.fetched:,} bars fetched, "
              f"{p.stored_rows:,} in the dataset (last {p.last or '-'})",
              file=sys.stderr, flush=True)
    return show


def _accept_cost(plan, yes: bool) -> float | None:
    """The cost the user accepted (None when the source is free)."""
    if plan.cost is None:
        return None
    print(plan.summary(), file=sys.stderr)
    if yes:
        return plan.cost
    if sys.stdin.isatty():
        answer = input(f"Download for ${plan.cost:,.2f}? [y/N] ").strip().lower()
        if answer in ("y", "yes"):
            return plan.cost
    raise LabError(f"not downloaded: it costs ${plan.cost:,.2f} (Databento "
                   "metadata.get_cost); pass --yes to accept")


def _report(results, as_json: bool) -> None:
    import json

    if as_json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return
    for r in results:
        print(r.summary())
        print(f"  refresh later with: python -m lab refresh {r.symbol} --timeframe {r.timeframe}")


def cmd_download(args: argparse.Namespace) -> int:
    """Run ``python -m lab download``."""
    from lab.api import open_catalog
    from lab.data.download import download, plan_download
    from lab.data.sources.base import get_source

    catalog = open_catalog(args.store)
    spec = _spec(args)
    if spec.source == "ib":
        from lab.cli.ib import check_gateway

        check_gateway(spec.options)         # no gateway: one line, nothing created
    source = get_source(spec.source, **spec.options)
    plan = plan_download(catalog, spec, source)
    max_cost = _accept_cost(plan, getattr(args, "yes", False))
    if plan.cost is None:
        print(plan.summary(), file=sys.stderr)
    try:
        result = download(catalog, spec, source, progress=_printer(), max_cost=max_cost)
    except KeyboardInterrupt:
        print("interrupted: the windows fetched so far are stored; run the same command "
              "again to resume", file=sys.stderr)
        return 130
    _report([result], args.json)
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    """Run ``python -m lab refresh``."""
    from lab.api import open_catalog
    from lab.data.download import CostNotAccepted, refresh

    catalog = open_catalog(args.store)
    try:
        results = refresh(catalog, args.symbol, args.timeframe, progress=_printer(),
                          max_cost=float("inf") if args.yes else None)
    except CostNotAccepted as exc:
        raise LabError(f"not refreshed: it costs ${exc.cost:,.2f} (Databento "
                       "metadata.get_cost); pass --yes to accept") from None
    _report(results, args.json)
    return 0
