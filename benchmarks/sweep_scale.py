"""Sweep at scale: >= 10,000 parameter sets over 20,000 real hourly Bitcoin bars.

Data: ``data/samples`` BTCUSD_COINBASE 1h (``benchmarks._data.sample``), stored in a
temporary catalog. Sweep: ``sma_cross`` over its whole default grid (fast 2..100 step 2,
slow 10..400 step 10, fast < slow: 1,765 sets) x stop-loss (off, 2 %, 5 %) x leverage
(1, 3) = 10,590 rows, 0.1 % commission and 5 bps slippage, long and short.

Prints:

* end to end ``run_sweep`` (data, signals, kernel, Parquet chunks, manifest) on the
  default local Dask cluster (one worker per core, cluster start included) and
  in-process (``workers=0``); target < 15 s on 2 cores;
* the kernel alone (``simulate_many_nb`` on all rows, signals precomputed), in bar x
  set steps per second; target >= 100 million;
* how the in-process time grows with the number of bars and of sets.

Times are printed, not asserted.

    .venv/bin/python benchmarks/sweep_scale.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._data import sample  # noqa: E402

SYMBOL, TF = "BTCUSD_COINBASE", "1h"


def main() -> int:
    from lab.core.config import Commission, ExecutionConfig
    from lab.data import Catalog
    from lab.research.sweep import SweepSpec, run_sweep

    bars = sample(SYMBOL, TF).astype(np.float64)
    tmp = Path(tempfile.mkdtemp(prefix="sweep-scale-"))
    catalog = Catalog(tmp)
    catalog.store_bars(bars, SYMBOL, TF, "crypto", source="data/samples (benchmarks._data)")
    config = ExecutionConfig(direction="both", commission=Commission(rate=0.001),
                             slippage=0.0005)
    spec = SweepSpec(strategies=("sma_cross",), symbols=((SYMBOL, TF),),
                     sl=(None, 0.02, 0.05), leverage=(1.0, 3.0), config=config)
    total = spec.count()["total"]
    n = len(bars)
    print(f"{total} parameter sets x {n} bars = {total * n / 1e6:.0f} M bar x set steps")

    # warm the numba caches (compilation is not part of the measurement)
    small = SweepSpec(strategies=("sma_cross",), symbols=((SYMBOL, TF),),
                      grids={"sma_cross": {"fast": (10,), "slow": (50,)}}, config=config)
    run_sweep(small, root=tmp, workers=0, catalog=catalog)

    t = time.perf_counter()
    res = run_sweep(spec, root=tmp, catalog=catalog)              # default: local cluster
    t_dask = time.perf_counter() - t
    ex = res.manifest["executor"]
    t = time.perf_counter()
    res0 = run_sweep(spec, root=tmp, workers=0, catalog=catalog)
    t_in = time.perf_counter() - t
    assert res.results.equals(res0.results)
    print(f"end to end, local Dask cluster ({ex['workers']} workers, start included): "
          f"{t_dask:6.2f} s  ({len(res.manifest['chunks'])} chunks)")
    print(f"end to end, in-process:                                  {t_in:6.2f} s")

    # kernel alone
    from lab.core import registry
    from lab.engines.batch import params_matrix, signal_matrices
    from lab.kernels.sweep import simulate_many_nb

    strat = registry.get("sma_cross")
    params = spec.parameter_sets("sma_cross")
    t = time.perf_counter()
    signals = strat.signals_batch(bars, params)
    t_sig = time.perf_counter() - t
    configs = [spec.level_config(*lv) for lv in spec.exec_levels()]
    p, col = params_matrix(configs, len(signals))
    el, xl, es, xs = signal_matrices(signals)
    o, h, lo, c = (np.ascontiguousarray(bars[k].to_numpy()) for k in
                   ("open", "high", "low", "close"))
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        simulate_many_nb(o, h, lo, c, el, xl, es, xs, col, p, 8760.0)
        best = min(best, time.perf_counter() - t)
    print(f"signals of {len(params)} sets: {t_sig:.2f} s; kernel: {best:.2f} s = "
          f"{total * n / best / 1e6:.0f} M bar x set steps/s (target >= 100 M)")

    # growth with bars and with sets (in-process, end to end)
    print("\nin-process time by bars (all sets) and by sets (all bars):")
    print(f"{'bars':>8}{'sets':>8}{'seconds':>10}{'M steps/s':>11}")
    for frac in (0.25, 0.5, 1.0):
        start = bars.index[int((1 - frac) * (n - 1))]
        s = SweepSpec(**{**_fields(spec), "start": start.isoformat()})
        t = time.perf_counter()
        r = run_sweep(s, root=tmp, workers=0, catalog=catalog)
        dt = time.perf_counter() - t
        nb = int(r.results["bars"].iloc[0])
        print(f"{nb:>8}{total:>8}{dt:>10.2f}{nb * total / dt / 1e6:>11.0f}")
    for slows in ((100,), (100, 200, 300), tuple(range(60, 410, 10))):
        s = SweepSpec(**{**_fields(spec), "grids": {"sma_cross": {"slow": slows}}})
        m = s.count()["total"]
        t = time.perf_counter()
        run_sweep(s, root=tmp, workers=0, catalog=catalog)
        dt = time.perf_counter() - t
        print(f"{n:>8}{m:>8}{dt:>10.2f}{n * m / dt / 1e6:>11.0f}")
    return 0


def _fields(spec) -> dict:
    return {"strategies": spec.strategies, "symbols": spec.symbols, "grids": spec.grids,
            "sl": spec.sl, "tp": spec.tp, "leverage": spec.leverage, "start": spec.start,
            "end": spec.end, "config": spec.config, "engine": spec.engine}


if __name__ == "__main__":
    sys.exit(main())
