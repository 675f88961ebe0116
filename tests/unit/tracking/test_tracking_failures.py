"""Tracking never breaks a backtest: unreachable stores, failures midway, killed writers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from lab.tracking import TrackingError, get_run, list_runs, track_backtest
from lab.tracking.runs import git_state
from tests.conftest import ROOT

# one worker builds the shared fixtures once (make test runs --dist loadgroup)
pytestmark = pytest.mark.xdist_group("tracking")


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fast_http(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")


def test_unreachable_server_is_reported_not_raised(fast_http, tiny_result):
    uri = f"http://127.0.0.1:{unused_port()}"
    t0 = time.perf_counter()
    out = track_backtest(tiny_result(), asset_class="equity", family="test", tracking_uri=uri)
    assert time.perf_counter() - t0 < 5
    assert out.recorded is False and out.run_id is None
    assert "unreachable" in out.error and uri in out.error
    assert out.experiment == "lab.equity.test.tiny"


def test_unreachable_server_set_by_environment_is_reported(fast_http, monkeypatch,
                                                           tiny_result):
    uri = f"http://127.0.0.1:{unused_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    out = track_backtest(tiny_result(), asset_class="equity", family="test")
    assert not out.recorded and out.uri == uri
    with pytest.raises(TrackingError, match="unreachable"):
        list_runs()


def test_unwritable_local_store_is_reported(tmp_path, tiny_result):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = track_backtest(tiny_result(), asset_class="equity", family="test",
                         tracking_uri=f"sqlite:///{blocker}/mlflow/mlflow.db")
    assert not out.recorded and "LAB_DATA_DIR" in out.error


def test_run_failing_midway_is_marked_failed_and_the_error_returned(uri, tiny_result):
    class Broken:
        def to_html(self, **_):
            raise RuntimeError("figure exploded")

    out = track_backtest(tiny_result(), asset_class="equity", family="test", project="tfail",
                         tracking_uri=uri, figures={"bad": Broken()})
    assert not out.recorded and "figure exploded" in out.error
    assert get_run(out.run_id, tracking_uri=uri)["status"] == "FAILED"


CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np, pandas as pd
    from lab.core import ExecutionConfig
    from lab.engines.result import ORDER_COLUMNS, BacktestResult, trades_frame
    from lab.tracking import track_backtest

    idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC", name="ts_event")
    result = BacktestResult(pd.Series([1.0, 2.0, 3.0], index=idx), pd.Series(0.0, index=idx),
                            trades_frame(np.empty((0, 10)), idx),
                            pd.DataFrame(columns=ORDER_COLUMNS), {}, ExecutionConfig(),
                            "vectorized", strategy="hang", symbol="X", timeframe="1d")

    class Hang:
        def to_html(self, **_):
            print("RUNNING", flush=True)
            time.sleep(300)

    track_backtest(result, asset_class="equity", family="test", project=sys.argv[2],
                   tracking_uri=sys.argv[1], figures={"hang": Hang()})
""")


def test_run_of_a_killed_process_is_marked_failed(uri):
    project = f"tkill{os.getpid()}"
    child = subprocess.Popen([sys.executable, "-c", CHILD, uri, project], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "RUNNING"
        runs = list_runs(experiment=f"{project}.equity.test.hang", tracking_uri=uri)
        assert list(runs.status) == ["RUNNING"]         # writer alive: left alone
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    runs = list_runs(experiment=f"{project}.equity.test.hang", tracking_uri=uri)
    assert list(runs.status) == ["FAILED"]
    run = get_run(runs.run_id[0], tracking_uri=uri)
    assert run["tags"]["lab.pid"] == str(child.pid)
    assert "died" in run["tags"]["lab.failure"]


def test_git_commit_is_unknown_outside_a_repository(tmp_path):
    assert git_state(tmp_path) == ("unknown", "unknown")
