"""Latency of the Backtest page on 50,000 bars, measured with Streamlit's AppTest.

Builds a temporary store holding 50,000+ real-derived hourly bars, opens the Backtest
page, runs one backtest to warm the caches and the compiled kernel, then times full
script reruns (inputs -> backtest -> charts -> tables) with the same and with changed
settings.

    .venv/bin/python benchmarks/page_latency.py [--bars 50000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._data import chained_hourly_btc  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=50_000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lab-latency-"))
    os.environ["LAB_DATA_DIR"] = str(tmp)
    from lab.data import Catalog, build_sample_store

    catalog = Catalog(tmp)
    build_sample_store(catalog)
    bars = chained_hourly_btc(args.bars).iloc[: args.bars]
    catalog.store_bars(bars, "BTC_LONG", "1h", asset_class="crypto",
                       source="benchmarks/_data.py chained_hourly_btc",
                       description="real Coinbase BTC/USD hourly, chained")

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("app_pages/backtest.py")
    at.run()
    at.selectbox(key="bt_symbol").set_value("BTC_LONG").run()
    at.button(key="bt_run").click().run()           # warm: compile, load, cache
    assert not at.exception, at.exception
    timings = []
    for leverage in (1, 2, 3, 4, 5):
        t = time.perf_counter()
        at.slider(key="bt_leverage").set_value(leverage)
        at.button(key="bt_run").click().run()
        timings.append(time.perf_counter() - t)
    assert not at.exception, at.exception
    n = len(catalog.load("BTC_LONG", "1h"))
    print(f"Backtest page, {n:,} bars, sma_cross, full rerun incl. charts and tables:")
    print("  " + ", ".join(f"{t:.2f}s" for t in timings)
          + f"  (median {sorted(timings)[len(timings) // 2]:.2f}s)")


if __name__ == "__main__":
    main()
