"""``BacktestResult``: the one result type every engine returns."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lab.core.config import ExecutionConfig
from lab.core.types import ExitReason
from lab.metrics import drawdown_series, performance_metrics, returns_from_equity, trade_metrics

#: Columns of ``BacktestResult.trades``.
TRADE_COLUMNS = ["entry_time", "exit_time", "side", "qty", "entry_price", "exit_price",
                 "pnl", "return", "fees", "exit_reason", "entry_bar", "exit_bar",
                 "bars_held"]
#: Columns of ``BacktestResult.orders``.
ORDER_COLUMNS = ["time", "bar", "side", "qty", "price", "fee", "kind"]


@dataclass
class BacktestResult:
    """Outcome of one backtest, whatever the engine.

    Attributes
    ----------
    equity : Series, float64, shape (n,)
        Equity at each bar close, account currency, UTC ``ts_event`` index.
    position : Series, float64, shape (n,)
        Signed quantity held at each close (units or contracts).
    trades : DataFrame
        Closed trades (``TRADE_COLUMNS``): times (UTC), ``side`` ("long"/"short"),
        ``qty``, fill prices, ``pnl`` net of commission (account currency),
        ``return`` = pnl / margin committed at entry (fraction), ``fees``,
        ``exit_reason`` ("signal", "stop", "target", "liquidation", "end").
    orders : DataFrame
        Every fill (``ORDER_COLUMNS``): ``side`` "buy"/"sell", ``kind`` "entry" or the
        exit reason.
    metrics : dict
        ``lab.metrics`` performance and trade metrics plus ``fees`` and
        ``liquidations``.
    config : ExecutionConfig
    engine : str
        "vectorized", "backtrader" or "vectorbt".
    strategy : str or None
    params : dict
    symbol, timeframe : str or None
    fingerprint : str or None
        Content hash of the bars the run read (``lab.data.fingerprint``).
    periods_per_year : float
        Annualization used for the metrics.
    """

    equity: pd.Series
    position: pd.Series
    trades: pd.DataFrame
    orders: pd.DataFrame
    metrics: dict
    config: ExecutionConfig
    engine: str
    strategy: str | None = None
    params: dict = field(default_factory=dict)
    symbol: str | None = None
    timeframe: str | None = None
    fingerprint: str | None = None
    periods_per_year: float = 252.0

    @property
    def returns(self) -> pd.Series:
        """Per-bar simple returns (fractions)."""
        return returns_from_equity(self.equity, self.config.cash)

    @property
    def drawdown(self) -> pd.Series:
        """Drawdown below the running peak at each bar (fractions, <= 0)."""
        return drawdown_series(self.equity, self.config.cash)

    def summary(self) -> dict[str, Any]:
        """JSON-serializable description: run identity, config and metrics."""
        return {
            "engine": self.engine,
            "strategy": self.strategy,
            "params": self.params,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "start": self.equity.index[0].isoformat() if len(self.equity) else None,
            "end": self.equity.index[-1].isoformat() if len(self.equity) else None,
            "bars": len(self.equity),
            "data_fingerprint": self.fingerprint,
            "periods_per_year": self.periods_per_year,
            "config": self.config.to_dict(),
            "metrics": {k: _json_number(v) for k, v in self.metrics.items()},
        }

    def to_json(self, trades: bool = True, indent: int | None = 2) -> str:
        """``summary()`` plus the trade list as JSON text (times in ISO 8601 UTC)."""
        out = self.summary()
        if trades:
            t = self.trades.copy()
            for col in ("entry_time", "exit_time"):
                t[col] = t[col].map(lambda ts: ts.isoformat())
            out["trades"] = [{k: _json_number(v) for k, v in row.items()}
                             for row in t.to_dict(orient="records")]
        return json.dumps(out, indent=indent, allow_nan=False)


def _json_number(v: Any) -> Any:
    if isinstance(v, (np.floating, float)):
        v = float(v)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(v, np.integer):
        return int(v)
    return v


_REASONS = {r.value: r.name.lower() for r in ExitReason}


def trades_frame(records: np.ndarray, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Trade records of the kernel (``lab.kernels.layout.T_*`` columns) as a DataFrame."""
    from lab.kernels import layout as k

    if len(records) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("side", "exit_reason")
                                          else "float64") for c in TRADE_COLUMNS}).assign(
            entry_time=pd.Series(dtype="datetime64[ns, UTC]"),
            exit_time=pd.Series(dtype="datetime64[ns, UTC]"))
    entry_bar = records[:, k.T_ENTRY_IDX].astype(np.int64)
    exit_bar = records[:, k.T_EXIT_IDX].astype(np.int64)
    margin = records[:, k.T_MARGIN]
    pnl = records[:, k.T_PNL]
    return pd.DataFrame({
        "entry_time": index[entry_bar],
        "exit_time": index[exit_bar],
        "side": np.where(records[:, k.T_SIDE] > 0, "long", "short"),
        "qty": records[:, k.T_QTY],
        "entry_price": records[:, k.T_ENTRY_PRICE],
        "exit_price": records[:, k.T_EXIT_PRICE],
        "pnl": pnl,
        "return": np.divide(pnl, margin, out=np.zeros_like(pnl), where=margin > 0),
        "fees": records[:, k.T_FEES],
        "exit_reason": [_REASONS[int(r)] for r in records[:, k.T_REASON]],
        "entry_bar": entry_bar,
        "exit_bar": exit_bar,
        "bars_held": exit_bar - entry_bar,
    })


def orders_frame(records: np.ndarray, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Fill records of the kernel (``lab.kernels.layout.O_*`` columns) as a DataFrame."""
    from lab.kernels import layout as k

    bar = records[:, k.O_IDX].astype(np.int64)
    return pd.DataFrame({
        "time": index[bar],
        "bar": bar,
        "side": np.where(records[:, k.O_SIDE] > 0, "buy", "sell"),
        "qty": records[:, k.O_QTY],
        "price": records[:, k.O_PRICE],
        "fee": records[:, k.O_FEE],
        "kind": ["entry" if r < 0 else _REASONS[int(r)] for r in records[:, k.O_REASON]],
    }, columns=ORDER_COLUMNS)


def all_metrics(equity: pd.Series, position: pd.Series, trades: pd.DataFrame,
                orders: pd.DataFrame, initial: float, periods_per_year: float) -> dict:
    """Performance + trade metrics + fees paid + number of liquidations."""
    m = performance_metrics(equity, initial, periods_per_year, position)
    m.update(trade_metrics(trades))
    m["fees"] = float(orders["fee"].sum()) if len(orders) else 0.0
    m["liquidations"] = float((trades["exit_reason"] == "liquidation").sum()) if len(trades) else 0.0
    return m
