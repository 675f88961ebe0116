"""Leaderboard: ranking, trade minimum, DSR per symbol/timeframe, grid stability,
filters, heatmap tables, comparisons, on hand-made sweep results."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from lab.research.sweep.leaderboard import (compare_leaderboards, config_label, heatmap_table,
                                            leaderboard, rank_correlation, stability,
                                            strategy_ranks, trials_summary)
from lab.metrics.overfitting import deflated_sharpe_ratio, probabilistic_sharpe_ratio


def row(strategy="sma_cross", symbol="AAPL", timeframe="1d", sl=np.nan, tp=np.nan,
        leverage=1.0, sharpe=1.0, trades=10, profit_factor=1.5, total_return=0.2,
        bars=1000, ppy=252.0, **params) -> dict:
    r = {"set_id": 0, "strategy": strategy, "symbol": symbol, "timeframe": timeframe,
         "params": json.dumps(params), "sl": sl, "tp": tp, "leverage": leverage,
         "sharpe": sharpe, "trades": trades, "profit_factor": profit_factor,
         "total_return": total_return, "win_rate": 0.5, "max_drawdown": -0.1,
         "exposure": 0.5, "cagr": 0.05, "bars": bars, "periods_per_year": ppy,
         "skew": 0.0, "kurtosis": 3.0}
    r.update({f"param_{k}": float(v) for k, v in params.items()})
    return r


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["set_id"] = np.arange(len(df))
    return df


def grid(sharpes: dict[tuple[int, int], float], **kw) -> pd.DataFrame:
    """sma_cross over fast x slow with the given Sharpe per (fast, slow)."""
    return frame([row(fast=f, slow=s, sharpe=v, **kw) for (f, s), v in sharpes.items()])


def test_ranks_by_sharpe_then_profit_factor_then_total_return():
    df = frame([row(sharpe=1.0, profit_factor=1.2, total_return=0.1, fast=1),
                row(sharpe=2.0, profit_factor=1.0, total_return=0.1, fast=2),
                row(sharpe=1.0, profit_factor=1.2, total_return=0.3, fast=3),
                row(sharpe=1.0, profit_factor=3.0, total_return=0.0, fast=4),
                row(sharpe=np.nan, profit_factor=9.0, total_return=0.9, fast=5)])
    board = leaderboard(df, min_trades=0)
    assert board["param_fast"].tolist() == [2, 4, 3, 1, 5]
    assert board["rank"].tolist() == [1, 2, 3, 4, 5]
    assert board.columns[:18].tolist() == [
        "rank", "strategy", "symbol", "timeframe", "params", "sl", "tp", "leverage",
        "trades", "win_rate", "max_drawdown", "exposure", "cagr", "total_return", "sharpe",
        "profit_factor", "dsr", "stability"]


def test_rows_below_the_trade_minimum_are_excluded_and_counted_but_stay_trials():
    df = frame([row(sharpe=3.0, trades=2, fast=1), row(sharpe=1.0, trades=5, fast=2),
                row(sharpe=0.5, trades=3, fast=3)])
    board = leaderboard(df, min_trades=3)
    assert board["param_fast"].tolist() == [2, 3]
    assert board.attrs["excluded_min_trades"] == 1 and board.attrs["trials"] == 3
    everything = leaderboard(df, min_trades=0)
    # the excluded row was still tried: the DSR of the others does not change
    assert board.loc[0, "dsr"] == everything.set_index("param_fast").loc[2, "dsr"]


def test_dsr_deflates_by_the_trials_and_sharpe_variance_of_each_symbol_and_timeframe():
    sharpes_a = [0.2, 0.8, 1.5, 2.5]
    sharpes_b = [0.1, 0.4]
    df = frame([row(symbol="AAPL", sharpe=s, fast=i) for i, s in enumerate(sharpes_a)]
               + [row(symbol="MSFT", sharpe=s, fast=i) for i, s in enumerate(sharpes_b)])
    board = leaderboard(df, min_trades=0).set_index(["symbol", "param_fast"])
    bar_a = np.array(sharpes_a) / math.sqrt(252)
    expected = deflated_sharpe_ratio(bar_a[3], 1000, 4, np.var(bar_a, ddof=1))
    assert board.loc[("AAPL", 3), "dsr"] == pytest.approx(expected, rel=1e-12)
    bar_b = np.array(sharpes_b) / math.sqrt(252)
    expected_b = deflated_sharpe_ratio(bar_b[1], 1000, 2, np.var(bar_b, ddof=1))
    assert board.loc[("MSFT", 1), "dsr"] == pytest.approx(expected_b, rel=1e-12)
    assert (board["dsr"] <= board["psr"] + 1e-15).all()


def test_dsr_of_a_single_trial_is_its_psr_against_zero():
    df = frame([row(sharpe=1.2, bars=500, fast=1)])
    board = leaderboard(df, min_trades=0)
    expected = probabilistic_sharpe_ratio(1.2 / math.sqrt(252), 500)
    assert board.loc[0, "dsr"] == pytest.approx(expected) == board.loc[0, "psr"]


def test_dsr_uses_skew_and_kurtosis_of_the_row():
    df = frame([row(sharpe=s, fast=i) for i, s in enumerate([0.5, 1.0, 2.0])])
    df.loc[2, ["skew", "kurtosis"]] = [-2.0, 12.0]
    normal = leaderboard(df.assign(skew=0.0, kurtosis=3.0), min_trades=0)
    fat = leaderboard(df, min_trades=0)
    assert fat.loc[0, "dsr"] < normal.loc[0, "dsr"]


def test_stability_is_mean_neighbour_sharpe_over_own_sharpe():
    #            slow=50  slow=100  slow=150
    # fast=10      0.5      0.5       0.5
    # fast=20      0.5      1.0       0.4
    # fast=30      0.5      0.6       0.5
    values = {(10, 50): 0.5, (10, 100): 0.5, (10, 150): 0.5,
              (20, 50): 0.5, (20, 100): 1.0, (20, 150): 0.4,
              (30, 50): 0.5, (30, 100): 0.6, (30, 150): 0.5}
    df = grid(values)
    st = stability(df).set_index(pd.MultiIndex.from_frame(df[["param_fast", "param_slow"]]))
    assert st.loc[(20, 100), "neighbours"] == 4
    assert st.loc[(20, 100), "stability"] == pytest.approx((0.5 + 0.6 + 0.5 + 0.4) / 4)
    assert st.loc[(10, 50), "neighbours"] == 2                       # a corner
    assert st.loc[(10, 50), "stability"] == 1.0                      # clipped at 1
    assert st.loc[(20, 150), "stability"] == 1.0
    assert st.loc[(30, 100), "neighbours"] == 3
    assert st.loc[(30, 100), "stability"] == 1.0             # (0.5 + 0.5 + 1.0) / 3 > 0.6
    assert st.loc[(20, 50), "stability"] == pytest.approx(min(1.0, (0.5 + 0.5 + 1.0) / 3 / 0.5))


def test_an_isolated_peak_scores_zero_and_a_plateau_one():
    peak = grid({(10, 50): -0.5, (20, 50): 2.0, (30, 50): -0.2})
    assert stability(peak)["stability"].tolist()[1] == 0.0
    plateau = grid({(10, 50): 1.0, (20, 50): 1.0, (30, 50): 1.0})
    assert stability(plateau)["stability"].tolist() == [1.0, 1.0, 1.0]


def test_stability_is_nan_without_neighbours_or_without_a_positive_sharpe():
    lone = grid({(10, 50): 1.0})
    assert np.isnan(stability(lone)["stability"].iloc[0])
    losing = grid({(10, 50): -1.0, (20, 50): 1.0})
    assert np.isnan(stability(losing)["stability"].iloc[0])


def test_neighbours_share_stops_leverage_and_symbol_and_move_one_grid_step():
    rows = [row(fast=10, slow=50, sharpe=1.0, sl=0.02),
            row(fast=20, slow=50, sharpe=-5.0, sl=np.nan),        # other stop: not a neighbour
            row(fast=20, slow=50, sharpe=-5.0, sl=0.02, leverage=2.0),
            row(fast=20, slow=50, sharpe=-5.0, sl=0.02, symbol="MSFT"),
            row(fast=20, slow=50, sharpe=0.5, sl=0.02),            # the neighbour
            row(fast=20, slow=100, sharpe=-9.0, sl=0.02),          # two params moved
            row(fast=40, slow=50, sharpe=-9.0, sl=0.02)]           # two grid steps
    df = frame(rows)
    st = stability(df)
    assert st.loc[0, "neighbours"] == 1
    assert st.loc[0, "stability"] == pytest.approx(0.5)


def test_a_neighbour_without_a_sharpe_counts_as_zero():
    df = grid({(10, 50): 1.0, (20, 50): np.nan, (30, 50): 1.0})
    st = stability(df)
    assert st["stability"].iloc[0] == 0.0
    assert np.isnan(st["stability"].iloc[1])


def test_stability_works_per_strategy_with_different_parameters():
    rows = [row(fast=10, slow=50, sharpe=1.0), row(fast=20, slow=50, sharpe=0.8),
            row(strategy="rsi", period=14, sharpe=2.0), row(strategy="rsi", period=21,
                                                            sharpe=1.0)]
    st = stability(frame(rows))
    assert st["stability"].round(6).tolist() == [0.8, 1.0, 0.5, 1.0]


def test_filters_keep_ranges_sets_and_values_without_moving_ranks():
    df = frame([row(sharpe=3 - i * 0.5, fast=f, trades=10, sl=sl,
                    strategy="sma_cross" if i % 2 else "ema_cross")
                for i, (f, sl) in enumerate(itertools.product([5, 10, 20], [np.nan, 0.01]))])
    df.loc[0, "max_drawdown"] = -0.6
    board = leaderboard(df, min_trades=0, filters={"max_drawdown": (-0.5, None),
                                                   "strategy": ["ema_cross"],
                                                   "fast": (5, 10)})
    assert board["rank"].tolist() == [3]
    assert board.attrs["filtered_out"] == 5
    assert leaderboard(df, min_trades=0, filters={"sl": 0.01})["rank"].tolist() == [2, 4, 6]
    assert len(leaderboard(df, min_trades=0, top=2)) == 2
    with pytest.raises(KeyError, match="parameters are"):
        leaderboard(df, filters={"nope": 1})
    with pytest.raises(ValueError, match="range"):
        leaderboard(df, filters={"fast": (1, 2, 3)})


def test_heatmap_table_pivots_a_metric_and_takes_the_max_over_other_dimensions():
    rows = [row(fast=f, slow=s, sl=sl, sharpe=f / 10 + s / 100 + (0.5 if sl == 0.02 else 0))
            for f in (10, 20) for s in (50, 100) for sl in (np.nan, 0.02)]
    rows.append(row(strategy="rsi", period=14, sharpe=9.0))
    df = frame(rows)
    table = heatmap_table(df, "sma_cross", "fast", "slow", "sharpe")
    assert table.index.tolist() == [50, 100] and table.columns.tolist() == [10, 20]
    assert table.loc[100, 20] == pytest.approx(2.0 + 1.0 + 0.5)
    assert table.attrs["aggregated_over"] == ["sl"] and table.attrs["agg"] == "max"
    off = heatmap_table(df, "sma_cross", "fast", "param_slow", fixed={"sl": None})
    assert off.loc[100, 20] == pytest.approx(3.0) and off.attrs["aggregated_over"] == []
    mean = heatmap_table(df, "sma_cross", "fast", "slow", agg="mean")
    assert mean.loc[50, 10] == pytest.approx(1.5 + 0.25)
    with pytest.raises(KeyError, match="strategy"):
        heatmap_table(df, "macd", "fast", "slow")


def test_compare_leaderboards_lines_up_the_top_rows_of_each_board():
    a = leaderboard(grid({(10, 50): 2.0, (20, 50): 1.0, (30, 50): 0.5}), min_trades=0)
    b = leaderboard(grid({(10, 50): 0.1, (20, 50): 1.0}, symbol="MSFT"), min_trades=0)
    table = compare_leaderboards({"A": a, "B": b}, top=3)
    assert table.shape == (3, 12)
    assert table[("A", "sharpe")].tolist() == [2.0, 1.0, 0.5]
    assert table.loc[1, ("B", "config")].startswith("sma_cross fast=20 slow=50")
    assert pd.isna(table.loc[3, ("B", "sharpe")])


def test_strategy_ranks_and_rank_correlation_show_agreement_and_reversal():
    def board(order):
        rows = [row(strategy=s, fast=1, sharpe=float(len(order) - i))
                for i, s in enumerate(order)]
        return leaderboard(frame(rows), min_trades=0)

    names = ["a", "b", "c", "d"]
    boards = {"x": board(names), "same": board(names), "reverse": board(names[::-1])}
    ranks = strategy_ranks(boards)
    assert ranks.loc["a"].tolist() == [1, 1, 4]
    corr = rank_correlation(boards).set_index(["a", "b"])
    assert corr.loc[("x", "same"), "strategy_spearman"] == pytest.approx(1.0)
    assert corr.loc[("x", "reverse"), "strategy_spearman"] == pytest.approx(-1.0)
    assert corr.loc[("x", "same"), "configs"] == 4
    assert corr.loc[("x", "reverse"), "top_overlap"] == 4


def test_trials_summary_gives_n_variance_and_expected_max_sharpe_per_symbol():
    df = frame([row(sharpe=s, fast=i) for i, s in enumerate([0.0, 1.0, 2.0])]
               + [row(symbol="BTC", timeframe="1h", ppy=8760.0, sharpe=np.nan, fast=1)])
    summary = trials_summary(df).set_index("symbol")
    assert summary.loc["AAPL", "trials"] == 3
    assert summary.loc["AAPL", "sharpe_variance_bar"] == pytest.approx(1.0 / 252)
    assert summary.loc["AAPL", "expected_max_sharpe"] > 0
    assert summary.loc["BTC", "with_sharpe"] == 0
    assert summary.loc["BTC", "expected_max_sharpe"] == 0


def test_config_label_reads_params_stops_and_leverage():
    label = config_label(row(fast=20, slow=50, sl=0.02, tp=np.nan, leverage=2.0))
    assert label == "sma_cross fast=20 slow=50 · SL 2% · TP off · 2x"
    assert config_label(row(strategy="buy_and_hold")) == "buy_and_hold · SL off · TP off · 1x"


def test_min_track_record_length_is_where_the_psr_reaches_95_percent():
    from lab.research.sweep.leaderboard import add_dsr
    from lab.metrics.overfitting import probabilistic_sharpe_ratio

    rows = pd.DataFrame({"symbol": ["X", "X", "X"], "timeframe": ["1d"] * 3,
                         "sharpe": [1.5, 0.8, -0.2], "periods_per_year": [252.0] * 3,
                         "bars": [2520.0] * 3, "skew": [-0.3, 0.1, 0.0],
                         "kurtosis": [5.0, 3.0, 3.0]})
    out = add_dsr(rows)
    for i in (0, 1):
        psr = probabilistic_sharpe_ratio(out.at[i, "sharpe_bar"], out.at[i, "min_trl"], 0.0,
                                         rows.at[i, "skew"], rows.at[i, "kurtosis"])
        assert psr == pytest.approx(0.95, abs=1e-9)
    assert out.at[0, "min_trl"] < out.at[1, "min_trl"]
    assert out.at[2, "min_trl"] == float("inf")
