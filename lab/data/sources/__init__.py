"""Bar sources. ``csv``: CSV / Parquet files and uploads (``read_bars_file``)."""
