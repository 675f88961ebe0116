"""Interactive Brokers options of the CLI: ``bot start ... --broker ib`` (and the IB
contract of a bot or a download).

``--host --port --client-id --account`` default to ``LAB_IB_*`` then IB Gateway paper
(127.0.0.1:4002, client id 1). The contract: ``--sec-type`` (STK, ETF, FUT, CONTFUT,
CASH), ``--exchange``, ``--currency``, ``--expiry YYYYMM``, ``--con-id``. Orders to a
live account need ``--live --confirm ACCOUNT`` and ``LAB_LIVE_TRADING=1``. Before a bot
is recorded the gateway is checked once, so a missing gateway fails at once with what
to start, and nothing is written.
"""

from __future__ import annotations

import argparse

from lab.core.errors import LabError


def add_connection_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Interactive Brokers (--broker ib)")
    g.add_argument("--host", help="IB Gateway / TWS host (default $LAB_IB_HOST or 127.0.0.1)")
    g.add_argument("--port", type=int,
                   help="API port (default $LAB_IB_PORT or 4002): IB Gateway paper 4002, "
                        "live 4001; TWS paper 7497, live 7496")
    g.add_argument("--client-id", type=int, help="API client id (default $LAB_IB_CLIENT_ID or 1)")
    g.add_argument("--account", help="account id when the login manages several")
    g.add_argument("--sec-type", default="STK",
                   help="STK (stocks, ETFs), FUT (with --expiry), CONTFUT (history), CASH")
    g.add_argument("--currency", default="USD")
    g.add_argument("--expiry", default="", help="futures: YYYYMM or YYYYMMDD")
    g.add_argument("--con-id", type=int, default=0, help="IB contract id (overrides the rest)")


def add_bot_args(p: argparse.ArgumentParser) -> None:
    """``--broker`` and the IB options of ``bot start``."""
    p.add_argument("--broker", choices=["paper", "ib"], default="paper",
                   help="paper: simulated fills; ib: orders at IB Gateway / TWS")
    add_connection_args(p)
    p.add_argument("--live", action="store_true",
                   help="trade a LIVE IB account (real money); needs --confirm ACCOUNT and "
                        "LAB_LIVE_TRADING=1")
    p.add_argument("--confirm", metavar="ACCOUNT",
                   help="the live account id typed again as confirmation")


def contract(args, symbol: str) -> dict:
    """The ``ContractSpec`` of the flags as a dict (validated)."""
    from lab.live.ib.contracts import ContractSpec

    exchange = args.exchange if args.exchange not in (None, "binance") else ""
    return ContractSpec(symbol, args.sec_type, exchange, args.currency, args.expiry,
                        args.con_id).to_dict()


def bot_broker(args, symbol: str) -> tuple[dict, str]:
    """``(broker dict, account kind)`` of ``bot start --broker ib``; checks the live switch
    and the gateway first.

    Raises
    ------
    LabError
        Live without the switch or the confirmation; no gateway (host, port, what to
        start); the account is not managed by the login.
    """
    from lab.live.ib.connection import probe
    from lab.live.ib.factory import live_trading_enabled
    from lab.live.ib.settings import IBSettings

    if args.live and not live_trading_enabled():
        raise LabError("live trading is switched off: set LAB_LIVE_TRADING=1 to allow "
                       "orders with real money (paper is the default)")
    if args.live and not args.confirm:
        raise LabError("a live bot needs --confirm ACCOUNT: the live account id typed again")
    settings = IBSettings.resolve(host=args.host, port=args.port, client_id=args.client_id,
                                  account=args.account)
    spec = contract(args, symbol)
    status = probe(IBSettings(host=settings.host, port=settings.port,
                              client_id=settings.client_id, timeout_s=5))
    if not status.connected:
        raise LabError(f"no IB gateway: {status.last_error}")
    if status.mode == "live" and not args.live:
        raise LabError(f"{settings.where} is logged in to a LIVE account; a paper bot needs a "
                       "paper login (IB Gateway 4002, TWS 7497), or pass --live --confirm "
                       "ACCOUNT")
    broker = {"kind": "ib", "host": settings.host, "port": settings.port,
              "client_id": settings.client_id, "account": settings.account,
              "contract": spec}
    if args.live:
        broker["confirm"] = args.confirm
    return broker, "live" if args.live else "paper"


def add_download_parser(kinds, common) -> None:
    """``python -m lab download ib ...`` (``kinds``: the download subparsers; ``common``
    adds --symbol/--timeframe/--start/--end/--as/--asset-class/--json)."""
    ib = kinds.add_parser("ib", help="Interactive Brokers historical bars through IB Gateway "
                                     "/ TWS (paced within IB's limits)")
    add_connection_args(ib)
    ib.add_argument("--exchange", default="", help="contract exchange (default SMART / the "
                                                   "future's exchange)")
    ib.add_argument("--rth", action="store_true", help="regular trading hours only")
    common(ib)


def download_options(args) -> dict:
    """The ``ib`` source options of the flags (connection only when given)."""
    opts = {"contract": contract(args, args.symbol.strip()), "use_rth": bool(args.rth)}
    for key in ("host", "port", "client_id"):
        if getattr(args, key, None) not in (None, ""):
            opts[key] = getattr(args, key)
    return opts


def check_gateway(options: dict) -> None:
    """One connection attempt before a download: no gateway -> one clear line, and
    nothing is created in the store.

    Raises
    ------
    LabError
    """
    from lab.live.ib.connection import probe
    from lab.live.ib.settings import IBSettings

    settings = IBSettings.resolve(host=options.get("host"), port=options.get("port"),
                                  client_id=options.get("client_id"))
    status = probe(IBSettings(host=settings.host, port=settings.port,
                              client_id=settings.client_id, timeout_s=5))
    if not status.connected:
        raise LabError(f"no IB gateway: {status.last_error}")
