"""``python -m lab continuous``: stitch stored contract months into a continuous series.

Example::

    python -m lab continuous --contracts ESZ13,ESH14 --timeframe 1m --symbol ES_CONT \\
        --roll volume --adjust ratio
    python -m lab continuous --contracts MCLF6,MCLG6 --timeframe 1h --symbol MCL_CONT \\
        --roll days --days-before 3 --expiry MCLF6=2025-12-17T19:30Z \\
        --expiry MCLG6=2026-01-20T19:30Z

Expiries of ES, MES, NQ and MNQ contracts follow the CME rule (third Friday, 08:30
Chicago); give others with ``--expiry CODE=TIME`` (Databento definition records carry
them as ``expiration``). The result is stored as a ``future`` dataset whose sidecar
keeps the roll rule, contracts and roll dates (shown on the Data page).
"""

from __future__ import annotations

import argparse
import json

from lab.core.errors import LabError


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``continuous`` command to ``subparsers`` (of ``lab.cli.build_parser``)."""
    p = subparsers.add_parser("continuous", help="continuous futures from stored contracts",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--contracts", required=True,
                   help="stored contract symbols, comma separated (e.g. ESZ13,ESH14)")
    p.add_argument("--timeframe", required=True, help="stored bar size of the contracts")
    p.add_argument("--symbol", required=True, help="store the result under this symbol")
    p.add_argument("--roll", choices=["volume", "days"], default="volume")
    p.add_argument("--days-before", type=int, default=5,
                   help="calendar days before expiry for --roll days (default 5)")
    p.add_argument("--adjust", choices=["none", "difference", "ratio"], default="none",
                   help="back-adjustment of the bars before each roll (default none)")
    p.add_argument("--expiry", action="append", default=[], metavar="CODE=TIME",
                   help="last trading time (UTC) of a contract, repeatable")
    p.add_argument("--description", default="")
    p.add_argument("--json", action="store_true", help="print the roll metadata as JSON")
    return p


def main(args: argparse.Namespace) -> int:
    """Build, store and report the continuous series (exit status 0)."""
    import pandas as pd

    from lab.api import open_catalog
    from lab.core.errors import DataError
    from lab.data.continuous import continuous_futures, equity_index_expiry, store_continuous

    catalog = open_catalog(args.store)
    codes = [c.strip() for c in args.contracts.split(",") if c.strip()]
    if len(codes) < 2:
        raise LabError("--contracts needs two or more stored contract symbols")
    expiries = {}
    for item in args.expiry:
        code, sep, when = item.partition("=")
        if not sep:
            raise LabError(f"--expiry {item!r} must look like CODE=TIME (e.g. "
                           "ESZ13=2013-12-20T14:30Z)")
        ts = pd.Timestamp(when)
        expiries[code.strip()] = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    for code in codes:
        if code not in expiries:
            try:
                expiries[code] = equity_index_expiry(code)
            except DataError:
                if args.roll == "days":
                    raise
    contracts = {c: catalog.load(c, args.timeframe) for c in codes}
    series = continuous_futures(contracts, expiries, roll=args.roll,
                                days_before=args.days_before, adjust=args.adjust)
    store_continuous(catalog, series, args.symbol, args.timeframe, args.description)
    meta = series.metadata()
    if args.json:
        print(json.dumps(meta, indent=1))
    else:
        print(f"stored {args.symbol} {args.timeframe}: {len(series.bars)} bars from "
              f"{', '.join(meta['contracts'])}; rolls: "
              + (", ".join(f"{r['from']}->{r['to']} at {r['ts']}" for r in meta["rolls"])
                 or "none"))
    return 0
