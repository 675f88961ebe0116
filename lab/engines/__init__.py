"""Backtest engines. All take bars, signals and an ExecutionConfig and return a
``BacktestResult``. Import the engine modules directly (``lab.engines.vectorized``);
backtrader and vectorbt are imported only inside their own modules."""

from lab.engines.result import ORDER_COLUMNS, TRADE_COLUMNS, BacktestResult

__all__ = ["BacktestResult", "ORDER_COLUMNS", "TRADE_COLUMNS"]
