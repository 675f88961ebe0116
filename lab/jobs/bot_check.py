"""The replay check of a bot: backtest the bars the bot has seen with its frozen config
and compare trades, fills, fees and equity.

This sits above ``lab.live`` (it runs the fast engine, which bots never import). A bot
with warm-up history is compared on warm-up + seen bars with the signals of the warm-up
bars masked (the bot places no order on them), so the backtest decides on the same
history as the bot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lab.core import registry
from lab.core.strategy import Signals
from lab.core.types import periods_per_year

#: Relative tolerance of the comparison (plus the same absolute tolerance).
TOLERANCE = 1e-9
_TRADE_NUMBERS = ["qty", "entry_price", "exit_price", "pnl", "return", "fees"]


@dataclass
class ReplayCheck:
    """Outcome of ``replay_check``.

    Attributes
    ----------
    match : bool
        Trades, fills and equity agree within ``TOLERANCE``.
    bars : int
        Bars the bot has traded (and the backtest replayed).
    bot_trades, backtest_trades : int
        Closed trades; the backtest's end-of-data close is not counted: it is the bot's
        open position.
    differences : list of str
        What differs, first ones first (empty when ``match``).
    equity : DataFrame
        ``bot`` and ``backtest`` equity per bar (account currency, UTC index).
    max_equity_diff : float
        Largest absolute equity difference before the last bar.
    """

    match: bool
    bars: int
    bot_trades: int
    backtest_trades: int
    differences: list = field(default_factory=list)
    equity: pd.DataFrame | None = None
    max_equity_diff: float = 0.0


def backtest_bars(config, bars: pd.DataFrame, warmup: int = 0):
    """The fast engine's result for a bot config on ``bars`` whose first ``warmup`` bars
    carry no signals."""
    from lab.engines import vectorized

    spec = registry.get(config.strategy)
    params = spec.params_cls.from_dict(dict(config.params))
    sig = spec.signals(bars, params)
    if warmup:
        arrays = [np.array(a, copy=True) for a in (sig.entries_long, sig.exits_long,
                                                   sig.entries_short, sig.exits_short)]
        for a in arrays:
            a[:warmup] = False
        sig = Signals(*arrays)
    return vectorized.run(bars, sig, config.execution,
                          periods_per_year=periods_per_year(config.timeframe,
                                                            config.asset_class),
                          strategy=config.strategy, params=params.to_dict(),
                          symbol=config.symbol, timeframe=config.timeframe)


def compare(result, trades: pd.DataFrame, fills: list[dict], equity: pd.Series,
            position: float, warmup: int = 0) -> ReplayCheck:
    """Compare a bot's closed trades, fills, equity per bar and open position with a
    backtest ``result`` over the same bars (see ``ReplayCheck``)."""
    diffs: list[str] = []
    bt = result.trades
    bt_closed = bt[bt["exit_reason"] != "end"].reset_index(drop=True)
    end = bt[bt["exit_reason"] == "end"]
    mine = trades.reset_index(drop=True)
    if len(mine) != len(bt_closed):
        diffs.append(f"closed trades: bot {len(mine)}, backtest {len(bt_closed)}")
    for j in range(min(len(mine), len(bt_closed))):
        a, b = mine.iloc[j], bt_closed.iloc[j]
        for col in ("entry_time", "exit_time", "side", "exit_reason"):
            if a[col] != b[col]:
                diffs.append(f"trade {j} {col}: bot {a[col]}, backtest {b[col]}")
        for col in _TRADE_NUMBERS:
            if not np.isclose(a[col], b[col], rtol=TOLERANCE, atol=TOLERANCE):
                diffs.append(f"trade {j} {col}: bot {a[col]!r}, backtest {b[col]!r}")
    orders = result.orders
    if len(end):
        orders = orders.iloc[:-1]
    if len(fills) != len(orders):
        diffs.append(f"fills: bot {len(fills)}, backtest {len(orders)}")
    for j in range(min(len(fills), len(orders))):
        f, o = fills[j], orders.iloc[j]
        same = (pd.Timestamp(f["time"]) == o["time"]
                and ("buy" if f["side"] > 0 else "sell") == o["side"]
                and np.isclose(f["qty"], o["qty"], rtol=TOLERANCE, atol=TOLERANCE)
                and np.isclose(f["price"], o["price"], rtol=TOLERANCE, atol=TOLERANCE)
                and np.isclose(f["fee"], o["fee"], rtol=TOLERANCE, atol=TOLERANCE))
        if not same:
            diffs.append(f"fill {j}: bot {f['time']} {f['side']} {f['qty']} @ {f['price']} fee "
                         f"{f['fee']}, backtest {o['time']} {o['side']} {o['qty']} @ "
                         f"{o['price']} fee {o['fee']}")
            break
    # open position = the trade the backtest closed at the end
    bt_pos = 0.0
    if len(end):
        e = end.iloc[-1]
        bt_pos = e["qty"] if e["side"] == "long" else -e["qty"]
    if not np.isclose(position, bt_pos, rtol=TOLERANCE, atol=TOLERANCE):
        diffs.append(f"open position: bot {position}, backtest closes {bt_pos} at the end")
    # equity: equal at every close but the last, where the backtest paid the end close
    bt_eq = result.equity.iloc[warmup:]
    mine_eq = equity.reindex(bt_eq.index)
    gap = (mine_eq - bt_eq).abs()
    max_diff = float(gap.iloc[:-1].max()) if len(gap) > 1 else 0.0
    tol = TOLERANCE * max(1.0, float(bt_eq.abs().max()))
    if not max_diff <= tol:
        first = gap.iloc[:-1][gap.iloc[:-1] > tol].index[0]
        diffs.append(f"equity differs from {first} (max {max_diff:.3g})")
    if len(end) and len(bt_eq):
        e = end.iloc[-1]
        exit_fee = float(result.orders.iloc[-1]["fee"])
        last_bot = float(mine_eq.iloc[-1])
        side = 1.0 if e["side"] == "long" else -1.0
        mark = e["exit_price"] / (1.0 - side * result.config.slippage)
        expected = float(bt_eq.iloc[-1]) + exit_fee + side * e["qty"] * \
            result.config.multiplier * (mark - e["exit_price"])
        if not np.isclose(last_bot, expected, rtol=TOLERANCE, atol=1e-6):
            diffs.append(f"last equity: bot {last_bot}, backtest before its end close "
                         f"{expected}")
    frame = pd.DataFrame({"bot": mine_eq, "backtest": bt_eq})
    return ReplayCheck(match=not diffs, bars=len(bt_eq), bot_trades=len(mine),
                       backtest_trades=len(bt_closed), differences=diffs[:20], equity=frame,
                       max_equity_diff=max_diff)


def replay_check(name: str, root=None) -> ReplayCheck:
    """Backtest the bars bot ``name`` has finished (from its ledger) and compare.

    The bot may be running: its ledger is read in one transaction and cut at its last
    finished bar (``lab.live.snapshot``), so trades, fills, equity and the open position
    all belong to the same bars as the backtest. Trades the backtest closes only because
    its data ends (``end``) are compared with the bot's open position.

    Raises
    ------
    LabError
        No such bot, or its data is no longer stored.
    """
    from lab.live.feeds import make_feed
    from lab.live.runner import open_catalog
    from lab.live.snapshot import snapshot

    snap = snapshot(name, root)
    config, eq = snap.config, snap.equity
    if len(eq) < 2:
        return ReplayCheck(match=True, bars=len(eq), bot_trades=0, backtest_trades=0,
                           differences=["fewer than 2 bars seen: nothing to compare yet"])
    warm = make_feed(config, open_catalog(root)).warmup() if config.feed.get("warmup") \
        else None
    seen = eq[["open", "high", "low", "close", "volume"]]
    bars = pd.concat([warm[seen.columns], seen]) if warm is not None and len(warm) else seen
    n_warm = len(bars) - len(seen)
    result = backtest_bars(config, bars, n_warm)
    return compare(result, snap.trades, snap.fills, eq["equity"], snap.position, n_warm)
