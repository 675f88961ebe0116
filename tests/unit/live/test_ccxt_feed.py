"""The ccxt polling feed against a local server speaking Binance's kline JSON (real
bars of the samples): closed bars only, in order, none twice; a paper bot on it trades
exactly as the backtest of the bars it saw."""

from __future__ import annotations

import pandas as pd
import pytest

from lab import costs
from lab.core.config import ExecutionConfig
from lab.jobs.bot_check import backtest_bars, compare
from lab.live import control
from lab.live.bot import Bot
from lab.live.config import BotConfig
from lab.live.feeds import CcxtFeed
from lab.live.ledger import Ledger, ledger_path
from lab.live.paper import PaperBroker, venue_path
from tests.venues.binance_server import BinanceServer

HOUR = pd.Timedelta(hours=1)


class Clock:
    """The present; each poll's sleep moves it one bar on (half-way into the next bar)."""

    def __init__(self, now, stop_after: int, feed_ref: list):
        self.now, self.left, self.feed_ref = now, stop_after, feed_ref

    def __call__(self):
        return self.now

    def sleep(self, _seconds):
        self.now += HOUR
        self.left -= 1
        if self.left <= 0:
            self.feed_ref[0].stopped = True


@pytest.fixture
def btc(sample_catalog):
    return sample_catalog.load("BTCUSD_COINBASE", "1h").iloc[3000:3260]


def test_feed_gives_closed_bars_only_in_order(btc):
    with BinanceServer({"BTCUSDT": btc}) as server:
        ref: list = []
        clock = Clock(btc.index[100] + HOUR / 2, 40, ref)       # bar 100 is forming
        feed = CcxtFeed("BTC/USDT", "1h", client=server.ccxt_exchange(), warmup=60,
                        clock=clock, sleep=clock.sleep)
        ref.append(feed)
        warm = feed.warmup()
        pd.testing.assert_frame_equal(warm, btc.iloc[40:100], check_freq=False,
                                      check_names=False)
        seen = []
        for bar in feed.bars():
            assert bar[0] + HOUR <= clock.now                    # closed when given
            seen.append(bar)
    times = [b[0] for b in seen]
    assert times == list(btc.index[100:100 + len(times)]) and len(times) >= 35
    assert [b[4] for b in seen] == list(btc["close"].iloc[100:100 + len(times)])
    assert server.kline_requests >= 35


def test_paper_bot_on_the_ccxt_feed_equals_the_backtest_of_what_it_saw(btc, tmp_path):
    ex = ExecutionConfig(cash=10_000, direction="both", commission=costs.percent(0.001),
                         slippage=0.0005)
    cfg = BotConfig(name="ccxt-bot", symbol="BTCUSDT_BINANCE", timeframe="1h",
                    strategy="sma_cross", params={"fast": 5, "slow": 20}, execution=ex,
                    asset_class="crypto", track=False,
                    feed={"kind": "ccxt", "market": "BTC/USDT", "warmup": 50})
    uid = control.create(cfg, tmp_path)
    ledger = Ledger(ledger_path("paper", tmp_path))
    broker = PaperBroker(venue_path(tmp_path), uid, cfg.symbol, ex)
    with BinanceServer({"BTCUSDT": btc}) as server:
        ref: list = []
        clock = Clock(btc.index[50] + HOUR / 2, 200, ref)
        feed = CcxtFeed("BTC/USDT", "1h", client=server.ccxt_exchange(), warmup=50,
                        clock=clock, sleep=clock.sleep)
        ref.append(feed)
        bot = Bot(ledger, cfg, broker, feed)
        bot.rebuild()
        assert bot.reconcile() is None
        for bar in feed.bars(after=bot.hist.frame().index[-1]):
            bot.on_bar(bar)
    eq = control.equity("ccxt-bot", tmp_path)
    assert len(eq) >= 190 and eq.index[0] == btc.index[50]
    bars = btc.iloc[:50 + len(eq)]
    result = backtest_bars(cfg, bars, warmup=50)
    check = compare(result, control.trades("ccxt-bot", tmp_path),
                    control.fills("ccxt-bot", tmp_path), eq["equity"],
                    control.status("ccxt-bot", tmp_path)["position"], warmup=50)
    assert check.match, check.differences
    assert check.bot_trades >= 3
