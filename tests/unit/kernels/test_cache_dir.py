"""The kernels' numba cache lives in a folder keyed on all kernel sources, so an edit of
``engine.py`` alone can never load ``sweep.py``'s stale compiled copy of it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
KERNELS = ROOT / "lab" / "kernels"

CODE = """
import numpy as np, pandas as pd
from lab.api import run_backtest
idx = pd.date_range("2020-01-01", periods=60, freq="D", tz="UTC")
c = 100 + np.sin(np.arange(60) / 3.0) * 5
bars = pd.DataFrame({"open": c, "high": c + 1, "low": c - 1, "close": c, "volume": 1.0},
                    index=idx)
run_backtest(bars, "sma_cross", {"fast": 3, "slow": 10})
from lab.kernels.sweep import simulate_many_nb
import numba
print(numba.config.CACHE_DIR)
"""


def _digest(sources: dict[str, bytes]) -> str:
    h = hashlib.sha1()
    for name in sorted(sources):
        h.update(name.encode() + sources[name])
    return h.hexdigest()[:12]


def test_cache_folder_is_keyed_on_every_kernel_source(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    sources = {p.name: p.read_bytes() for p in KERNELS.glob("*.py")}
    folder = Path(out.stdout.strip().splitlines()[-1])
    assert folder == tmp_path / f"kernels-{_digest(sources)}"
    assert any(folder.rglob("engine.*.nbi"))                # the cache is written there
    # an edit of engine.py alone gives another folder
    sources["engine.py"] += b"\n# edited\n"
    assert f"kernels-{_digest(sources)}" != folder.name
