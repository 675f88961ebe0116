"""A bot's bar history: ``History.frame()`` is the OHLCV frame the strategies get, built
without copies; it must equal the frame pandas' public constructors give."""

from __future__ import annotations

import pandas as pd

from lab.live.bot import History


def test_history_frame_equals_the_public_construction(sample_catalog):
    bars = sample_catalog.load("BTCUSD_COINBASE", "1h").iloc[:3000]
    cols = ["open", "high", "low", "close", "volume"]
    h = History(capacity=16)                 # grows by doubling several times
    h.extend(bars.iloc[:1000])
    early = h.frame()
    for t, row in zip(bars.index[1000:], bars[cols].to_numpy()[1000:]):
        h.append(t, *row)
    expected = bars[cols].astype("float64")
    expected.index = pd.DatetimeIndex(expected.index, name="ts_event").as_unit("ns")
    expected.columns = pd.Index(cols, dtype=object)      # as the bot builds them
    got = h.frame()
    pd.testing.assert_frame_equal(got, expected, check_freq=False)
    assert str(got.index.dtype) == "datetime64[ns, UTC]" and got.index.is_monotonic_increasing
    assert got.index.get_loc(bars.index[2500]) == 2500
    # a frame given out earlier keeps its bars when the history grows
    pd.testing.assert_frame_equal(early, expected.iloc[:1000], check_freq=False)
