"""Closed trades of a bot from its ledger fills, with the keys of ``lab backtest``.

A trade is an entry (or adopted) fill followed by the exit fill that closes it. Its numbers are
computed with the kernel's own arithmetic (``lab.kernels.engine.close_position_nb``):
``gross = signed qty x multiplier x (exit - entry)``, ``pnl = gross - exit fee - entry
fee``, ``return = pnl / (qty x entry x multiplier / leverage)`` (or ``pnl / (qty x initial
margin)`` for futures margin), so a paper bot's trades
equal the backtest's bit for bit.
"""

from __future__ import annotations

import pandas as pd

from lab.live.broker import OPENING_REASONS

#: The columns of ``lab.engines.result.TRADE_COLUMNS`` (a test keeps them equal).
TRADE_COLUMNS = ["entry_time", "exit_time", "side", "qty", "entry_price", "exit_price",
                 "pnl", "return", "fees", "exit_reason", "entry_bar", "exit_bar",
                 "bars_held"]


def trades_from_fills(fills: list[dict], multiplier: float, leverage: float,
                      first_bar: int = 0, initial_margin: float = 0.0) -> pd.DataFrame:
    """Pair entry and exit fills into closed trades.

    Parameters
    ----------
    fills : list of dict
        Ledger fills in execution order (keys of ``lab.live.broker.Fill``).
    multiplier, leverage : float
        From the bot's ``ExecutionConfig``.
    first_bar : int
        Bar index of the bot's first traded bar (bars of warm-up history before it are
        not counted in ``entry_bar`` / ``exit_bar``).
    initial_margin : float
        Futures initial margin per contract (``ExecutionConfig.initial_margin``); when
        > 0 the margin committed at entry is qty x initial margin.

    Returns
    -------
    DataFrame
        ``TRADE_COLUMNS``; times are UTC Timestamps; ``pnl`` and ``fees`` in account
        currency; ``return`` a fraction of the margin committed at entry.
    """
    rows = []
    entry = None
    for f in fills:
        if f["reason"] in OPENING_REASONS:
            entry = f
            continue
        if entry is None:
            continue
        side = 1.0 if entry["side"] > 0 else -1.0
        q = entry["qty"]
        gross = (side * q) * multiplier * (f["price"] - entry["price"])
        pnl = gross - f["fee"] - entry["fee"]
        margin = q * initial_margin if initial_margin > 0 else \
            q * entry["price"] * multiplier / leverage
        rows.append({
            "entry_time": pd.Timestamp(entry["time"]), "exit_time": pd.Timestamp(f["time"]),
            "side": "long" if side > 0 else "short", "qty": q,
            "entry_price": entry["price"], "exit_price": f["price"], "pnl": pnl,
            "return": pnl / margin if margin > 0 else 0.0, "fees": f["fee"] + entry["fee"],
            "exit_reason": f["reason"], "entry_bar": int(entry["bar"]) - first_bar,
            "exit_bar": int(f["bar"]) - first_bar,
            "bars_held": int(f["bar"]) - int(entry["bar"])})
        entry = None
    frame = pd.DataFrame(rows, columns=TRADE_COLUMNS)
    for col in ("entry_time", "exit_time"):
        frame[col] = pd.to_datetime(frame[col], utc=True).astype("datetime64[ns, UTC]")
    return frame
