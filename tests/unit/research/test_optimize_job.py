"""Job kind "optimize": a real runner process to completion, a bad payload refused."""

from __future__ import annotations

import pytest

from lab import jobs
from lab.core.errors import ConfigError
from lab.research.optimize import load_study_result


@pytest.fixture
def root(sample_root, monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_DATA_DIR", str(sample_root))
    return sample_root


def test_optimize_job_runs_in_a_runner_process(root, tmp_path):
    storage = f"sqlite:///{tmp_path / 'job.db'}"
    job_id = jobs.submit("optimize", {"symbol": "AAPL", "timeframe": "1d",
                                      "strategy": "sma_cross", "study_name": "job",
                                      "storage": storage, "n_trials": 8, "seed": 2,
                                      "search_sl": [0.01, 0.05], "track": False}, root)
    job = jobs.wait(job_id, root=root, timeout=180)
    assert job.status == "done", job.error
    assert job.result["study_name"] == "job" and job.result["trials"] == 8
    assert job.done == job.total == 8
    res = load_study_result("job", storage)
    assert len(res.trials) == 8 and res.attrs["symbol"] == "AAPL"


def test_bad_payloads_are_refused_before_starting(root):
    with pytest.raises(ConfigError):
        jobs.submit("optimize", {"symbol": "AAPL", "timeframe": "1d",
                                 "strategy": "sma_cross"}, root, spawn=False)
    with pytest.raises(ConfigError):
        jobs.submit("optimize", {"symbol": "AAPL", "timeframe": "1d", "strategy": "sma_cross",
                                 "study_name": "x", "objectives": ["nope"]}, root,
                    spawn=False)
