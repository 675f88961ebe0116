"""Continuous futures from real ES contract months (Lean minute bars) and Databento DBN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab.core.errors import DataError
from lab.data.continuous import (contract_month, contracts_from_records, continuous_futures,
                                 equity_index_expiry, expiries_from_definitions)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DBN = FIXTURES.parent / "venues" / "data" / "databento"   # the data sources' fixtures


@pytest.fixture(scope="module")
def es_contracts() -> dict[str, pd.DataFrame]:
    df = pd.read_csv(FIXTURES / "lean_es" / "es_contracts_1m.csv.gz")
    df["ts_event"] = pd.to_datetime(df["ts_event"], utc=True)
    return contracts_from_records(df.set_index("ts_event"), symbol_column="contract")


EXPIRIES = {"ESZ13": equity_index_expiry("ESZ13"), "ESH14": equity_index_expiry("ESH14")}


def test_equity_index_expiry_is_the_third_friday_0830_chicago():
    assert EXPIRIES["ESZ13"] == pd.Timestamp("2013-12-20 14:30", tz="UTC")   # CST
    assert EXPIRIES["ESH14"] == pd.Timestamp("2014-03-21 13:30", tz="UTC")   # CDT
    assert contract_month("ESZ13") == ("ES", 2013, 12)
    assert contract_month("MCLG6") == ("MCL", 2026, 2)
    with pytest.raises(DataError, match="not a futures contract code"):
        contract_month("SPY")
    with pytest.raises(DataError, match="no expiry rule"):
        equity_index_expiry("GCZ13")


def test_volume_roll_switches_the_day_after_the_next_month_outtrades(es_contracts):
    cs = continuous_futures(es_contracts, EXPIRIES, roll="volume")
    # daily volume on 2013-12-18: ESH14 2,261,640 > ESZ13 284,376 -> ESH14 from the next
    # day with data (2013-12-20), never on the day the volume was counted
    assert len(cs.rolls) == 1
    r = cs.rolls[0]
    assert (r.from_contract, r.to_contract) == ("ESZ13", "ESH14")
    assert r.ts == es_contracts["ESH14"].index[
        es_contracts["ESH14"].index >= pd.Timestamp("2013-12-19", tz="UTC")][0]
    before, after = cs.contract[cs.contract.index < r.ts], cs.contract[cs.contract.index >= r.ts]
    assert set(before) == {"ESZ13"} and set(after) == {"ESH14"}
    # unadjusted: every bar is the contract's own bar
    for code, frame in es_contracts.items():
        mine = cs.bars[cs.contract == code]
        pd.testing.assert_frame_equal(mine, frame.loc[mine.index], check_freq=False)
    assert cs.bars.index.is_monotonic_increasing and not cs.bars.index.has_duplicates


def test_days_roll_switches_n_days_before_expiry(es_contracts):
    cs = continuous_futures(es_contracts, EXPIRIES, roll="days", days_before=5)
    cut = EXPIRIES["ESZ13"] - pd.Timedelta(days=5)        # 2013-12-15 14:30 UTC
    r = cs.rolls[0]
    assert r.ts == es_contracts["ESH14"].index[es_contracts["ESH14"].index >= cut][0]
    assert r.ts.date().isoformat() == "2013-12-18"
    cs1 = continuous_futures(es_contracts, EXPIRIES, roll="days", days_before=1)
    assert cs1.rolls[0].ts.date().isoformat() == "2013-12-20"
    with pytest.raises(DataError, match="needs the expiry"):
        continuous_futures(es_contracts, {"ESZ13": EXPIRIES["ESZ13"]}, roll="days")


def test_back_adjustment_removes_the_roll_gap(es_contracts):
    raw = continuous_futures(es_contracts, EXPIRIES, roll="days", days_before=5)
    diff = continuous_futures(es_contracts, EXPIRIES, roll="days", days_before=5,
                              adjust="difference")
    ratio = continuous_futures(es_contracts, EXPIRIES, roll="days", days_before=5,
                               adjust="ratio")
    r = diff.rolls[0]
    # the two contracts' closes at the last common bar before the roll
    assert r.reference_ts < r.ts
    assert r.from_price == es_contracts["ESZ13"].at[r.reference_ts, "close"]
    assert r.to_price == es_contracts["ESH14"].at[r.reference_ts, "close"]
    assert r.adjustment == pytest.approx(r.to_price - r.from_price)
    assert ratio.rolls[0].adjustment == pytest.approx(r.to_price / r.from_price)
    old = raw.bars.index < r.ts
    np.testing.assert_allclose(diff.bars.loc[old, "close"], raw.bars.loc[old, "close"]
                               + r.adjustment, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ratio.bars.loc[old, "close"], raw.bars.loc[old, "close"]
                               * ratio.rolls[0].adjustment, rtol=1e-12)
    # after the roll nothing changes; volume never changes
    pd.testing.assert_frame_equal(diff.bars[~old], raw.bars[~old])
    pd.testing.assert_series_equal(ratio.bars["volume"], raw.bars["volume"])
    # point moves (difference) and returns (ratio) of the old contract are kept
    np.testing.assert_allclose(diff.bars.loc[old, "close"].diff().dropna(),
                               raw.bars.loc[old, "close"].diff().dropna(), atol=1e-9)
    np.testing.assert_allclose(ratio.bars.loc[old, "close"].pct_change().dropna(),
                               raw.bars.loc[old, "close"].pct_change().dropna(), atol=1e-12)


def test_metadata_keeps_rule_contracts_and_roll_dates(es_contracts):
    cs = continuous_futures(es_contracts, EXPIRIES, roll="volume", adjust="ratio")
    meta = cs.metadata()
    assert meta["roll"] == "volume" and meta["adjust"] == "ratio"
    assert meta["contracts"] == ["ESZ13", "ESH14"]
    assert meta["rolls"][0]["from"] == "ESZ13" and meta["rolls"][0]["ts"].startswith("2013-12-20")


def test_bad_inputs_are_refused_with_the_fix(es_contracts):
    with pytest.raises(DataError, match="roll='weekly'|roll="):
        continuous_futures(es_contracts, roll="weekly")
    with pytest.raises(DataError, match="adjust="):
        continuous_futures(es_contracts, adjust="panama")
    with pytest.raises(DataError, match="no contracts"):
        continuous_futures({})
    naive = es_contracts["ESZ13"].tz_localize(None)
    with pytest.raises(DataError, match="UTC"):
        continuous_futures({"ESZ13": naive})
    with pytest.raises(DataError, match="days_before"):
        continuous_futures(es_contracts, EXPIRIES, roll="days", days_before=-1)


def test_databento_dbn_contract_and_definition():
    databento = pytest.importorskip("databento")
    bars = databento.DBNStore.from_file(DBN / "GLBX.MDP3_ohlcv-1m.dbn.zst").to_df()
    defs = databento.DBNStore.from_file(DBN / "GLBX.MDP3_definition.dbn.zst").to_df()
    contracts = contracts_from_records(bars)
    expiries = expiries_from_definitions(defs)
    assert list(contracts) == ["ESH1"]
    # the definition's expiration is the CME rule's third Friday 08:30 Chicago
    assert expiries["ESH1"] == equity_index_expiry("ESH1") == pd.Timestamp(
        "2021-03-19 13:30", tz="UTC")
    cs = continuous_futures(contracts, expiries, roll="days")
    assert cs.rolls == [] and len(cs.bars) == 4
    assert cs.bars["close"].tolist() == [3704.75, 3704.0, 3704.5, 3703.0]


def test_cli_stores_the_continuous_series_with_its_roll_dates(es_contracts, tmp_path, capsys):
    from lab.cli import main
    from lab.data import Catalog
    from lab.data.continuous import rolls_table

    cat = Catalog(tmp_path)
    for code, frame in es_contracts.items():
        cat.store_bars(frame, code, "1m", "future", "Lean fixture")
    assert main(["--store", str(tmp_path), "continuous", "--contracts", "ESZ13,ESH14",
                 "--timeframe", "1m", "--symbol", "ES_CONT", "--roll", "days",
                 "--days-before", "5", "--adjust", "ratio"]) == 0
    assert "ESZ13->ESH14 at 2013-12-18" in capsys.readouterr().out
    info = cat.info("ES_CONT", "1m")
    assert info["asset_class"] == "future" and info["continuous"]["adjust"] == "ratio"
    table = rolls_table(info["continuous"])
    assert table[["from", "to"]].values.tolist() == [["ESZ13", "ESH14"]]
    assert table["roll at (UTC)"].iloc[0] == pd.Timestamp("2013-12-18", tz="UTC")
    stored = cat.load("ES_CONT", "1m")
    assert len(stored) == 6731 and stored.index.is_monotonic_increasing
    # a bad request stores nothing
    assert main(["--store", str(tmp_path), "continuous", "--contracts", "ESZ13",
                 "--timeframe", "1m", "--symbol", "BAD"]) == 2
    assert not cat.has("BAD", "1m")
