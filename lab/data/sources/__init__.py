"""Bar sources; vendor SDKs (ccxt, yfinance, databento) are imported only here.

``csv``: CSV / Parquet files and uploads (``read_bars_file``). ``base``: the ``Source``
protocol every market data source implements, ``get_source`` and the chunk quality gate.
``ccxt``: public OHLCV of any ccxt exchange (``latest_closed_bars`` for polling feeds).
The download driver that stores a source's bars is ``lab.data.download``.
"""
