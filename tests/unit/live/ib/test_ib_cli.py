"""``python -m lab bot start ... --broker ib``: fails fast without a gateway or without the
live switch and confirmation, writes nothing then; starts an IB bot against the stand-in."""

from __future__ import annotations

import json
import time

import pytest

from lab.cli import main
from lab.live import control
from lab.live.ledger import ledger_path
from tests.venues.ib_gateway import StandInGateway

ES = ["--data", "ES", "--sec-type", "FUT", "--expiry", "201312", "--strategy",
      "buy_and_hold", "--size-type", "quantity", "--size", "1", "--multiplier", "50",
      "--cash", "200000",
      "--no-track"]


def _nothing_written(root):
    assert not ledger_path("paper", root).exists() and not ledger_path("live", root).exists()


def test_no_gateway_fails_fast_naming_host_port_and_nothing_is_written(live_root, capsys):
    with StandInGateway() as gw:
        gw.stop_listening()
        rc = main(["--store", str(live_root), "bot", "start", "es", "--broker", "ib",
                   "--port", str(gw.port), *ES])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"127.0.0.1:{gw.port}" in err and "start IB Gateway or TWS" in err
    _nothing_written(live_root)


def test_live_needs_the_switch_and_the_typed_account(live_root, capsys, monkeypatch):
    monkeypatch.delenv("LAB_LIVE_TRADING", raising=False)
    base = ["--store", str(live_root), "bot", "start", "es", "--broker", "ib", "--live", *ES,
            "--max-daily-loss", "0.02"]
    assert main(base + ["--confirm", "U1234567"]) == 2
    assert "LAB_LIVE_TRADING=1" in capsys.readouterr().err
    monkeypatch.setenv("LAB_LIVE_TRADING", "1")
    assert main(base) == 2
    assert "--confirm ACCOUNT" in capsys.readouterr().err
    with StandInGateway(accounts=("U1234567",)) as gw:        # a live login
        paper = ["--store", str(live_root), "bot", "start", "es", "--broker", "ib",
                 "--port", str(gw.port), *ES]
        assert main(paper) == 2
        assert "LIVE account" in capsys.readouterr().err
        assert gw.requests("place_order") == []
    _nothing_written(live_root)


def test_start_an_ib_bot_from_the_cli(live_root, capsys):
    with StandInGateway() as gw:
        rc = main(["--store", str(live_root), "bot", "start", "es", "--broker", "ib",
                   "--port", str(gw.port), "--client-id", "51", *ES, "--json"])
        assert rc == 0
        cfg = json.loads(capsys.readouterr().out)["config"]
        assert cfg["broker"]["kind"] == "ib" and cfg["feed"]["kind"] == "ib"
        assert cfg["broker"]["contract"]["expiry"] == "201312" and cfg["account"] == "paper"
        try:
            end = time.monotonic() + 90
            while not gw.requests("realtime_bars") and time.monotonic() < end:
                time.sleep(0.2)
            gw.push_realtime_bars(12)
            while gw.positions() != {"ESZ3": 1.0} and time.monotonic() < end:
                time.sleep(0.2)
            assert gw.positions() == {"ESZ3": 1.0}
        finally:
            assert main(["--store", str(live_root), "bot", "stop", "es"]) == 0
            end = time.monotonic() + 30
            while control.status("es", live_root)["state"] not in ("stopped", "finished") \
                    and time.monotonic() < end:
                time.sleep(0.2)


def test_live_bots_are_marked_red_in_the_cli(live_root, capsys):
    from lab.core.config import ExecutionConfig
    from lab.live.config import BotConfig, RiskLimits

    cfg = BotConfig(name="es-live", symbol="ES", timeframe="1m", strategy="buy_and_hold",
                    execution=ExecutionConfig(multiplier=50), asset_class="future",
                    account="live", feed={"kind": "ib"}, risk=RiskLimits(max_daily_loss=0.02),
                    broker={"kind": "ib", "port": 4001, "confirm": "U1234567"})
    control.create(cfg, live_root)
    assert main(["--store", str(live_root), "bot", "list"]) == 0
    assert "\033[31;1mLIVE\033[0m es-live" in capsys.readouterr().out
    assert main(["--store", str(live_root), "bot", "status", "es-live"]) == 0
    assert capsys.readouterr().out.startswith("\033[31;1mLIVE\033[0m bot es-live")

