"""A sweep process killed with SIGKILL resumes without recomputing or losing anything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from lab.research.sweep import SweepSpec, load_sweep, run_sweep
from lab.research.sweep.store import CHUNKS, chunk_path

ROOT = Path(__file__).resolve().parents[4]

SPEC = SweepSpec(strategies=("sma_cross",), symbols=(("BTCUSD_COINBASE", "1h"),),
                 grids={"sma_cross": {"fast": tuple(range(4, 44, 2)), "slow": (50, 100, 150,
                                                                               200, 300)}},
                 sl=(None, 0.03), start="2018-06-01", end="2019-06-01")
CHUNK_SIZE = 2           # one parameter set (x 2 stop levels) per chunk: 100 chunks

SCRIPT = """
import json, sys
from lab.data import Catalog
from lab.research.sweep import SweepSpec, run_sweep
spec = SweepSpec.from_dict(json.loads(sys.argv[3]))
run_sweep(spec, sweep_id="killed", root=sys.argv[2], workers=0, chunk_size=int(sys.argv[4]),
          catalog=Catalog(sys.argv[1]))
"""


@pytest.mark.slow
def test_sigkill_mid_sweep_then_resume_recomputes_nothing_and_loses_nothing(
        sample_root, sample_catalog, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(sample_root), str(tmp_path),
         json.dumps(SPEC.to_dict()), str(CHUNK_SIZE)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
    chunks = tmp_path / "sweeps" / "killed" / CHUNKS
    deadline = time.monotonic() + 120
    try:
        while len(list(chunks.glob("*.parquet"))) < 5:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no chunk written in time"
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    before = load_sweep("killed", tmp_path)
    assert before.manifest["status"] == "partial"
    n_chunks = len(before.manifest["chunks"])
    finished = {p.stem: (p.stat().st_ino, p.stat().st_mtime_ns)
                for p in chunks.glob("*.parquet")}
    assert 5 <= len(finished) < n_chunks

    calls = []
    resumed = run_sweep(SPEC, sweep_id="killed", root=tmp_path, workers=0,
                        catalog=sample_catalog, progress=lambda d, t: calls.append(d))
    assert calls[0] == 2 * len(finished)                 # resumed from the kept chunks
    assert len(calls) - 1 == n_chunks - len(finished)    # only the missing chunks ran
    for cid, ident in finished.items():
        st = chunk_path(resumed.path, cid).stat()
        assert (st.st_ino, st.st_mtime_ns) == ident, f"chunk {cid} was rewritten"
    assert not list(chunks.glob(".*.tmp"))
    assert resumed.manifest["status"] == "complete"

    whole = run_sweep(SPEC, sweep_id="whole", root=tmp_path, workers=0, chunk_size=10_000,
                      catalog=sample_catalog)
    pd.testing.assert_frame_equal(resumed.results, whole.results)
    pd.testing.assert_frame_equal(load_sweep("killed", tmp_path).results, whole.results)
