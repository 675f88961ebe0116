"""A bot session is an MLflow run with config, equity and trades, linked to the run it
was promoted from."""

from __future__ import annotations

import pandas as pd

from lab import costs
from lab.cli import main
from lab.core.config import ExecutionConfig
from lab.live import control
from lab.live.config import BotConfig


def test_bot_process_records_its_session_in_mlflow(live_root, monkeypatch):
    from lab.tracking import get_run, tracking_uri

    monkeypatch.setenv("LAB_DATA_DIR", str(live_root))
    cfg = BotConfig(name="tracked", symbol="BTCUSD_COINBASE", timeframe="1h",
                    strategy="sma_cross", params={"fast": 8, "slow": 21},
                    execution=ExecutionConfig(commission=costs.percent(0.001)),
                    asset_class="crypto", from_run="0123456789abcdef",
                    feed={"kind": "replay", "speed": 0, "start": "2018-01-01",
                          "end": "2018-01-15"})
    control.create(cfg, live_root)
    assert main(["--store", str(live_root), "bot", "run", "tracked"]) == 0
    run_id = control.status("tracked", live_root)["session_run_id"]
    assert run_id
    run = get_run(run_id, tracking_uri=tracking_uri(live_root))
    assert run["experiment"] == "lab.bots"
    assert run["tags"]["promoted_from"] == "0123456789abcdef"
    assert run["tags"]["bot"] == "tracked" and run["tags"]["state"] == "finished"
    assert {"bot_config.json", "equity.parquet", "trades.parquet"} <= set(run["artifacts"])
    assert run["metrics"]["trades"] == len(control.trades("tracked", live_root))
    assert run["config"] == cfg.execution.to_dict()
    assert run["params"] == {"fast": 8, "slow": 21}
    assert isinstance(run["start_time"], pd.Timestamp)
