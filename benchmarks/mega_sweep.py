"""The mega sweep: every strategy's default grid x stop-loss x take-profit x ten symbols,
on Dask, with memory bounded by the chunk size.

Default: every sweepable strategy (``lab.core.registry``, native Backtrader ones
excluded) over its default grid, stop-loss (off, 2 %) x take-profit (off, 5 %), on the
ten daily real samples of the store with distinct symbols (``python -m lab datasets``):
SPX, IXIC, AAPL, MSFT, IBM, GOOG, GOOGL, BTCUSD_BITSTAMP, ETHUSD_BITSTAMP and
LTCUSD_BITSTAMP = 10 x 1,865,776 = 18.7 million rows over 27,933 bars (52 G bar x set
steps); 0.1 % commission and 5 bps slippage, long and short. ``--symbols`` takes others
(e.g. the hourly BTCUSD_COINBASE@1h, BTCUSD_BITFINEX@1h and EURUSD@1h).

The chunks (a run of parameter sets of one strategy on one symbol) run in the sweep
process by default (the kernel on every core, the next chunk's signals prepared on
another thread), on a local Dask cluster with ``--workers N``, or on an existing cluster
with ``--scheduler tcp://host:8786`` (or ``$LAB_DASK_ADDRESS``) unchanged: the scheduler
and the workers need ``lab`` and ``strategies`` importable (Dask unpickles the task graph
on the scheduler too), not the data store; the workers get the bars scattered to them
(tests/unit/research/sweep/test_mega_sweep_cluster.py); the results come back to
this process, which writes the Parquet chunks under ``<data>/sweeps/<id>/``. An
interrupted run resumes with the same ``--id``. After the sweep, the leaderboard (top
20), DSR, stability and trials summary are computed from the chunks
(``lab.research.sweep.streamed``), the full leaderboard CSV is written, and the PBO of
the best symbol's top 20 is estimated.

The sweep runs in a child process; the parent prints its wall time, the peak RSS of the
largest process (the child or a Dask worker; ``os.wait4``) and the peak summed RSS of
the child and its workers (psutil, every 0.1 s).

    .venv/bin/python benchmarks/mega_sweep.py --yes                    # 10-40 min on 2 cores
    .venv/bin/python benchmarks/mega_sweep.py --scheduler tcp://10.0.0.5:8786 --yes
    .venv/bin/python benchmarks/mega_sweep.py --symbols SPX@1d,AAPL@1d \\
        --strategies sma_cross,rsi                                      # a small one
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEN = ("SPX@1d", "IXIC@1d", "AAPL@1d", "MSFT@1d", "IBM@1d", "GOOG@1d", "GOOGL@1d",
       "BTCUSD_BITSTAMP@1d", "ETHUSD_BITSTAMP@1d", "LTCUSD_BITSTAMP@1d")


def mega_spec(symbols=TEN, strategies=None, sl=(None, 0.02), tp=(None, 0.05),
              grids=None, start=None, end=None):
    """The mega sweep's ``SweepSpec``.

    Parameters
    ----------
    symbols : sequence of str
        ``SYMBOL@timeframe`` of the catalog.
    strategies : sequence of str, optional
        Default every registered signal strategy.
    sl, tp : tuple of float or None
        Stop-loss / take-profit levels (fractions; None = off).
    grids : mapping, optional
        Grid overrides (``SweepSpec.grids``); default each strategy's default grid.
    start, end : str, optional
        Bar range (UTC).
    """
    from lab.core import registry
    from lab.core.config import Commission, ExecutionConfig
    from lab.core.ids import parse_dataset_id
    from lab.research.sweep import SweepSpec

    names = tuple(strategies) if strategies else tuple(
        n for n in registry.names() if not registry.get(n).is_native)
    return SweepSpec(strategies=names, symbols=tuple(parse_dataset_id(s) for s in symbols),
                     grids=dict(grids or {}), sl=tuple(sl), tp=tuple(tp), start=start,
                     end=end, config=ExecutionConfig(direction="both",
                                                     commission=Commission(rate=0.001),
                                                     slippage=0.0005))


def run(spec, *, root=None, sweep_id: str | None = None, scheduler: str | None = None,
        workers: int | None = None, chunk_size: int | None = None, catalog=None) -> dict:
    """Run (or resume) the sweep, then its reductions from the chunks.

    Returns
    -------
    dict
        ``sweep_id``, ``sets``, ``executor``, ``sweep_s``, ``reduce_s``, ``top``
        (leaderboard top 20 as records: rank, strategy, symbol, params, sl, tp, sharpe,
        dsr, stability), ``trials`` (per symbol: trials, expected max Sharpe, best
        Sharpe), ``pbo`` (of the best symbol's top 20, or None), ``leaderboard_csv``.
    """
    from lab.research.sweep import run_sweep, streamed
    from lab.research.sweep.pbo import sweep_pbo

    t0 = time.perf_counter()
    res = run_sweep(spec, sweep_id=sweep_id, root=root, scheduler=scheduler,
                    workers=workers, chunk_size=chunk_size, catalog=catalog)
    t1 = time.perf_counter()
    board = streamed.leaderboard(res, top=20)
    trials = streamed.trials_summary(res)
    csv_path = res.path / "leaderboard.csv"
    streamed.write_board(res, csv_path=csv_path)
    t2 = time.perf_counter()
    pbo = None
    if len(board):
        best = board.iloc[0]
        same = streamed.leaderboard(res, top=20, filters={
            "symbol": [best["symbol"]], "timeframe": [best["timeframe"]]})
        if len(same) >= 4:
            pbo = float(sweep_pbo(res, same, top_k=20, catalog=catalog)["pbo"])
    keep = ["rank", "strategy", "symbol", "timeframe", "params", "sl", "tp", "sharpe",
            "dsr", "stability", "trades"]
    top = json.loads(board[keep].to_json(orient="records", double_precision=15))
    import resource

    return {"sweep_id": res.id, "sets": res.done_sets, "complete": res.complete,
            "main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "chunks": len(res.manifest["chunks"]), "executor": res.manifest["executor"],
            "sweep_s": t1 - t0, "reduce_s": t2 - t1, "top": top,
            "trials": json.loads(trials[["symbol", "timeframe", "trials",
                                         "expected_max_sharpe", "best_sharpe"]]
                                 .to_json(orient="records", double_precision=15)),
            "pbo": pbo, "leaderboard_csv": str(csv_path)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--symbols", default=",".join(TEN), help="SYMBOL@tf, comma separated")
    ap.add_argument("--strategies", help="comma separated (default every signal strategy)")
    ap.add_argument("--sl", default="none,0.02", help="stop-loss levels ('none' = off)")
    ap.add_argument("--tp", default="none,0.05", help="take-profit levels")
    ap.add_argument("--scheduler", help="Dask scheduler address (default $LAB_DASK_ADDRESS "
                                        "or a local cluster)")
    ap.add_argument("--workers", type=int,
                    help="local Dask worker processes (default: none, in the sweep process)")
    ap.add_argument("--chunk-size", type=int, help="rows per chunk (default by work)")
    ap.add_argument("--id", dest="sweep_id", help="sweep id (rerun with it to resume)")
    ap.add_argument("--store", help="data folder (default $LAB_DATA_DIR or ./data)")
    ap.add_argument("--yes", action="store_true", help="start without the size question")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    from lab.ui.inputs import parse_levels

    def levels(text):
        return parse_levels(text, "level", percent=False, allow_off=True)

    spec = mega_spec([s.strip() for s in args.symbols.split(",") if s.strip()],
                     args.strategies.split(",") if args.strategies else None,
                     levels(args.sl), levels(args.tp))
    if args.child:
        print(json.dumps(run(spec, root=args.store, sweep_id=args.sweep_id,
                             scheduler=args.scheduler, workers=args.workers,
                             chunk_size=args.chunk_size)))
        return 0
    n = spec.count()["total"]
    print(f"{n:,} sets: {len(spec.strategies)} strategies x {len(spec.exec_levels())} "
          f"SL/TP levels x {len(spec.symbols)} symbols")
    if n > 500_000 and not args.yes:
        print("add --yes to start it")
        return 2
    from benchmarks.sweep_scale import measure

    child = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--yes"]
    doc, seconds, maxrss, tree = measure(["--child", *child], script=__file__)
    ex = doc["executor"]
    print(f"sweep {doc['sweep_id']}: {doc['sets']:,} sets in {seconds:.0f} s end to end "
          f"(sweep {doc['sweep_s']:.0f} s on {ex['mode']} with {ex['workers']} workers, "
          f"{doc['chunks']} chunks; reductions {doc['reduce_s']:.0f} s)")
    print(f"peak memory: {maxrss:.0f} MB in the largest process (sweep process "
          f"{doc['main_mb']:.0f} MB, largest local worker {doc['workers_mb']:.0f} MB), "
          f"{tree:.0f} MB summed over the sweep process and its Dask workers")
    for t in doc["trials"]:
        print(f"  {t['symbol']:<18} {t['timeframe']:<3} trials {t['trials']:>10,}  "
              f"expected best Sharpe by luck {t['expected_max_sharpe']:.2f}  best "
              f"{t['best_sharpe']:.2f}")
    for r in doc["top"][:5]:
        print(f"  #{r['rank']} {r['strategy']} {r['params']} on {r['symbol']} "
              f"{r['timeframe']}: Sharpe {r['sharpe']:.2f}, DSR {r['dsr']:.2f}, "
              f"stability {r['stability'] if r['stability'] is None else round(r['stability'], 2)}")
    print(f"PBO of the best symbol's top 20: {doc['pbo']}")
    print(f"full leaderboard: {doc['leaderboard_csv']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
