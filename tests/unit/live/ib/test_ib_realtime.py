"""5-second real-time bars -> closed bars of the bot's timeframe, from the stand-in."""

from __future__ import annotations

import pandas as pd
import pytest

from lab.live.ib.connection import IBConnection
from lab.live.ib.contracts import ContractSpec, qualify
from lab.live.ib.realtime import BarAggregator, IBBarFeed
from tests.venues.ib_gateway.market import bars_of


def test_aggregator_emits_a_bar_only_when_its_last_five_seconds_arrive():
    agg = BarAggregator(60)
    out = []
    for k in range(11):                       # 00:00:00 .. 00:00:50: still forming
        out += agg.add(k * 5, 10 + k, 11 + k, 9 + k, 10.5 + k, 1)
    assert out == []
    [bar] = agg.add(55, 30, 40, 1, 25, 2)     # 00:00:55 closes 00:00 .. 00:01
    assert bar == (pd.Timestamp(0, unit="s", tz="UTC"), 10, 40, 1, 25, 13)


def test_aggregator_closes_a_bar_when_a_gap_shows_it_is_over_and_ignores_late_bars():
    agg = BarAggregator(60)
    assert agg.add(0, 1, 2, 0.5, 1.5, 1) == []
    [gap_closed] = agg.add(125, 5, 6, 4, 5.5, 1)   # 00:02:05 -> the 00:00 bar is over
    assert gap_closed[0] == pd.Timestamp(0, unit="s", tz="UTC") and gap_closed[4] == 1.5
    assert agg.add(10, 9, 9, 9, 9, 9) == []          # late: its bar was already given out
    with pytest.raises(ValueError, match="multiple of 5"):
        BarAggregator(62)


def test_feed_turns_the_stand_ins_stream_into_closed_minute_bars(settings, gateway):
    conn = IBConnection(settings).connect()
    try:
        es = qualify(conn, ContractSpec("ES", "FUT", expiry="201312"))
        feed = IBBarFeed(conn, es, 60, poll_s=0.1)
        feed.subscribe()
        conn.pump(0.2)
        gateway.push_realtime_bars(30)            # 2.5 minutes of 5-second bars
        conn.pump(0.3)
        closed = feed.poll()
        assert len(closed) == 2                   # the third minute is still forming
        fives = bars_of("ESZ13").iloc[:30].reset_index(drop=True)
        first = fives.iloc[:12]
        assert closed[0][1:] == (first.open.iloc[0], first.high.max(), first.low.min(),
                                 first.close.iloc[-1], first.volume.sum())
        assert closed[1][0] - closed[0][0] == pd.Timedelta(minutes=1)
    finally:
        conn.disconnect()


def test_feed_resubscribes_after_1101_data_lost(settings, gateway):
    conn = IBConnection(settings).connect()
    try:
        es = qualify(conn, ContractSpec("ES", "FUT", expiry="201312"))
        feed = IBBarFeed(conn, es, 60, poll_s=0.1)
        feed.subscribe()
        conn.pump(0.2)
        gateway.connectivity_lost()
        gateway.connectivity_restored(data_lost=True)   # the stand-in drops the stream
        conn.pump(0.3)
        assert len(gateway.requests("realtime_bars")) == 2
        gateway.push_realtime_bars(12)
        conn.pump(0.3)
        assert len(feed.poll()) == 1
    finally:
        conn.disconnect()
