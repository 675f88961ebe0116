"""engine="vectorbt": the same rows as the sweep kernel where vectorbt can reproduce the
configuration, each equal to ``run_backtest(engine="vectorbt")``; a clear refusal
otherwise, before anything is written."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lab.core.config import Commission, ExecutionConfig
from lab.core.errors import ConfigError
from lab.kernels.sweep import STAT_NAMES
from lab.research.sweep import SweepSpec, recompute, run_sweep

BTC = ("BTCUSD_COINBASE", "1h")


def spec(**over) -> SweepSpec:
    args = dict(strategies=("ema_cross", "rsi"), symbols=(BTC,),
                grids={"ema_cross": {"fast": (10, 20), "slow": (50,)},
                       "rsi": {"period": (14,), "lower": (30.0,), "upper": (70.0,)}},
                sl=(None, 0.02), tp=(None, 0.05), start="2019-01-01", end="2019-06-30",
                config=ExecutionConfig(direction="both", commission=Commission(rate=0.001),
                                       slippage=0.0005), engine="vectorbt")
    args.update(over)
    return SweepSpec(**args)


def test_vectorbt_sweep_equals_kernel_sweep_and_single_vectorbt_runs(sample_catalog,
                                                                      tmp_path):
    vbt = run_sweep(spec(), sweep_id="vbt", root=tmp_path, workers=0,
                    catalog=sample_catalog)
    fast = run_sweep(spec(engine="vectorized"), sweep_id="fast", root=tmp_path, workers=0,
                     catalog=sample_catalog)
    assert len(vbt.results) == 12 and vbt.results["trades"].min() > 0
    a = vbt.results[list(STAT_NAMES)].to_numpy()
    b = fast.results[list(STAT_NAMES)].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    for row in vbt.results.iloc[[0, 5, 11]].to_dict(orient="records"):
        single = recompute(vbt, row, catalog=sample_catalog)
        assert single.engine == "vectorbt"
        for name, want in single.metrics.items():
            if name in STAT_NAMES:
                assert (math.isnan(want) and math.isnan(row[name])) or \
                    math.isclose(row[name], want, rel_tol=1e-9, abs_tol=1e-12), name


@pytest.mark.parametrize("over, words", [
    ({"leverage": (1.0, 3.0)}, "no margin or leverage"),
    ({"config": ExecutionConfig(commission=Commission("per_share", 0.005, 1.0))},
     "minimum"),
])
def test_unsupported_settings_are_refused_before_any_work(over, words, sample_catalog,
                                                          tmp_path):
    with pytest.raises(ConfigError, match="engine='vectorbt' cannot run this sweep") as info:
        run_sweep(spec(**over), sweep_id="refused", root=tmp_path, workers=0,
                  catalog=sample_catalog)
    assert words in str(info.value)
    assert not (tmp_path / "sweeps" / "refused").exists()
