"""IB history through the download driver: chunked by IB's duration limits, paced by IB's
rules (the stand-in enforces them on the same fake clock), validated, resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from lab.core.errors import SourceError
from lab.data import Catalog
from lab.data.download import DownloadSpec, download
from lab.live.ib.contracts import ContractSpec
from lab.live.ib.history import IBSource, duration_str
from lab.live.ib.pacing import HistoricalPacer
from lab.live.ib.settings import IBSettings
from tests.venues.ib_gateway import FakeClock, StandInGateway
from tests.venues.ib_gateway.market import bars_of

AAPL = ContractSpec("AAPL")
NOW = "2013-03-05"


def _spec(start="2008-03-01", end="2013-03-01"):
    return DownloadSpec("ib", "AAPL", "1d", start, end)


def _source(gw, clock, wait=True, **kw) -> IBSource:
    pacer = HistoricalPacer(clock, clock.sleep if wait else (lambda s: None), margin_s=0.05)
    if not wait:
        pacer.earliest = lambda identity, contract: (clock(), "")   # never waits
    return IBSource(AAPL, IBSettings(port=gw.port, client_id=61, timeout_s=10), pacer=pacer,
                    **kw)


def test_duration_strings_follow_ibs_units():
    assert duration_str(3600) == "3600 S" and duration_str(86_400) == "1 D"
    assert duration_str(86_400 * 365) == "365 D" and duration_str(1.5 * 86_400) == "2 D"


def test_multi_chunk_download_keeps_ibs_pacing_and_stores_the_real_bars(tmp_path):
    clock = FakeClock()
    with StandInGateway(clock=clock) as gw:
        source = _source(gw, clock)
        try:
            result = download(Catalog(tmp_path), _spec(), source, now=NOW)
        finally:
            source.close()
        reqs = gw.requests("historical")
    assert result.windows == len(reqs) == 6          # 5 years in windows of 365 days
    times = [r.t for r in reqs]
    assert all(b - a >= 0 for a, b in zip(times, times[1:]))
    for i, t in enumerate(times):                    # IB's rules on the stand-in's log
        assert sum(1 for u in times[:i] if t - u < 2) < 6
        assert sum(1 for u in times[:i] if t - u < 600) < 60
    stored = Catalog(tmp_path).load("AAPL", "1d")
    real = bars_of("AAPL").loc["2008-03-01":"2013-02-28"]   # end is exclusive
    assert len(stored) == len(real)
    assert (stored[["open", "high", "low", "close", "volume"]].to_numpy()
            == real.to_numpy()).all()


def test_fourteen_windows_wait_as_ibs_burst_rule_requires(tmp_path):
    clock = FakeClock()
    with StandInGateway(clock=clock) as gw:
        source = _source(gw, clock)
        try:
            result = download(Catalog(tmp_path), _spec("2000-03-01"), source, now=NOW)
        finally:
            source.close()
        times = [r.t for r in gw.requests("historical")]
    assert result.windows == 14 and len(times) == 14
    assert source.pacer.waited_s >= 2 * 2               # 14 requests: >= 2 waits of ~2 s
    assert times[6] - times[0] >= 2


def test_unpaced_requests_are_refused_by_ib_and_the_download_resumes(tmp_path):
    clock = FakeClock()
    with StandInGateway(clock=clock) as gw:
        fast = _source(gw, clock, wait=False)
        with pytest.raises(SourceError, match="Pacing violation"):
            download(Catalog(tmp_path), _spec("2000-03-01"), fast, now=NOW)
        fast.close()
        assert len(Catalog(tmp_path).load("AAPL", "1d")) > 0      # 6 windows kept
        clock.t += 700
        paced = _source(gw, clock)
        try:
            result = download(Catalog(tmp_path), _spec("2000-03-01"), paced, now=NOW)
        finally:
            paced.close()
    assert result.windows == 8                                   # only what was missing
    stored = Catalog(tmp_path).load("AAPL", "1d")
    assert len(stored) == len(bars_of("AAPL").loc["2000-03-01":"2013-02-28"])


def test_unknown_contract_and_no_gateway_fail_with_one_clear_line(tmp_path):
    clock = FakeClock()
    with StandInGateway(clock=clock) as gw:
        bad = IBSource(ContractSpec("NOPE"), IBSettings(port=gw.port, client_id=62),
                       pacer=HistoricalPacer(clock, clock.sleep))
        with pytest.raises(SourceError, match="IB knows no contract NOPE"):
            download(Catalog(tmp_path), DownloadSpec("ib", "NOPE", "1d", "2012-01-01",
                                                     "2013-01-01"), bad, now=NOW)
        bad.close()
        gw.stop_listening()
        down = IBSource(AAPL, IBSettings(port=gw.port, client_id=63, timeout_s=2),
                        pacer=HistoricalPacer(clock, clock.sleep))
        down.conn = None
        with pytest.raises(SourceError, match=f"127.0.0.1:{gw.port}.*start IB Gateway"):
            download(Catalog(tmp_path), _spec(), down, now=NOW)
    assert not Catalog(tmp_path).has("AAPL", "1d")
    assert not Catalog(tmp_path).has("NOPE", "1d")


@pytest.mark.slow
def test_cli_download_killed_mid_way_resumes_and_equals_an_uninterrupted_one(tmp_path):
    cmd = [sys.executable, "-m", "lab", "--store", str(tmp_path / "a"), "download", "ib",
           "--symbol", "AAPL", "--sec-type", "STK", "--timeframe", "1d",
           "--start", "2009-03-01", "--end", "2013-02-28", "--as", "AAPL_IB"]
    env = dict(os.environ, PYTHONPATH=os.getcwd(), LAB_IB_CLIENT_ID="64")
    with StandInGateway() as gw:
        env["LAB_IB_PORT"] = str(gw.port)
        gw.hang("historical", times=1)
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
        end = time.monotonic() + 60
        while not gw.requests("historical") and time.monotonic() < end:
            time.sleep(0.1)
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)             # killed while IB has not answered
        proc.wait(10)
        first = [r.fields[15] for r in gw.requests("historical")]
        done = subprocess.run(cmd + ["--json"], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        ends = [r.fields[15] for r in gw.requests("historical")]
    assert ends[:len(first)] == first
    assert len(ends) == len(set(ends)) + 1          # only the hung window was asked twice
    stored = Catalog(tmp_path / "a").load("AAPL_IB", "1d")
    real = bars_of("AAPL").loc["2009-03-01":"2013-02-28"]
    assert len(stored) == len(real) and (stored["close"].to_numpy()
                                         == real["close"].to_numpy()).all()


def test_cli_download_without_a_gateway_fails_fast_and_creates_nothing(tmp_path):
    with StandInGateway() as gw:
        gw.stop_listening()
        env = dict(os.environ, PYTHONPATH=os.getcwd(), LAB_IB_PORT=str(gw.port))
        done = subprocess.run([sys.executable, "-m", "lab", "--store", str(tmp_path),
                               "download", "ib", "--symbol", "SPY", "--timeframe", "1d",
                               "--start", "2012-01-01", "--as", "SPY_IB"],
                              env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"127.0.0.1:{gw.port}" in done.stderr and "start IB Gateway" in done.stderr
    assert not Catalog(tmp_path).has("SPY_IB", "1d")
    assert not any(p.name.startswith("symbol=SPY_IB") for p in (tmp_path / "store").glob("*"))
