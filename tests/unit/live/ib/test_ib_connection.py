"""IBConnection against the stand-in gateway: backoff, clear failures, IB's codes."""

from __future__ import annotations

import pytest

from lab.core.errors import ConfigError
from lab.live.ib.connection import IBConnection, probe
from lab.live.ib.settings import (IBConnectionError, IBRequestError, IBSettings,
                                  IBTimeoutError, LiveTradingRefused, check_live_allowed,
                                  describe_port, mask_account)


def test_settings_come_from_flags_then_environment_then_defaults():
    env = {"LAB_IB_HOST": "10.0.0.5", "LAB_IB_PORT": "7497", "LAB_IB_CLIENT_ID": "9"}
    s = IBSettings.resolve(port=4001, env=env)
    assert (s.host, s.port, s.client_id, s.account) == ("10.0.0.5", 4001, 9, "")
    d = IBSettings.resolve(env={})
    assert (d.host, d.port, d.client_id) == ("127.0.0.1", 4002, 1)
    assert describe_port(4002) == "IB Gateway paper (4002)"
    assert describe_port(7496) == "TWS live (7496)"
    with pytest.raises(ConfigError, match="port=70000 must be 1-65535"):
        IBSettings(port=70000)
    with pytest.raises(ConfigError, match="whole numbers"):
        IBSettings.resolve(client_id="abc", env={})


def test_connects_reads_account_and_server_version(settings, gateway):
    conn = IBConnection(settings).connect()
    try:
        st = conn.status()
        assert st.connected and st.server_version == 176 and st.mode == "paper"
        assert st.account == "DU****321" and "DU7654321" not in str(st.to_dict())
        assert st.last_error == ""             # 2104/2106/2158 are not errors
        assert conn.trading_allowed and conn.needs_reconcile
    finally:
        conn.disconnect()


def test_no_gateway_fails_after_backoff_1_2_4_naming_host_port_and_what_to_start(gateway):
    gateway.stop_listening()
    waits = []
    conn = IBConnection(IBSettings(port=gateway.port, timeout_s=2), sleep=waits.append)
    with pytest.raises(IBConnectionError) as err:
        conn.connect()
    assert waits == [1.0, 2.0, 4.0]
    text = str(err.value)
    assert f"127.0.0.1:{gateway.port}" in text and "after 4 attempts" in text
    assert "connection refused" in text and "start IB Gateway or TWS" in text
    assert len(gateway.requests()) == 0


def test_retry_succeeds_when_the_gateway_comes_up_during_backoff(gateway):
    gateway.stop_listening()
    waits = []

    def sleep(s):
        waits.append(s)
        if len(waits) == 2:
            gateway.start_listening()

    conn = IBConnection(IBSettings(port=gateway.port, timeout_s=5), sleep=sleep).connect()
    assert waits == [1.0, 2.0] and conn.connected
    conn.disconnect()


def test_client_id_in_use_is_named(settings, gateway):
    first = IBConnection(settings).connect()
    try:
        waits = []
        second = IBConnection(IBSettings(port=gateway.port, client_id=settings.client_id,
                                         timeout_s=2), sleep=waits.append)
        with pytest.raises(IBConnectionError, match="client id 21: it is already in use"):
            second.connect()
        assert waits == []                    # no point retrying a taken client id
    finally:
        first.disconnect()


def test_unknown_account_is_refused(gateway):
    conn = IBConnection(IBSettings(port=gateway.port, account="DU0000001", timeout_s=5))
    with pytest.raises(IBConnectionError, match="not managed by the IB login"):
        conn.connect()


def test_request_error_and_silence_are_raised_not_swallowed(settings, gateway):
    from ib_async import Stock

    conn = IBConnection(settings).connect()
    try:
        with pytest.raises(IBRequestError) as err:
            conn.request(conn.ib.reqContractDetailsAsync(Stock("NOPE", "SMART", "USD")),
                         "contract details of NOPE")
        assert err.value.code == 200 and "NOPE" in str(err.value)
        gateway.hang("executions")
        with pytest.raises(IBTimeoutError, match="did not answer executions within 0.5 s"):
            conn.request(conn.ib.reqExecutionsAsync(), "executions", timeout=0.5)
    finally:
        conn.disconnect()


def test_1100_stops_trading_1101_resubscribes_and_1102_asks_reconciliation(settings, gateway):
    conn = IBConnection(settings).connect()
    resubscribed = []
    conn.resubscribe.append(lambda: resubscribed.append(True))
    try:
        conn.mark_reconciled()
        gateway.connectivity_lost()
        conn.pump(0.3)
        assert not conn.trading_allowed and conn.status().connectivity == "lost"
        gateway.connectivity_restored(data_lost=False)
        conn.pump(0.3)
        assert conn.trading_allowed and conn.needs_reconcile and resubscribed == []
        conn.mark_reconciled()
        gateway.connectivity_restored(data_lost=True)
        conn.pump(0.3)
        assert resubscribed == [True] and conn.needs_reconcile
        assert conn.status().last_error.startswith("1101 ")
    finally:
        conn.disconnect()


def test_health_check_runs_every_30_seconds(settings, gateway):
    now = [1000.0]
    conn = IBConnection(settings, clock=lambda: now[0]).connect()
    try:
        assert conn.health_check() is False            # just connected
        now[0] += 29
        assert conn.health_check() is False
        now[0] += 2
        assert conn.health_check() is True
        assert len(gateway.requests("current_time")) == 1
        assert conn.status().last_heartbeat == 1031.0
    finally:
        conn.disconnect()


def test_probe_reports_status_or_the_reason(gateway):
    st = probe(IBSettings(port=gateway.port, client_id=99))
    assert st.connected and st.server_version == 176 and st.account == "DU****321"
    gateway.stop_listening()
    down = probe(IBSettings(port=gateway.port, client_id=99))
    assert not down.connected and "connection refused" in down.last_error


def test_live_orders_need_the_switch_and_the_typed_account():
    check_live_allowed("DU7654321", live=False, live_enabled=False, confirm=None)
    with pytest.raises(LiveTradingRefused, match="live trading is switched off"):
        check_live_allowed("U1234567", live=True, live_enabled=False, confirm="U1234567")
    with pytest.raises(LiveTradingRefused, match="typed exactly"):
        check_live_allowed("U1234567", live=True, live_enabled=True, confirm="U123")
    with pytest.raises(LiveTradingRefused, match="configured for paper"):
        check_live_allowed("U1234567", live=False, live_enabled=True, confirm=None)
    check_live_allowed("U1234567", live=True, live_enabled=True, confirm="U1234567")
    assert mask_account("U1234567") == "U1***567"
