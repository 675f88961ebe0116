"""Record a bot session as an MLflow run; never raises.

A session is one stretch of a bot's life from start to stop (or to the end of its
replay). Its run lives in experiment ``{project}.bots`` and holds:

* params: strategy parameters ``p.<name>``, the flattened ``ExecutionConfig``
  ``x.<field>``, and the risk limits ``risk.<limit>``;
* tags: ``bot``, ``strategy``, ``symbol``, ``timeframe``, ``asset_class``, ``account``,
  ``feed``, ``state`` at the end, ``bars_seen``, ``config_json`` (the frozen bot config)
  and ``params_json``, and ``promoted_from`` = the run the bot was started from
  (also ``mlflow.parentRunId`` style link is not used: the source run may live in
  another experiment);
* metrics: ``equity``, ``pnl_total``, ``realized_pnl``, ``unrealized_pnl``, ``trades``,
  ``fees``, ``bars_seen``;
* artifacts: ``bot_config.json``, ``equity.parquet`` (bars, cash, position, equity per
  bar) and ``trades.parquet`` (closed trades, the columns of ``lab backtest``).
"""

from __future__ import annotations

import json
import time
from typing import Any, Mapping

import pandas as pd

from lab.tracking import store
from lab.tracking.runs import (TrackingOutcome, common_tags, flatten, log_batches, open_run,
                               project_name)


def track_bot_session(config: Mapping[str, Any], status: Mapping[str, Any],
                      equity: pd.DataFrame, trades: pd.DataFrame, fees: float, *,
                      costs: Mapping[str, Any] | None = None, source: str = "bot",
                      project: str | None = None,
                      tracking_uri: str | None = None) -> TrackingOutcome:
    """Record one bot session (see the module docstring). Never raises.

    Parameters
    ----------
    config : mapping
        ``BotConfig.to_dict()``.
    status : mapping
        ``lab.live.control.status`` at the end of the session.
    equity : DataFrame
        ``lab.live.control.equity`` (UTC index).
    trades : DataFrame
        ``lab.live.control.trades``.
    fees : float
        Commission paid, account currency.
    costs : mapping, optional
        ``lab.live.fill_costs.cost_totals`` of the session's fills: ``fees_model``,
        ``fee_drift`` and ``slippage_cost`` (account currency) are logged as metrics
        when present (a broker with its own costs, IB; None on paper).

    Returns
    -------
    TrackingOutcome
    """
    uri = tracking_uri or store.tracking_uri()
    exp_name = f"{project_name(project)}.bots"
    run_id = None
    try:
        c, exp_id = store.open_experiment(uri, exp_name)
        tags = common_tags(source, project)
        tags.update({"bot": config["name"], "strategy": config["strategy"],
                     "symbol": config["symbol"], "timeframe": config["timeframe"],
                     "asset_class": config.get("asset_class", ""),
                     "account": config.get("account", "paper"),
                     "feed": config["feed"]["kind"], "state": str(status.get("state")),
                     "bars_seen": str(status.get("bars_seen")), "run_kind": "bot_session",
                     "config_json": json.dumps(config["execution"], sort_keys=True),
                     "bot_config_json": json.dumps(dict(config), sort_keys=True),
                     "params_json": json.dumps(config["params"], sort_keys=True)})
        if len(equity):
            tags["start"] = equity.index[0].isoformat()
            tags["end"] = equity.index[-1].isoformat()
        if config.get("from_run"):
            tags["promoted_from"] = str(config["from_run"])
        with open_run(c, exp_id, tags, f"bot {config['name']}") as (run_id, folder):
            from mlflow.entities import Metric, Param

            params = {f"p.{k}": v for k, v in config["params"].items()}
            params.update({f"x.{k}": v for k, v in flatten(config["execution"]).items()})
            params.update({f"risk.{k}": v for k, v in config.get("risk", {}).items()})
            now = int(time.time() * 1000)
            values = {"equity": status.get("equity"), "pnl_total": status.get("pnl_total"),
                      "realized_pnl": status.get("realized_pnl"),
                      "unrealized_pnl": status.get("unrealized_pnl"),
                      "trades": float(len(trades)), "fees": float(fees),
                      "bars_seen": float(status.get("bars_seen") or 0)}
            for key in ("fees_model", "fee_drift", "slippage_cost"):
                values[key] = (costs or {}).get(key)
            metrics = [Metric(k, float(v), now, 0) for k, v in values.items() if v is not None]
            log_batches(c, run_id, metrics,
                        [Param(k, str(v)) for k, v in sorted(params.items())])
            (folder / "bot_config.json").write_text(json.dumps(dict(config), indent=2,
                                                               sort_keys=True))
            equity.to_parquet(folder / "equity.parquet")
            trades.to_parquet(folder / "trades.parquet")
        return TrackingOutcome(True, run_id, exp_name, uri)
    except Exception as exc:        # noqa: BLE001 - tracking must never break a bot
        return TrackingOutcome(False, run_id, exp_name, uri,
                               f"{type(exc).__name__}: {exc}".strip())
