"""The mega sweep on a Dask cluster started as one is on other machines: a ``dask
scheduler`` process and ``dask worker`` processes joined over TCP, each worker with its
own working directory and environment, the code importable on every node (as an
installed package) but no access to the data store. Only this host is reachable here, so the processes
share it; nothing in the sweep depends on that."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from benchmarks import mega_sweep
from lab.research.sweep import load_sweep
from lab.research.sweep.leaderboard import leaderboard
from tests.conftest import ROOT
from tests.unit.research.sweep.test_mega_sweep import mega_spec_small



@pytest.fixture(scope="module")
def cli_cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("cluster")
    node = base / "node"                      # a worker's own directory, no store in it
    (node / "store").mkdir(parents=True)
    # the code importable on every node (Dask unpickles the task graph on the scheduler
    # too), as an installed package would be; none of this process's settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "MLFLOW_"))}
    env["PYTHONPATH"] = str(ROOT)
    worker_env = {**env, "LAB_DATA_DIR": str(node / "store")}
    sched_file = base / "scheduler.json"
    procs = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)],
        cwd=base, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    deadline = time.time() + 60
    while not sched_file.exists() and time.time() < deadline:
        time.sleep(0.2)
    procs.append(subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
         str(sched_file), "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
         "--local-directory", str(node / "dask")],
        cwd=node, env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    address = json.loads(sched_file.read_text())["address"]
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
        info = client.run(lambda: (os.getcwd(), os.environ.get("LAB_DATA_DIR")))
    yield address, node, info
    for p in reversed(procs):
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def test_mega_sweep_on_scheduler_and_worker_processes_without_the_store(
        sample_catalog, tmp_path, cli_cluster):
    address, node, info = cli_cluster
    assert len(info) == 2
    assert {cwd for cwd, _ in info.values()} == {str(node)}
    assert {store for _, store in info.values()} == {str(node / "store")}
    spec = mega_spec_small()
    out = mega_sweep.run(spec, root=tmp_path, sweep_id="mega", scheduler=address,
                         chunk_size=16, catalog=sample_catalog)
    assert out["complete"] and out["executor"]["mode"] == "remote"
    assert out["sets"] == spec.count()["total"]
    res = load_sweep("mega", tmp_path)
    want = leaderboard(res.results, min_trades=spec.min_trades).head(20)
    assert [r["rank"] for r in out["top"]] == want["rank"].tolist()
    assert [r["sharpe"] for r in out["top"]] == pytest.approx(want["sharpe"].tolist())
    # the workers got the bars from the sweep process and wrote nothing to a store
    assert not any((node / "store").iterdir())
