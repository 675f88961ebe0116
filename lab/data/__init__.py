"""Bar data: Parquet store + DuckDB catalog, ingest with validation, quality reports,
resampling, fingerprints and the bundled samples.

Typical use::

    from lab.data import Catalog, build_sample_store, ingest_file
    catalog = Catalog("data")
    build_sample_store(catalog)                       # bundled samples, no network
    bars = catalog.load("SPX", "1w", start="2010-01-01")
    report = ingest_file(catalog, "my_bars.csv", symbol="XYZ", asset_class="equity")
"""

from lab.data.catalog import Catalog
from lab.data.frames import check_bars, fingerprint, to_utc
from lab.data.ingest import MAX_UPLOAD_BYTES, ingest_file, ingest_upload
from lab.data.quality import QualityReport, assess_quality, infer_timeframe
from lab.data.resample import resample
from lab.data.sources.csv import read_bars_file


def __getattr__(name: str):
    # imported lazily so that ``python -m lab.data.samples`` runs the module only once
    if name in ("build_sample_store", "sample_manifest"):
        from lab.data import samples

        return getattr(samples, name)
    raise AttributeError(f"module 'lab.data' has no attribute {name!r}")

__all__ = [
    "Catalog", "MAX_UPLOAD_BYTES", "QualityReport", "assess_quality", "build_sample_store",
    "check_bars", "fingerprint", "infer_timeframe", "ingest_file", "ingest_upload",
    "read_bars_file", "resample", "sample_manifest", "to_utc",
]
