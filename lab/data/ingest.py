"""Ingest: read and validate a file (or an upload), then store it in the catalog.

Nothing is stored when any rule breaks; the error names the rules and rows and says
that nothing was stored (a file read for a backtest is refused without that sentence:
it was never going to be stored). Bars dated after now are refused
(``future_timestamp``), never cut off silently; a declared timeframe the bars' spacing
contradicts is refused (``timeframe_mismatch``) naming the spacing found.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from lab.data.catalog import Catalog, check_symbol
from lab.data.quality import QualityReport
from lab.data.sources.csv import read_bars_file
from lab.core.errors import DataValidationError
from lab.data.sources.dbn import is_dbn_name
from lab.data.validate import problem, refusal_text, refuse

#: Largest upload accepted by ``ingest_upload``, bytes (matches .streamlit/config.toml
#: ``server.maxUploadSize = 200``, which is in MB).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


@contextmanager
def _nothing_stored():
    """A refusal raised inside says that nothing was stored (only ingest stores)."""
    try:
        yield
    except DataValidationError as exc:
        name = getattr(exc, "name", None)
        if name is None:
            raise
        err = DataValidationError(refusal_text(name, exc.problems, stored=True), exc.problems)
        err.name = name
        raise err from None


def _store(catalog: Catalog, bars, report: QualityReport, name: str, symbol: str,
           asset_class: str, source: str, description: str) -> QualityReport:
    if report.timeframe is None:
        refuse(name, [problem("unknown_timeframe", f"the bar size could not be inferred from "
                              f"{report.rows} row(s)")])
    catalog.store_bars(bars, symbol, report.timeframe, asset_class, source, description, report)
    return report


def _read(source, name: str, timeframe: str | None, asset_class: str | None):
    """(bars, report, asset class): CSV / Parquet through ``read_bars_file``, Databento
    DBN through ``read_dbn`` (its schema gives the timeframe)."""
    if is_dbn_name(name):
        from lab.data.sources.dbn import read_dbn

        bars, report, info = read_dbn(source, filename=name, asset_class=asset_class)
        if timeframe is not None and timeframe != info["timeframe"]:
            refuse(name, [problem("timeframe_mismatch", f"the file holds {info['schema']} "
                                  f"records ({info['timeframe']} bars), not {timeframe}")])
        return bars, report, info["asset_class"]
    asset_class = asset_class or "equity"
    bars, report = read_bars_file(source, timeframe=timeframe, asset_class=asset_class,
                                  filename=name)
    return bars, report, asset_class


def ingest_file(catalog: Catalog, path: str | Path, symbol: str, timeframe: str | None = None,
                asset_class: str | None = "equity", source: str | None = None,
                description: str = "") -> QualityReport:
    """Read, validate and store a CSV or Parquet file of bars.

    Parameters
    ----------
    catalog : Catalog
        Where to store the bars.
    path : str or Path
        The file (.csv, .csv.gz, .txt, .tsv, .parquet, see ``read_bars_file``; or a
        Databento .dbn / .dbn.zst of OHLCV records, see ``lab.data.sources.dbn``).
    symbol : str
        Symbol to store under; an existing dataset of the same symbol and timeframe is
        replaced.
    timeframe : str, optional
        Bar size; inferred from the median bar spacing when omitted.
    asset_class : str, optional
        ``equity``, ``index``, ``fx``, ``crypto`` or ``future`` (selects the calendar of
        the gap check and, downstream, annualization and costs). None: ``future`` for
        a DBN file of CME Globex (GLBX.*), else ``equity``.
    source : str, optional
        Provenance text; defaults to ``"file:<name>"``.
    description : str
        One line for the Data page.

    Returns
    -------
    QualityReport
        The soft findings (also kept in the catalog's sidecar).

    Raises
    ------
    DataValidationError
        When a rule breaks (see ``read_bars_file``) or the bar size cannot be inferred;
        nothing is stored.
    DataError
        For a missing file or an invalid symbol, timeframe or asset class.
    """
    symbol = check_symbol(symbol)
    name = Path(path).name
    with _nothing_stored():
        bars, report, asset_class = _read(Path(path), name, timeframe, asset_class)
        return _store(catalog, bars, report, name, symbol, asset_class,
                      source or f"file:{name}", description)


def ingest_upload(catalog: Catalog, data: bytes | IO[bytes], filename: str, symbol: str,
                  timeframe: str | None = None, asset_class: str | None = "equity",
                  source: str | None = None, description: str = "",
                  max_bytes: int = MAX_UPLOAD_BYTES) -> QualityReport:
    """Validate and store uploaded bytes (e.g. from ``st.file_uploader``).

    Parameters
    ----------
    catalog : Catalog
        Where to store the bars.
    data : bytes or binary file-like
        The file's content.
    filename : str
        Original file name; its extension selects the format.
    symbol, timeframe, asset_class, description
        As for ``ingest_file``.
    source : str, optional
        Provenance text; defaults to ``"upload:<filename>"``.
    max_bytes : int
        Size limit in bytes (default 200 MB).

    Returns
    -------
    QualityReport

    Raises
    ------
    DataValidationError
        ``file_too_large`` above ``max_bytes``, or any rule of ``read_bars_file``;
        nothing is stored.
    DataError
        For an invalid symbol, timeframe or asset class.
    """
    symbol = check_symbol(symbol)
    name = Path(str(filename)).name or "upload"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        data = data.read(max_bytes + 1)
    size = len(data)
    with _nothing_stored():
        if size > max_bytes:
            refuse(name, [problem("file_too_large", f"the upload is over "
                                  f"{max_bytes / 2**20:.0f} MB (read {size / 2**20:.1f} MB "
                                  "before stopping)")])
        bars, report, asset_class = _read(io.BytesIO(bytes(data)), name, timeframe,
                                          asset_class)
        return _store(catalog, bars, report, name, symbol, asset_class,
                      source or f"upload:{name}", description)
