"""Performance analytics of a return series: monthly table, rolling Sharpe, underwater
curve, trade PnL distribution, alpha/beta against a benchmark, and performance by
market regime. Pure pandas/numpy; the plotly figures are in ``lab.ui.analytics_charts``.

Inputs are per-bar simple returns (fractions) on a UTC DatetimeIndex, as
``BacktestResult.returns`` gives; annualization takes ``periods_per_year``
(``BacktestResult.periods_per_year``). Risk-free rate 0 throughout.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
#: Regime labels of ``regime_performance``.
BULL, BEAR = "above SMA", "below SMA"


def _check_returns(returns: pd.Series, name: str = "returns") -> pd.Series:
    if not isinstance(returns, pd.Series):
        raise TypeError(f"{name} must be a pandas Series of per-bar returns")
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise ValueError(f"{name} need a DatetimeIndex (bar times), got "
                         f"{type(returns.index).__name__}")
    return returns.astype("float64")


def monthly_returns(returns: pd.Series) -> pd.DataFrame:
    """Compounded return of each calendar month (UTC), with a year total.

    Parameters
    ----------
    returns : Series, float64
        Per-bar simple returns on a DatetimeIndex.

    Returns
    -------
    DataFrame, shape (years, 13)
        Index ``year`` (int), columns ``"Jan"`` ... ``"Dec"`` and ``"Year"``:
        prod(1 + r) - 1 over the bars of that month / year (fractions). NaN for a
        month without bars.

    Raises
    ------
    TypeError, ValueError
        Not a Series, or no DatetimeIndex.
    """
    r = _check_returns(returns)
    idx = r.index.tz_convert("UTC") if r.index.tz is not None else r.index
    growth = pd.Series(1.0 + r.to_numpy(), index=idx)
    by_month = growth.groupby([idx.year, idx.month]).prod() - 1.0
    table = by_month.unstack()
    table = table.reindex(columns=range(1, 13))
    table.columns = MONTHS
    table["Year"] = growth.groupby(idx.year).prod() - 1.0
    table.index = pd.Index(table.index.astype(int), name="year")
    return table


def rolling_sharpe(returns: pd.Series, window: int, periods_per_year: float) -> pd.Series:
    """Annualized Sharpe ratio over a trailing window of bars.

    Sharpe_i = mean(r[i-w+1..i]) / std(r[i-w+1..i], ddof=1) x sqrt(P), as
    ``lab.metrics.performance`` (QuantStats' definition, risk-free 0).

    Parameters
    ----------
    returns : Series, float64, shape (n,)
    window : int
        Bars per window (>= 2); e.g. 126 for half a year of daily bars.
    periods_per_year : float
        Bars per year.

    Returns
    -------
    Series, float64, shape (n,)
        NaN for the first ``window - 1`` bars and where the window has no variance.

    Raises
    ------
    ValueError
        ``window`` < 2 or ``periods_per_year`` <= 0.
    """
    r = _check_returns(returns)
    if int(window) < 2:
        raise ValueError(f"window={window} must be at least 2 bars")
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year={periods_per_year} must be positive")
    roll = r.rolling(int(window), min_periods=int(window))
    std = roll.std(ddof=1)
    out = roll.mean() / std.where(std > 1e-15) * math.sqrt(periods_per_year)
    return out.rename("rolling_sharpe")


def underwater(returns: pd.Series) -> pd.Series:
    """Drawdown below the running peak of the compounded returns (fractions, <= 0).

    The curve starts from a peak of 1 before the first bar, so it equals
    ``drawdown_series(equity, initial)`` of the equity the returns came from.

    Returns
    -------
    Series, float64, shape (n,)
    """
    r = _check_returns(returns)
    wealth = (1.0 + r).cumprod()
    peak = wealth.cummax().clip(lower=1.0)
    return (wealth / peak - 1.0).rename("drawdown")


def trade_pnl_stats(trades: pd.DataFrame) -> pd.DataFrame:
    """Distribution of closed-trade results, for all trades and per side.

    Parameters
    ----------
    trades : DataFrame
        ``BacktestResult.trades`` (``pnl`` in account currency, ``return`` as a
        fraction of the margin committed, ``side``, ``bars_held``).

    Returns
    -------
    DataFrame
        Index ``all``, ``long``, ``short`` (sides without trades left out); columns
        ``trades``, ``win_rate``, ``avg_pnl``, ``median_pnl``, ``avg_win``,
        ``avg_loss``, ``payoff_ratio`` (avg_win / |avg_loss|), ``best_return``,
        ``worst_return``, ``return_std``, ``return_skew``, ``avg_bars_held``.
    """
    rows = {}
    groups = [("all", trades)] + [(s, trades[trades["side"] == s]) for s in ("long", "short")]
    for name, t in groups:
        if len(t) == 0:
            continue
        pnl = t["pnl"].astype(float)
        ret = t["return"].astype(float)
        wins, losses = pnl[pnl > 0], pnl[pnl < 0]
        avg_win = float(wins.mean()) if len(wins) else float("nan")
        avg_loss = float(losses.mean()) if len(losses) else float("nan")
        rows[name] = {
            "trades": float(len(t)), "win_rate": float((pnl > 0).mean()),
            "avg_pnl": float(pnl.mean()), "median_pnl": float(pnl.median()),
            "avg_win": avg_win, "avg_loss": avg_loss,
            "payoff_ratio": avg_win / abs(avg_loss) if len(wins) and len(losses) else float("nan"),
            "best_return": float(ret.max()), "worst_return": float(ret.min()),
            "return_std": float(ret.std(ddof=1)) if len(t) > 1 else float("nan"),
            "return_skew": float(ret.skew()) if len(t) > 2 else float("nan"),
            "avg_bars_held": float(t["bars_held"].mean()) if "bars_held" in t else float("nan"),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def alpha_beta(returns: pd.Series, benchmark: pd.Series,
               periods_per_year: float) -> dict[str, float]:
    """Alpha and beta of ``returns`` against ``benchmark`` by OLS on aligned bars.

    r_t = a + b x m_t + e_t on the bars both series have (NaN dropped):
    beta = cov(r, m) / var(m), alpha_per_bar = mean(r) - beta x mean(m), and
    alpha = alpha_per_bar x P (linear annualization), as ``quantstats.stats.greeks``
    (0.0.86) and the CAPM regression with a zero risk-free rate.

    Parameters
    ----------
    returns, benchmark : Series, float64
        Per-bar simple returns on the same bar times (intersected).
    periods_per_year : float

    Returns
    -------
    dict
        ``alpha`` (annualized fraction), ``alpha_per_bar``, ``beta``, ``correlation``,
        ``r2``, ``bars`` (number of aligned bars). NaN when fewer than 2 bars or the
        benchmark has no variance.
    """
    r = _check_returns(returns)
    m = _check_returns(benchmark, "benchmark")
    both = pd.concat([r.rename("r"), m.rename("m")], axis=1, join="inner").dropna()
    n = len(both)
    nan = float("nan")
    if n < 2:
        return {"alpha": nan, "alpha_per_bar": nan, "beta": nan, "correlation": nan,
                "r2": nan, "bars": float(n)}
    x, y = both["m"].to_numpy(), both["r"].to_numpy()
    cov = np.cov(y, x, ddof=1)
    if cov[1, 1] <= 0:
        return {"alpha": nan, "alpha_per_bar": nan, "beta": nan, "correlation": nan,
                "r2": nan, "bars": float(n)}
    beta = cov[0, 1] / cov[1, 1]
    a = float(y.mean() - beta * x.mean())
    corr = cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]) if cov[0, 0] > 0 else nan
    return {"alpha": a * periods_per_year, "alpha_per_bar": a, "beta": float(beta),
            "correlation": float(corr), "r2": float(corr ** 2), "bars": float(n)}


def market_regime(close: pd.Series, window: int = 200) -> pd.Series:
    """Bull/bear regime of each bar from information known before the bar.

    The regime of bar i compares close[i-1] with the simple moving average of
    close[i-window .. i-1] (the SMA as of the previous close), so it is known before
    bar i's return (close[i-1] -> close[i]) is earned: no look-ahead.

    Parameters
    ----------
    close : Series, float64
        Benchmark closes (any instrument, e.g. the traded one or SPX).
    window : int
        SMA length in bars of ``close`` (200 by default).

    Returns
    -------
    Series of str
        ``BULL`` ("above SMA") when close[i-1] > SMA[i-1], ``BEAR`` ("below SMA")
        when below or equal, None for the first ``window`` bars.
    """
    if int(window) < 1:
        raise ValueError(f"window={window} must be at least 1 bar")
    c = close.astype("float64")
    sma = c.rolling(int(window), min_periods=int(window)).mean()
    state = pd.Series(np.where(c > sma, BULL, BEAR), index=c.index, dtype=object)
    state[sma.isna()] = None
    return state.shift(1).rename("regime")


def regime_performance(returns: pd.Series, benchmark_close: pd.Series,
                       periods_per_year: float, window: int = 200) -> pd.DataFrame:
    """Performance of ``returns`` split by the benchmark's regime (``market_regime``).

    When the benchmark has coarser bars (daily SPX for an hourly strategy), its
    regime (already shifted to the next benchmark bar) is carried forward to the
    strategy's bars, so each hour of day D uses the close of day D-1.

    Parameters
    ----------
    returns : Series, float64
        Per-bar simple returns of the strategy.
    benchmark_close : Series, float64
        Benchmark closes on a DatetimeIndex.
    periods_per_year : float
        Bars per year of ``returns``.
    window : int
        SMA length in benchmark bars.

    Returns
    -------
    DataFrame
        Index ``regime`` (``"above SMA"``, ``"below SMA"``; a regime without bars is
        left out); columns ``bars``, ``share`` (of bars with a known regime),
        ``total_return`` (compounded), ``annualized_return`` ((1 + total)^(P / bars)
        - 1), ``sharpe`` (annualized, NaN without variance), ``hit_rate`` (share of
        positive bars among bars with a non-zero return, as QuantStats' win rate;
        NaN when all are zero). Bars before the SMA exists are not counted.
    """
    r = _check_returns(returns)
    regime = market_regime(benchmark_close, window)
    if not regime.index.equals(r.index):
        regime = regime.reindex(r.index.union(regime.index)).ffill().reindex(r.index)
    known = regime.notna()
    total_known = int(known.sum())
    rows = {}
    for label in (BULL, BEAR):
        x = r[(regime == label) & known]
        if len(x) == 0:
            continue
        total = float(np.prod(1.0 + x.to_numpy()) - 1.0)
        std = float(x.std(ddof=1)) if len(x) > 1 else float("nan")
        nonzero = x[x != 0]
        rows[label] = {
            "bars": float(len(x)), "share": len(x) / total_known,
            "total_return": total,
            "annualized_return": (1.0 + total) ** (periods_per_year / len(x)) - 1.0
            if total > -1 else -1.0,
            "sharpe": float(x.mean()) / std * math.sqrt(periods_per_year)
            if std and std > 1e-15 else float("nan"),
            "hit_rate": float((nonzero > 0).mean()) if len(nonzero) else float("nan"),
        }
    out = pd.DataFrame.from_dict(rows, orient="index",
                                 columns=["bars", "share", "total_return",
                                          "annualized_return", "sharpe", "hit_rate"])
    out.index.name = "regime"
    return out
