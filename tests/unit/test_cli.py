"""``python -m lab`` in a real subprocess against a real sample store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import ROOT


def lab(*args: str, root, track: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAB_DATA_DIR": str(root)}
    if args and args[0] == "backtest" and not track:
        args = (*args, "--no-track")
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_backtest_json_has_metrics_trades_and_the_data_fingerprint(sample_root, sample_catalog):
    out = lab("backtest", "--data", "BTCUSD_COINBASE", "--timeframe", "1h",
              "--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=50",
              "--direction", "both", "--leverage", "3", "--sl", "0.03", "--tp", "0.06",
              "--commission", "0.001", "--slippage", "0.0005", "--json", root=sample_root)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["data_fingerprint"] == sample_catalog.fingerprint("BTCUSD_COINBASE", "1h")
    assert doc["params"] == {"fast": 10, "slow": 50}
    assert doc["config"]["leverage"] == 3 and doc["config"]["sl"] == 0.03
    assert doc["metrics"]["trades"] == len(doc["trades"]) > 50
    assert {"stop", "target"} <= {t["exit_reason"] for t in doc["trades"]}
    assert doc["periods_per_year"] == 8760


def test_backtest_resamples_and_restricts_the_date_range(sample_root):
    out = lab("backtest", "--data", "BTCUSD_COINBASE", "--timeframe", "4h", "--start",
              "2018-01-01", "--end", "2018-12-31", "--json", root=sample_root)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["timeframe"] == "4h"
    assert doc["start"].startswith("2018-01-01") and doc["end"].startswith("2018-12-31T20")
    assert doc["bars"] == 365 * 6


def test_every_execution_option_is_accepted(sample_root):
    out = lab("backtest", "--data", "AAPL", "--strategy", "donchian", "--cash", "50000",
              "--commission-model", "per_share", "--commission", "0.005",
              "--commission-min", "1", "--commission-max", "0.01", "--slippage", "0.0002",
              "--direction", "long", "--size-type", "quantity", "--size", "100",
              "--whole-units", "--leverage", "2", "--maintenance-margin", "0.25",
              "--sl", "0.05", "--tp", "0.1", "--both-hit", "target_first",
              "--multiplier", "1", "--min-notional", "5", root=sample_root)
    assert out.returncode == 0, out.stderr
    assert "donchian" in out.stdout and "Sharpe" in out.stdout


def test_min_notional_flag_reaches_the_config(sample_root):
    from lab.cli import build_parser, execution_config

    args = build_parser().parse_args(["backtest", "--data", "X", "--strategy", "rsi",
                                      "--min-notional", "10"])
    assert execution_config(args, "crypto").min_notional == 10.0
    default = build_parser().parse_args(["backtest", "--data", "X", "--strategy", "rsi"])
    assert execution_config(default, "crypto").min_notional == 0.0
    out = lab("backtest", "--data", "BTCUSD_COINBASE", "--timeframe", "4h", "--leverage",
              "20", "--min-notional", "10", "--json", root=sample_root)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["config"]["min_notional"] == 10.0
    assert all(t["qty"] * t["entry_price"] >= 10.0 for t in doc["trades"])


def test_backtest_reads_a_csv_file_validated_as_on_ingest(sample_root, sample_catalog, tmp_path):
    bars = sample_catalog.load("SPX", "1d").reset_index()
    path = tmp_path / "spx.csv"
    bars.to_csv(path, index=False)
    out = lab("backtest", "--data", str(path), "--asset-class", "index", "--json",
              root=sample_root)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["data_fingerprint"] == sample_catalog.fingerprint("SPX", "1d")
    assert doc["symbol"] == "spx" and doc["timeframe"] == "1d"


def test_a_broken_file_is_refused_with_the_rule_and_rows(sample_root, sample_catalog, tmp_path):
    bars = sample_catalog.load("SPX", "1d").reset_index().head(50)
    bars.loc[7, "low"] = bars.loc[7, "high"] + 5
    path = tmp_path / "broken.csv"
    bars.to_csv(path, index=False)
    out = lab("backtest", "--data", str(path), root=sample_root)
    assert out.returncode == 2
    assert "ohlc" in out.stderr.lower() and "7" in out.stderr


@pytest.mark.parametrize("args, words", [
    (["--param", "fast=100", "--param", "slow=50"], "shorter than slow"),
    (["--param", "speed=3"], "unknown parameter"),
    (["--strategy", "nope"], "no strategy named"),
    (["--leverage", "500"], "between 1"),
    (["--min-notional", "-5"], "min_notional=-5"),
    (["--data", "NOPE"], "stored symbols"),
])
def test_bad_input_exits_2_with_a_one_line_fix(sample_root, args, words):
    base = ["backtest", "--data", "SPX"]
    out = lab(*(base + args), root=sample_root)
    assert out.returncode == 2
    assert words in out.stderr
    assert "Traceback" not in out.stderr


def test_ingest_stores_a_file_and_lists_it(sample_catalog, tmp_path):
    from lab.data import Catalog, build_sample_store

    root = tmp_path / "data"
    build_sample_store(Catalog(root))
    bars = sample_catalog.load("EURUSD", "1h").reset_index().head(500)
    path = tmp_path / "eur.parquet"
    bars.to_parquet(path)
    out = lab("ingest", str(path), "--symbol", "EURUSD_TEST", "--asset-class", "fx",
              root=root)
    assert out.returncode == 0, out.stderr
    listing = lab("datasets", root=root)
    assert "EURUSD_TEST" in listing.stdout
    loaded = Catalog(root).load("EURUSD_TEST", "1h")
    pd.testing.assert_frame_equal(loaded, bars.set_index("ts_event"), check_freq=False)


def test_a_cli_backtest_is_recorded_as_an_mlflow_run(sample_catalog, tmp_path):
    from lab.data import Catalog, build_sample_store
    from lab.tracking import get_run, list_artifacts, list_runs, tracking_uri

    root = tmp_path / "data"
    build_sample_store(Catalog(root))
    out = lab("backtest", "--data", "ETHUSD_BITSTAMP", "--strategy", "rsi", "--sl", "0.05",
              "--json", root=root, track=True)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["tracking"]["recorded"], doc["tracking"]
    uri = tracking_uri(root)
    runs = list_runs(strategy="rsi", tracking_uri=uri)
    assert list(runs["run_id"]) == [doc["tracking"]["run_id"]]
    run = get_run(doc["tracking"]["run_id"], tracking_uri=uri)
    assert run["experiment"] == "lab.crypto.mean_reversion.rsi"
    assert run["tags"]["data_fingerprint"] == doc["data_fingerprint"]
    assert run["config"]["sl"] == 0.05
    artifacts = set(list_artifacts(doc["tracking"]["run_id"], tracking_uri=uri))
    assert {"equity.parquet", "trades.parquet", "tearsheet.html"} <= artifacts


def test_initial_margin_and_spec_flags_size_futures_by_margin(sample_root):
    from lab.cli import build_parser, execution_config

    args = build_parser().parse_args(["backtest", "--data", "ESZ13", "--spec"])
    cfg = execution_config(args, "future", "ESZ13")
    assert (cfg.multiplier, cfg.tick_size, cfg.initial_margin,
            cfg.maintenance_per_contract, cfg.exchange_fee, cfg.whole_units) == \
        (50.0, 0.25, 12_650.0, 11_500.0, 1.40, True)
    explicit = build_parser().parse_args(["backtest", "--data", "ESZ13", "--spec",
                                          "--initial-margin", "15000"])
    assert execution_config(explicit, "future", "ESZ13").initial_margin == 15_000.0
    stock = build_parser().parse_args(["backtest", "--data", "AAPL", "--spec"])
    assert execution_config(stock, "equity", "AAPL").sec_fee == pytest.approx(27.80e-6)
    # 30,000 on ES (about 84,000 of notional a contract): 2 contracts by margin
    out = lab("backtest", "--data", "ESZ13", "--timeframe", "1m", "--strategy",
              "sma_cross", "--direction", "both", "--cash", "30000", "--spec",
              "--commission", "0.85", "--sl", "0.002", "--tp", "0.004", "--json",
              root=sample_root)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["config"]["initial_margin"] == 12_650.0
    assert {t["qty"] for t in doc["trades"]} == {2.0}
    bad = lab("backtest", "--data", "ESZ13", "--spec", "--leverage", "3", root=sample_root)
    assert bad.returncode == 2 and "use leverage=1" in bad.stderr
