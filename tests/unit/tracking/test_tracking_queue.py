"""``TrackingQueue`` records on one background thread and never raises."""

from __future__ import annotations

import threading

import pytest

from lab.tracking import TrackingOutcome, TrackingQueue, list_runs

# one worker builds the shared fixtures once (make test runs --dist loadgroup)
pytestmark = pytest.mark.xdist_group("tracking")


def test_queue_records_runs_in_submission_order_off_the_calling_thread(uri, tiny_result,
                                                                        monkeypatch):
    from lab.tracking import background

    threads = []
    real = background.track_backtest

    def spy(result, **kw):
        threads.append(threading.current_thread().name)
        return real(result, **kw)

    monkeypatch.setattr(background, "track_backtest", spy)
    with TrackingQueue() as q:
        futures = [q.submit(tiny_result(f"queued{i}"), asset_class="equity", family="test",
                            project="tqueue", tracking_uri=uri, source="app")
                   for i in range(3)]
        outcomes = [f.result(timeout=60) for f in futures]
    assert all(isinstance(o, TrackingOutcome) and o.recorded for o in outcomes)
    assert q.pending == 0
    assert len(set(threads)) == 1 and threads[0].startswith("lab-tracking")
    assert threads[0] != threading.current_thread().name
    started = {r.strategy: r.start_time for r in list_runs(tag="project=tqueue",
                                                           tracking_uri=uri).itertuples()}
    assert started["queued0"] <= started["queued1"] <= started["queued2"]


def test_queue_future_carries_the_failure_instead_of_raising(tiny_result):
    with TrackingQueue() as q:
        out = q.submit(tiny_result(), asset_class="equity", family="test",
                       tracking_uri="sqlite:////proc/no/such/place/mlflow.db").result(60)
    assert out.recorded is False and out.error


def test_closed_queue_refuses_new_runs(tiny_result):
    q = TrackingQueue()
    q.close()
    with pytest.raises(RuntimeError):
        q.submit(tiny_result(), asset_class="equity", family="test")
