"""Every CLI error is one line on stderr, exit status 2, saying what to type instead.

Regressions: ``--start yesterday`` ended in a pandas ``DateParseError`` traceback (exit 1)
in backtest, sweep, walkforward and optimize; a data refusal printed one line per rule;
argparse printed its usage block before the error."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

COMMANDS = {
    "backtest": ["backtest", "--data", "SPX", "--no-track"],
    "sweep": ["sweep", "--data", "SPX", "--strategies", "sma_cross", "--no-track"],
    "walkforward": ["walkforward", "--data", "SPX", "--strategies", "sma_cross", "--no-track"],
    "optimize": ["optimize", "--data", "SPX", "--strategy", "sma_cross", "--study-name",
                 "x", "--n-trials", "1", "--no-track"],
}


def lab(*args: str, root) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAB_DATA_DIR": str(root)}
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def one_line_error(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    return lines[0]


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("option, value, words", [
    ("--start", "yesterday", "--start 'yesterday' is not a date or time"),
    ("--end", "2020-02-30", "--end '2020-02-30' is no such date or time"),
    ("--start", "now", "--start 'now' is not a date or time"),
])
def test_a_bad_date_is_one_line_with_an_example(sample_root, command, option, value, words):
    line = one_line_error(lab(*COMMANDS[command], option, value, root=sample_root))
    assert words in line and "e.g. 2020-01-31 or 2020-01-31T14:30" in line


def test_dates_and_iso_times_are_accepted(sample_root):
    from lab.cli import build_parser

    args = build_parser().parse_args(["backtest", "--data", "SPX", "--start",
                                      "2020-01-31T14:30+02:00", "--end", "2020-12-31"])
    assert str(args.start) == "2020-01-31 12:30:00+00:00"
    assert str(args.end) == "2020-12-31 23:59:59.999999999+00:00"
    out = lab("backtest", "--data", "SPX", "--no-track", "--start", "2017-01-02T00:00Z",
              "--end", "2017-12-31", "--json", root=sample_root)
    assert out.returncode == 0, out.stderr


def test_usage_errors_and_data_refusals_are_one_line(sample_root, sample_catalog, tmp_path):
    line = one_line_error(lab("backtest", "--data", "SPX", "--no-such-option",
                              root=sample_root))
    assert "unrecognized arguments: --no-such-option" in line and "--help" in line
    bars = sample_catalog.load("BTCUSD_COINBASE", "1h").reset_index().head(300)
    bars.loc[7, "low"] = bars.loc[7, "high"] + 5
    path = tmp_path / "broken.csv"
    bars.to_csv(path, index=False)
    line = one_line_error(lab("backtest", "--data", str(path), "--no-track",
                              root=sample_root))
    assert "ohlc_inconsistent" in line and "Fix:" in line
    assert "nothing was stored" not in line           # a backtest stores nothing anyway
    good = tmp_path / "hourly.csv"
    bars.iloc[10:].to_csv(good, index=False)
    line = one_line_error(lab("ingest", str(good), "--symbol", "BTCX", "--timeframe", "1d",
                              root=sample_root))
    assert "timeframe 1d was given but the bars are 1 hour (1h bars) apart" in line
    assert "nothing was stored" in line
