"""Build the IB broker and feed of a bot from its frozen ``BotConfig``.

``config.broker`` for IB::

    {"kind": "ib", "host": "127.0.0.1", "port": 4002, "client_id": 1, "account": "",
     "contract": {"symbol": "MCL", "sec_type": "FUT", "expiry": "202506"},
     "confirm": "U1234567"}      # only for a live account: the typed account id

Missing values come from ``LAB_IB_*`` and IB's defaults (``settings.IBSettings``);
``contract`` defaults to the bot's symbol as a stock. ``config.feed`` for IB::

    {"kind": "ib", "warmup": 200}        # 5-second bars folded into the bot's timeframe

Broker and feed of one bot share one API connection (one client id). Live trading is
switched on by ``LAB_LIVE_TRADING=1`` in the bot's environment; a bot whose config says
``account="live"`` also needs ``confirm`` equal to the account IB reports.
"""

from __future__ import annotations

import os
from pathlib import Path

from lab.core.types import timeframe_seconds
from lab.live.ib.connection import IBConnection
from lab.live.ib.contracts import ContractSpec
from lab.live.ib.settings import IBSettings

_SHARED: dict[tuple, IBConnection] = {}


def live_trading_enabled(env=None) -> bool:
    """The configuration switch for real-money orders: ``LAB_LIVE_TRADING=1``."""
    env = os.environ if env is None else env
    return str(env.get("LAB_LIVE_TRADING", "")).strip().lower() in ("1", "true", "yes", "on")


def settings_of(broker: dict) -> IBSettings:
    return IBSettings.resolve(host=broker.get("host"), port=broker.get("port"),
                              client_id=broker.get("client_id"), account=broker.get("account"))


def contract_of(config) -> ContractSpec:
    spec = dict(config.broker.get("contract") or {"symbol": config.symbol})
    return ContractSpec(**spec)


def shared_connection(settings: IBSettings) -> IBConnection:
    """One connection per (host, port, client id) in this process: the open one, else a
    new one (an ib_async client closed in one thread, e.g. by an earlier Streamlit run
    that flattened a stopped bot, does not connect again from another)."""
    key = (settings.host, settings.port, settings.client_id)
    conn = _SHARED.get(key)
    if conn is None or not conn.connected:
        conn = _SHARED[key] = IBConnection(settings)
    return conn


def broker_from_config(config, uid: str, root: str | Path | None = None):
    """The started ``IBBroker`` of a bot (connected, contract qualified, caught up).

    Raises
    ------
    BrokerError
        No gateway (host, port and what to start), unknown contract, live refused.
    """
    from lab.live.ib.broker import IBBroker
    from lab.live.ib.journal import Journal, journal_path
    from lab.core.paths import data_root

    conn = shared_connection(settings_of(config.broker))
    journal = Journal(journal_path(data_root(root)), uid)
    broker = IBBroker(conn, contract_of(config), uid=uid, symbol=config.symbol,
                      execution=config.execution, journal=journal,
                      live=config.account == "live", live_enabled=live_trading_enabled(),
                      confirm=config.broker.get("confirm"), name=config.name)
    return broker.start()


def feed_from_config(config, stop=None):
    """The ``IBBarFeed`` of a bot, on the broker's connection."""
    from lab.live.ib.contracts import qualify
    from lab.live.ib.realtime import IBBarFeed
    from lab.live.ib.vocabulary import WHAT_TO_SHOW

    conn = shared_connection(settings_of(config.broker))
    if not conn.connected:
        conn.connect()
    spec = contract_of(config)
    feed = dict(config.feed)
    return IBBarFeed(conn, qualify(conn, spec), timeframe_seconds(config.timeframe),
                     what=feed.get("what") or WHAT_TO_SHOW[spec.sec_type],
                     warmup_bars=int(feed.get("warmup", 0)),
                     poll_s=float(feed.get("poll_s", 0.5)), stop=stop)
