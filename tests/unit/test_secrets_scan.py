"""No password reaches the disk, a log, MLflow, a job row or the output.

One study runs as a job (a real runner process) on a real PostgreSQL storage whose URL
carries a planted password, one through the CLI, and a tracked CLI backtest records into
a real ``mlflow server`` behind basic auth whose credentials are in
``MLFLOW_TRACKING_URI``. Then every file of the data folder, the runner logs, the
captured output, the MLflow server's store and the study's database are scanned for
both passwords, and the private files are checked to be ``0600``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MLFLOW_PASSWORD, ROOT, load_sample, _pick

pytestmark = pytest.mark.xdist_group("postgres")

PG_PASSWORD = "Pl4nted-optuna-S3cret"


def scan(folder: Path, secret: str) -> list[str]:
    """Files under ``folder`` whose bytes contain ``secret``."""
    needle = secret.encode()
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def pg_dump_text(url: str) -> str:
    """Every row of every table of the study database, as text."""
    import psycopg

    with psycopg.connect(url.replace("postgresql://", "postgresql://", 1)) as con:
        tables = [r[0] for r in con.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return "\n".join(str(row) for t in tables
                         for row in con.execute(f'SELECT * FROM "{t}"'))


@pytest.fixture
def fresh_root(tmp_path, monkeypatch, mlflow_auth):
    """A data folder holding AAPL daily only, with the tracking server's credentials in
    ``MLFLOW_TRACKING_URI`` (and MLflow's own variables unset)."""
    from lab.data import Catalog

    root = tmp_path / "data"
    Catalog(root).store_bars(load_sample(_pick((("aapl",), ("1d",)))).loc["2010":],
                             "AAPL", "1d", "equity", "test")
    for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "LAB_OPTUNA_STORAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LAB_DATA_DIR", str(root))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_auth.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return root


def cli(*args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, env=dict(os.environ),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out


def test_no_password_on_disk_in_logs_mlflow_job_rows_or_output(fresh_root, postgres,
                                                                 mlflow_auth):
    from lab import jobs

    mlflow_auth.refused.clear()        # one server per worker: count this test's requests
    plain = postgres.create_database("secret_scan")
    url = plain.replace("postgres@", f"postgres:{PG_PASSWORD}@", 1)
    job_id = jobs.submit("optimize", {
        "symbol": "AAPL", "timeframe": "1d", "strategy": "sma_cross",
        "study_name": "scan", "storage": url, "n_trials": 4, "seed": 1,
        "pruning": False, "track": True})
    job = jobs.wait(job_id, timeout=600)
    assert job.status == "done", job.error
    assert job.result["tracked_run"], "the study was not recorded in MLflow"
    assert job.payload["storage"] == job.result["storage"] == redacted(url)
    backtest = cli("backtest", "--data", "AAPL", "--strategy", "sma_cross",
                   "--param", "fast=10", "--param", "slow=50")
    assert "recorded in MLflow" in backtest.stdout, backtest.stdout + backtest.stderr
    study = cli("optimize", "--data", "AAPL", "--strategy", "sma_cross", "--study-name",
                "scan", "--storage", url, "--n-trials", "2", "--no-pruning")
    assert "MLflow: run" in study.stdout, study.stdout + study.stderr
    assert mlflow_auth.refused == []               # every request carried the credentials

    outputs = backtest.stdout + backtest.stderr + study.stdout + study.stderr
    secret_file = fresh_root.resolve() / "secrets" / "urls.json"
    for secret in (PG_PASSWORD, MLFLOW_PASSWORD):
        # the storage password is kept for the runner in one owner-only file only
        assert scan(fresh_root, secret) == ([str(secret_file)] if secret == PG_PASSWORD
                                            else [])
        assert scan(mlflow_auth.folder, secret) == []
        assert secret not in outputs
        assert secret not in pg_dump_text(plain)
        assert secret not in repr(jobs.get(job_id))
    logs = list((fresh_root / "jobs").glob("*.log"))
    assert logs and all(PG_PASSWORD not in p.read_text() for p in logs)
    for path in [secret_file, *(fresh_root / "jobs").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def redacted(url: str) -> str:
    return url.replace(PG_PASSWORD, "***")
