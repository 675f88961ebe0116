"""System page: package versions, the data store, where runs are kept, the IB gateway."""

import os
import platform
from importlib.metadata import PackageNotFoundError, version

import streamlit as st

from lab.api import data_root
from lab.ui.cache import datasets, tracking_status
from lab.ui.ib_status import gateway_panel

PACKAGES = ["streamlit", "pandas", "numpy", "numba", "duckdb", "pyarrow", "plotly",
            "backtrader", "vectorbt", "quantstats", "mlflow", "optuna", "dask", "ib_async"]

st.title("System")

rows = []
for name in PACKAGES:
    try:
        rows.append({"package": name, "version": version(name)})
    except PackageNotFoundError:
        rows.append({"package": name, "version": "not installed"})
c1, c2 = st.columns(2)
with c1:
    st.subheader("Packages")
    st.caption(f"Python {platform.python_version()} on {platform.system()} "
               f"{platform.machine()}, {os.cpu_count()} CPU(s)")
    st.dataframe(rows, hide_index=True, width="stretch")

with c2:
    st.subheader("Data store")
    root = data_root().resolve()
    store = root / "store"
    size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file()) if store.exists() else 0
    ds = datasets()
    st.write(f"Path: `{store}`")
    st.write(f"Size: {size / 1e6:.1f} MB · {len(ds)} datasets · "
             f"{int(ds['rows'].sum()) if len(ds) else 0:,} bars")
    st.subheader("Runs")
    st.write(f"Generated data lives under `{root}` (git-ignored).")
    st.write(f"Run tracking (MLflow): {tracking_status()}")

gateway_panel()
