"""Performance metrics from equity curves and trade lists (fractions, not percent)."""

from lab.metrics.analytics import (alpha_beta, market_regime, monthly_returns,
                                   regime_performance, rolling_sharpe, trade_pnl_stats,
                                   underwater)
from lab.metrics.performance import (METRIC_LABELS, drawdown_series, format_metric,
                                     performance_metrics, returns_from_equity,
                                     trade_metrics)
from lab.metrics.tearsheet import buy_and_hold_returns, daily_returns, tearsheet_html

__all__ = ["METRIC_LABELS", "alpha_beta", "buy_and_hold_returns", "daily_returns",
           "drawdown_series", "format_metric", "market_regime", "monthly_returns",
           "performance_metrics", "regime_performance", "returns_from_equity",
           "rolling_sharpe", "tearsheet_html", "trade_metrics", "trade_pnl_stats",
           "underwater"]
