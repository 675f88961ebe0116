"""Performance metrics from equity curves and trade lists (fractions, not percent)."""

from lab.metrics.performance import (METRIC_LABELS, drawdown_series, format_metric,
                                     performance_metrics, returns_from_equity,
                                     trade_metrics)

__all__ = ["METRIC_LABELS", "drawdown_series", "format_metric", "performance_metrics",
           "returns_from_equity", "trade_metrics"]
