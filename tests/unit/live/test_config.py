"""BotConfig and RiskLimits: frozen, round-trip through dicts, clear errors."""

from __future__ import annotations

import json

import pytest

from lab import costs
from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError
from lab.live.config import BotConfig, RiskLimits


def _config(**kw):
    base = dict(name="btc-1", symbol="BTCUSD_COINBASE", timeframe="1h", strategy="sma_cross",
                params={"fast": 10, "slow": 30},
                execution=ExecutionConfig(cash=5000, direction="both", leverage=3, sl=0.02,
                                          tp=0.04, commission=costs.percent(0.001),
                                          slippage=0.0005, min_notional=10),
                asset_class="crypto", feed={"kind": "replay", "speed": 50.0},
                risk=RiskLimits(max_daily_loss=0.05, flatten_at_utc="21:55"),
                from_run="abc123")
    base.update(kw)
    return BotConfig(**base)


def test_config_round_trips_through_json_with_the_exact_execution_config():
    cfg = _config()
    back = BotConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    assert back.execution == cfg.execution
    assert back.risk.max_daily_loss == 0.05


@pytest.mark.parametrize("kw, words", [
    ({"name": "bad name!"}, "bot name"),
    ({"timeframe": "7m"}, "unknown timeframe"),
    ({"feed": {"kind": "telegraph"}}, "feed kind"),
    ({"feed": {"kind": "replay", "speed": -1}}, "speed"),
    ({"broker": {"kind": "paper"}, "account": "live"}, "paper broker trades only"),
])
def test_invalid_config_says_what_to_fix(kw, words):
    with pytest.raises(ConfigError, match=words):
        _config(**kw)


def test_live_account_needs_limits_or_an_explicit_waiver():
    with pytest.raises(ConfigError, match="needs risk limits"):
        _config(account="live", broker={"kind": "ib"}, risk=RiskLimits())
    assert _config(account="live", broker={"kind": "ib"}, risk=RiskLimits(waived=True))
    assert _config(account="live", broker={"kind": "ib"}, risk=RiskLimits(max_drawdown=0.1))


@pytest.mark.parametrize("kw, words", [
    ({"max_daily_loss": 5}, "fraction"), ({"max_leverage": -1}, "positive"),
    ({"flatten_at_utc": "25:00"}, "HH:MM"), ({"max_orders_per_minute": True}, "positive"),
])
def test_bad_risk_limits_are_refused(kw, words):
    with pytest.raises(ConfigError, match=words):
        RiskLimits(**kw)


def test_limits_are_off_by_default_and_unknown_keys_are_named():
    assert not RiskLimits().any_set
    with pytest.raises(ConfigError, match="max_lev"):
        RiskLimits.from_dict({"max_lev": 2})
