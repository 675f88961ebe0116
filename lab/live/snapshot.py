"""A consistent read of a bot's ledger, cut at the last bar the bot has finished.

A running bot writes each bar in several commits (``lab.live.bot``): the bar's fills,
position and equity first, then the intents and acknowledgements of the orders it
decides at the close, then ``bars_seen`` / ``last_bar_time``. Reading equity, fills and
position one after the other while it runs mixes bars (the equity of bar 100, the fills
of bar 103). ``snapshot`` reads everything in one SQLite read transaction (WAL: one
consistent view while the bot keeps writing) and keeps only what belongs to bars up to
the bot's last finished bar (the one recorded in ``last_bar_time``), so that a replay
check compares like with like at any moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lab.live.config import BotConfig
from lab.live.runner import find_ledger
from lab.live.trades import trades_from_fills

EQUITY_COLUMNS = ["bar", "time", "open", "high", "low", "close", "volume", "cash",
                  "position", "equity"]


@dataclass(frozen=True)
class BotSnapshot:
    """What a bot had recorded after its last finished bar.

    Attributes
    ----------
    config : BotConfig
        The frozen configuration.
    state : str
        The bot's state as recorded (``running``, ``finished``...).
    last_bar : int or None
        Ledger bar index (warm-up bars counted) of the last finished bar; None before
        the first one.
    equity : DataFrame
        One row per finished bar: ``bar``, OHLCV, ``cash``, signed ``position`` (units),
        ``equity`` (account currency) at the close; UTC ``ts_event`` index (bar open).
    fills : list of dict
        Ledger fills of the finished bars, in execution order.
    trades : DataFrame
        Closed trades built from ``fills`` (columns of ``lab backtest``'s trades).
    position : float
        Signed position after the last finished bar, units (0.0 before any bar).
    """

    config: BotConfig
    state: str
    last_bar: int | None
    equity: pd.DataFrame
    fills: list
    trades: pd.DataFrame
    position: float


def snapshot(name: str, root: str | Path | None = None) -> BotSnapshot:
    """Read bot ``name``'s ledger in one transaction, cut at its last finished bar.

    Parameters
    ----------
    name : str
        Bot name.
    root : str or Path, optional
        Data folder (default ``$LAB_DATA_DIR`` or ``./data``).

    Returns
    -------
    BotSnapshot

    Raises
    ------
    LabError
        No bot of that name.
    """
    ledger = find_ledger(name, root)
    try:
        con = ledger.con
        con.execute("BEGIN")            # deferred: every SELECT below sees one snapshot
        try:
            row = ledger.bot(name)
            last = None
            if row["last_bar_time"] is not None:
                last = con.execute("SELECT MAX(bar) FROM equity WHERE bot = ? AND time = ?",
                                   (name, row["last_bar_time"])).fetchone()[0]
            if last is None and row["bars_seen"]:
                first = con.execute("SELECT MIN(bar) FROM equity WHERE bot = ?",
                                    (name,)).fetchone()[0]
                last = None if first is None else first + int(row["bars_seen"]) - 1
            rows = con.execute("SELECT * FROM equity WHERE bot = ? AND bar <= ? ORDER BY bar",
                               (name, -1 if last is None else last)).fetchall()
            fills = [f for f in ledger.fills(name) if last is not None and f["bar"] <= last]
        finally:
            con.execute("COMMIT")
    finally:
        ledger.close()
    config = BotConfig.from_dict(row["config"])
    frame = pd.DataFrame([dict(r) for r in rows], columns=EQUITY_COLUMNS)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("time"), utc=True),
                                   name="ts_event")
    ex = config.execution
    first_bar = int(frame["bar"].iloc[0]) if len(frame) else 0
    trades = trades_from_fills(fills, float(ex.multiplier), float(ex.leverage),
                               first_bar=first_bar, initial_margin=float(ex.initial_margin))
    position = float(frame["position"].iloc[-1]) if len(frame) else 0.0
    return BotSnapshot(config=config, state=row["state"], last_bar=last, equity=frame,
                       fills=fills, trades=trades, position=position)
