"""Benchmark inputs derived from the committed real samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def sample(symbol: str, timeframe: str) -> pd.DataFrame:
    """One committed sample (``data/samples``) as a bar frame, no store needed."""
    import json

    manifest = json.loads((ROOT / "data" / "samples" / "samples.json").read_text())
    entries = manifest["samples"] if isinstance(manifest, dict) else manifest
    for e in entries:
        if e["symbol"] == symbol and e["timeframe"] == timeframe:
            df = pd.read_parquet(ROOT / "data" / "samples" / e["file"])
            return df.set_index("ts_event")[["open", "high", "low", "close", "volume"]]
    raise KeyError(f"{symbol} {timeframe} not in data/samples/samples.json")


def chained_hourly_btc(min_bars: int = 100_000) -> pd.DataFrame:
    """Real Coinbase BTC/USD hourly bars, repeated end to end until ``min_bars``.

    Each repetition is rescaled so that it opens at the previous repetition's last
    close; the timestamps continue hourly. Every bar's shape (returns, ranges) is
    real; only the level is shifted.
    """
    base = sample("BTCUSD_COINBASE", "1h")
    cols = ["open", "high", "low", "close", "volume"]
    parts, level = [], None
    while sum(len(p) for p in parts) < min_bars:
        part = base[cols].copy()
        if level is not None:
            scale = level / part["open"].iloc[0]
            part[["open", "high", "low", "close"]] *= scale
        level = part["close"].iloc[-1]
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out.index = pd.date_range(base.index[0], periods=len(out), freq="h", tz="UTC",
                              name="ts_event")
    return out.astype(np.float64)
