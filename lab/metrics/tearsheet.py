"""QuantStats HTML tearsheets of a backtest's returns.

QuantStats (0.0.86) assumes one return per trading day. ``tearsheet_html`` therefore
compounds per-bar returns into calendar-day returns (UTC dates; days without a bar are
left out, not filled with zeros), drops the time zone (QuantStats mixes tz-naive
dates internally), and annualizes with 365 periods a year when the returns include
weekends (crypto) and 252 otherwise. When bars were intraday, the title says that the
returns were compounded to daily.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

#: Share of weekend days above which daily returns are annualized with 365 periods.
WEEKEND_SHARE_365 = 0.05

# pyplot is not thread-safe: one tearsheet at a time per process.
_LOCK = threading.Lock()


def daily_returns(returns: pd.Series) -> tuple[pd.Series, bool]:
    """Per-bar simple returns compounded to one return per UTC calendar day.

    Parameters
    ----------
    returns : Series, float64
        Simple returns (fractions) on a DatetimeIndex (tz-aware or naive UTC).

    Returns
    -------
    (Series, bool)
        Daily returns on a tz-naive midnight index (only days with at least one bar),
        and whether the input was intraday (some day had more than one bar).

    Raises
    ------
    ValueError
        When the index is not a DatetimeIndex or there are no returns.
    """
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise ValueError("returns need a DatetimeIndex (bar times); got "
                         f"{type(returns.index).__name__}")
    r = returns.astype("float64").dropna()
    if r.empty:
        raise ValueError("no returns to report; run the backtest on at least one bar")
    idx = r.index.tz_convert("UTC").tz_localize(None) if r.index.tz is not None else r.index
    day = pd.Series(1.0 + r.to_numpy(), index=idx).groupby(idx.normalize())
    intraday = bool(day.size().max() > 1)
    daily = day.prod() - 1.0
    daily.index = pd.DatetimeIndex(daily.index, name="date")
    return daily.rename(returns.name or "Strategy"), intraday


def periods_per_year_of(daily: pd.Series) -> int:
    """365 when the daily series trades on weekends (crypto), else 252."""
    weekend = (daily.index.dayofweek >= 5).mean() if len(daily) else 0.0
    return 365 if weekend > WEEKEND_SHARE_365 else 252


def buy_and_hold_returns(close: pd.Series, name: str | None = None) -> pd.Series:
    """Per-bar simple returns of holding the instrument: close[i] / close[i-1] - 1
    (first bar 0), as a benchmark."""
    r = close.astype("float64").pct_change().fillna(0.0)
    return r.rename(name or close.name or "Benchmark")


def tearsheet_html(returns: pd.Series, benchmark: pd.Series | None = None, title: str = "",
                   *, strategy_title: str = "Strategy",
                   benchmark_title: str | None = None) -> str:
    """The full QuantStats HTML tearsheet.

    Parameters
    ----------
    returns : Series, float64, shape (n,)
        Per-bar simple returns of the strategy (``BacktestResult.returns``), any bar
        size down to minutes, UTC index.
    benchmark : Series, float64, optional
        Per-bar simple returns of a benchmark (``buy_and_hold_returns(bars.close)`` or
        another instrument such as SPX); compounded to daily like ``returns`` and
        aligned to the strategy's days (a day without a benchmark bar counts 0).
    title : str
        Heading of the report; " (hourly returns compounded to daily)" is appended
        when the bars were intraday.
    strategy_title, benchmark_title : str, optional
        Column names in the report (default "Strategy" and ``benchmark.name``).

    Returns
    -------
    str
        A self-contained HTML document (charts inlined as SVG).

    Raises
    ------
    ValueError
        No returns, no DatetimeIndex, or a benchmark that does not overlap the returns.
    """
    daily, intraday = daily_returns(returns)
    periods = periods_per_year_of(daily)
    bench = None
    if benchmark is not None:
        bench_daily, _ = daily_returns(benchmark)
        overlap = bench_daily.index.intersection(daily.index)
        if len(overlap) == 0:
            raise ValueError(
                f"the benchmark ({bench_daily.index[0]:%Y-%m-%d} to "
                f"{bench_daily.index[-1]:%Y-%m-%d}) does not overlap the returns "
                f"({daily.index[0]:%Y-%m-%d} to {daily.index[-1]:%Y-%m-%d}); pick a "
                "benchmark covering the same dates")
        bench = bench_daily.reindex(daily.index).fillna(0.0)
        bench = bench.rename(benchmark_title or benchmark.name or "Benchmark")
    heading = title or "Strategy tearsheet"
    if intraday:
        heading += " (intraday returns compounded to daily)"
    with _LOCK, _quiet(), tempfile.TemporaryDirectory(prefix="lab-tearsheet-") as tmp:
        qs = _quantstats()
        out = Path(tmp) / "tearsheet.html"
        try:
            qs.reports.html(daily, benchmark=bench, title=heading, output=str(out),
                            periods_per_year=periods, strategy_title=strategy_title,
                            benchmark_title=bench.name if bench is not None else None)
        finally:
            import matplotlib.pyplot as plt

            plt.close("all")
        return out.read_text(encoding="utf-8")


def _quantstats():
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import quantstats as qs

    return qs


@contextlib.contextmanager
def _quiet():
    """Silence QuantStats' and matplotlib's warnings and font log lines ("findfont:
    Font family 'Arial' not found"). stdout is not redirected: QuantStats 0.0.86 prints
    nothing here, and swapping ``sys.stdout`` would also swallow other threads' output."""
    loggers = [logging.getLogger(n) for n in ("matplotlib", "matplotlib.font_manager",
                                              "quantstats")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
