"""Download jobs (kind "download") in real runner processes against the Binance
stand-in: progress, cancel between windows, resume to the full range; refresh jobs."""

from __future__ import annotations

import time

import pytest

from lab import jobs
from lab.core.errors import DataError
from lab.data import Catalog
from lab.data.download import DownloadSpec
from tests.venues.fixtures import binance_server, coinbase_btc_hourly  # noqa: F401

BTC = coinbase_btc_hourly()
SPEC = DownloadSpec("ccxt", "BTC/USDT", "1h", "2017-07-01", "2018-07-01",
                    options={"exchange": "binance"})


def test_download_job_cancel_and_resume(tmp_path, binance_server, monkeypatch):
    for key, value in binance_server.env().items():
        monkeypatch.setenv(key, value)
    binance_server.delay_s = 0.5
    job_id = jobs.submit("download", {"spec": SPEC.to_dict()}, root=tmp_path)
    assert jobs.get(job_id, tmp_path).title.startswith("download ccxt BTC/USDT 1h")
    deadline = time.monotonic() + 120
    while jobs.get(job_id, tmp_path).done < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    binance_server.delay_s = 3.0        # no further window lands before the cancel does
    job = jobs.get(job_id, tmp_path)
    assert job.total == 9 and 2 <= job.done < 9         # 8,760 bars in windows of 1,000
    jobs.cancel(job_id, tmp_path)
    assert jobs.wait(job_id, timeout=120, root=tmp_path).status == "cancelled"
    part = Catalog(tmp_path).info("BTCUSDT_BINANCE", "1h")["rows"]
    assert 1000 <= part < 8760
    binance_server.delay_s = 0.0
    jobs.resume(job_id, tmp_path)
    done = jobs.wait(job_id, timeout=180, root=tmp_path)
    assert done.status == "done", done.error
    expected = BTC.loc[(BTC.index >= "2017-07-01") & (BTC.index < "2018-07-01")]
    stored = Catalog(tmp_path).load("BTCUSDT_BINANCE", "1h")
    assert stored.index.equals(expected.index)
    assert (stored.to_numpy() == expected.to_numpy()).all()
    assert done.result["rows"] == len(expected) and done.result["fetched"] < len(expected)

    ref = jobs.submit("download", {"refresh": {"symbol": "BTCUSDT_BINANCE"}}, root=tmp_path)
    done = jobs.wait(ref, timeout=180, root=tmp_path)
    assert done.status == "done", done.error
    assert done.result["results"][0]["last"] == BTC.index[-1].isoformat()


def test_bad_download_payload_is_refused_before_anything_starts(tmp_path):
    with pytest.raises(DataError, match="needs 'spec'"):
        jobs.submit("download", {}, root=tmp_path, spawn=False)
    with pytest.raises(DataError, match="unknown source 'bloomberg'"):
        jobs.submit("download", {"spec": {**SPEC.to_dict(), "source": "bloomberg"}},
                    root=tmp_path, spawn=False)
