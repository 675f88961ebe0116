"""Sweep at scale: time and peak memory for 10k, 100k and 1M+ parameter sets over 20,111
real hourly Bitcoin bars.

Data: ``data/samples`` BTCUSD_COINBASE 1h (``benchmarks._data.sample``), stored in a
temporary catalog; 0.1 % commission and 5 bps slippage, long and short. Sizes:

* ``10k``: ``sma_cross`` over its default grid (1,765 sets) x stop-loss (off, 2 %, 5 %)
  x leverage (1, 3) = 10,590 rows;
* ``100k``: ``sma_cross``, ``ema_cross``, ``rsi`` and ``macd`` default grids x stop-loss
  (off, 2 %) x take-profit (off, 5 %) = 110,984 rows;
* ``1m``: every sweepable strategy's default grid x stop-loss (off, 2 %) x take-profit
  (off, 5 %) = 1,865,776 rows (about 37.5 G bar x set steps).

Each size runs in a child process, one after the other:

* **streamed** (what ``python -m lab sweep`` does now): ``run_sweep`` (default executor:
  the sweep process, the kernel on every core; ``--workers N``: a local Dask cluster of
  N worker processes), then the leaderboard's top 20, DSR,
  stability and trials summary from the Parquet chunks (``lab.research.sweep.streamed``),
  the full leaderboard CSV written batch by batch, and the PBO of the top 20
  (``sweep_pbo``, their returns recomputed);
* **in-memory** (the peer, today's reductions before this change): the same stored sweep
  read back whole (``load_sweep(...).results``) and ranked by
  ``lab.research.sweep.leaderboard.leaderboard`` + ``trials_summary``, CSV written from
  the frame. It does not include the sweep itself, so it is a lower bound of the old
  peak.

For each it prints the wall time, the peak resident memory of the largest process
(``ru_maxrss`` from ``os.wait4`` of the child: the child or any Dask worker it started)
and the peak of the summed RSS of the child and its workers (sampled every 0.1 s with
psutil), for the streamed path also the sweep process's own peak (after the sweep and
after the reductions) and the largest worker's, and checks that both paths give the same
top 20. With ``--kernel`` it also times the
kernel alone on the 10k sweep (bar x set steps per second, target >= 100 million).
Times and memory are printed, not asserted.

    .venv/bin/python benchmarks/sweep_scale.py                 # 10k and 100k
    .venv/bin/python benchmarks/sweep_scale.py --sizes 10k,100k,1m --kernel
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SYMBOL, TF = "BTCUSD_COINBASE", "1h"
SIZES = ("10k", "100k", "1m")


def make_spec(size: str):
    """The ``SweepSpec`` of a benchmark size (see the module docstring)."""
    from lab.core import registry
    from lab.core.config import Commission, ExecutionConfig
    from lab.research.sweep import SweepSpec

    config = ExecutionConfig(direction="both", commission=Commission(rate=0.001),
                             slippage=0.0005)
    sym = ((SYMBOL, TF),)
    if size == "10k":
        return SweepSpec(strategies=("sma_cross",), symbols=sym, sl=(None, 0.02, 0.05),
                         leverage=(1.0, 3.0), config=config)
    if size == "100k":
        return SweepSpec(strategies=("sma_cross", "ema_cross", "rsi", "macd"), symbols=sym,
                         sl=(None, 0.02), tp=(None, 0.05), config=config)
    if size == "1m":
        names = tuple(n for n in registry.names() if not registry.get(n).is_native)
        return SweepSpec(strategies=names, symbols=sym, sl=(None, 0.02), tp=(None, 0.05),
                         config=config)
    raise SystemExit(f"unknown size {size!r}; use one of {SIZES}")


# -- children --------------------------------------------------------------------------
def _maxrss_mb(who) -> float:
    """Peak RSS in MB of this process (RUSAGE_SELF) or of its largest finished child
    (RUSAGE_CHILDREN: the Dask workers of a closed local cluster)."""
    return resource.getrusage(who).ru_maxrss / 1024


def child_streamed(root: Path, size: str, workers: int | None) -> dict:
    from lab.data import Catalog
    from lab.research.sweep import run_sweep, streamed
    from lab.research.sweep.pbo import sweep_pbo

    catalog = Catalog(root)
    spec = make_spec(size)
    t0 = time.perf_counter()
    res = run_sweep(spec, sweep_id=f"bench-{size}", root=root, catalog=catalog,
                    workers=workers)
    t1 = time.perf_counter()
    after_sweep = _maxrss_mb(resource.RUSAGE_SELF)
    board = streamed.leaderboard(res, top=20)
    streamed.trials_summary(res)
    streamed.write_board(res, csv_path=res.path / "leaderboard.csv")
    t2 = time.perf_counter()
    pbo = sweep_pbo(res, board, top_k=20, catalog=catalog)
    t3 = time.perf_counter()
    return {"sets": res.done_sets, "chunks": len(res.manifest["chunks"]),
            "main_after_sweep_mb": after_sweep, "main_mb": _maxrss_mb(resource.RUSAGE_SELF),
            "workers_mb": _maxrss_mb(resource.RUSAGE_CHILDREN),
            "executor": res.manifest["executor"], "sweep_s": t1 - t0, "reduce_s": t2 - t1,
            "pbo_s": t3 - t2, "pbo": pbo["pbo"], "top": board["set_id"].tolist(),
            "best_sharpe": float(board["sharpe"].iloc[0]) if len(board) else None}


def child_in_memory(root: Path, size: str) -> dict:
    from lab.research.sweep import load_sweep
    from lab.research.sweep.leaderboard import leaderboard, trials_summary

    t0 = time.perf_counter()
    res = load_sweep(f"bench-{size}", root)
    board = leaderboard(res.results, min_trades=res.spec.min_trades)
    trials_summary(res.results)
    board.to_csv(res.path / "leaderboard-in-memory.csv", index=False)
    return {"sets": len(res.results), "reduce_s": time.perf_counter() - t0,
            "top": board["set_id"].head(20).tolist()}


# -- parent ----------------------------------------------------------------------------
def measure(args: list[str], script: str | None = None) -> tuple[dict, float, float, float]:
    """Run ``script`` (default this file) with ``args`` in a child process; (the JSON
    of its last output line, seconds, peak RSS of the largest process in MB, peak summed
    RSS of the child and its descendants in MB)."""
    import psutil

    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, script or __file__, *args],
                            stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    peak_tree = 0
    ps = psutil.Process(proc.pid)
    while True:
        # wait4: the rusage of the child and of the descendants it waited for
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        try:
            procs = [ps] + ps.children(recursive=True)
            peak_tree = max(peak_tree, sum(_rss(p) for p in procs))
        except psutil.Error:
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read()
    if proc.returncode != 0:
        raise SystemExit(f"child {args} failed with status {proc.returncode}")
    return (json.loads(out.strip().splitlines()[-1]), seconds, usage.ru_maxrss / 1024,
            peak_tree / 2**20)


def _rss(p) -> int:
    try:
        return p.memory_info().rss
    except Exception:               # noqa: BLE001 - exited between listing and reading
        return 0


def kernel_alone(catalog_bars) -> None:
    from lab.core import registry
    from lab.engines.batch import params_matrix, signal_matrices
    from lab.kernels.sweep import simulate_many_nb

    spec = make_spec("10k")
    bars = catalog_bars
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
    simulate_many_nb(o, h, lo, c, el, xl, es, xs, col, p, 8760.0)      # compile
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        simulate_many_nb(o, h, lo, c, el, xl, es, xs, col, p, 8760.0)
        best = min(best, time.perf_counter() - t)
    total = len(params) * len(configs)
    print(f"kernel alone (10k): signals of {len(params)} sets {t_sig:.2f} s; kernel "
          f"{best:.2f} s = {total * len(bars) / best / 1e6:.0f} M bar x set steps/s "
          "(target >= 100 M)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10k,100k", help="comma separated: 10k,100k,1m")
    ap.add_argument("--workers", type=int,
                    help="local Dask worker processes (default: none, in the sweep process)")
    ap.add_argument("--kernel", action="store_true", help="also time the kernel alone")
    ap.add_argument("--child", choices=["streamed", "in-memory"], help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    ap.add_argument("--size", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        root = Path(args.root)
        doc = (child_streamed(root, args.size, args.workers) if args.child == "streamed"
               else child_in_memory(root, args.size))
        print(json.dumps(doc))
        return 0

    from benchmarks._data import sample
    from lab.data import Catalog

    bars = sample(SYMBOL, TF).astype(np.float64)
    tmp = Path(tempfile.mkdtemp(prefix="sweep-scale-"))
    Catalog(tmp).store_bars(bars, SYMBOL, TF, "crypto",
                            source="data/samples (benchmarks._data)")
    print(f"{len(bars):,} bars of {SYMBOL} {TF}; load {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores; data in {tmp}")
    if args.kernel:
        kernel_alone(bars)
    print(f"{'sets':>10} {'path':<10}{'seconds':>9}{'peak RSS MB':>13}{'tree MB':>9}"
          "  detail")
    for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        make_spec(size)                                 # refuse an unknown size early
        extra = ["--workers", str(args.workers)] if args.workers is not None else []
        s_doc, s_t, s_max, s_tree = measure(["--child", "streamed", "--root", str(tmp),
                                             "--size", size, *extra])
        m_doc, m_t, m_max, m_tree = measure(["--child", "in-memory", "--root", str(tmp),
                                             "--size", size])
        ex = s_doc["executor"]
        print(f"{s_doc['sets']:>10,} {'streamed':<10}{s_t:>9.1f}{s_max:>13.0f}"
              f"{s_tree:>9.0f}  sweep {s_doc['sweep_s']:.1f} s on {ex['mode']} "
              f"({ex['workers']} workers, {s_doc['chunks']} chunks), reductions "
              f"{s_doc['reduce_s']:.1f} s, PBO(top 20) {s_doc['pbo']:.2f} in "
              f"{s_doc['pbo_s']:.1f} s; peak MB: sweep process "
              f"{s_doc['main_after_sweep_mb']:.0f} after the sweep, {s_doc['main_mb']:.0f} "
              f"after the reductions, largest worker {s_doc['workers_mb']:.0f}")
        print(f"{m_doc['sets']:>10,} {'in-memory':<10}{m_t:>9.1f}{m_max:>13.0f}"
              f"{m_tree:>9.0f}  reductions only {m_doc['reduce_s']:.1f} s; same top 20: "
              f"{m_doc['top'] == s_doc['top']}; peak ratio in-memory / streamed "
              f"{m_max / s_max:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
