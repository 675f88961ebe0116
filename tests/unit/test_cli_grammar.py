"""One command-line grammar: ``--data`` takes a file everywhere, ``--commission 0`` is no
commission on every model, a parameter's search range is no wall (real subprocesses on
a real sample store)."""

from __future__ import annotations

import json

import pytest

from tests.unit.test_cli import lab


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A store of its own (files given to --data are stored in it)."""
    from lab.data import Catalog, build_sample_store

    root = tmp_path_factory.mktemp("grammar")
    build_sample_store(Catalog(root))
    return root


@pytest.fixture(scope="module")
def spx_csv(root, tmp_path_factory):
    from lab.data import Catalog

    path = tmp_path_factory.mktemp("files") / "spx bars.csv"
    Catalog(root).load("SPX", "1d").loc["2012":"2018"].reset_index().to_csv(path, index=False)
    return path


def test_sweep_takes_a_csv_path_as_data(root, spx_csv):
    out = lab("sweep", "--data", str(spx_csv), "--asset-class", "index",
              "--strategies", "sma_cross", "--grid", "fast=10,20", "--grid", "slow=50,100",
              "--workers", "0", "--no-track", "--json", root=root)
    assert out.returncode == 0, out.stderr
    assert "stored as file_spx_bars (1d," in out.stderr
    doc = json.loads(out.stdout)
    assert doc["total_sets"] == 4
    assert {row["symbol"] for row in doc["top"]} == {"file_spx_bars"}


def test_walkforward_and_optimize_take_a_csv_path_as_data(root, spx_csv):
    wf = lab("walkforward", "--data", str(spx_csv), "--asset-class", "index",
             "--strategies", "sma_cross", "--grid", "fast=10,20", "--grid", "slow=50,100",
             "--windows", "3", "--no-track", "--json", root=root)
    assert wf.returncode == 0, wf.stderr
    assert json.loads(wf.stdout)["meta"]["symbol"] == "file_spx_bars"
    opt = lab("optimize", "--data", str(spx_csv), "--strategy", "sma_cross",
              "--study-name", "csv", "--n-trials", "4", "--no-track", "--json", root=root)
    assert opt.returncode == 0, opt.stderr
    assert json.loads(opt.stdout)["trials"] >= 4


def test_a_missing_data_file_is_one_line_saying_what_to_pass(root):
    out = lab("sweep", "--data", "no/such.csv", "--strategies", "sma_cross", root=root)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "no/such.csv does not exist" in out.stderr


def test_commission_zero_is_no_commission_on_the_per_share_model(root):
    out = lab("backtest", "--data", "GOOG", "--strategy", "sma_cross", "--commission", "0",
              "--json", root=root)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["config"]["commission"]["model"] == "per_share"
    assert doc["config"]["commission"]["minimum"] == 0.0
    assert doc["metrics"]["trades"] > 10 and doc["metrics"]["fees"] == 0.0
    floor = lab("backtest", "--data", "GOOG", "--strategy", "sma_cross", "--commission", "0",
                "--commission-min", "1", "--json", root=root)
    fees = json.loads(floor.stdout)["metrics"]["fees"]
    assert fees == pytest.approx(2 * doc["metrics"]["trades"], abs=2)     # $1 per order


def test_a_parameter_beyond_its_search_range_runs_and_nonsense_names_the_rule(root):
    ok = lab("backtest", "--data", "SPX", "--param", "slow=500", "--json", root=root)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["params"]["slow"] == 500
    bad = lab("backtest", "--data", "SPX", "--param", "slow=0", root=root)
    assert bad.returncode == 2 and "a length in bars is at least 1" in bad.stderr
    sweep = lab("sweep", "--data", "SPX", "--strategies", "sma_cross", "--grid", "fast=20",
                "--grid", "slow=380:600:20", "--workers", "0", "--no-track", "--json",
                root=root)
    assert sweep.returncode == 0, sweep.stderr
    doc = json.loads(sweep.stdout)
    assert doc["total_sets"] == 12                                  # 380, 400, ..., 600
    assert max(row["params"]["slow"] for row in doc["top"]) > 400


def test_every_rate_flag_names_its_unit():
    out = lab("backtest", "--help", root=".")
    text = " ".join(out.stdout.split())
    for words in ("fraction of notional", "account currency per share",
                  "account currency per contract", "minimum per order, account currency",
                  "fraction of price", "fraction of entry price"):
        assert words in text, words


def _width(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_the_sweep_leaderboard_fits_100_columns_and_the_csv_has_every_column(root):
    import pandas as pd

    out = lab("sweep", "--data", "SPX", "--strategies", "sma_cross,rsi", "--grid",
              "sma_cross.fast=10,20", "--grid", "sma_cross.slow=50,100", "--grid",
              "rsi.period=14", "--sl", "none,0.05", "--leverage", "1,2", "--workers", "0",
              "--no-track", "--top", "6", root=root)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert _width(text) <= 100, text
    header = next(line for line in text.splitlines() if line.startswith("rank"))
    assert header.split() == ["rank", "strategy", "params", "SL/TP/lev", "Sharpe", "DSR",
                              "return", "%", "max", "DD", "%", "trades", "stability"]
    rows = text.split(header)[1].strip().splitlines()[:6]
    assert len(rows) == 6 and any("off/off/" in r for r in rows)
    assert "NaN" not in text and "e+0" not in text
    csv = next(line.strip() for line in text.splitlines() if line.strip().endswith(".csv"))
    board = pd.read_csv(csv)
    assert {"dsr", "stability", "psr", "profit_factor", "win_rate", "sl", "tp"} <= \
        set(board.columns)
    assert board["rank"].tolist() == list(range(1, len(board) + 1)) and len(board) >= 6
    chosen = lab("sweep", "--data", "SPX", "--strategies", "sma_cross", "--grid", "fast=10",
                 "--grid", "slow=50", "--workers", "0", "--no-track", "--columns",
                 "rank,symbol,cagr,profit_factor", root=root)
    assert chosen.returncode == 0, chosen.stderr
    chosen_header = next(line for line in chosen.stdout.splitlines()
                         if line.startswith("rank"))
    assert chosen_header.split() == ["rank", "symbol", "CAGR", "%", "PF"]
    bad = lab("sweep", "--data", "SPX", "--strategies", "sma_cross", "--grid", "fast=10",
              "--grid", "slow=50", "--workers", "0", "--no-track", "--columns", "nope",
              root=root)
    assert bad.returncode == 2 and "--columns" in bad.stderr and "sharpe" in bad.stderr


def test_walkforward_datasets_and_strategies_fit_100_columns(root):
    wf = lab("walkforward", "--data", "SPX", "--strategies", "sma_cross,rsi", "--windows",
             "3", "--no-track", root=root)
    assert wf.returncode == 0, wf.stderr
    for out in (wf, lab("datasets", root=root), lab("strategies", root=root)):
        assert _width(out.stdout) <= 100, out.stdout
        assert "e+0" not in out.stdout and "NaN" not in out.stdout
    assert "OOS Sharpe" in wf.stdout and "consist. %" in wf.stdout
    assert "1,000,000,000" in lab("strategies", root=root).stdout
