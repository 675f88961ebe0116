"""Performance metrics of a backtest.

All ratios and returns are fractions (0.12 = 12 %), money is in account currency,
and annualization uses ``periods_per_year`` from ``lab.core.types.periods_per_year``.
Definitions follow QuantStats 0.0.86 (``quantstats.stats``), which the tests check:

* Sharpe = mean(r) / std(r, ddof=1) x sqrt(P), risk-free rate 0.
* Sortino = mean(r) / sqrt(sum(min(r, 0)^2) / N) x sqrt(P) (Sortino & Price 1994,
  downside deviation with target 0, as QuantStats computes it).
* CAGR = (final / initial)^(1 / years) - 1 with years = N / P.
* Calmar = CAGR / |max drawdown|.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def returns_from_equity(equity: pd.Series, initial: float) -> pd.Series:
    """Simple per-bar returns of an equity curve.

    Parameters
    ----------
    equity : Series, float64, shape (n,)
        Equity at each bar close, account currency, UTC index.
    initial : float
        Equity before the first bar (the starting cash).

    Returns
    -------
    Series, float64, shape (n,)
        r[0] = equity[0] / initial - 1, r[i] = equity[i] / equity[i-1] - 1.
    """
    prev = equity.shift(1)
    prev.iloc[0] = initial
    with np.errstate(divide="ignore", invalid="ignore"):
        r = equity / prev - 1.0
    return r.replace([np.inf, -np.inf], np.nan).fillna(0.0).rename("returns")


def drawdown_series(equity: pd.Series, initial: float | None = None) -> pd.Series:
    """Drawdown at each bar as a fraction below the running peak (<= 0).

    Parameters
    ----------
    equity : Series, float64
        Equity curve.
    initial : float, optional
        Starting equity, counted as the first peak.
    """
    values = equity.to_numpy(dtype=float)
    peak = np.fmax.accumulate(values) if len(values) else values      # NaN-skipping cummax
    if initial is not None:
        peak = np.maximum(peak, initial)
    return pd.Series(values / peak - 1.0, index=equity.index, name="drawdown")


def _max_drawdown_duration(dd: pd.Series) -> tuple[int, pd.Timedelta]:
    """Longest stretch below a peak: bars under water, and time from the peak bar to
    the recovery bar (or to the last bar when not recovered)."""
    under = (dd.to_numpy() < 0).astype(np.int8)
    if not under.any():
        return 0, pd.Timedelta(0)
    edges = np.diff(np.concatenate(([0], under, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)          # exclusive
    k = int(np.argmax(ends - starts))
    idx = dd.index
    peak = idx[starts[k] - 1] if starts[k] > 0 else idx[starts[k]]
    recovered = idx[ends[k]] if ends[k] < len(idx) else idx[-1]
    return int(ends[k] - starts[k]), recovered - peak


def performance_metrics(equity: pd.Series, initial: float, periods_per_year: float,
                        position: pd.Series | None = None) -> dict[str, float]:
    """Return and risk metrics of an equity curve.

    Parameters
    ----------
    equity : Series, float64, shape (n,)
        Equity at each bar close, account currency, UTC DatetimeIndex.
    initial : float
        Starting equity.
    periods_per_year : float
        Bars per year (252 for daily equities, 8760 for hourly crypto).
    position : Series, optional
        Signed quantity held at each close; gives ``exposure``.

    Returns
    -------
    dict
        ``total_return``, ``cagr``, ``volatility`` (annualized), ``sharpe``,
        ``sortino``, ``calmar``, ``max_drawdown`` (fraction, <= 0),
        ``max_drawdown_bars``, ``max_drawdown_days``, ``exposure`` (fraction of
        bars with a position at the close), ``final_equity``, ``bars``.
        Undefined ratios (no variance, no drawdown) are NaN.
    """
    n = len(equity)
    if n == 0:
        raise ValueError("the equity curve is empty; run on at least one bar")
    r = returns_from_equity(equity, initial)
    final = float(equity.iloc[-1])
    total = final / initial - 1.0
    years = n / periods_per_year
    cagr = (final / initial) ** (1.0 / years) - 1.0 if final > 0 else -1.0
    std = float(r.std(ddof=1)) if n > 1 else float("nan")
    mean = float(r.mean())
    sharpe = mean / std * math.sqrt(periods_per_year) if std and std > 0 else float("nan")
    downside = math.sqrt(float((r[r < 0] ** 2).sum()) / n)
    sortino = mean / downside * math.sqrt(periods_per_year) if downside > 0 else float("nan")
    dd = drawdown_series(equity, initial)
    max_dd = float(dd.min()) if n else 0.0
    calmar = cagr / abs(max_dd) if max_dd < 0 else float("nan")
    dd_bars, dd_time = _max_drawdown_duration(dd)
    exposure = float((position.to_numpy() != 0).mean()) if position is not None else float("nan")
    return {
        "total_return": total,
        "cagr": cagr,
        "volatility": std * math.sqrt(periods_per_year) if n > 1 else float("nan"),
        "sharpe": sharpe,
        "sortino": sortino,
        "calmar": calmar,
        "max_drawdown": max_dd,
        "max_drawdown_bars": float(dd_bars),
        "max_drawdown_days": dd_time.total_seconds() / 86400.0,
        "exposure": exposure,
        "final_equity": final,
        "bars": float(n),
    }


def trade_metrics(trades: pd.DataFrame) -> dict[str, float]:
    """Statistics of closed trades.

    Parameters
    ----------
    trades : DataFrame
        One row per closed trade with columns ``pnl`` (net, account currency) and
        ``return`` (pnl / margin committed, fraction).

    Returns
    -------
    dict
        ``trades`` (count), ``win_rate`` (fraction of pnl > 0), ``profit_factor``
        (gross profit / gross loss; inf with no losing trade, NaN with no trade),
        ``expectancy`` (mean pnl per trade, account currency), ``avg_trade_return``,
        ``best_trade_return``, ``worst_trade_return`` (fractions).
    """
    n = len(trades)
    if n == 0:
        return {"trades": 0.0, "win_rate": float("nan"), "profit_factor": float("nan"),
                "expectancy": float("nan"), "avg_trade_return": float("nan"),
                "best_trade_return": float("nan"), "worst_trade_return": float("nan")}
    pnl = trades["pnl"].to_numpy(dtype=float)
    ret = trades["return"].to_numpy(dtype=float)
    gross_win = pnl[pnl > 0].sum()
    gross_loss = -pnl[pnl < 0].sum()
    if gross_loss > 0:
        pf = gross_win / gross_loss
    else:
        pf = float("inf") if gross_win > 0 else float("nan")
    return {
        "trades": float(n),
        "win_rate": float((pnl > 0).mean()),
        "profit_factor": float(pf),
        "expectancy": float(pnl.mean()),
        "avg_trade_return": float(ret.mean()),
        "best_trade_return": float(ret.max()),
        "worst_trade_return": float(ret.min()),
    }


#: Display label and format of each metric key (percent only on screen).
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "total_return": ("Total return", "pct"),
    "cagr": ("CAGR", "pct"),
    "volatility": ("Volatility (ann.)", "pct"),
    "sharpe": ("Sharpe", "ratio"),
    "sortino": ("Sortino", "ratio"),
    "calmar": ("Calmar", "ratio"),
    "max_drawdown": ("Max drawdown", "pct"),
    "max_drawdown_days": ("Max drawdown duration [days]", "num1"),
    "exposure": ("Exposure", "pct"),
    "trades": ("Trades", "int"),
    "win_rate": ("Win rate", "pct"),
    "profit_factor": ("Profit factor", "ratio"),
    "expectancy": ("Expectancy [per trade]", "money"),
    "avg_trade_return": ("Average trade", "pct"),
    "best_trade_return": ("Best trade", "pct"),
    "worst_trade_return": ("Worst trade", "pct"),
    "final_equity": ("Final equity", "money"),
    "fees": ("Fees paid", "money"),
    "liquidations": ("Liquidations", "int"),
}


def format_metric(key: str, value: float) -> str:
    """Human-readable value for display: percentages with one decimal and thousands
    separators whatever their size (``0.1234`` -> ``"12.3 %"``, ``2.98`` -> ``"298.0 %"``),
    so cards side by side read alike."""
    kind = METRIC_LABELS.get(key, (key, "ratio"))[1]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if kind == "pct":
        return f"{value * 100:,.1f} %"
    if kind == "int":
        return f"{int(value):,d}"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "num1":
        return f"{value:.1f}"
    return f"{value:.2f}"
