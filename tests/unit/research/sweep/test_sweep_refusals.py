"""A sweep says what it will cost and what it drops before it starts. Regressions: a
sweep whose every combination was invalid (fast >= slow, leverage 0, a 200 % stop-loss)
exited 0 with "0 sets ... lower --min-trades" and stored an empty sweep; dropped sets
were counted without a reason; a 2-million-set sweep started without a word."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lab.core.errors import ConfigError
from lab.research.sweep import SweepSpec, run_sweep
from lab.research.sweep.plan import estimate
from tests.conftest import ROOT

ALL_BAD = SweepSpec(strategies=("sma_cross",), symbols=(("SPX", "1d"),),
                    grids={"sma_cross": {"fast": (50, 60), "slow": (20, 30)}},
                    sl=(2.0,), leverage=(0.0,))


def lab(*args: str, root) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT,
                          env={**os.environ, "LAB_DATA_DIR": str(root)},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=300)


def test_a_sweep_with_no_valid_set_is_refused_before_anything_runs(sample_root, tmp_path):
    with pytest.raises(ConfigError) as err:
        run_sweep(ALL_BAD, root=tmp_path, catalog=None)
    text = str(err.value)
    assert "no valid parameter set, nothing was run" in text
    assert "sma_cross: 4 of 4 parameter combinations break its rule" in text
    assert "sl 2: " in text and "leverage 0: " in text
    assert not (tmp_path / "sweeps").exists()
    out = lab("sweep", "--data", "SPX", "--strategies", "sma_cross", "--grid",
              "fast=50,60", "--grid", "slow=20,30", "--leverage", "0", "--no-track",
              root=sample_root)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "break its rule" in out.stderr and "leverage 0" in out.stderr


def test_a_sweep_that_drops_some_sets_says_how_many_and_why(sample_root):
    spec = SweepSpec(strategies=("sma_cross",), symbols=(("SPX", "1d"),),
                     grids={"sma_cross": {"fast": (10, 40), "slow": (20, 30)}},
                     leverage=(1.0, 0.0))
    assert spec.count() == {"total": 2, "per_strategy": {"sma_cross": 2},
                            "dropped_invalid": 6}
    reasons = spec.invalid_reasons()
    assert reasons[0] == ("sma_cross: 2 of 4 parameter combinations break its rule "
                          "(fast (40) must be shorter than slow (20))")
    assert reasons[1].startswith("leverage 0: ")
    out = lab("sweep", "--data", "SPX", "--strategies", "sma_cross", "--grid",
              "fast=10,40", "--grid", "slow=20,30", "--leverage", "1,0", "--no-track",
              "--min-trades", "0", root=sample_root)
    assert out.returncode == 0, out.stderr
    assert "sweep: 6 rows dropped as invalid: sma_cross: 2 of 4" in out.stderr


def test_size_time_and_memory_are_shown_and_a_large_sweep_needs_yes(sample_root):
    spec = SweepSpec(strategies=("sma_cross",), symbols=(("SPX", "1d"),),
                     grids={"sma_cross": {"fast": tuple(range(2, 101)),
                                          "slow": tuple(range(10, 401))}},
                     sl=(None, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1), tp=(None, 0.05, 0.1))
    est = estimate(spec, {("SPX", "1d"): 5000}, workers=2)
    assert est["sets"] == spec.count()["total"] > 500_000 and est["confirm"]
    assert est["bytes"] > 100 * 2**20 and est["seconds"] > 0
    assert est["text"].startswith(f"{est['sets']:,} sets x 5,000 bars: about ")
    small = estimate(ALL_BAD, {("SPX", "1d"): 5000})
    assert not small["confirm"]
    args = ["sweep", "--data", "SPX", "--strategies", "sma_cross", "--grid", "fast=2:100:1",
            "--grid", "slow=10:400:1", "--sl", "none,0.01,0.02,0.03,0.05,0.08,0.1",
            "--tp", "none,0.05,0.1", "--no-track"]
    out = lab(*args, root=sample_root)
    assert out.returncode == 2, out.stderr
    assert "sweep: " in out.stderr and " sets x " in out.stderr
    assert "not started: " in out.stderr and "add --yes to start it" in out.stderr
    assert "Traceback" not in out.stderr
