"""Optuna trials per second by storage and worker count, against plain Optuna.

The peer is Optuna itself: ``optuna.create_study()`` in memory, one process, running the
same objective (the sweep kernel on the same bars), so the ratios show what persistence
(SQLite, journal file, PostgreSQL with a heartbeat) and worker processes cost or gain.
Real Coinbase BTC/USD hourly bars (20,111), sma_cross, TPE, no pruning.

    .venv/bin/python benchmarks/optuna_storage.py [--trials 200]

Read it knowing that one trial's backtest takes about a millisecond here: the time is
Optuna's (TPE reads every trial to sample the next, and a database storage commits
about 18 times a trial), so worker processes pay off when trials are heavy or machines
are many, not for this objective on 2 cores.

PostgreSQL rows need Debian's postgresql (a throwaway server is started, as in the
tests); without it they are left out.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._data import sample  # noqa: E402


def plain_optuna(bars, n: int) -> float:
    """Seconds for ``n`` trials of the same objective on in-memory Optuna."""
    import optuna

    from lab.core import registry
    from lab.core.config import ExecutionConfig
    from lab.core.types import periods_per_year
    from lab.research.optimize.run import _make_objective, search_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ppy = periods_per_year("1h", "crypto")
    registry.get("sma_cross")
    objective = _make_objective(bars, "sma_cross", ExecutionConfig(), ppy,
                                search_space("sma_cross"), {}, ("sharpe",), ("maximize",),
                                3, False)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=1))
    t = time.perf_counter()
    study.optimize(objective, n_trials=n)
    return time.perf_counter() - t


def ours(bars, n: int, storage: str, workers: int, name: str) -> float:
    from lab.research.optimize import optimize

    t = time.perf_counter()
    res = optimize(bars, "sma_cross", study_name=name, storage=storage, n_trials=n,
                   workers=workers, seed=1, pruning=False, asset_class="crypto",
                   timeframe="1h")
    took = time.perf_counter() - t
    assert len(res.trials) == n, (len(res.trials), n)
    return took


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=200)
    args = ap.parse_args()
    n = args.trials
    bars = sample("BTCUSD_COINBASE", "1h")
    print(f"{len(bars):,} bars, sma_cross, TPE, {n} trials per row")
    ours(bars, 5, "sqlite:///" + tempfile.mktemp(suffix=".db"), 1, "warm")   # numba warm-up
    base = plain_optuna(bars, n)
    rows = [("plain Optuna, in memory (peer)", 1, base)]
    tmp = Path(tempfile.mkdtemp(prefix="optuna-bench-"))
    rows.append(("ours, SQLite", 1, ours(bars, n, f"sqlite:///{tmp / 'a.db'}", 1, "a")))
    rows.append(("ours, SQLite", 2, ours(bars, n, f"sqlite:///{tmp / 'b.db'}", 2, "b")))
    rows.append(("ours, journal file", 1, ours(bars, n, str(tmp / "c.jsonl"), 1, "c")))
    server = None
    try:
        from tests.postgres import PostgresServer, pg_bin

        if pg_bin() is not None:
            server = PostgresServer(pg_bin()).start()
            rows.append(("ours, PostgreSQL", 1, ours(bars, n, server.create_database("d"),
                                                     1, "d")))
            rows.append(("ours, PostgreSQL", 2, ours(bars, n, server.create_database("e"),
                                                     2, "e")))
        else:
            print("PostgreSQL server not installed: its rows are left out")
    finally:
        if server is not None:
            server.stop()
    print(f"{'storage':<32} {'workers':>7} {'seconds':>8} {'trials/s':>9} {'vs peer':>8}")
    for label, w, s in rows:
        print(f"{label:<32} {w:>7} {s:>8.2f} {n / s:>9.1f} {base / s:>7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
