"""Run tracking in MLflow: the only module that imports mlflow.

Write::

    from lab.tracking import track_backtest, TrackingQueue
    outcome = track_backtest(result, asset_class="crypto", family="trend", source="cli")
    future = TrackingQueue().submit(result, asset_class="crypto", family="trend")

Read::

    from lab.tracking import list_runs, get_run, load_equity, load_trades
    runs = list_runs(strategy="sma_cross", symbol="BTCUSD_COINBASE")
    spec = get_run(runs.run_id[0])         # params, config, symbol, timeframe, start, end

The store is local (``<data>/mlflow/``) unless ``$MLFLOW_TRACKING_URI`` is set; see
``lab.tracking.store``. mlflow itself is imported only when a store is first opened.
"""

from lab.tracking.background import TrackingQueue
from lab.tracking.reader import (compare_metrics, experiment_strategy, get_run, initial_cash,
                                 list_artifacts, list_experiments, list_runs, load_equity,
                                 load_text, load_trades, run_url)
from lab.tracking.store import TrackingError, local_store_dir, reap_dead_runs, tracking_uri
from lab.tracking.backtests import MAIN_METRICS, experiment_name, track_backtest
from lab.tracking.runs import INF_SENTINEL, TrackingOutcome

__all__ = [
    "INF_SENTINEL", "MAIN_METRICS", "TrackingError", "TrackingOutcome", "TrackingQueue",
    "compare_metrics", "experiment_name", "experiment_strategy", "get_run", "initial_cash",
    "list_artifacts", "list_experiments", "list_runs", "load_equity", "load_text",
    "load_trades", "local_store_dir", "reap_dead_runs", "run_url", "tracking_uri",
    "track_backtest",
]
