"""The SQLite ledger: WAL, 0600, schema version and migrations, unique client order ids."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from lab.live.ledger import SCHEMA_VERSION, Ledger, LedgerError, ledger_path


def test_paper_and_live_ledgers_are_separate_private_wal_files(tmp_path):
    paper, live = Ledger(ledger_path("paper", tmp_path)), Ledger(ledger_path("live", tmp_path))
    assert paper.path != live.path
    assert paper.path.parent == tmp_path / "live"
    for led in (paper, live):
        assert stat.S_IMODE(led.path.stat().st_mode) == 0o600
        assert led.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert led.con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    paper.add_bot("a", "u1", {"x": 1})
    paper.event("a", "start", "hello")
    wal = paper.path.with_name(paper.path.name + "-wal")
    assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600
    assert live.bot("a") is None


def test_an_old_file_is_migrated_and_a_newer_one_refused(tmp_path):
    path = tmp_path / "live" / "paper.sqlite"
    path.parent.mkdir()
    sqlite3.connect(path).close()                      # version 0: empty
    led = Ledger(path)
    assert led.con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    led.con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    led.close()
    with pytest.raises(LedgerError, match="newer than this code"):
        Ledger(path)


def test_a_client_order_id_can_never_be_written_twice(tmp_path):
    led = Ledger(ledger_path("paper", tmp_path))
    led.add_bot("a", "u1", {})
    req = {"client_order_id": "u1-5-e", "bar": 5, "side": 1, "kind": "entry"}
    led.add_intent("a", req)
    with pytest.raises(LedgerError, match="never be reused"):
        led.add_intent("a", req)
    assert [i["status"] for i in led.intents("a")] == ["new"]


def test_a_failed_transaction_leaves_nothing_half_written(tmp_path):
    led = Ledger(ledger_path("paper", tmp_path))
    led.add_bot("a", "u1", {})
    with pytest.raises(RuntimeError):
        with led.transaction():
            led.add_fill("a", {"fill_id": "f1", "client_order_id": "c", "bar": 1, "time": "t",
                               "side": 1, "qty": 1.0, "price": 1.0, "fee": 0.0,
                               "reason": "entry"})
            led.set_position("a", 1, {"qty": 1.0, "avg_price": 1.0})
            raise RuntimeError("crash")
    assert led.fills("a") == [] and led.position("a") is None


def test_a_fill_is_stored_once_by_its_id(tmp_path):
    led = Ledger(ledger_path("paper", tmp_path))
    f = {"fill_id": "f1", "client_order_id": None, "bar": 1, "time": "t", "side": -1,
         "qty": 2.0, "price": 3.0, "fee": 0.1, "reason": "stop"}
    assert led.add_fill("a", f) is True
    assert led.add_fill("a", f) is False
    assert len(led.fills("a")) == 1


def test_duplicate_bot_name_is_refused(tmp_path):
    led = Ledger(ledger_path("paper", tmp_path))
    led.add_bot("a", "u1", {})
    with pytest.raises(LedgerError, match="exists already"):
        led.add_bot("a", "u2", {})


def test_a_v2_file_gets_the_models_commission_and_price_columns_keeping_its_fills(tmp_path):
    from lab.live.ledger import MIGRATIONS, connect

    path = tmp_path / "live" / "paper.sqlite"
    con = connect(path, MIGRATIONS, 2)                 # a ledger as schema v2 wrote it
    con.execute("INSERT INTO fills (fill_id, bot, seq, client_order_id, bar, time, side, "
                "qty, price, fee, reason, recorded_at) VALUES ('f1', 'a', 0, 'c', 1, 't', 1, "
                "2.0, 3.0, 0.1, 'entry', 0)")
    con.close()
    led = Ledger(path)
    assert led.con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    [old] = led.fills("a")
    assert (old["qty"], old["price"], old["fee"]) == (2.0, 3.0, 0.1)
    assert old["fee_model"] is None and old["price_model"] is None
    led.add_fill("a", {"fill_id": "f2", "client_order_id": None, "bar": 2, "time": "t",
                       "side": -1, "qty": 2.0, "price": 2.9, "fee": 1.7, "reason": "stop",
                       "fee_model": 1.5, "price_model": 2.95})
    assert [(f["fee_model"], f["price_model"]) for f in led.fills("a")] == \
        [(None, None), (1.5, 2.95)]
