"""``python -m lab download`` / ``refresh`` / ``ingest`` (DBN) in real subprocesses
against the local venue stand-ins; a download killed with SIGKILL part way and run
again stores exactly what an uninterrupted download stores."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from lab.data import Catalog
from lab.data.download import DownloadSpec, download
from lab.data.sources.ccxt import CcxtSource
from tests.conftest import ROOT
from tests.venues.databento_server import DATA
from tests.venues.fixtures import (binance_server, coinbase_btc_hourly,  # noqa: F401
                                   databento_server, yahoo_server)

BTC = coinbase_btc_hourly()
ARGS = ["download", "ccxt", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe",
        "1h", "--start", "2017-07-01", "--end", "2019-06-30"]


def _env(root, **extra) -> dict[str, str]:
    return {**os.environ, "LAB_DATA_DIR": str(root), **extra}


def lab(*args, root, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT,
                          env=env or _env(root), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def _rows(catalog: Catalog) -> int:
    try:
        return catalog.info("BTCUSDT_BINANCE", "1h")["rows"]
    except Exception:
        return 0


def test_killed_download_resumes_to_the_same_bars(tmp_path, binance_server):
    root = tmp_path / "killed"
    catalog = Catalog(root)
    binance_server.delay_s = 0.3                  # ~18 requests: time to kill part way
    proc = subprocess.Popen([sys.executable, "-m", "lab", *ARGS], cwd=ROOT,
                            env=_env(root, **binance_server.env()),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while _rows(catalog) < 2000 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the download ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    proc.stdout.close(), proc.stderr.close()
    part = catalog.load("BTCUSDT_BINANCE", "1h")          # readable, whole windows only
    total = len(BTC.loc["2017-07-01":"2019-06-30"])
    assert 2000 <= len(part) < total
    prefix = BTC.loc[(BTC.index >= "2017-07-01") & (BTC.index <= part.index[-1])]  # exact prefix
    assert part.index.equals(prefix.index)
    assert (part.to_numpy() == prefix.to_numpy()).all()
    binance_server.delay_s = 0.0
    again = lab(*ARGS, root=root, env=_env(root, **binance_server.env()))
    assert again.returncode == 0, again.stderr
    reference = Catalog(tmp_path / "uninterrupted")
    download(reference, DownloadSpec("ccxt", "BTC/USDT", "1h", "2017-07-01", "2019-07-01"),
             CcxtSource("binance", binance_server.ccxt_config()))
    resumed = catalog.load("BTCUSDT_BINANCE", "1h")
    pd.testing.assert_frame_equal(resumed, reference.load("BTCUSDT_BINANCE", "1h"))
    assert catalog.fingerprint("BTCUSDT_BINANCE", "1h") == \
        reference.fingerprint("BTCUSDT_BINANCE", "1h")
    assert len(resumed) == total


def test_source_failure_is_one_line_and_refresh_appends(tmp_path, binance_server):
    env = _env(tmp_path, **binance_server.env())
    binance_server.fail_after = 2
    out = lab(*ARGS, root=tmp_path, env=env)
    assert out.returncode == 2
    error = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "nothing of this chunk was stored" in error[0]
    assert _rows(Catalog(tmp_path)) == 1989                   # two whole windows
    binance_server.fail_after = None
    out = lab(*ARGS[:-2], "--end", "2018-12-31", root=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "refresh later with: python -m lab refresh BTCUSDT_BINANCE" in out.stdout
    out = lab("refresh", "BTCUSDT_BINANCE", "--json", root=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    [res] = json.loads(out.stdout)
    assert res["last"] == BTC.index[-1].isoformat()           # the venue's last bar
    assert res["rows"] == len(BTC.loc["2017-07-01":])


def test_databento_cost_must_be_accepted(tmp_path, databento_server):
    env = _env(tmp_path, DATABENTO_API_KEY="db-TESTKEY0000000000000000000000",
               LAB_DATABENTO_GATEWAY=databento_server.gateway,
               REQUESTS_CA_BUNDLE=str(databento_server.ca_bundle))
    args = ["download", "databento", "--dataset", "GLBX.MDP3", "--symbol", "ES.c.0",
            "--schema", "ohlcv-1m", "--start", "2020-12-28", "--end", "2020-12-28"]
    out = lab(*args, root=tmp_path, env=env)
    assert out.returncode == 2 and "costs $1.25" in out.stderr and "--yes" in out.stderr
    assert databento_server.get_range_calls == 0
    out = lab(*args, "--yes", root=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "cost $1.25" in out.stderr
    assert Catalog(tmp_path).info("ES.c.0", "1m")["rows"] == 4


def test_yfinance_download_and_dbn_ingest(tmp_path, yahoo_server):
    env = _env(tmp_path, LAB_YAHOO_BASE_URL=yahoo_server.base_url,
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    out = lab("download", "yfinance", "--symbol", "AAPL", "--timeframe", "1d", "--start",
              "2005-01-01", "--end", "2005-12-31", "--adjust", "raw", "--as", "AAPL_YF", "--json",
              root=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    [res] = json.loads(out.stdout)
    assert res["symbol"] == "AAPL_YF" and res["first"].startswith("2005-01-03")
    assert res["last"].startswith("2005-12-30")
    out = lab("ingest", str(DATA / "GLBX.MDP3_ohlcv-1s.dbn.zst"), "--symbol", "ESH1",
              root=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "4 bars of 1s (future)" in out.stdout
